"""CLI commands of the synthetic province (registered onto the main Typer app)."""


def register(app):
    """Add ``generate`` and ``demo`` to ``app``."""

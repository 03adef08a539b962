"""CLI commands of bills and payments (registered onto the main Typer app)."""


def register(app):
    """Add ``pay`` and ``audit`` to ``app``."""

"""CLI commands of the API (registered onto the main Typer app)."""


def register(app):
    """Add ``token`` to ``app``."""

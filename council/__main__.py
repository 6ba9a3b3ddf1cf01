"""``python -m council``: the same command line as ``council``."""

from council.cli import app

app()

"""``python -m api``: the ``council`` command line with ``serve`` and ``token``."""

from api.cli import app

app(prog_name="council")

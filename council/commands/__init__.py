"""Sub-commands of the ``council`` command line, one module per concern.

Each module exposes ``register(app)``, which adds its commands to the top-level typer app.
"""

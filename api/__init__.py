"""The HTTP front door: ``create_app(gateway)`` builds the FastAPI app (see :mod:`api.app`)."""

from api.app import create_app
from api.settings import ApiSettings

__all__ = ["ApiSettings", "create_app"]

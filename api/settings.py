"""The front door's settings: from arguments, or ``COUNCIL_API_*`` environment variables."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class ApiSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="COUNCIL_API_", frozen=True)

    #: The largest JSON request body, in bytes.
    body_bytes_max: int = Field(default=64 * 1024, ge=1024)
    #: The largest scenario file an upload may carry, in bytes.
    scenario_bytes_max: int = Field(default=256 * 1024, ge=1024)
    #: Requests one token may make per minute (a burst of as many is allowed).
    requests_per_minute: int = Field(default=600, ge=1)
    #: Seconds between keep-alive comments on an idle event stream.
    stream_keepalive_s: float = Field(default=15.0, gt=0)

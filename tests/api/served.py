"""The app served over real HTTP by uvicorn on a free port, in a thread of its own."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import uvicorn

from api import ApiSettings, create_app
from council.gateway import Gateway
from tests.api.support import BASELINE, simulated_gateway


@dataclass(frozen=True)
class Served:
    url: str
    tokens: dict[str, str]
    gateway: Gateway
    server: uvicorn.Server


@contextmanager
def served_api(
    tmp_path: Path,
    *,
    scenario: Path = BASELINE,
    speed: float = 4.0,
    settings: ApiSettings | None = None,
) -> Iterator[Served]:
    """The app over a simulated council of ``scenario``, listening until the block ends."""
    gateway, tokens = simulated_gateway(tmp_path, scenario=scenario, speed=speed)
    config = uvicorn.Config(
        create_app(gateway, settings),
        log_level="warning",
        lifespan="on",
        timeout_graceful_shutdown=2,
    )
    server = uvicorn.Server(config)
    # Bound here and handed over, so the port is known and no other process can take it.
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the API did not start within 20 s")
        time.sleep(0.05)
    try:
        yield Served(f"http://127.0.0.1:{port}", tokens, gateway, server)
    finally:
        server.should_exit = True
        thread.join(timeout=20)
        listener.close()

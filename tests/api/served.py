"""The app served over real HTTP by uvicorn on a free port, in a thread of its own."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import uvicorn

from api import ApiSettings, create_app
from api.server import free_port
from council.gateway import Gateway, GatewayStore, SimulatedLink
from council.scenario.loader import load_scenario
from tests.api.support import BASELINE, issue_tokens


@dataclass(frozen=True)
class Served:
    url: str
    tokens: dict[str, str]
    gateway: Gateway


@contextmanager
def served_api(
    tmp_path: Path,
    *,
    scenario: Path = BASELINE,
    speed: float = 4.0,
    settings: ApiSettings | None = None,
) -> Iterator[Served]:
    store = GatewayStore(tmp_path / "gateway.sqlite")
    gateway = Gateway(SimulatedLink(load_scenario(scenario), speed=speed), store)
    tokens = issue_tokens(store)
    port = free_port()
    config = uvicorn.Config(
        create_app(gateway, settings), host="127.0.0.1", port=port, log_level="warning"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=lambda: asyncio.run(server.serve()), daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the API did not start within 20 s")
        time.sleep(0.05)
    try:
        yield Served(f"http://127.0.0.1:{port}", tokens, gateway)
    finally:
        server.should_exit = True
        thread.join(timeout=20)

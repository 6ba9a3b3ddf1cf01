"""Serving the app with uvicorn inside an event loop that may run other things (a council)."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Iterator
from pathlib import Path

import uvicorn

from api.app import create_app
from api.settings import ApiSettings
from council.gateway import Gateway, GatewayStore
from council.gateway.tokens import Role, TokenStore

#: The roles ``council serve`` issues a first token for when the gateway has none.
BOOTSTRAP_ROLES = (Role.SECRETARIAT, Role.DESIGNER, Role.OBSERVER)


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


def bootstrap_tokens(store: GatewayStore, tokens_file: Path) -> dict[str, str]:
    """First tokens for a gateway that has none, written to ``tokens_file`` (0600) so the
    operator can find them again; an empty mapping when tokens exist already."""
    tokens = TokenStore(store)
    if tokens.holders():
        return {}
    issued = {role.value: tokens.create(role, f"first {role.value}")[1] for role in BOOTSTRAP_ROLES}
    tokens_file.parent.mkdir(parents=True, exist_ok=True)
    tokens_file.touch(mode=0o600, exist_ok=True)
    tokens_file.chmod(0o600)
    lines = [f"{role}={token}" for role, token in issued.items()]
    tokens_file.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return issued


class _Server(uvicorn.Server):
    """uvicorn that leaves signals to its caller: Ctrl-C stops the council and the API
    together, in the caller's order."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


async def serve(
    gateway: Gateway,
    host: str,
    port: int,
    settings: ApiSettings | None = None,
    started: asyncio.Event | None = None,
) -> None:
    """Run the API on ``host:port`` until cancelled; ``started`` is set once it listens."""
    config = uvicorn.Config(
        create_app(gateway, settings),
        host=host,
        port=port,
        log_level="warning",
        lifespan="on",
        # The council's own loop: agents' shells already chose uvloop or asyncio.
        loop="none",
    )
    server = _Server(config)
    task = asyncio.create_task(server.serve())
    try:
        while not server.started and not task.done():
            await asyncio.sleep(0.05)
        if started is not None and server.started:
            started.set()
        # Shielded: a cancelled caller asks uvicorn to stop, and the lifespan stops the gateway
        # (so its link leaves the broker before the broker goes).
        await asyncio.shield(task)
    except asyncio.CancelledError:
        server.should_exit = True
        await task
        raise

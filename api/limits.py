"""Request body limits, enforced before a route reads the body (413 with a reason)."""

from __future__ import annotations

import json
from typing import Final

from starlette.types import ASGIApp, Message, Receive, Scope, Send

SCENARIO_PATH_PREFIX: Final = "/v1/scenarios"


class BodyLimit:
    """ASGI middleware: bodies over ``bytes_max`` (``scenario_bytes_max`` for scenario uploads)
    are refused, whether or not the client declared their length."""

    def __init__(self, app: ASGIApp, bytes_max: int, scenario_bytes_max: int) -> None:
        self.app = app
        self.bytes_max = bytes_max
        self.scenario_bytes_max = scenario_bytes_max

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        limit = self.scenario_bytes_max if path.startswith(SCENARIO_PATH_PREFIX) else self.bytes_max
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            await _refuse(send, limit)
            return
        # Read the whole body first (bodies are small: at most `limit`), so a body that turns
        # out too long is refused before any route has seen part of it.
        chunks: list[bytes] = []
        received = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client went away
            chunk = message.get("body", b"")
            received += len(chunk)
            if received > limit:
                await _refuse(send, limit)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


async def _refuse(send: Send, limit: int) -> None:
    body = json.dumps({"detail": f"request body over {limit} bytes"}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})

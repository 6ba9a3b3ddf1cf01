"""Request body limits, enforced before a route reads the body (413 with a reason)."""

from __future__ import annotations

import json
from typing import Final

from starlette.types import ASGIApp, Message, Receive, Scope, Send

SCENARIO_PATH_PREFIX: Final = "/v1/scenarios"


class BodyTooLarge(Exception):
    pass


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
        received = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge
            return message

        async def tracked_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, limited_receive, tracked_send)
        except BodyTooLarge:
            if not started:
                await _refuse(send, limit)


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

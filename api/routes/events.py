"""The council's events as a server-sent-events stream (``text/event-stream``).

Each event is ``id: N``, ``event: <type>`` and ``data: <json>``; a client that reconnects
with ``Last-Event-ID`` first gets what it missed, from a bounded backlog. Types: ``motion``,
``ballot``, ``view``, ``traffic``, ``evidence``, ``seat``, ``rejected``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Header, Query
from fastapi.responses import StreamingResponse

from api.deps import GatewayDep, HolderDep, SettingsDep
from council.gateway import CouncilEvent, EventHub

router = APIRouter(prefix="/v1", tags=["events"])

EVENT_TYPES = ("motion", "ballot", "view", "traffic", "evidence", "seat", "rejected")


def sse(event: CouncilEvent) -> bytes:
    data = json.dumps(event.data, separators=(",", ":"), sort_keys=True)
    return f"id: {event.id}\nevent: {event.type}\ndata: {data}\n\n".encode()


async def _stream(
    hub: EventHub, after_id: int | None, types: frozenset[str] | None, keepalive_s: float
) -> AsyncIterator[bytes]:
    yield b"retry: 2000\n\n"
    events = hub.listen(after_id).__aiter__()
    try:
        while True:
            try:
                event = await asyncio.wait_for(anext(events), keepalive_s)
            except TimeoutError:
                yield b": keep-alive\n\n"
                continue
            except StopAsyncIteration:
                return
            if types is None or event.type in types:
                yield sse(event)
    finally:
        with contextlib.suppress(Exception):
            await events.aclose()  # type: ignore[attr-defined]


@router.get(
    "/events",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}, "description": "The event stream."}},
)
async def events(
    gateway: GatewayDep,
    settings: SettingsDep,
    holder: HolderDep,
    types: Annotated[
        str | None, Query(max_length=200, description=f"Comma-separated: {', '.join(EVENT_TYPES)}")
    ] = None,
    last_event_id: Annotated[str | None, Header(alias="Last-Event-ID", max_length=20)] = None,
) -> StreamingResponse:
    """Council events as they happen."""
    wanted = None if not types else frozenset(t.strip() for t in types.split(",") if t.strip())
    after_id = int(last_event_id) if last_event_id and last_event_id.isdigit() else None
    return StreamingResponse(
        _stream(gateway.hub, after_id, wanted, settings.stream_keepalive_s),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )

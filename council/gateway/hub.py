"""Fan-out of council events to every listener of the event stream (the dashboard, SSE clients).

Each event gets an increasing ``id``, so a client that reconnects with ``Last-Event-ID`` is
sent what it missed from a bounded backlog. A listener that cannot keep up loses its oldest
events, never blocks the gateway: its queue is bounded and its losses are counted.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Final

#: Events kept for listeners that reconnect.
BACKLOG_MAX: Final = 1_000
#: Events waiting for one slow listener before its oldest are dropped.
LISTENER_QUEUE_MAX: Final = 1_000


@dataclass(frozen=True, slots=True)
class CouncilEvent:
    """One event of the stream: ``type`` names it, ``data`` is its JSON object."""

    id: int
    type: str
    data: Mapping[str, object]


class EventHub:
    """Publish events from the gateway's event loop; listen with :meth:`listen`."""

    def __init__(self) -> None:
        self._next_id = 1
        self._backlog: deque[CouncilEvent] = deque(maxlen=BACKLOG_MAX)
        self._listeners: set[asyncio.Queue[CouncilEvent]] = set()
        self.dropped = 0
        self.closed = asyncio.Event()

    @property
    def listeners(self) -> int:
        return len(self._listeners)

    def publish(self, type: str, data: Mapping[str, object]) -> CouncilEvent:
        event = CouncilEvent(self._next_id, type, data)
        self._next_id += 1
        self._backlog.append(event)
        for queue in self._listeners:
            if queue.full():
                queue.get_nowait()
                self.dropped += 1
            queue.put_nowait(event)
        return event

    def recent(self, after_id: int = 0, types: frozenset[str] | None = None) -> list[CouncilEvent]:
        """Backlog events newer than ``after_id`` (of ``types``, when given)."""
        return [e for e in self._backlog if e.id > after_id and (types is None or e.type in types)]

    async def listen(self, after_id: int | None = None) -> AsyncIterator[CouncilEvent]:
        """Events from now on (first those after ``after_id`` still in the backlog) until the
        hub closes."""
        queue: asyncio.Queue[CouncilEvent] = asyncio.Queue(LISTENER_QUEUE_MAX)
        self._listeners.add(queue)
        try:
            if after_id is not None:
                for event in self.recent(after_id):
                    yield event
            while not self.closed.is_set():
                getter = asyncio.ensure_future(queue.get())
                closing = asyncio.ensure_future(self.closed.wait())
                done, _ = await asyncio.wait({getter, closing}, return_when="FIRST_COMPLETED")
                closing.cancel()
                if getter not in done:
                    getter.cancel()
                    return
                yield getter.result()
        finally:
            self._listeners.discard(queue)

    def close(self) -> None:
        self.closed.set()

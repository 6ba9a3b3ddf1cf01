"""Behaviours that look like a bad link at one seat: silent, slow, omitting.

The replica inside stays correct and its clock keeps running (ticks always pass); only the
messages it hears and says are dropped or held. After the window it must catch up by itself,
through retransmission, view changes or state transfer, like a replica behind a healed link.
"""

from __future__ import annotations

from collections import deque
from typing import ClassVar

from consensus import Broadcast, Effect, Envelope, Send
from council.behaviours.base import (
    ALWAYS,
    Behaviour,
    BehaviourContext,
    MessageEffect,
    Node,
    Window,
    replica_of,
    sends_to,
)

DIRECTIONS = ("in", "out", "both")


class Silent(Behaviour):
    """Hears nothing and says nothing in the window (requests and replies included)."""

    kind: ClassVar[str] = "silent"

    def refuses(self, envelope: Envelope) -> bool:
        return True

    def rewrite(self, effect: MessageEffect) -> list[Effect]:
        return []


class Slow(Behaviour):
    """Holds every message sent in the window and sends it ``delay_ms`` later, in order.

    A message held when the window closes still leaves at its time; messages sent after the
    window pass at once and may overtake it, as on any network.
    """

    kind: ClassVar[str] = "slow"

    def __init__(
        self, inner: Node, context: BehaviourContext, window: Window = ALWAYS, *, delay_ms: int
    ) -> None:
        super().__init__(inner, context, window)
        if delay_ms < 0:
            raise ValueError(f"slow: delay_ms must be >= 0, got {delay_ms}")
        self.delay_ms = delay_ms
        # Release times never decrease (time only moves forward), so a FIFO keeps order.
        self.held: deque[tuple[int, MessageEffect]] = deque()

    def rewrite(self, effect: MessageEffect) -> list[Effect]:
        if not self.delay_ms:
            return [effect]
        self.held.append((self.now_ms + self.delay_ms, effect))
        return []

    def released(self) -> list[Effect]:
        due: list[Effect] = []
        while self.held and self.held[0][0] <= self.now_ms:
            due.append(self.held.popleft()[1])
        return due

    def own_deadline_ms(self) -> int | None:
        return self.held[0][0] if self.held else None


class Omit(Behaviour):
    """Drops messages from (``in``), to (``out``) or both ways between this seat and ``peers``.

    Incoming envelopes are matched by their signer (``rN``); a broadcast becomes sends to every
    other replica that is not a peer. Clients are never affected.
    """

    kind: ClassVar[str] = "omit"

    def __init__(
        self,
        inner: Node,
        context: BehaviourContext,
        window: Window = ALWAYS,
        *,
        peers: frozenset[int],
        direction: str = "both",
    ) -> None:
        super().__init__(inner, context, window)
        peers = frozenset(peers)
        if direction not in DIRECTIONS:
            raise ValueError(f"omit: direction must be one of {DIRECTIONS}, got {direction!r}")
        strangers = sorted(p for p in peers if not 0 <= p < context.n)
        if strangers:
            raise ValueError(f"omit: peers {strangers} are not replicas of 0..{context.n - 1}")
        self.peers = peers - {context.replica_id}
        self.direction = direction
        self.reachable = tuple(i for i in context.others if i not in self.peers)

    def refuses(self, envelope: Envelope) -> bool:
        return self.direction != "out" and replica_of(envelope.sender) in self.peers

    def rewrite(self, effect: MessageEffect) -> list[Effect]:
        if self.direction == "in" or not self.peers:
            return [effect]
        if isinstance(effect, Broadcast):
            return sends_to(self.reachable, effect.envelope)
        if isinstance(effect, Send) and replica_of(effect.to) in self.peers:
            return []
        return [effect]

"""Twins (Bano et al., "Twins: BFT Systems Made Robust", 2022): one seat, two correct copies.

Both copies run the correct protocol with the same key; the other replicas are split into two
groups, and in the window each copy hears only its own group (messages are routed by their
signer) and speaks only to it. Client requests reach both copies, and so does a replica that
given groups leave out. Neither copy lies, yet
together they sign conflicting messages as soon as their groups show them different things —
which is how Twins turns correct code into a Byzantine seat without writing an attack.

Outside the window the pair acts as copy A alone: both copies hear everything (so they start
the window in the same state), and only copy A's messages go out. Effects that are not messages
(``Execute``, ``Persist``, ``Evidence``...) are always copy A's only, so the simulator's
bookkeeping sees one seat.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import ClassVar

from consensus import Broadcast, Effect, Envelope, Respond, Send
from council.behaviours.base import (
    ALWAYS,
    BehaviourContext,
    Node,
    Window,
    replica_of,
    sends_to,
)


def default_groups(context: BehaviourContext) -> tuple[frozenset[int], frozenset[int]]:
    """The other replicas split in two halves, alternating in id order."""
    others = context.others
    return frozenset(others[0::2]), frozenset(others[1::2])


class TwinPair:
    """Two correct copies of one seat (built by the caller with the same key) as one node."""

    kind: ClassVar[str] = "twins"

    def __init__(
        self,
        copy_a: Node,
        copy_b: Node,
        context: BehaviourContext,
        window: Window = ALWAYS,
        *,
        groups: tuple[Iterable[int], Iterable[int]] | None = None,
    ) -> None:
        if copy_a is copy_b:
            raise ValueError("twins: the two copies must be distinct nodes")
        group_a, group_b = (
            default_groups(context) if groups is None else (frozenset(g) for g in groups)
        )
        allowed = set(context.others)
        if not group_a <= allowed or not group_b <= allowed:
            raise ValueError(f"twins: groups must hold other replicas only, of {sorted(allowed)}")
        if group_a & group_b:
            raise ValueError(f"twins: groups overlap in {sorted(group_a & group_b)}")
        self.copies = (copy_a, copy_b)
        self.groups = (group_a, group_b)
        self.context = context
        self.window = window
        self.now_ms = 0

    @property
    def active(self) -> bool:
        return self.window.active(self.now_ms)

    def receive(self, envelope: Envelope, now_ms: int) -> None:
        self.now_ms = max(self.now_ms, now_ms)
        sender = replica_of(envelope.sender)
        for side, copy in enumerate(self.copies):
            # In the window a copy is deaf to the other group; clients reach both copies.
            if not (self.active and sender in self.groups[1 - side]):
                copy.receive(envelope, now_ms)

    def tick(self, now_ms: int) -> None:
        self.now_ms = max(self.now_ms, now_ms)
        for copy in self.copies:
            copy.tick(now_ms)

    def take_effects(self) -> list[Effect]:
        effects_a, effects_b = (copy.take_effects() for copy in self.copies)
        if not self.active:
            return effects_a  # copy B listens but is not heard outside the window
        return self._to_group(effects_a, 0) + [
            effect
            for effect in self._to_group(effects_b, 1)
            if isinstance(effect, Send | Broadcast | Respond)
        ]

    def next_deadline_ms(self) -> int | None:
        deadlines = [d for copy in self.copies if (d := copy.next_deadline_ms()) is not None]
        return min(deadlines, default=None)

    def _to_group(self, effects: list[Effect], side: int) -> list[Effect]:
        """Keep one copy's messages inside its group: a broadcast becomes sends to the group,
        and a send to the other group is dropped."""
        other_group = self.groups[1 - side]
        reachable = tuple(i for i in self.context.others if i not in other_group)
        routed: list[Effect] = []
        for effect in effects:
            if isinstance(effect, Broadcast):
                routed.extend(sends_to(reachable, effect.envelope))
            elif isinstance(effect, Send) and replica_of(effect.to) in other_group:
                continue
            else:
                routed.append(effect)
        return routed

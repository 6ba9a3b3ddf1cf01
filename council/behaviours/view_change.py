"""Bogus view changes: signed VIEW-CHANGEs for far-future views that nothing justifies.

Every ``every_ms`` in its window the seat broadcasts a VIEW-CHANGE for a view far beyond any it
has seen, cycling through three lies:

- ``unproven``: well formed and internally valid — no stable checkpoint claimed, no prepared
  certificates — but a lone voice: correct replicas record it and must not move until ``f + 1``
  replicas ask for higher views (OSDI'99 §4.5.2);
- ``fabricated-checkpoint``: claims a stable checkpoint proven only by its own CHECKPOINT;
- ``fabricated-certificate``: carries a prepared certificate made of its own signatures only.

The fabricated ones fail the proof checks and are reported as ``invalid-view-change`` evidence.
"""

from __future__ import annotations

from typing import ClassVar

from consensus import Broadcast, Effect, Envelope, seal
from consensus.messages import Checkpoint, Prepare, PreparedProof, PrePrepare, ViewChange
from council.behaviours.base import (
    ALWAYS,
    Behaviour,
    BehaviourContext,
    Node,
    Window,
    message_seq,
    message_view,
)
from council.behaviours.equivocation import other_digest

#: How far beyond the highest view seen the bogus view changes aim.
FAR_VIEWS_AHEAD = 1_000
LIES = ("unproven", "fabricated-checkpoint", "fabricated-certificate")
#: The digest the fabricated proofs vouch for: well formed, of nothing.
FABRICATED_DIGEST = other_digest("bogus-view-change")


class BogusViewChange(Behaviour):
    """Broadcasts an unjustified VIEW-CHANGE every ``every_ms`` while active."""

    kind: ClassVar[str] = "bogus-view-change"

    def __init__(
        self,
        inner: Node,
        context: BehaviourContext,
        window: Window = ALWAYS,
        *,
        every_ms: int = 1_000,
    ) -> None:
        super().__init__(inner, context, window)
        if every_ms < 1:
            raise ValueError(f"bogus-view-change: every_ms must be >= 1, got {every_ms}")
        self.every_ms = every_ms
        self.next_at_ms = window.from_ms
        self.highest_view = 0
        self.highest_seq = 0
        self.sent = 0
        self.outbox: list[Effect] = []

    def receive(self, envelope: Envelope, now_ms: int) -> None:
        self.highest_view = max(self.highest_view, message_view(envelope))
        self.highest_seq = max(self.highest_seq, message_seq(envelope))
        super().receive(envelope, now_ms)

    def on_tick(self) -> None:
        if self.active and self.now_ms >= self.next_at_ms:
            self.outbox.append(Broadcast(self.bogus_view_change()))
            self.next_at_ms = self.now_ms + self.every_ms

    def released(self) -> list[Effect]:
        outbox, self.outbox = self.outbox, []
        return outbox

    def own_deadline_ms(self) -> int | None:
        due_ms = max(self.next_at_ms, self.window.from_ms, self.now_ms)
        return None if self.window.over(due_ms) else due_ms

    def bogus_view_change(self) -> Envelope:
        """The next lie, for a view no correct replica has asked for."""
        lie = LIES[self.sent % len(LIES)]
        new_view = self.highest_view + FAR_VIEWS_AHEAD + self.sent
        self.sent += 1
        signer, me = self.context.signer, self.context.replica_id
        stable_seq = 0
        checkpoint_proof: tuple[Envelope, ...] = ()
        prepared: tuple[PreparedProof, ...] = ()
        if lie == "fabricated-checkpoint":
            interval = self.context.config.checkpoint_interval
            stable_seq = (self.highest_seq // interval + 1) * interval
            checkpoint = Checkpoint(seq=stable_seq, state_digest=FABRICATED_DIGEST, replica=me)
            checkpoint_proof = (seal(signer, checkpoint),)
        elif lie == "fabricated-certificate":
            view, digest = new_view - 1, FABRICATED_DIGEST
            pre_prepare = seal(signer, PrePrepare(view=view, seq=1, digest=digest))
            prepare = seal(signer, Prepare(view=view, seq=1, digest=digest, replica=me))
            prepared = (PreparedProof(pre_prepare=pre_prepare, prepares=(prepare,)),)
        message = ViewChange(
            new_view=new_view,
            replica=me,
            stable_seq=stable_seq,
            checkpoint_proof=checkpoint_proof,
            prepared=prepared,
        )
        return seal(signer, message)

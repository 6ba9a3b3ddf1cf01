"""Out-of-watermarks: signed PRE-PREPAREs and PREPAREs for sequence numbers far beyond h + L.

Besides its normal output, the seat broadcasts, with every pre-prepare (as primary) or prepare
(as backup) it sends, a validly signed copy for a sequence number ``2L`` beyond the highest it
has seen. It cannot know a replica's low watermark ``h`` exactly, but ``h`` never exceeds what
has been ordered, so the copy lands outside every correct replica's window ``h < seq <= h + L``
and must be refused there rather than held.
"""

from __future__ import annotations

from typing import ClassVar

from consensus import Broadcast, Effect, Envelope, Respond, seal
from consensus.messages import Prepare, PrePrepare
from council.behaviours.base import (
    ALWAYS,
    Behaviour,
    BehaviourContext,
    MessageEffect,
    Node,
    Window,
    decoded,
    message_seq,
)


class OutOfWatermarks(Behaviour):
    """Adds a far-ahead copy of every pre-prepare and prepare it sends in the window."""

    kind: ClassVar[str] = "out-of-watermarks"

    def __init__(self, inner: Node, context: BehaviourContext, window: Window = ALWAYS) -> None:
        super().__init__(inner, context, window)
        self.highest_seq = 0

    @property
    def far_seq(self) -> int:
        return self.highest_seq + 2 * self.context.config.watermark_window

    def receive(self, envelope: Envelope, now_ms: int) -> None:
        self.highest_seq = max(self.highest_seq, message_seq(envelope))
        super().receive(envelope, now_ms)

    def rewrite(self, effect: MessageEffect) -> list[Effect]:
        envelope = effect.envelope
        self.highest_seq = max(self.highest_seq, message_seq(envelope))
        # Its own votes only (a council that relays votes sends them to the primary alone);
        # a relaying primary also passes on others' votes, which are not its to copy.
        if isinstance(effect, Respond) or envelope.sender != self.context.signer.principal:
            return [effect]
        message = decoded(envelope)
        if not isinstance(message, PrePrepare | Prepare):
            return [effect]
        far = message.model_copy(update={"seq": self.far_seq})
        return [effect, Broadcast(seal(self.context.signer, far, envelope.attachment))]

"""Replay: a seat that behaves correctly but also re-sends its own old messages.

Old messages are validly signed, so they pass every edge check; correct replicas must treat a
replayed vote, checkpoint or view change as the stale duplicate it is (never as equivocation).
Replies to clients are not replayed.
"""

from __future__ import annotations

import random
from collections import deque
from typing import ClassVar

from consensus import Broadcast, Effect, Envelope, Send
from council.behaviours.base import ALWAYS, Behaviour, BehaviourContext, MessageEffect, Node, Window

#: Own messages remembered for replay; the oldest are forgotten first.
REPLAY_HISTORY_MAX = 64


class ReplayHistory:
    """The seat's last messages; each new one goes out together with a random older one."""

    def __init__(self, rng: random.Random, size_max: int = REPLAY_HISTORY_MAX) -> None:
        if size_max < 1:
            raise ValueError(f"replay: history size must be >= 1, got {size_max}")
        self.rng = rng
        self.sent: deque[Envelope] = deque(maxlen=size_max)

    def with_replay(self, effect: Send | Broadcast, own: str | None = None) -> list[Effect]:
        """``effect``, then a broadcast of an old message (once there is one). Only messages
        signed by ``own`` (when given) are remembered: a primary that relays votes passes on
        others' messages, and replaying those is not replaying its own."""
        effects: list[Effect] = [effect]
        if self.sent:
            effects.append(Broadcast(self.sent[self.rng.randrange(len(self.sent))]))
        if own is None or effect.envelope.sender == own:
            self.sent.append(effect.envelope)
        return effects


class Replay(Behaviour):
    """Each message sent in the window is followed by a broadcast of one of the last
    ``history_max`` messages this seat sent in the window."""

    kind: ClassVar[str] = "replay"

    def __init__(
        self,
        inner: Node,
        context: BehaviourContext,
        window: Window = ALWAYS,
        *,
        history_max: int = REPLAY_HISTORY_MAX,
    ) -> None:
        super().__init__(inner, context, window)
        self.history = ReplayHistory(context.rng, history_max)

    def rewrite(self, effect: MessageEffect) -> list[Effect]:
        if isinstance(effect, Send | Broadcast):
            return self.history.with_replay(effect, self.context.signer.principal)
        return [effect]

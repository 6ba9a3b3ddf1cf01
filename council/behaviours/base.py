"""What every Byzantine behaviour shares: the node it wraps, its time window, its context.

A behaviour is a :class:`Node` around another node — a correct ``consensus.Replica`` or another
behaviour — and works only on what goes in (envelopes handed to ``receive``) and what comes out
(effects from ``take_effects``). It never reaches into the replica, so behaviours combine by
nesting: ``Slow(Equivocate(replica, ...), ...)`` equivocates and is slow about it.

A behaviour is active only inside its :class:`Window`; outside it everything passes unchanged.
It learns the time from ``receive`` and ``tick`` (the latest ``now_ms`` seen), so effects taken
right after an input are judged by that input's time. Effects that are not messages (``Execute``,
``Persist``, ``Evidence``, ``ViewEntered``...) pass through unchanged unless a behaviour says
otherwise, so the simulator still sees the seat's own execution.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import ClassVar, Protocol

from consensus import (
    Broadcast,
    Effect,
    Envelope,
    MalformedMessage,
    Message,
    QuorumMath,
    ReplicaConfig,
    Respond,
    Send,
    decode,
    replica_principal,
)
from crypto import Signer

#: The effects that put an envelope on the wire.
MessageEffect = Send | Broadcast | Respond


class Node(Protocol):
    """What the simulator drives: a replica, a behaviour around one, or a twin pair."""

    def receive(self, envelope: Envelope, now_ms: int) -> None: ...
    def tick(self, now_ms: int) -> None: ...
    def take_effects(self) -> list[Effect]: ...
    def next_deadline_ms(self) -> int | None: ...


@dataclass(frozen=True, slots=True)
class Window:
    """The virtual time ``[from_ms, until_ms)`` in which a behaviour acts; ``until_ms=None``
    means forever."""

    from_ms: int = 0
    until_ms: int | None = None

    def __post_init__(self) -> None:
        if self.from_ms < 0:
            raise ValueError(f"a behaviour window starts at 0 ms or later, not {self.from_ms}")
        if self.until_ms is not None and self.until_ms <= self.from_ms:
            raise ValueError(
                f"a behaviour window must end after it starts (from_ms={self.from_ms}, "
                f"until_ms={self.until_ms})"
            )

    def active(self, now_ms: int) -> bool:
        return self.from_ms <= now_ms and (self.until_ms is None or now_ms < self.until_ms)

    def over(self, now_ms: int) -> bool:
        """Whether the window has closed for good at ``now_ms``."""
        return self.until_ms is not None and now_ms >= self.until_ms


ALWAYS = Window()


@dataclass(frozen=True, slots=True)
class BehaviourContext:
    """What a Byzantine seat knows and holds: its id, its own key (only its own), the council's
    parameters, and the seeded randomness its behaviours draw from."""

    replica_id: int
    signer: Signer
    config: ReplicaConfig
    rng: random.Random

    def __post_init__(self) -> None:
        if not 0 <= self.replica_id < self.config.n:
            raise ValueError(f"replica id {self.replica_id} is not in 0..{self.config.n - 1}")
        if self.signer.principal != replica_principal(self.replica_id):
            raise ValueError(
                f"signer {self.signer.principal!r} does not sign for replica {self.replica_id}"
            )

    @property
    def n(self) -> int:
        return self.config.n

    @property
    def quorums(self) -> QuorumMath:
        return self.config.quorums

    @property
    def others(self) -> tuple[int, ...]:
        """Every other replica, in id order."""
        return tuple(i for i in range(self.config.n) if i != self.replica_id)


def replica_of(principal: str) -> int | None:
    """The replica id behind principal ``rN``; ``None`` for clients."""
    if principal.startswith("r") and principal[1:].isdigit():
        return int(principal[1:])
    return None


def decoded(envelope: Envelope) -> Message | None:
    """The message in ``envelope``; ``None`` when it does not decode (a behaviour nested
    inside this one may have mangled it)."""
    try:
        return decode(envelope)
    except MalformedMessage:
        return None


def message_seq(envelope: Envelope) -> int:
    """The sequence number a message is about, or 0."""
    seq = getattr(decoded(envelope), "seq", 0)
    return seq if isinstance(seq, int) else 0


def message_view(envelope: Envelope) -> int:
    """The view a message is about, or 0."""
    message = decoded(envelope)
    view = getattr(message, "new_view", getattr(message, "view", 0))
    return view if isinstance(view, int) else 0


def with_envelope(effect: MessageEffect, envelope: Envelope) -> MessageEffect:
    """The same delivery carrying another envelope."""
    if isinstance(effect, Send):
        return Send(effect.to, envelope)
    if isinstance(effect, Broadcast):
        return Broadcast(envelope)
    return Respond(effect.clients, envelope)


def sends_to(targets: tuple[int, ...] | list[int], envelope: Envelope) -> list[Effect]:
    """One ``Send`` per target replica, in the order given."""
    return [Send(replica_principal(target), envelope) for target in targets]


class Behaviour:
    """A node that forwards to ``inner`` and, inside its window, rewrites what passes.

    Subclasses override the hooks: :meth:`refuses` (drop an incoming envelope),
    :meth:`rewrite` (replace one outgoing message by any effects), :meth:`on_tick`,
    :meth:`released` (effects of the behaviour's own, due now) and :meth:`own_deadline_ms`.
    """

    kind: ClassVar[str]

    def __init__(self, inner: Node, context: BehaviourContext, window: Window = ALWAYS) -> None:
        self.inner = inner
        self.context = context
        self.window = window
        self.now_ms = 0

    @property
    def active(self) -> bool:
        return self.window.active(self.now_ms)

    # -- Node --------------------------------------------------------------------------------

    def receive(self, envelope: Envelope, now_ms: int) -> None:
        self.now_ms = max(self.now_ms, now_ms)
        if self.active and self.refuses(envelope):
            return
        self.inner.receive(envelope, now_ms)

    def tick(self, now_ms: int) -> None:
        self.now_ms = max(self.now_ms, now_ms)
        self.inner.tick(now_ms)
        self.on_tick()

    def take_effects(self) -> list[Effect]:
        effects = self.released()
        active = self.active
        for effect in self.inner.take_effects():
            if active and isinstance(effect, Send | Broadcast | Respond):
                effects.extend(self.rewrite(effect))
            else:
                effects.append(effect)
        return effects

    def next_deadline_ms(self) -> int | None:
        inner = self.inner.next_deadline_ms()
        own = self.own_deadline_ms()
        if inner is None or own is None:
            return own if inner is None else inner
        return min(inner, own)

    # -- hooks -------------------------------------------------------------------------------

    def refuses(self, envelope: Envelope) -> bool:
        """Whether to drop ``envelope`` instead of handing it in (asked only when active)."""
        return False

    def rewrite(self, effect: MessageEffect) -> list[Effect]:
        """What to send instead of ``effect`` (asked only when active)."""
        return [effect]

    def on_tick(self) -> None:
        """Time passed; ``self.now_ms`` is the new time."""

    def released(self) -> list[Effect]:
        """The behaviour's own effects due now, sent before the inner node's."""
        return []

    def own_deadline_ms(self) -> int | None:
        """When the behaviour itself next needs a tick."""
        return None

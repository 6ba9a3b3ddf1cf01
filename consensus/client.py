"""A PBFT client session (OSDI'99 §4.1): sign requests, retransmit, accept ``f + 1`` replies.

A client sends its request to the primary it believes in. Without an answer in time it
broadcasts the request to every replica (so backups start their view-change timers against a
primary that ignores it) and doubles its wait. A result counts only when ``f + 1`` distinct
replicas reply with the same result: at least one of them is correct.

How long "in time" is adapts to the council, as TCP's retransmission timer does (RFC 6298):
the smoothed latency of requests answered at the first try plus four times its variation, never
below ``retransmit_timeout_ms``; a wait that ran out stays doubled for the next requests until
an answer comes in time again. A fixed timer below the council's latency under load would
broadcast every request again, adding the load that made it late.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from consensus.effects import Broadcast, Effect, Send
from consensus.messages import (
    Envelope,
    MalformedMessage,
    Reply,
    ReplyEntry,
    Request,
    decode,
    replica_principal,
    seal,
)
from consensus.quorum import QuorumMath
from crypto import Signer

RETRANSMIT_TIMEOUT_MAX_MS = 60_000


@dataclass(slots=True)
class LatencyEstimate:
    """Smoothed reply latency and its variation, from requests answered at the first try."""

    smoothed_ms: float | None = None
    variation_ms: float = 0.0

    def observe(self, latency_ms: int) -> None:
        if self.smoothed_ms is None:
            self.smoothed_ms, self.variation_ms = float(latency_ms), latency_ms / 2
            return
        self.variation_ms = 0.75 * self.variation_ms + 0.25 * abs(self.smoothed_ms - latency_ms)
        self.smoothed_ms = 0.875 * self.smoothed_ms + 0.125 * latency_ms

    def timeout_ms(self) -> int:
        if self.smoothed_ms is None:
            return 0
        return round(self.smoothed_ms + 4 * self.variation_ms)


@dataclass(slots=True)
class Outstanding:
    envelope: Envelope
    submitted_ms: int
    retransmit_at_ms: int
    retransmit_timeout_ms: int
    retransmissions: int = 0
    results: dict[int, str] = field(default_factory=dict)
    votes: dict[str, int] = field(default_factory=dict)
    views: dict[int, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Completed:
    """A request the council answered: ``f + 1`` replicas agreed on ``result``."""

    timestamp: int
    result: str
    submitted_ms: int
    completed_ms: int


def reply_of(envelope: Envelope) -> Reply | None:
    """The REPLY a verified ``envelope`` carries, if it is one, signed by the replica it names;
    what a client counts towards ``f + 1`` matching replies."""
    try:
        message = decode(envelope)
    except MalformedMessage:
        return None
    if not isinstance(message, Reply) or envelope.sender != replica_principal(message.replica):
        return None
    return message


class ClientSession:
    """One client principal's requests and the replies collected for them."""

    def __init__(
        self, quorums: QuorumMath, signer: Signer, *, retransmit_timeout_ms: int = 2_000
    ) -> None:
        self.quorums = quorums
        self.signer = signer
        self.principal = signer.principal
        self.retransmit_timeout_ms = retransmit_timeout_ms  # the floor of the adaptive wait
        self.latency = LatencyEstimate()
        self.backed_off_ms = 0  # a doubled wait that ran out, kept until an answer is in time
        self.timestamp = 0
        self.view_hint = 0
        self.outstanding: dict[int, Outstanding] = {}
        self.effects: list[Effect] = []

    def submit(self, operation: str, now_ms: int) -> Envelope:
        """Sign the next request and send it to the believed primary."""
        self.timestamp += 1
        request = Request(client=self.principal, timestamp=self.timestamp, operation=operation)
        envelope = seal(self.signer, request)
        timeout_ms = self.first_timeout_ms()
        self.outstanding[self.timestamp] = Outstanding(
            envelope=envelope,
            submitted_ms=now_ms,
            retransmit_at_ms=now_ms + timeout_ms,
            retransmit_timeout_ms=timeout_ms,
        )
        primary = replica_principal(self.quorums.primary(self.view_hint))
        self.effects.append(Send(primary, envelope))
        return envelope

    def on_reply(self, replica: int, view: int, entry: ReplyEntry, now_ms: int) -> Completed | None:
        """Count one replica's result for one of our requests (from a verified REPLY)."""
        client, timestamp, result = entry
        if client != self.principal:
            return None
        outstanding = self.outstanding.get(timestamp)
        if outstanding is None or replica in outstanding.results:
            return None
        outstanding.results[replica] = result
        outstanding.views[replica] = view
        matching = outstanding.votes.get(result, 0) + 1
        outstanding.votes[result] = matching
        if matching < self.quorums.weak:
            return None
        del self.outstanding[timestamp]
        if outstanding.retransmissions == 0:
            # Karn's rule: an answer after a retransmission may answer either copy.
            self.latency.observe(now_ms - outstanding.submitted_ms)
            self.backed_off_ms = 0
        # The (f+1)-th highest view among the matching replies: a correct replica reached it,
        # so one faulty reply cannot send the next request to a view nobody is in.
        views = sorted(
            (outstanding.views[r] for r, res in outstanding.results.items() if res == result),
            reverse=True,
        )
        self.view_hint = max(self.view_hint, views[self.quorums.weak - 1])
        return Completed(timestamp, result, outstanding.submitted_ms, now_ms)

    def first_timeout_ms(self) -> int:
        """How long a new request waits before its first retransmission."""
        adaptive = max(self.retransmit_timeout_ms, self.latency.timeout_ms(), self.backed_off_ms)
        return min(adaptive, RETRANSMIT_TIMEOUT_MAX_MS)

    def tick(self, now_ms: int) -> None:
        """Broadcast every request that waited too long, doubling its wait (and the next
        requests' first wait)."""
        for outstanding in self.outstanding.values():
            if outstanding.retransmit_at_ms <= now_ms:
                self.effects.append(Broadcast(outstanding.envelope))
                outstanding.retransmissions += 1
                outstanding.retransmit_timeout_ms = min(
                    2 * outstanding.retransmit_timeout_ms, RETRANSMIT_TIMEOUT_MAX_MS
                )
                outstanding.retransmit_at_ms = now_ms + outstanding.retransmit_timeout_ms
                self.backed_off_ms = max(self.backed_off_ms, outstanding.retransmit_timeout_ms)

    def next_deadline_ms(self) -> int | None:
        return min((o.retransmit_at_ms for o in self.outstanding.values()), default=None)

    def take_effects(self) -> list[Effect]:
        effects, self.effects = self.effects, []
        return effects

"""The agent's edge: every publish is checked here before the replica sees it.

Order of checks, cheapest first: the publisher's rate, the payload's size and shape, the
council, the publisher's rate again by the messages the bundle holds, then per envelope its
kind and body, the signer's membership and the signature. The signer need not be the
publisher: seats relay client requests, the primary relays votes, and seats retransmit messages
others signed (a lagging seat is sent the pre-prepare it missed); the signature is what counts.
Every one of those was verified before it was passed on, so the first bad signature in a bundle
condemns the rest of it unverified.
Whatever fails is dropped and counted by :class:`~council.live.wire.DropReason`; nothing raises
past this module.

A replayed message is not dropped here: retransmission is how PBFT recovers from loss, so an
envelope seen before is counted (``replayed``) and handed on; the replica ignores what is stale.
"""

from __future__ import annotations

import time
from collections import Counter, OrderedDict
from dataclasses import dataclass, field

from consensus import Envelope, EnvelopeVerifier, decode
from consensus.messages import MalformedMessage
from council.live.topics import CouncilTopics, TopicKind
from council.live.wire import PAYLOAD_BYTES_MAX, Dropped, DropReason, decode_bundle

#: Remembered signatures, to count replays; old ones are forgotten first.
SEEN_SIGNATURES_MAX = 200_000


@dataclass(slots=True)
class TokenBucket:
    """At most ``rate_per_s`` messages a second from one sender, in bursts up to ``burst``."""

    rate_per_s: float
    burst: float
    tokens: float = -1.0
    updated_s: float = 0.0

    def take(self, now_s: float, count: int = 1) -> bool:
        if self.tokens < 0:
            self.tokens, self.updated_s = self.burst, now_s
        self.tokens = min(self.burst, self.tokens + (now_s - self.updated_s) * self.rate_per_s)
        self.updated_s = now_s
        if self.tokens < count:
            return False
        self.tokens -= count
        return True


@dataclass(frozen=True, slots=True)
class RateLimits:
    """Per-publisher limits in signed messages a second (a bundle's envelopes and a
    pre-prepare's requests each count): seats exchange many; a client sends a few requests."""

    seat_per_s: float = 20_000.0
    seat_burst: float = 40_000.0
    client_per_s: float = 200.0
    client_burst: float = 400.0


@dataclass(slots=True)
class Inbound:
    """Checks publishes for one agent and counts what it drops."""

    council_id: str
    topics: CouncilTopics
    verifier: EnvelopeVerifier
    members: frozenset[str]  # every roster principal: seats and clients
    seats: frozenset[str]
    #: Kinds beyond the protocol's that the agent reads itself (member ballot instructions):
    #: checked here for membership and signature, decoded by their reader.
    own_kinds: frozenset[str] = frozenset()
    limits: RateLimits = RateLimits()
    payload_bytes_max: int = PAYLOAD_BYTES_MAX
    dropped: Counter[str] = field(default_factory=Counter)
    replayed: int = 0
    accepted: int = 0
    _buckets: dict[str, TokenBucket] = field(default_factory=dict)
    _seen: OrderedDict[str, None] = field(default_factory=OrderedDict)

    def drop(self, reason: DropReason, count: int = 1) -> None:
        if count:
            self.dropped[reason.value] += count

    def accept(self, topic: str, payload: bytes, now_s: float | None = None) -> list[Envelope]:
        """The verified envelopes of one publish; what fails is counted and left out."""
        address = self.topics.address(topic)
        if address is None or address.kind in (TopicKind.PRESENCE, TopicKind.EVENTS):
            self.drop(DropReason.WRONG_TOPIC)
            return []
        bucket = self._bucket(address.sender)
        now_s = time.monotonic() if now_s is None else now_s
        if not bucket.take(now_s):  # the publish itself, before any work on it
            self.drop(DropReason.RATE_LIMITED)
            return []
        try:
            envelopes = decode_bundle(payload, self.council_id, self.payload_bytes_max)
        except Dropped as dropped:
            self.drop(dropped.reason)
            return []
        # Each signed message costs a verification, so the rate counts messages, not
        # publishes: a bundle of thousands must not pass for one.
        messages = sum(1 + len(envelope.attachment) for envelope in envelopes)
        if messages > 1 and not bucket.take(now_s, messages - 1):
            self.drop(DropReason.RATE_LIMITED, len(envelopes))
            return []
        accepted = []
        for index, envelope in enumerate(envelopes):
            try:
                self._check(envelope)
            except Dropped as dropped:
                self.drop(dropped.reason)
                if dropped.reason is DropReason.BAD_SIGNATURE:
                    # A correct seat publishes only what it signed or verified, so its bundles
                    # never hold a bad signature: stop spending verifications on this one.
                    self.drop(DropReason.AFTER_BAD_SIGNATURE, len(envelopes) - index - 1)
                    break
                continue
            accepted.append(envelope)
        self.accepted += len(accepted)
        return accepted

    def _bucket(self, publisher: str) -> TokenBucket:
        bucket = self._buckets.get(publisher)
        if bucket is None:
            limits = self.limits
            if publisher in self.seats:
                bucket = TokenBucket(limits.seat_per_s, limits.seat_burst)
            else:
                bucket = TokenBucket(limits.client_per_s, limits.client_burst)
            self._buckets[publisher] = bucket
        return bucket

    def _check(self, envelope: Envelope) -> None:
        if envelope.kind not in self.own_kinds:
            try:
                decode(envelope)
            except MalformedMessage as error:
                unknown = "unknown message kind" in str(error)
                reason = DropReason.UNKNOWN_KIND if unknown else DropReason.MALFORMED
                raise Dropped(reason) from error
        if envelope.sender not in self.members:
            raise Dropped(DropReason.NOT_A_MEMBER, envelope.sender)
        if not self.verifier.verify(envelope):
            raise Dropped(DropReason.BAD_SIGNATURE, envelope.sender)
        self._note_seen(envelope.signature)

    def _note_seen(self, signature: str) -> None:
        seen = self._seen
        if signature in seen:
            self.replayed += 1
            seen.move_to_end(signature)
            return
        seen[signature] = None
        if len(seen) > SEEN_SIGNATURES_MAX:
            seen.popitem(last=False)

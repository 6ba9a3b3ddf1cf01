"""Byzantine replicas for the simulator: they hold real keys and lie with them.

A Byzantine replica wraps a correct replica and rewrites what it sends; it never patches the
replica's internals. These are the fixed attacks of ``council simulate``; their rewrites are the
ones of :mod:`council.behaviours`, where scenarios find the full set. Behaviours:

- ``silent``: sends nothing (a crash that never recovers);
- ``corrupt``: changes a byte of every message it sends, so signatures fail (the scenarios'
  ``forge`` with ``tampered-body``);
- ``replay``: behaves correctly but also re-sends old messages of its own;
- ``equivocate``: tells half of the council one thing and the other half another — different
  batches as primary, conflicting prepares and commits as a backup.

``split-brain`` is a coalition, not a behaviour: the colluding primary and its accomplices
present two different batches for every sequence number to two halves of the correct replicas,
with all the colluders' prepares and commits for each side. Below the threshold no side gathers
a quorum; beyond it (``f + 1`` colluders) both sides commit, and agreement breaks.
"""

from __future__ import annotations

import random

from consensus import (
    Broadcast,
    Effect,
    Envelope,
    QuorumMath,
    Replica,
    Request,
    Send,
    decode,
    replica_principal,
    seal,
)
from consensus.messages import Commit, Prepare, PrePrepare, batch_digest
from council.behaviours import ReplayHistory, equivocating_sends, tampered_body, variant_batch
from crypto import Signer

BEHAVIOURS = ("silent", "corrupt", "replay", "equivocate")
#: How long the split-brain coalition gathers requests into one batch.
BATCH_WAIT_MS = 5


class SilentReplica:
    """A replica that never says anything: it holds its key and ignores every message."""

    def __init__(self, replica_id: int) -> None:
        self.id = replica_id

    def receive(self, envelope: Envelope, now_ms: int) -> None:
        return None

    def tick(self, now_ms: int) -> None:
        return None

    def next_deadline_ms(self) -> int | None:
        return None

    def take_effects(self) -> list[Effect]:
        return []


class ByzantineReplica:
    """A correct replica whose outgoing messages an adversary rewrites (the rewrites are the
    ones of :mod:`council.behaviours`)."""

    def __init__(self, replica: Replica, behaviour: str, n: int, rng: random.Random) -> None:
        if behaviour not in BEHAVIOURS:
            raise ValueError(f"unknown behaviour {behaviour!r}; expected one of {BEHAVIOURS}")
        self.replica = replica
        self.behaviour = behaviour
        self.id = replica.id
        self._signer = replica.signer
        self._n = n
        self._history = ReplayHistory(rng)

    def receive(self, envelope: Envelope, now_ms: int) -> None:
        self.replica.receive(envelope, now_ms)

    def tick(self, now_ms: int) -> None:
        self.replica.tick(now_ms)

    def next_deadline_ms(self) -> int | None:
        return self.replica.next_deadline_ms()

    def take_effects(self) -> list[Effect]:
        effects = self.replica.take_effects()
        outgoing: list[Effect] = []
        for effect in effects:
            if isinstance(effect, Broadcast | Send):
                outgoing.extend(self._rewrite(effect))
        return outgoing

    def _rewrite(self, effect: Broadcast | Send) -> list[Effect]:
        envelope = effect.envelope
        if self.behaviour == "silent":
            return []
        if self.behaviour == "corrupt":
            if isinstance(effect, Send):
                return [Send(effect.to, tampered_body(envelope))]
            return [Broadcast(tampered_body(envelope))]
        if self.behaviour == "replay":
            return self._history.with_replay(effect, self._signer.principal)
        if isinstance(effect, Broadcast):
            return equivocating_sends(envelope, self._signer, self._n, self.id)
        return [effect]


class SplitBrainCoalition:
    """Colluders led by the primary of view 0 that split the correct replicas in two halves."""

    def __init__(
        self,
        members: tuple[int, ...],
        signers: dict[int, Signer],
        quorums: QuorumMath,
        batch_size_max: int,
    ) -> None:
        self.members = members
        self.signers = signers
        self.quorums = quorums
        self.batch_size_max = batch_size_max
        self.primary = quorums.primary(0)
        assert self.primary in members, "the split-brain coalition is led by the primary"
        correct = [r for r in range(quorums.n) if r not in members]
        self.halves = (tuple(correct[0::2]), tuple(correct[1::2]))
        self.next_seq = 1
        self.seen_requests: set[str] = set()
        self.waiting: list[Envelope] = []
        self.flush_at_ms: int | None = None
        self.effects: list[Effect] = []

    def on_request(self, envelope: Envelope, now_ms: int) -> None:
        digest = envelope.request_digest()
        if digest in self.seen_requests:
            return
        self.seen_requests.add(digest)
        self.waiting.append(envelope)
        if self.flush_at_ms is None:
            self.flush_at_ms = now_ms + BATCH_WAIT_MS

    def flush(self, now_ms: int) -> None:
        """Present the requests gathered so far as two different batches."""
        if self.flush_at_ms is None or now_ms < self.flush_at_ms:
            return
        batch = tuple(self.waiting[: self.batch_size_max])
        self.waiting = self.waiting[self.batch_size_max :]
        self.flush_at_ms = now_ms + BATCH_WAIT_MS if self.waiting else None
        self._present_two_batches(batch)

    def _present_two_batches(self, requests: tuple[Envelope, ...]) -> None:
        seq = self.next_seq
        self.next_seq += 1
        for half, batch in zip(self.halves, (requests, variant_batch(requests)), strict=True):
            digest = batch_digest(batch)
            votes = [
                seal(
                    self.signers[self.primary],
                    PrePrepare(view=0, seq=seq, digest=digest),
                    attachment=batch,
                )
            ]
            for member in self.members:
                if member != self.primary:  # the primary's word is its pre-prepare
                    prepare = Prepare(view=0, seq=seq, digest=digest, replica=member)
                    votes.append(seal(self.signers[member], prepare))
                commit = Commit(view=0, seq=seq, digest=digest, replica=member)
                votes.append(seal(self.signers[member], commit))
            for target in half:
                for vote in votes:
                    self.effects.append(Send(replica_principal(target), vote))

    def relay_within_half(self, vote: Envelope, voter: int) -> None:
        """A council that relays votes sends them to the primary: pass each correct replica's
        vote on to its own half only, so neither half learns of the other's batch."""
        for half in self.halves:
            if voter in half:
                for target in half:
                    if target != voter:
                        self.effects.append(Send(replica_principal(target), vote))


class CoalitionMember:
    """One colluder's node: it hands client requests to the coalition and says nothing itself."""

    def __init__(self, coalition: SplitBrainCoalition, replica_id: int) -> None:
        self.coalition = coalition
        self.id = replica_id

    def receive(self, envelope: Envelope, now_ms: int) -> None:
        if self.id != self.coalition.primary:
            return
        message = decode(envelope)
        if isinstance(message, Request):
            self.coalition.on_request(envelope, now_ms)
        elif isinstance(message, Prepare | Commit):
            self.coalition.relay_within_half(envelope, message.replica)

    def tick(self, now_ms: int) -> None:
        if self.id == self.coalition.primary:
            self.coalition.flush(now_ms)

    def next_deadline_ms(self) -> int | None:
        return self.coalition.flush_at_ms if self.id == self.coalition.primary else None

    def take_effects(self) -> list[Effect]:
        if self.id != self.coalition.primary:
            return []
        effects, self.coalition.effects = self.coalition.effects, []
        return effects

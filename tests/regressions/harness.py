"""Drive real replicas through a fake link, one message at a time (after aioquic's
``client_and_server()`` and ``roundtrip()`` test helpers).

A :class:`Council` builds ``n`` replicas with real Ed25519 keys. The test plays any member or
client by signing with its key (:meth:`Council.sign`), delivers envelopes to the replicas it
chooses (:meth:`Council.deliver`, verifying at the edge first, as the simulator does), and reads
back every effect each replica produced. :meth:`Council.flush` delivers what replicas broadcast
and send among a chosen set until nothing is left; :meth:`Council.run` lets virtual time pass.
Members listed as ``faulty`` get no replica: the test speaks for them.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import crypto
from consensus import (
    Broadcast,
    Effect,
    Envelope,
    EnvelopeVerifier,
    Evidence,
    Execute,
    LedgerApplication,
    Persist,
    PersistCheckpoint,
    Replica,
    ReplicaConfig,
    Request,
    Respond,
    Send,
    ViewEntered,
    decode,
    replica_principal,
    seal,
)
from consensus.messages import (
    Commit,
    NewView,
    Prepare,
    PreparedProof,
    PrePrepare,
    Suspect,
    ViewChange,
    batch_digest,
)

COUNCIL_ID = "regression-council"
SEED = 2024
CLIENTS = ("alice", "bob", "carol")
#: Small logs so checkpoints, watermarks and garbage collection happen within a few requests.
SMALL_CONFIG: dict[str, int] = {
    "checkpoint_interval": 2,
    "watermark_window": 4,
    "batch_size_max": 1,
}
FLUSH_DELIVERIES_MAX = 100_000

M = TypeVar("M")
Who = int | str


@dataclass(frozen=True, slots=True)
class InFlight:
    """An envelope a replica sent that the fake link has not delivered yet."""

    source: int
    targets: tuple[int, ...]
    envelope: Envelope


@dataclass(slots=True)
class Storage:
    """What one replica persisted; it survives :meth:`Council.crash`."""

    records: list[Envelope] = field(default_factory=list)
    checkpoint: PersistCheckpoint | None = None


class Council:
    """``n`` replicas with real keys, a fake link between them and a virtual clock."""

    def __init__(self, n: int = 4, *, faulty: Collection[int] = (), **config: Any) -> None:
        self.config = ReplicaConfig(n=n, **(SMALL_CONFIG | config))
        self.quorums = self.config.quorums
        names = [replica_principal(i) for i in range(n)] + list(CLIENTS)
        self.keys = {name: crypto.PrivateKey.derive(SEED, name) for name in names}
        roster = crypto.Roster(
            COUNCIL_ID, {name: key.public_key() for name, key in self.keys.items()}
        )
        self.verifier = EnvelopeVerifier(crypto.Verifier(roster))
        self.signers = {
            name: crypto.Signer(COUNCIL_ID, name, key) for name, key in self.keys.items()
        }
        self.now_ms = 0
        self.faulty = frozenset(faulty)
        self.replicas: dict[int, Replica] = {}
        self.effects: dict[int, list[Effect]] = {i: [] for i in range(n)}
        self.effect_times_ms: dict[int, list[int]] = {i: [] for i in range(n)}
        self.storage = {i: Storage() for i in range(n)}
        self.in_flight: list[InFlight] = []
        self.replies: dict[str, list[Envelope]] = {client: [] for client in CLIENTS}
        self.edge_rejections = 0
        for i in range(n):
            if i not in self.faulty:
                self.replicas[i] = Replica(
                    self.config, i, self.signer(i), self.verifier, LedgerApplication()
                )

    @property
    def honest(self) -> tuple[int, ...]:
        """The members that run a replica (not faulty, not crashed)."""
        return tuple(sorted(self.replicas))

    # -- speaking for anyone -----------------------------------------------------------------

    def signer(self, who: Who) -> crypto.Signer:
        return self.signers[replica_principal(who) if isinstance(who, int) else who]

    def sign(self, who: Who, message: Any, attachment: tuple[Envelope, ...] = ()) -> Envelope:
        """``message`` signed with the real key of ``who`` (a replica id or a client name)."""
        return seal(self.signer(who), message, attachment)

    def forge(self, claimed: Who, key_of: Who, message: Any) -> Envelope:
        """``message`` claiming to come from ``claimed`` but signed with the key of ``key_of``."""
        name = replica_principal(claimed) if isinstance(claimed, int) else claimed
        key = self.keys[replica_principal(key_of) if isinstance(key_of, int) else key_of]
        return seal(crypto.Signer(COUNCIL_ID, name, key), message)

    def request(self, client: str, timestamp: int, operation: str = "op") -> Envelope:
        return self.sign(client, Request(client=client, timestamp=timestamp, operation=operation))

    def pre_prepare(
        self, view: int, seq: int, requests: tuple[Envelope, ...], *, signer: int | None = None
    ) -> Envelope:
        """A PRE-PREPARE for ``requests``, signed by ``signer`` (the view's primary by default)."""
        primary = self.quorums.primary(view) if signer is None else signer
        message = PrePrepare(view=view, seq=seq, digest=batch_digest(requests))
        return self.sign(primary, message, requests)

    def prepare(self, replica: int, view: int, seq: int, digest: str) -> Envelope:
        return self.sign(replica, Prepare(view=view, seq=seq, digest=digest, replica=replica))

    def commit(self, replica: int, view: int, seq: int, digest: str) -> Envelope:
        return self.sign(replica, Commit(view=view, seq=seq, digest=digest, replica=replica))

    def sign_text(self, who: Who, kind: str, body: str) -> Envelope:
        """A validly signed envelope around exactly ``body`` (which need not be canonical)."""
        signer = self.signer(who)
        signature = signer.sign(kind, body.encode()).hex()
        return Envelope(sender=signer.principal, kind=kind, body=body, signature=signature)

    def view_change(
        self,
        replica: int,
        new_view: int,
        *,
        stable_seq: int = 0,
        checkpoint_proof: tuple[Envelope, ...] = (),
        prepared: Iterable[tuple[Envelope, tuple[Envelope, ...]]] = (),
    ) -> Envelope:
        """A VIEW-CHANGE whose ``P`` holds one certificate per (pre-prepare with its batch,
        prepares) pair."""
        entries = list(prepared)
        message = ViewChange(
            new_view=new_view,
            replica=replica,
            stable_seq=stable_seq,
            checkpoint_proof=checkpoint_proof,
            prepared=tuple(
                PreparedProof(pre_prepare=pre_prepare.detached(), prepares=prepares)
                for pre_prepare, prepares in entries
            ),
        )
        return self.sign(replica, message, tuple(pre_prepare for pre_prepare, _ in entries))

    def new_view(
        self,
        view: int,
        view_changes: Iterable[Envelope],
        assignments: Iterable[tuple[int, tuple[Envelope, ...]]],
        *,
        signer: int | None = None,
    ) -> Envelope:
        """A NEW-VIEW with ``V = view_changes`` and an ``O`` of one pre-prepare per
        (seq, batch) pair, every part signed by ``signer`` (the view's primary by default)."""
        primary = self.quorums.primary(view) if signer is None else signer
        pre_prepares = tuple(
            self.pre_prepare(view, seq, requests, signer=primary) for seq, requests in assignments
        )
        message = NewView(
            view=view,
            view_changes=tuple(envelope.detached() for envelope in view_changes),
            pre_prepares=pre_prepares,
        )
        return self.sign(primary, message)

    # -- the fake link -----------------------------------------------------------------------

    def deliver(self, envelope: Envelope, to: int | Iterable[int]) -> bool:
        """Verify ``envelope`` at the edge, then hand it to each replica in ``to`` that runs;
        false (and nothing delivered) when the signature does not hold."""
        if not self.verifier.verify(envelope):
            self.edge_rejections += 1
            return False
        for target in (to,) if isinstance(to, int) else to:
            replica = self.replicas.get(target)
            if replica is not None:
                replica.receive(envelope, self.now_ms)
                self._collect(target)
        return True

    def deliver_all(self, envelopes: Iterable[Envelope], to: int | Iterable[int]) -> None:
        """:meth:`deliver` each envelope in turn; every one must pass the edge."""
        targets = (to,) if isinstance(to, int) else tuple(to)
        for envelope in envelopes:
            assert self.deliver(envelope, targets), f"{envelope.kind} failed the edge check"

    def flush(self, among: Collection[int] | None = None) -> int:
        """Deliver everything in flight whose sender and receiver are both in ``among`` (all
        running replicas by default), until nothing is left; the rest is lost. Returns the
        number of deliveries."""
        members = set(self.replicas if among is None else among)
        deliveries = 0
        while self.in_flight:
            batch, self.in_flight = self.in_flight, []
            for item in batch:
                if item.source not in members:
                    continue
                targets = [t for t in item.targets if t in members and t in self.replicas]
                deliveries += len(targets)
                self.deliver(item.envelope, targets)
            assert deliveries <= FLUSH_DELIVERIES_MAX, "the council does not quiesce"
        return deliveries

    def exchange_suspicions(self, among: Iterable[int], also: Iterable[int] = ()) -> None:
        """The replicas in ``among``, whose timers fired, hear each other's SUSPECTs of the
        primary, and those of ``also`` (typically faulty replicas, or a peer not modelled in
        the test); with ``f + 1`` suspicions a replica starts its view change. Nothing else in
        flight is delivered."""
        members = tuple(among)
        view = max(self.replicas[i].view for i in members)
        suspects = [
            item.envelope
            for item in self.in_flight
            if item.source in members and item.envelope.kind == "suspect"
        ]
        suspects += [self.sign(i, Suspect(view=view, replica=i)) for i in also]
        for envelope in suspects:
            self.deliver(envelope, members)

    def drop(self) -> None:
        """Lose everything in flight."""
        self.in_flight.clear()

    def tick(self, now_ms: int) -> None:
        """Move the clock to ``now_ms`` and fire every running replica's due timers."""
        self.now_ms = max(self.now_ms, now_ms)
        for i, replica in sorted(self.replicas.items()):
            replica.tick(self.now_ms)
            self._collect(i)

    def run(self, until_ms: int, among: Collection[int] | None = None, step_ms: int = 50) -> None:
        """Let time pass in steps, delivering everything among ``among`` after each step."""
        self.flush(among)
        while self.now_ms < until_ms:
            self.tick(min(self.now_ms + step_ms, until_ms))
            self.flush(among)

    def submit(self, request: Envelope, to: int | Iterable[int] | None = None) -> None:
        """A client hands ``request`` to some replicas (all running ones by default)."""
        self.deliver(request, self.honest if to is None else to)

    def _collect(self, i: int) -> None:
        effects = self.replicas[i].take_effects()
        self.effects[i].extend(effects)
        self.effect_times_ms[i].extend(self.now_ms for _ in effects)
        others = tuple(t for t in range(self.config.n) if t != i)
        for effect in effects:
            if isinstance(effect, Broadcast):
                self.in_flight.append(InFlight(i, others, effect.envelope))
            elif isinstance(effect, Send):
                self._send(i, effect.to, effect.envelope)
            elif isinstance(effect, Respond):
                for client in effect.clients:
                    self.replies[client].append(effect.envelope)
            elif isinstance(effect, Persist):
                self.storage[i].records.append(effect.record)
            elif isinstance(effect, PersistCheckpoint):
                self.storage[i].checkpoint = effect

    def _send(self, source: int, to: str, envelope: Envelope) -> None:
        targets = [i for i in range(self.config.n) if replica_principal(i) == to]
        if targets:
            self.in_flight.append(InFlight(source, tuple(targets), envelope))
        elif to in self.replies:
            self.replies[to].append(envelope)

    # -- crashes -----------------------------------------------------------------------------

    def crash(self, i: int) -> None:
        """Stop replica ``i``; what it persisted stays in :attr:`storage`."""
        del self.replicas[i]
        self.in_flight = [item for item in self.in_flight if item.source != i]

    def restart(self, i: int) -> Replica:
        """Bring replica ``i`` back from its storage with a fresh application."""
        storage = self.storage[i]
        replica = Replica.recover(
            self.config,
            i,
            self.signer(i),
            self.verifier,
            LedgerApplication(),
            records=list(storage.records),
            checkpoint=storage.checkpoint,
            now_ms=self.now_ms,
        )
        self.replicas[i] = replica
        self._collect(i)
        return replica

    # -- reading what happened ---------------------------------------------------------------

    def sent(self, i: int, kind: type[M]) -> list[tuple[Envelope, M]]:
        """Every message of type ``kind`` replica ``i`` broadcast or sent, in order."""
        return [(envelope, message) for _, envelope, message in self.sent_timed(i, kind)]

    def sent_timed(self, i: int, kind: type[M]) -> list[tuple[int, Envelope, M]]:
        """Like :meth:`sent`, with the virtual time at which each was sent.

        A signed message sent to several replicas in one step counts once, as the copy with
        the most attached (a VIEW-CHANGE goes with its batches to the new primary only)."""
        found: list[tuple[int, Envelope, M]] = []
        seen: dict[tuple[int, str], int] = {}
        for at_ms, effect in zip(self.effect_times_ms[i], self.effects[i], strict=True):
            if isinstance(effect, Broadcast | Send):
                message = decode(effect.envelope)
                if not isinstance(message, kind):
                    continue
                key = (at_ms, effect.envelope.signature)
                index = seen.get(key)
                if index is None:
                    seen[key] = len(found)
                    found.append((at_ms, effect.envelope, message))
                elif len(effect.envelope.attachment) > len(found[index][1].attachment):
                    found[index] = (at_ms, effect.envelope, message)
        return found

    def evidence(self, i: int) -> list[Evidence]:
        return [effect for effect in self.effects[i] if isinstance(effect, Evidence)]

    def executed(self, i: int) -> list[Execute]:
        return [effect for effect in self.effects[i] if isinstance(effect, Execute)]

    def log(self, i: int) -> list[tuple[int, str]]:
        """The (seq, digest) pairs replica ``i`` executed, in order."""
        return [(effect.seq, effect.digest) for effect in self.executed(i)]

    def views_entered(self, i: int) -> list[int]:
        return [effect.view for effect in self.effects[i] if isinstance(effect, ViewEntered)]

    def clear_effects(self) -> None:
        for i in self.effects:
            self.effects[i].clear()
            self.effect_times_ms[i].clear()


def executed_requests(effects: Iterable[Execute]) -> list[str]:
    """The digests of the requests actually run, in execution order."""
    return [request.request_digest() for effect in effects for request in effect.executed]

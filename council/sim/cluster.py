"""Everything a simulated council is made of: keys, roster, replicas, adversaries, clients.

All keys derive from the seed, so a seed names one council; all replicas share one verifier,
so a broadcast is verified once however many replicas receive it.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

import crypto
from consensus import (
    Envelope,
    EnvelopeVerifier,
    LedgerApplication,
    PersistCheckpoint,
    QuorumMath,
    Replica,
    ReplicaConfig,
    decode,
    replica_principal,
)
from consensus.client import ClientSession
from council.behaviours.base import Node
from council.sim.adversary import (
    BEHAVIOURS,
    ByzantineReplica,
    CoalitionMember,
    SilentReplica,
    SplitBrainCoalition,
)

COUNCIL_ID = "simulated-council"
ATTACKS = ("mixed", "silent", "split-brain")


@dataclass(slots=True)
class ReplicaStorage:
    """What a replica persisted: it survives a simulated crash."""

    records: list[Envelope] = field(default_factory=list)
    checkpoint: PersistCheckpoint | None = None

    def persist(self, envelope: Envelope) -> None:
        self.records.append(envelope)

    def persist_checkpoint(self, checkpoint: PersistCheckpoint) -> None:
        if self.checkpoint is not None and self.checkpoint.seq >= checkpoint.seq:
            return
        self.checkpoint = checkpoint
        self.records = [r for r in self.records if _record_seq(r) > checkpoint.seq]


def _record_seq(envelope: Envelope) -> int:
    """The sequence number a record is about; view-changes and new-views are kept."""
    seq = getattr(decode(envelope), "seq", None)
    return seq if isinstance(seq, int) else 1 << 62


def byzantine_placement(n: int, count: int) -> tuple[int, ...]:
    """Spread ``count`` faulty replicas over the council, starting with the first primary."""
    if not 0 <= count <= n:
        raise ValueError(f"cannot make {count} of {n} replicas Byzantine")
    return tuple(sorted({(i * n) // count for i in range(count)})) if count else ()


class Council:
    """A simulated council: ``n`` replicas, some Byzantine, and their client sessions."""

    def __init__(
        self,
        config: ReplicaConfig,
        *,
        seed: int,
        byzantine: tuple[int, ...],
        attack: str,
        client_count: int,
        adversary_rng: random.Random,
    ) -> None:
        if attack not in ATTACKS:
            raise ValueError(f"unknown attack {attack!r}; expected one of {ATTACKS}")
        self.config = config
        self.quorums = QuorumMath.for_council(config.n)
        self.byzantine = byzantine
        keys = {
            replica_principal(i): crypto.PrivateKey.derive(seed, replica_principal(i))
            for i in range(config.n)
        }
        client_names = [f"client-{i}" for i in range(client_count)]
        keys.update({name: crypto.PrivateKey.derive(seed, name) for name in client_names})
        backend = crypto.get_backend()
        self.roster = crypto.Roster(
            council_id=COUNCIL_ID,
            members={name: key.public_key(backend) for name, key in keys.items()},
        )
        self.signature_verifier = crypto.Verifier(self.roster, backend)
        self.verifier = EnvelopeVerifier(self.signature_verifier)
        self.signers = {
            name: crypto.Signer(COUNCIL_ID, name, key, backend) for name, key in keys.items()
        }
        self.storage = [ReplicaStorage() for _ in range(config.n)]
        self.nodes: dict[int, Node] = {}
        self.replicas: dict[int, Replica] = {}
        for i in range(config.n):
            if i not in byzantine:
                self.replicas[i] = self._new_replica(i, now_ms=0)
                self.nodes[i] = self.replicas[i]
        self._make_adversaries(attack, adversary_rng)
        self.clients = [ClientSession(self.quorums, self.signers[name]) for name in client_names]

    def _new_replica(self, replica_id: int, now_ms: int) -> Replica:
        return Replica(
            self.config,
            replica_id,
            self.signers[replica_principal(replica_id)],
            self.verifier,
            LedgerApplication(),
            now_ms=now_ms,
        )

    def _make_adversaries(self, attack: str, rng: random.Random) -> None:
        if attack == "split-brain" and self.byzantine:
            coalition = SplitBrainCoalition(
                self.byzantine,
                {i: self.signers[replica_principal(i)] for i in self.byzantine},
                self.quorums,
                self.config.batch_size_max,
            )
            for i in self.byzantine:
                self.nodes[i] = CoalitionMember(coalition, i)
            return
        for rank, i in enumerate(self.byzantine):
            behaviour = "silent" if attack == "silent" else _mixed_behaviour(rank)
            if behaviour == "silent":
                self.nodes[i] = SilentReplica(i)
                continue
            replica = self._new_replica(i, now_ms=0)
            self.nodes[i] = ByzantineReplica(replica, behaviour, self.config.n, rng)

    def restart(self, replica_id: int, now_ms: int) -> Replica:
        """Bring a crashed correct replica back from its storage, with a fresh application."""
        storage = self.storage[replica_id]
        replica = Replica.recover(
            self.config,
            replica_id,
            self.signers[replica_principal(replica_id)],
            self.verifier,
            LedgerApplication(),
            records=list(storage.records),
            checkpoint=storage.checkpoint,
            now_ms=now_ms,
        )
        self.replicas[replica_id] = replica
        self.nodes[replica_id] = replica
        return replica


def _mixed_behaviour(rank: int) -> str:
    """The first Byzantine replica (the first primary) equivocates; the rest take turns."""
    order = ("equivocate", "silent", "corrupt", "replay")
    assert set(order) == set(BEHAVIOURS)
    return order[rank % len(order)]

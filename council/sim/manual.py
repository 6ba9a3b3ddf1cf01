"""A council driven by hand, for stateful property tests: nothing moves unless the test says so.

The seeded simulator (:mod:`council.sim.runner`) decides when each message arrives. Here the
test decides: every message a replica or client sends waits in :attr:`ManualCluster.in_transit`
until the test delivers, drops, duplicates or reorders it, and virtual time moves only when the
test calls :meth:`ManualCluster.advance`. Effects are routed exactly as the simulator routes
them — envelopes are verified at the edge before ``receive``, ``Persist`` and
``PersistCheckpoint`` fill the storage a restart recovers from, and every ``Execute`` of a
correct replica goes through a :class:`~council.sim.checker.SafetyChecker`.

Faulty replicas are puppets: they hold their real keys (:meth:`ManualCluster.signer_of`) but
never act on their own. Whatever they say, the test makes up and hands to
:meth:`ManualCluster.inject`; messages addressed to them go nowhere.

Example::

    cluster = ManualCluster(4, seed=7, faulty=(3,), checkpoint_interval=2)
    cluster.submit(0, "motion-1")
    cluster.deliver(0)      # the request reaches the primary
    cluster.advance(5)      # its batch wait passes: the pre-prepare is in transit
    cluster.duplicate(0)    # ... twice
    assert cluster.settle(time_limit_ms=10_000)  # a healed network answers the client
    assert not cluster.checker.violations
"""

from __future__ import annotations

import random
from collections import deque
from dataclasses import dataclass
from typing import Any

from consensus import (
    Broadcast,
    Effect,
    Envelope,
    Evidence,
    Execute,
    MalformedMessage,
    Persist,
    PersistCheckpoint,
    Replica,
    ReplicaConfig,
    Reply,
    Respond,
    Send,
    StateTransferred,
    ViewEntered,
    decode,
    replica_principal,
)
from consensus.client import ClientSession, Completed
from council.sim.checker import SafetyChecker
from council.sim.cluster import Council
from council.sim.runner import CLIENTS_NODE
from crypto import Signer

#: Messages held in transit; beyond this the oldest is lost, so examples stay small.
IN_TRANSIT_MAX = 256
#: Envelopes of correct replicas remembered for an adversary to replay or build on.
OBSERVED_MAX = 128
#: Timer firings one call to :meth:`ManualCluster.advance` may perform.
TICKS_PER_ADVANCE_MAX = 10_000
#: Deliveries one call to :meth:`ManualCluster.deliver_all` may perform.
DELIVERIES_MAX = 100_000


@dataclass(frozen=True, slots=True)
class InTransit:
    """One message on its way: ``source`` and ``target`` are replica ids, or ``CLIENTS_NODE``."""

    source: int
    target: int
    envelope: Envelope


class ManualCluster:
    """A simulated council whose network and clock the caller drives step by step.

    ``faulty`` replicas are silent puppets; ``config_overrides`` are :class:`ReplicaConfig`
    fields (``checkpoint_interval=2``, ``view_change_timeout_ms=500``, ...). Every key derives
    from ``seed``, so the seed and the sequence of calls replay a run exactly.
    """

    def __init__(
        self,
        n: int,
        seed: int,
        faulty: tuple[int, ...] = (),
        *,
        clients: int = 2,
        in_transit_max: int = IN_TRANSIT_MAX,
        **config_overrides: Any,  # ReplicaConfig fields
    ) -> None:
        if any(not 0 <= replica < n for replica in faulty):
            raise ValueError(f"faulty replicas {faulty} are not all in 0..{n - 1}")
        if clients < 1 or in_transit_max < 1:
            raise ValueError("a manual cluster needs at least one client and one transit slot")
        self.seed = seed
        self.council = Council(
            ReplicaConfig(n=n, **config_overrides),
            seed=seed,
            byzantine=tuple(sorted(set(faulty))),
            attack="silent",
            client_count=clients,
            adversary_rng=random.Random(seed),  # unused: silent puppets draw nothing
        )
        self.checker = SafetyChecker()
        self.in_transit_max = in_transit_max
        self.now_ms = 0
        self.in_transit: list[InTransit] = []
        self.crashed: set[int] = set()
        self.submitted: list[Envelope] = []
        self.completed: list[Completed] = []
        self.evidence: list[Evidence] = []
        self.observed: deque[Envelope] = deque(maxlen=OBSERVED_MAX)
        self.lost_to_cap = 0
        self.state_transfers = 0
        self.rejected_at_edge = 0
        self.highest_view = 0

    # -- who is who --------------------------------------------------------------------------

    @property
    def n(self) -> int:
        return self.council.config.n

    @property
    def config(self) -> ReplicaConfig:
        return self.council.config

    @property
    def faulty(self) -> tuple[int, ...]:
        return self.council.byzantine

    @property
    def correct(self) -> tuple[int, ...]:
        """Replicas running the protocol, crashed or not."""
        return tuple(sorted(self.council.replicas))

    @property
    def running(self) -> tuple[int, ...]:
        """Correct replicas that are up."""
        return tuple(r for r in self.correct if r not in self.crashed)

    @property
    def sessions(self) -> list[ClientSession]:
        return self.council.clients

    @property
    def outstanding(self) -> int:
        """Requests submitted and not yet answered by ``f + 1`` matching replies."""
        return sum(len(session.outstanding) for session in self.sessions)

    def replica(self, replica_id: int) -> Replica:
        return self.council.replicas[replica_id]

    def signer_of(self, replica_id: int) -> Signer:
        """The real signing key of a replica, for a test that speaks for a faulty one."""
        return self.council.signers[replica_principal(replica_id)]

    def idle_clients(self) -> tuple[int, ...]:
        """Clients with no request outstanding (a PBFT client waits for its reply)."""
        return tuple(i for i, s in enumerate(self.sessions) if not s.outstanding)

    # -- inputs ------------------------------------------------------------------------------

    def submit(self, client_index: int, operation: str) -> Envelope:
        """Client ``client_index`` signs ``operation`` and sends it towards the primary."""
        session = self.sessions[client_index]
        if session.outstanding:
            raise ValueError(f"client {client_index} still waits for a reply")
        envelope = session.submit(operation, self.now_ms)
        self.submitted.append(envelope)
        self.checker.submit(envelope.request_digest())
        self._perform(CLIENTS_NODE, session.take_effects())
        return envelope

    def deliver(self, index: int) -> InTransit:
        """Hand in-transit message ``index`` to its target (lost if the target is down)."""
        message = self.in_transit.pop(index)
        if message.target in self.crashed:
            return message
        if not self.council.verifier.verify(message.envelope):
            self.rejected_at_edge += 1  # forged or corrupted: dropped at the edge
            return message
        if message.target == CLIENTS_NODE:
            self._deliver_to_clients(message.envelope)
        else:
            replica = self.council.replicas[message.target]
            replica.receive(message.envelope, self.now_ms)
            self._perform(message.target, replica.take_effects())
        return message

    def deliver_all(self, deliveries_max: int = DELIVERIES_MAX) -> int:
        """Deliver in sending order until nothing is in transit; the number delivered."""
        delivered = 0
        while self.in_transit and delivered < deliveries_max:
            self.deliver(0)
            delivered += 1
        return delivered

    def drop(self, index: int) -> InTransit:
        """Lose in-transit message ``index``."""
        return self.in_transit.pop(index)

    def duplicate(self, index: int) -> None:
        """Send another copy of in-transit message ``index``; the copy travels last."""
        self._enqueue(self.in_transit[index])

    def inject(self, envelope: Envelope, target: int) -> int:
        """Put a message the test made up (a faulty replica's, a replay) in transit to
        ``target``; its index in :attr:`in_transit`."""
        if target != CLIENTS_NODE and target not in self.council.replicas:
            raise ValueError(f"target {target} is not a correct replica")
        self._enqueue(InTransit(_node_of(envelope.sender), target, envelope))
        return len(self.in_transit) - 1

    def advance(self, ms: int) -> int:
        """Let ``ms`` of virtual time pass, firing every due timer of running replicas and
        clients in deadline order; the number of timer firings."""
        if ms < 0:
            raise ValueError(f"time does not run backwards ({ms} ms)")
        until_ms = self.now_ms + ms
        ticks = 0
        while ticks < TICKS_PER_ADVANCE_MAX:
            due = self._earliest_deadline()
            if due is None or due[0] > until_ms:
                break
            self.now_ms = max(self.now_ms, due[0])
            self._tick(due[1])
            ticks += 1
        self.now_ms = until_ms
        return ticks

    def crash(self, replica_id: int) -> None:
        """Stop a correct replica: it loses everything it did not persist."""
        if replica_id not in self.council.replicas:
            raise ValueError(f"replica {replica_id} is not a correct replica")
        self.crashed.add(replica_id)

    def restart(self, replica_id: int) -> Replica:
        """Bring a crashed replica back from its storage (its last stable checkpoint and the
        messages it signed since)."""
        if replica_id not in self.crashed:
            raise ValueError(f"replica {replica_id} is not crashed")
        self.crashed.discard(replica_id)
        replica = self.council.restart(replica_id, self.now_ms)
        self.checker.resumed(replica_id, replica.last_executed, dict(replica.client_table))
        self._perform(replica_id, replica.take_effects())
        return replica

    def settle(self, time_limit_ms: int) -> bool:
        """Run a healed network: deliver everything in order, then let time pass to the next
        timer, until every request is answered or ``time_limit_ms`` more has passed.
        True when nothing is outstanding."""
        until_ms = self.now_ms + time_limit_ms
        while True:
            self.deliver_all()
            if self.outstanding == 0:
                return True
            due = self._earliest_deadline()
            if due is None or due[0] > until_ms:
                return False
            self.advance(max(due[0] - self.now_ms, 0))

    # -- effects -----------------------------------------------------------------------------

    def _enqueue(self, message: InTransit) -> None:
        if message.target != CLIENTS_NODE and message.target not in self.council.replicas:
            return  # faulty puppets act only through inject
        self.in_transit.append(message)
        if len(self.in_transit) > self.in_transit_max:
            del self.in_transit[0]
            self.lost_to_cap += 1

    def _send(self, source: int, targets: list[int], envelope: Envelope) -> None:
        if source != CLIENTS_NODE:
            self.observed.append(envelope)
        for target in targets:
            self._enqueue(InTransit(source, target, envelope))

    def _perform(self, source: int, effects: list[Effect]) -> None:
        """Route effects as the simulator does: messages into transit, the rest to storage,
        the safety checker and the record."""
        for effect in effects:
            if isinstance(effect, Broadcast):
                targets = [t for t in range(self.n) if t != source]
                self._send(source, targets, effect.envelope)
            elif isinstance(effect, Send):
                self._send(source, [_node_of(effect.to)], effect.envelope)
            elif isinstance(effect, Respond):
                self._send(source, [CLIENTS_NODE], effect.envelope)
            elif isinstance(effect, Execute):
                self.checker.execute(source, effect)
            elif isinstance(effect, Persist):
                self.council.storage[source].persist(effect.record)
            elif isinstance(effect, PersistCheckpoint):
                self.council.storage[source].persist_checkpoint(effect)
            elif isinstance(effect, Evidence):
                self.evidence.append(effect)
            elif isinstance(effect, ViewEntered):
                self.highest_view = max(self.highest_view, effect.view)
            elif isinstance(effect, StateTransferred):
                self.state_transfers += 1
                checkpoint = self.council.storage[source].checkpoint
                self.checker.resumed_from_checkpoint(source, checkpoint)

    def _deliver_to_clients(self, envelope: Envelope) -> None:
        try:
            reply = decode(envelope)
        except MalformedMessage:
            self.rejected_at_edge += 1
            return
        if not isinstance(reply, Reply) or envelope.sender != replica_principal(reply.replica):
            self.rejected_at_edge += 1
            return
        by_name = {session.principal: session for session in self.sessions}
        for entry in reply.results:
            session = by_name.get(entry[0])
            if session is None:
                continue
            completed = session.on_reply(reply.replica, reply.view, entry, self.now_ms)
            if completed is not None:
                self.completed.append(completed)

    # -- time --------------------------------------------------------------------------------

    def _earliest_deadline(self) -> tuple[int, int] | None:
        """(deadline, node) of the next timer among running replicas and clients."""
        deadlines = [
            (deadline, replica_id)
            for replica_id in self.running
            if (deadline := self.council.replicas[replica_id].next_deadline_ms()) is not None
        ]
        client_deadlines = [d for s in self.sessions if (d := s.next_deadline_ms()) is not None]
        if client_deadlines:
            deadlines.append((min(client_deadlines), CLIENTS_NODE))
        return min(deadlines, default=None)

    def _tick(self, node: int) -> None:
        if node == CLIENTS_NODE:
            for session in self.sessions:
                session.tick(self.now_ms)
                self._perform(CLIENTS_NODE, session.take_effects())
            return
        replica = self.council.replicas[node]
        replica.tick(self.now_ms)
        self._perform(node, replica.take_effects())


def _node_of(principal: str) -> int:
    """The node a principal lives on: replica ``rN`` is ``N``, every client is the client node."""
    if principal.startswith("r") and principal[1:].isdigit():
        return int(principal[1:])
    return CLIENTS_NODE

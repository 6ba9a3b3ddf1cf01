"""The deterministic discrete-event simulator (after TigerBeetle's VOPR).

One seed derives every random choice — keys, network delays, losses, duplicates, partitions,
crash and restart times, adversaries' picks — and time is virtual, so a seed replays the same
run and the same event trace (``trace_digest``). Safety is checked after every step; a
violation stops the run. Faults apply during a fault phase; once the network heals, liveness
is judged: every request must complete before ``time_limit_ms``.
"""

from __future__ import annotations

import hashlib
import heapq
import random
from collections import Counter, deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Protocol

from consensus import (
    Broadcast,
    Effect,
    Envelope,
    EnvelopeVerifier,
    Evidence,
    Execute,
    Persist,
    PersistCheckpoint,
    Replica,
    ReplicaConfig,
    Respond,
    Send,
    StateTransferred,
    ViewEntered,
    decode,
)
from consensus.client import Completed
from council.behaviours.base import Node
from council.sim.checker import SafetyChecker, Violation
from council.sim.clients import ClientPool
from council.sim.cluster import Council, ReplicaStorage, byzantine_placement
from council.sim.network import NetworkConditions, SeededNetwork

CLIENTS_NODE = -1
_DELIVER, _TICK, _CRASH, _RESTART = 0, 1, 2, 3
TRACE_TAIL_MAX = 200_000


def derive_seed(seed: int, purpose: str) -> int:
    """An independent sub-seed for one purpose, so adding a random draw in one place does not
    shift every other."""
    digest = hashlib.sha256(f"byzantine-council/sim/{seed}/{purpose}".encode()).digest()
    return int.from_bytes(digest[:8], "big")


@dataclass(frozen=True, slots=True)
class SimulationSettings:
    agents: int = 33
    byzantine: int = 0
    attack: str = "mixed"
    requests: int = 500
    clients: int = 128
    seed: int = 1
    network: NetworkConditions = field(default_factory=NetworkConditions)
    crashes: int = 0
    time_limit_ms: int = 600_000
    batch_size_max: int = 256
    checkpoint_interval: int = 16
    relay_votes: bool = False  # ReplicaConfig.relay_votes, as the live council runs

    def replica_config(self) -> ReplicaConfig:
        return ReplicaConfig(
            n=self.agents,
            batch_size_max=self.batch_size_max,
            checkpoint_interval=self.checkpoint_interval,
            watermark_window=4 * self.checkpoint_interval,
            relay_votes=self.relay_votes,
        )


@dataclass(frozen=True, slots=True)
class PlannedCrash:
    """``replica`` stops at ``crash_ms`` and, unless ``restart_ms`` is None, restarts from its
    durable storage then."""

    replica: int
    crash_ms: int
    restart_ms: int | None


class SimulatedNetwork(Protocol):
    def deliveries(self, source: int, target: int, now_ms: int) -> tuple[int, ...]: ...


class SimulatedCouncil(Protocol):
    """The replicas a simulation drives: ``nodes`` by replica id, ``replicas`` the correct
    ones the checker watches, their ``storage``, and the shared ``verifier``."""

    @property
    def nodes(self) -> dict[int, Node]: ...
    @property
    def replicas(self) -> dict[int, Replica]: ...
    @property
    def storage(self) -> list[ReplicaStorage]: ...
    @property
    def verifier(self) -> EnvelopeVerifier: ...
    def restart(self, replica_id: int, now_ms: int) -> Replica: ...


class SimulatedClients(Node, Protocol):
    """The one node standing for every client session."""

    submitted: list[Envelope]
    completed: list[Completed]
    rejected_replies: int

    def start(self, now_ms: int) -> None: ...
    @property
    def done(self) -> bool: ...


@dataclass(frozen=True, slots=True)
class World:
    council: SimulatedCouncil
    network: SimulatedNetwork
    clients: SimulatedClients


def default_world(settings: SimulationSettings) -> World:
    """The world of ``council simulate``: a ledger council, a seeded network, a client pool."""
    seed = settings.seed
    council = Council(
        settings.replica_config(),
        seed=seed,
        byzantine=byzantine_placement(settings.agents, settings.byzantine),
        attack=settings.attack,
        client_count=settings.clients,
        adversary_rng=random.Random(derive_seed(seed, "adversary")),
    )
    network = SeededNetwork(
        settings.network, settings.agents, random.Random(derive_seed(seed, "network"))
    )
    return World(council, network, ClientPool(council.clients, settings.requests))


EVENT_NAMES = ("deliver", "tick", "crash", "restart")

#: One processed event: (time_ms, event, source, target, envelope or None).
TraceEvent = tuple[int, int, int, int, Envelope | None]


def trace_line(event: TraceEvent) -> str:
    """The text of one event as it enters the trace digest."""
    at_ms, kind, source, target, envelope = event
    if envelope is None:
        return f"{at_ms} {EVENT_NAMES[kind]} {target}"
    return (
        f"{at_ms} {EVENT_NAMES[kind]} {source}->{target} {envelope.kind} {envelope.signature[:16]}"
    )


@dataclass(slots=True)
class SimulationStats:
    messages_by_kind: Counter[str] = field(default_factory=Counter)
    bytes_by_kind: Counter[str] = field(default_factory=Counter)
    evidence_by_kind: Counter[str] = field(default_factory=Counter)
    evidence_culprits: set[int] = field(default_factory=set)
    evidence_by_culprit: Counter[tuple[int, str]] = field(default_factory=Counter)
    highest_view: int = 0
    views_entered: int = 0
    state_transfers: int = 0
    crashes: int = 0
    restarts: int = 0
    events: int = 0


class Simulation:
    """A seeded run of one council; call :meth:`run`, or :meth:`step` to drive it."""

    def __init__(
        self,
        settings: SimulationSettings,
        *,
        world: World | None = None,
        crash_plan: tuple[PlannedCrash, ...] | None = None,
    ) -> None:
        """A run of ``settings``; ``world`` replaces the default council, network and clients
        (the scenario runner brings governance agents and a phased network), ``crash_plan``
        the seeded random crashes."""
        self.settings = settings
        seed = settings.seed
        if world is None:
            world = default_world(settings)
            self.byzantine = byzantine_placement(settings.agents, settings.byzantine)
        else:
            self.byzantine = ()
        self.council = world.council
        self.network = world.network
        self.clients = world.clients
        self.checker = SafetyChecker()
        self.stats = SimulationStats()
        self.now_ms = 0
        self._queue: list[tuple[int, int, int, int, Envelope | None, int]] = []
        self._order = 0
        self._tick_at: dict[int, int] = {}
        self._crashed: set[int] = set()
        self._trace = hashlib.sha256()
        self.trace_tail: deque[TraceEvent] = deque(maxlen=TRACE_TAIL_MAX)
        self.violation: Violation | None = None
        if crash_plan is None:
            crash_plan = self._random_crashes(random.Random(derive_seed(seed, "crashes")))
        for crash in crash_plan:
            self._push(crash.crash_ms, _CRASH, crash.replica, None, crash.replica)
            if crash.restart_ms is not None:
                self._push(crash.restart_ms, _RESTART, crash.replica, None, crash.replica)
        self._submissions_noted = 0
        self.clients.start(0)
        self._note_submissions()
        self._perform(CLIENTS_NODE, self.clients.take_effects())
        for node_id in self.council.nodes:
            self._rearm(node_id)
        self._rearm(CLIENTS_NODE)

    def on_execute(self, replica: int, effect: Execute) -> None:
        """Every node's execution, faulty ones included (a hook for the scenario runner)."""

    def on_view(self, replica: int, view: int) -> None:
        """A correct replica entered ``view`` (a hook for the scenario runner)."""

    def on_state_transfer(self, replica: int) -> None:
        """A correct replica jumped to a stable checkpoint (a hook for the scenario runner)."""

    def on_crash(self, replica: int, restarted: bool) -> None:
        """``replica`` crashed or restarted (a hook for the scenario runner)."""

    def on_send(self, source: int, kind: str, copies: int) -> None:
        """``source`` sent ``copies`` of a ``kind`` message (a hook for the gateway's traffic)."""

    # -- scheduling --------------------------------------------------------------------------

    def _push(
        self, at_ms: int, event: int, node: int, envelope: Envelope | None, source: int
    ) -> None:
        self._order += 1
        heapq.heappush(self._queue, (at_ms, self._order, event, node, envelope, source))

    def _random_crashes(self, rng: random.Random) -> tuple[PlannedCrash, ...]:
        correct = [i for i in range(self.settings.agents) if i not in self.byzantine]
        window_ms = max(self.settings.network.faults_until_ms, 1)
        plan = []
        for replica in rng.sample(correct, min(self.settings.crashes, len(correct))):
            crash_ms = rng.randrange(window_ms)
            restart_ms = crash_ms + rng.randrange(100, 2_000)
            plan.append(PlannedCrash(replica, crash_ms, restart_ms))
        return tuple(plan)

    def _rearm(self, node_id: int) -> None:
        """Re-arm the one timer of a node (aioquic's pattern): its next deadline."""
        node = self.clients if node_id == CLIENTS_NODE else self.council.nodes[node_id]
        deadline = node.next_deadline_ms()
        if deadline is None:
            return
        deadline = max(deadline, self.now_ms)
        scheduled = self._tick_at.get(node_id)
        if scheduled is None or deadline < scheduled:
            self._tick_at[node_id] = deadline
            self._push(deadline, _TICK, node_id, None, node_id)

    # -- effects -----------------------------------------------------------------------------

    def _node_of(self, principal: str) -> int:
        if principal.startswith("r") and principal[1:].isdigit():
            return int(principal[1:])
        return CLIENTS_NODE

    def _send(self, source: int, targets: Iterable[int], envelope: Envelope) -> None:
        sent = 0
        now_ms = self.now_ms
        deliveries = self.network.deliveries
        queue = self._queue
        for target in targets:
            sent += 1
            for delay_ms in deliveries(source, target, now_ms):
                self._order += 1
                heapq.heappush(
                    queue, (now_ms + delay_ms, self._order, _DELIVER, target, envelope, source)
                )
        kind = envelope.kind
        self.stats.messages_by_kind[kind] += sent
        self.stats.bytes_by_kind[kind] += sent * envelope.wire_size
        self.on_send(source, kind, sent)

    def _perform(self, source: int, effects: list[Effect]) -> None:
        correct = source in self.council.replicas
        for effect in effects:
            if isinstance(effect, Broadcast):
                targets = [t for t in range(self.settings.agents) if t != source]
                self._send(source, targets, effect.envelope)
            elif isinstance(effect, Send):
                self._send(source, (self._node_of(effect.to),), effect.envelope)
            elif isinstance(effect, Respond):
                self._send(source, (CLIENTS_NODE,), effect.envelope)
            elif isinstance(effect, Execute):
                self.on_execute(source, effect)
                if correct:
                    self._check(source, effect)
            elif not correct:
                continue
            elif isinstance(effect, Persist):
                self.council.storage[source].persist(effect.record)
            elif isinstance(effect, PersistCheckpoint):
                self.council.storage[source].persist_checkpoint(effect)
            elif isinstance(effect, Evidence):
                self.stats.evidence_by_kind[effect.kind] += 1
                self.stats.evidence_culprits.add(effect.culprit)
                self.stats.evidence_by_culprit[(effect.culprit, effect.kind)] += 1
            elif isinstance(effect, ViewEntered):
                self.stats.views_entered += 1
                self.stats.highest_view = max(self.stats.highest_view, effect.view)
                self.on_view(source, effect.view)
            elif isinstance(effect, StateTransferred):
                self.stats.state_transfers += 1
                checkpoint = self.council.storage[source].checkpoint
                self.checker.resumed_from_checkpoint(source, checkpoint)
                self.on_state_transfer(source)

    def _check(self, replica: int, effect: Execute) -> None:
        violation = self.checker.execute(replica, effect)
        if violation is not None and self.violation is None:
            self.violation = violation

    # -- the loop ----------------------------------------------------------------------------

    def step(self) -> bool:
        """Process the next event; false when nothing is left to do."""
        if not self._queue:
            return False
        at_ms, _, event, node_id, envelope, source = heapq.heappop(self._queue)
        self.now_ms = at_ms
        if event == _TICK:
            if self._tick_at.get(node_id) != at_ms:
                return True  # superseded by an earlier deadline
            del self._tick_at[node_id]
        self.stats.events += 1
        record = (at_ms, event, source, node_id, envelope)
        self._trace.update(trace_line(record).encode())
        self.trace_tail.append(record)
        if event == _CRASH:
            self._crash(node_id)
        elif event == _RESTART:
            self._restart(node_id)
        elif node_id in self._crashed:
            return True
        elif node_id == CLIENTS_NODE:
            self._step_clients(event, envelope)
        else:
            self._step_replica(node_id, event, envelope)
        return True

    def _step_clients(self, event: int, envelope: Envelope | None) -> None:
        if event == _DELIVER:
            assert envelope is not None
            if not self.council.verifier.verify(envelope):
                self.clients.rejected_replies += 1
                return
            self.clients.receive(envelope, self.now_ms)
        else:
            self.clients.tick(self.now_ms)
        self._note_submissions()
        self._perform(CLIENTS_NODE, self.clients.take_effects())
        self._rearm(CLIENTS_NODE)

    def _step_replica(self, node_id: int, event: int, envelope: Envelope | None) -> None:
        node = self.council.nodes[node_id]
        if event == _DELIVER:
            assert envelope is not None
            if not self.council.verifier.verify(envelope):
                return  # forged or corrupted: dropped at the edge, counted by the verifier
            node.receive(envelope, self.now_ms)
        else:
            node.tick(self.now_ms)
        self._perform(node_id, node.take_effects())
        self._rearm(node_id)

    def _note_submissions(self) -> None:
        """Tell the checker about requests clients signed (validity's reference set)."""
        submitted = self.clients.submitted
        for envelope in submitted[self._submissions_noted :]:
            self.checker.submit(envelope.request_digest())
        self._submissions_noted = len(submitted)

    def _crash(self, replica_id: int) -> None:
        self._crashed.add(replica_id)
        self.stats.crashes += 1
        self.on_crash(replica_id, restarted=False)

    def _restart(self, replica_id: int) -> None:
        self._crashed.discard(replica_id)
        replica: Replica = self.council.restart(replica_id, self.now_ms)
        self.stats.restarts += 1
        self.on_crash(replica_id, restarted=True)
        self.checker.resumed(replica_id, replica.last_executed, dict(replica.client_table))
        self._tick_at.pop(replica_id, None)
        self._rearm(replica_id)

    def advance_to(self, until_ms: int, steps_max: int) -> int:
        """Process the events due by ``until_ms``, at most ``steps_max`` of them; once all are
        done the clock reads ``until_ms``. Returns the number processed. (The gateway paces a
        simulated council this way, virtual time following the wall clock.)"""
        processed = 0
        queue = self._queue
        while self.violation is None and queue and queue[0][0] <= until_ms:
            if processed >= steps_max:
                return processed
            self.step()
            processed += 1
        self.now_ms = max(self.now_ms, until_ms)
        return processed

    def wake_clients(self) -> None:
        """Send what the clients node has to send now: requests handed to it from outside the
        event loop (the gateway's) go out at the current virtual time."""
        self._note_submissions()
        self._perform(CLIENTS_NODE, self.clients.take_effects())
        self._rearm(CLIENTS_NODE)

    def run(self) -> SimulationOutcome:
        """Run until every request completes, safety breaks, or time runs out."""
        limit_ms = self.settings.time_limit_ms
        while self.violation is None and not self.clients.done:
            if not self._queue or self._queue[0][0] > limit_ms:
                break
            self.step()
        return SimulationOutcome(self)

    @property
    def trace_digest(self) -> str:
        return self._trace.hexdigest()


@dataclass(frozen=True, slots=True)
class SimulationOutcome:
    simulation: Simulation

    @property
    def safe(self) -> bool:
        return self.simulation.violation is None

    @property
    def live(self) -> bool:
        return self.simulation.clients.done

    def trace_for_violation(self, lines_max: int = 40) -> list[str]:
        """The recorded events about the sequence number where safety broke."""
        violation = self.simulation.violation
        if violation is None:
            return []
        lines = []
        seen: set[str] = set()
        for event in self.simulation.trace_tail:
            envelope = event[4]
            if envelope is None or envelope.kind not in ("pre-prepare", "commit"):
                continue
            if envelope.signature in seen:
                continue  # each signed message once, at its first delivery
            seen.add(envelope.signature)
            message = decode(envelope)
            if getattr(message, "seq", None) == violation.seq:
                digest = getattr(message, "digest", "")[:12]
                lines.append(f"{trace_line(event)} digest={digest}")
        return lines[:lines_max]

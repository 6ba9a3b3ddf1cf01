"""The live agents' own work per PBFT instance, without MQTT, asyncio or the scheduler.

All n agent cores of a council run in this one process, each with its SQLite store and its
edge checks (:class:`~council.live.inbound.Inbound`); what one agent publishes is handed to its
recipients as the same bytes the broker would carry. Clients submit governance queries, a batch
at a time. CPU time is counted around the agents only, so the figure is what an instance costs
the agents' Python and crypto — the part of ``live_ratio_to_bound``'s gap that is not waking up
and talking to the broker::

    python -m bench.agent_path [--batch 120] [--instances 8] [--profile FILE] [--marginal]

``--profile`` writes a cProfile (CPU time) of the measured instances. ``--marginal`` adds what
one more request per batch costs (:func:`measure_marginal`): the part of an instance that
larger batches cannot spread thinner.
"""

from __future__ import annotations

import cProfile
import gc
import json
import sys
import tempfile
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import crypto
from bench.live_council import bench_council_file, load_principals
from consensus import EnvelopeVerifier, Send, replica_principal
from consensus.client import ClientSession, reply_of
from council.commands.init import write_council
from council.governance.operations import query_operation
from council.live import runtime
from council.live.agent import AgentSettings, open_core
from council.live.agent_core import AgentCore, Outbox
from council.live.connection import BrokerUrl
from council.live.council_dir import CouncilDir
from council.live.inbound import Inbound
from council.live.storage import AgentStore
from council.live.topics import CouncilTopics, TopicKind
from council.live.wire import decode_bundle, encode_bundle

SEATS = 33
#: Never dialled: the agents here talk through this process, not a broker.
NO_BROKER = BrokerUrl.parse("mqtt://127.0.0.1:9")
#: Virtual milliseconds that pass whenever no message is in flight (the primary's batch wait).
IDLE_STEP_MS = 5
#: A motion nobody opens: every query is ordered, executed and answered, and opens nothing.
QUERIED_MOTION = "BENCH-0"


@dataclass
class Seat:
    core: AgentCore
    inbound: Inbound
    signatures: crypto.Verifier


@dataclass(frozen=True)
class AgentPathFigures:
    batch: int
    instances: int
    cpu_ms_per_instance: float
    deliveries_per_instance: float
    publishes_per_instance: float
    verifications_per_instance: float

    def as_json(self, verify_us: float) -> dict[str, float]:
        """The figures, with the CPU the verifications account for at ``verify_us`` each and
        what is left per request at each seat."""
        verify_ms = self.verifications_per_instance * verify_us / 1000
        rest_us = 1000 * (self.cpu_ms_per_instance - verify_ms) / (self.batch * SEATS)
        return {
            "batch": self.batch,
            "cpu_ms_per_instance": round(self.cpu_ms_per_instance, 1),
            "verify_ms_per_instance": round(verify_ms, 1),
            "verify_share": round(verify_ms / self.cpu_ms_per_instance, 3),
            "other_us_per_request_per_seat": round(rest_us, 1),
            "deliveries_per_instance": round(self.deliveries_per_instance, 1),
            "publishes_per_instance": round(self.publishes_per_instance, 1),
            "verifications_per_instance": round(self.verifications_per_instance, 1),
        }


class InProcessCouncil:
    """n agent cores exchanging their publishes in memory, in sending order."""

    def __init__(self, work: Path, clients: int) -> None:
        write_council(bench_council_file(SEATS, clients), work / "council")
        self.directory = directory = CouncilDir.load(work / "council")
        self.topics = CouncilTopics(directory.council_id)
        self.seats: list[Seat] = []
        for seat in range(1, SEATS + 1):
            store = AgentStore.open(work / f"seat-{seat:02d}.sqlite3")
            signatures = crypto.Verifier(directory.roster, crypto.get_backend())
            verifier = EnvelopeVerifier(signatures)
            settings = AgentSettings(seat, directory.path, NO_BROKER)
            inbound = Inbound(
                council_id=directory.council_id,
                topics=self.topics,
                verifier=verifier,
                members=frozenset(directory.roster),
                seats=frozenset(replica_principal(i) for i in range(SEATS)),
            )
            core = open_core(settings, directory, store, verifier)
            self.seats.append(Seat(core, inbound, signatures))
        self.sessions = {
            principal: ClientSession(directory.quorums, directory.signer(principal))
            for principal in load_principals(clients)
        }
        self.in_flight: deque[tuple[int | None, str, bytes]] = deque()
        self.now_ms = 0
        self.agent_cpu_s = 0.0
        self.deliveries = 0
        self.publishes = 0

    def verifications(self) -> int:
        return sum(seat.signatures.stats.misses for seat in self.seats)

    def order_one_batch(self) -> None:
        """Every client submits one query; return once each has f + 1 matching replies."""
        council_id = self.directory.council_id
        for principal, session in self.sessions.items():
            session.submit(query_operation(QUERIED_MOTION), self.now_ms)
            for effect in session.take_effects():
                if isinstance(effect, Send):
                    topic = self.topics.direct(effect.to, principal)
                    self.in_flight.append((0, topic, encode_bundle(council_id, [effect.envelope])))
        while any(session.outstanding for session in self.sessions.values()):
            if self.in_flight:
                self._deliver(*self.in_flight.popleft())
            else:
                self.now_ms += IDLE_STEP_MS
                with self._agents_working():
                    for index, seat in enumerate(self.seats):
                        seat.core.tick(self.now_ms)
                        self._route(index, seat.core.drain(self.now_ms))

    def _deliver(self, target: int | None, topic: str, payload: bytes) -> None:
        if target is None:
            self._to_clients(payload)
            return
        self.deliveries += 1
        seat = self.seats[target]
        with self._agents_working():
            for envelope in seat.inbound.accept(topic, payload, self.now_ms / 1000):
                seat.core.receive(envelope, self.now_ms)
            seat.core.tick(self.now_ms)
            self._route(target, seat.core.drain(self.now_ms))

    def _route(self, sender: int, outbox: Outbox) -> None:
        for topic, payload in outbox.payloads(self.directory.council_id):
            self.publishes += 1
            address = self.topics.address(topic)
            assert address is not None, topic
            if address.kind is TopicKind.BROADCAST:
                targets: list[int | None] = [s for s in range(SEATS) if s != sender]
            elif address.kind is TopicKind.DIRECT and address.recipient is not None:
                targets = [int(address.recipient.removeprefix("r"))]
            else:
                targets = [None]  # replies and results: the clients
            self.in_flight.extend((target, topic, payload) for target in targets)

    def _to_clients(self, payload: bytes) -> None:
        for envelope in decode_bundle(payload, self.directory.council_id):
            reply = reply_of(envelope)
            if reply is None:
                continue
            for entry in reply.results:
                session = self.sessions.get(entry[0])
                if session is not None:
                    session.on_reply(reply.replica, reply.view, entry, self.now_ms)

    @contextmanager
    def _agents_working(self) -> Iterator[None]:
        started = time.process_time()
        try:
            yield
        finally:
            self.agent_cpu_s += time.process_time() - started


@contextmanager
def settled_heap() -> Iterator[None]:
    """The collector as an agent process tunes it once started (:func:`runtime.settle_heap`),
    then as it was: the caller may be a test run."""
    thresholds = gc.get_threshold()
    runtime.settle_heap()
    try:
        yield
    finally:
        gc.unfreeze()
        gc.set_threshold(*thresholds)


def measure_agent_path(
    batch: int = 120, instances: int = 8, profile: Path | None = None
) -> AgentPathFigures:
    """Order ``instances`` batches of ``batch`` queries (after one to warm up) and count."""
    with tempfile.TemporaryDirectory(prefix="council-agent-path-") as work:
        council = InProcessCouncil(Path(work), clients=batch)
        council.order_one_batch()  # caches, stores and the first checkpoint's start-up
        council.agent_cpu_s, council.deliveries, council.publishes = 0.0, 0, 0
        verified_before = council.verifications()
        profiler = cProfile.Profile(time.process_time) if profile is not None else None
        with settled_heap():
            if profiler is not None:
                profiler.enable()
            for _ in range(instances):
                council.order_one_batch()
            if profiler is not None and profile is not None:
                profiler.disable()
                profiler.dump_stats(profile)
        return AgentPathFigures(
            batch=batch,
            instances=instances,
            cpu_ms_per_instance=1000 * council.agent_cpu_s / instances,
            deliveries_per_instance=council.deliveries / instances,
            publishes_per_instance=council.publishes / instances,
            verifications_per_instance=(council.verifications() - verified_before) / instances,
        )


@dataclass(frozen=True)
class MarginalRequest:
    """What one more request per batch costs the agents: the slope of CPU and verifications
    between two batch sizes, so the costs of the instance itself (votes, checkpoints, waking
    up) drop out."""

    batches: tuple[int, int]
    cpu_ms: float  # per request, over every seat
    verifications: float  # per request, over every seat

    def as_json(self, verify_us: float) -> dict[str, Any]:
        """With the share of a request's CPU its verifications take at ``verify_us`` each: the
        ratio to the bound that batching alone could approach, since the bound of a large
        batch is nearly all request verifications."""
        verify_ms = self.verifications * verify_us / 1000
        return {
            "batches": list(self.batches),
            "cpu_ms_per_request": round(self.cpu_ms, 3),
            "verifications_per_request": round(self.verifications, 1),
            "verify_ms_per_request": round(verify_ms, 3),
            "verify_share": round(verify_ms / self.cpu_ms, 3),
        }


def measure_marginal(small: int = 60, large: int = 240, instances: int = 8) -> MarginalRequest:
    """The agents' cost per request from two runs of :func:`measure_agent_path`."""
    if not 0 < small < large:
        raise ValueError(f"need 0 < small < large batches, not {small} and {large}")
    few, many = measure_agent_path(small, instances), measure_agent_path(large, instances)
    extra = large - small
    return MarginalRequest(
        batches=(small, large),
        cpu_ms=(many.cpu_ms_per_instance - few.cpu_ms_per_instance) / extra,
        verifications=(many.verifications_per_instance - few.verifications_per_instance) / extra,
    )


def _option(arguments: list[str], name: str, default: str) -> str:
    return arguments[arguments.index(name) + 1] if name in arguments else default


def main() -> None:
    from bench.crypto_bench import measure_crypto

    arguments = sys.argv[1:]
    batch = int(_option(arguments, "--batch", "120"))
    instances = int(_option(arguments, "--instances", "8"))
    profile = _option(arguments, "--profile", "")
    crypto_figures: dict[str, Any] = measure_crypto(repeats=3)
    verify_us = 1e6 / crypto_figures["verify_per_s"]["pynacl"]
    figures = measure_agent_path(batch, instances, Path(profile) if profile else None)
    shown: dict[str, Any] = dict(figures.as_json(verify_us))
    if "--marginal" in arguments:
        shown["marginal"] = measure_marginal(instances=instances).as_json(verify_us)
    print(json.dumps(shown, indent=2, sort_keys=True))


if __name__ == "__main__":
    main()

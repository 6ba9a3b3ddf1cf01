"""A simulated council behind the gateway: the scenario simulator, paced to the wall clock.

The council is the one a scenario file describes — its seats, faulty members, network — built
exactly as ``council scenario run`` builds it (:func:`council.scenario.run.simulation_parts`);
the motions come from the gateway instead of the file. Virtual time follows the wall clock
(times ``speed``): every slice, the simulator processes the events due by then. Requests the
gateway makes enter the simulated network at the current virtual time, so a session of the
API is an ordinary deterministic run whose inputs happen to arrive from HTTP.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter, defaultdict, deque
from collections.abc import Callable
from typing import Final

import crypto
from consensus import QuorumMath, replica_principal
from consensus.client import Completed
from council.council_file import CouncilFile
from council.gateway.link import CouncilSink, CouncilStatus, LinkMode, Observation, SeatHealth
from council.governance.operations import MotionOp, ballot_operation, parse_operation
from council.scenario.clients import GovernanceClients
from council.scenario.run import SimulationParts, simulation_parts
from council.scenario.schema import LoadedScenario
from council.scenario.simulation import ScenarioSimulation
from council.scenario.voting import Ballot, PlannedMotion
from council.sim.runner import SimulationSettings

#: How long one slice of virtual time is, in wall seconds.
SLICE_S: Final = 0.02
#: Events processed per slice at most, so HTTP requests are served while a busy council runs.
SLICE_EVENTS_MAX: Final = 4_000
#: How often each seat's traffic is reported, in virtual ms.
TRAFFIC_EVERY_MS: Final = 250
#: An honest seat's chance of supporting a motion that came through the gateway: no merit is
#: known for it, so the seeded policy leans neither way.
GATEWAY_MOTION_MERIT: Final = 0.5
#: Simulated duration no session can reach; the liveness limit of a scripted run does not apply.
UNBOUNDED_MS: Final = 2**62


class GatewayClients(GovernanceClients):
    """The clients node of a gateway session: the gateway's requests, and seats' ballots.

    Seats vote on each motion by their scenario policy (unless ``member_ballots``), and always
    as their members instruct through the gateway. Unlike a scripted run, the gateway itself
    submits motions and closes them when their window ends."""

    def __init__(self, parts: SimulationParts, member_ballots: bool) -> None:
        super().__init__(parts.council.client_sessions, (), lambda motion: 0, parts.choose_ballot)
        self.member_ballots = member_ballots
        # A principal's requests complete in the order it made them (one outstanding at a
        # time, the rest queued), so the k-th completion answers the k-th request.
        self._answers: dict[str, deque[asyncio.Future[str]]] = defaultdict(deque)

    def request(self, principal: str, operation: str, now_ms: int) -> asyncio.Future[str]:
        """Queue ``operation`` for ``principal``; the future resolves to its agreed result."""
        answer: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self._answers[principal].append(answer)
        self._schedule(now_ms, principal, operation)
        return answer

    def plan(self, motion: PlannedMotion) -> None:
        """Seats vote on ``motion`` once they execute its opening."""
        self.motions[motion.id] = motion

    def opened(self, seat: int, motion_id: str, now_ms: int) -> None:
        motion = self.motions.get(motion_id)
        if motion is None or (seat, motion_id) in self._voted:
            return
        self._voted.add((seat, motion_id))
        if self.member_ballots:
            return
        ballot: Ballot | None = self._choose_ballot(seat, motion, now_ms)
        if ballot is not None:
            self.ballots_cast[(seat, motion_id)] = ballot.vote
            self._schedule(
                now_ms + ballot.think_ms,
                replica_principal(seat - 1),
                ballot_operation(motion_id, ballot.vote),
            )

    def member_ballot(self, seat: int, motion_id: str, vote: str, now_ms: int) -> None:
        self.ballots_cast[(seat, motion_id)] = vote
        self._schedule(now_ms, replica_principal(seat - 1), ballot_operation(motion_id, vote))

    def on_completed(self, principal: str, completed: Completed) -> None:
        answers = self._answers.get(principal)
        if answers:
            answer = answers.popleft()
            if not answer.done():  # the gateway may have stopped waiting
                answer.set_result(completed.result)

    @property
    def done(self) -> bool:
        return False  # a gateway session never runs out of work


class GatewaySimulation(ScenarioSimulation):
    """A scenario simulation that also tells the gateway what it sees: views and traffic."""

    def __init__(
        self,
        settings: SimulationSettings,
        parts: SimulationParts,
        clients: GatewayClients,
        observe: Callable[[Observation], None],
    ) -> None:
        # Set before the simulation starts: its first steps already send messages.
        self._observe = observe
        self.view_seen = 0
        self.traffic: defaultdict[int, Counter[str]] = defaultdict(Counter)
        self.last_sent: dict[int, tuple[int, str]] = {}
        super().__init__(settings, parts.council, parts.network, clients, parts.crashes)

    def on_view(self, replica: int, view: int) -> None:
        super().on_view(replica, view)
        if view > self.view_seen:
            self.view_seen = view
            primary_seat = view % self.settings.agents + 1
            self._observe(Observation("view", {"view": view, "primary_seat": primary_seat}))

    def on_crash(self, replica: int, restarted: bool) -> None:
        super().on_crash(replica, restarted)
        state = "online" if restarted else "offline"
        self._observe(Observation("seat", {"seat": replica + 1, "state": state}))

    def on_send(self, source: int, kind: str, copies: int) -> None:
        if source >= 0:
            self.traffic[source][kind] += copies
            self.last_sent[source] = (self.now_ms, kind)

    def seat_down(self, replica: int) -> bool:
        down = self.histories[replica].down
        return bool(down) and len(down[-1]) == 1


class SimulatedLink:
    """A :class:`~council.gateway.link.CouncilLink` to a simulated council in this process."""

    mode: LinkMode = "simulated"

    def __init__(
        self,
        loaded: LoadedScenario,
        *,
        seed: int | None = None,
        speed: float = 1.0,
        member_ballots: bool = False,
    ) -> None:
        """The council of ``loaded`` with its faulty seats and network, run with ``seed`` (the
        scenario's own by default); ``speed`` virtual seconds pass per wall second."""
        if speed <= 0:
            raise ValueError(f"speed must be positive, got {speed}")
        self.loaded = loaded
        self.council: CouncilFile = loaded.council
        self.seed = loaded.scenario.seed if seed is None else seed
        self.speed = speed
        secretariat = self.council.secretariat
        self.principal = "gateway" if "gateway" in secretariat else secretariat[0]
        parts = simulation_parts(loaded, seed=self.seed, faulty=loaded.faulty_seats)
        self.roster: crypto.Roster = parts.council.roster
        self.clients = GatewayClients(parts, member_ballots)
        settings = SimulationSettings(
            agents=self.council.n, seed=self.seed, time_limit_ms=UNBOUNDED_MS, requests=0
        )
        self.simulation = GatewaySimulation(settings, parts, self.clients, self._observe)
        self._sink: CouncilSink | None = None
        self._runner: asyncio.Task[None] | None = None
        self._announced: set[str] = set()
        self._evidence_seen: Counter[tuple[int, str]] = Counter()
        self._traffic_due_ms = TRAFFIC_EVERY_MS

    @property
    def quorums(self) -> QuorumMath:
        return QuorumMath.for_council(self.council.n)

    async def start(self, sink: CouncilSink) -> None:
        self._sink = sink
        self._runner = asyncio.create_task(self._run(), name="simulated-council")

    async def stop(self) -> None:
        if self._runner is not None:
            self._runner.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._runner
            self._runner = None

    def now_ms(self) -> int:
        return self.simulation.now_ms

    async def request(self, operation: str, timeout_s: float) -> str:
        parsed = parse_operation(operation)
        if isinstance(parsed, MotionOp):
            self.clients.plan(
                PlannedMotion(
                    parsed.id,
                    parsed.title,
                    parsed.text,
                    parsed.category,
                    parsed.at_ms,
                    GATEWAY_MOTION_MERIT,
                    self.principal,
                )
            )
        answer = self.clients.request(self.principal, operation, self.simulation.now_ms)
        self.simulation.wake_clients()
        return await asyncio.wait_for(answer, timeout_s)

    async def instruct_ballot(self, seat: int, motion_id: str, vote: str) -> None:
        if not 1 <= seat <= self.council.n:
            raise ValueError(f"no seat {seat} in a council of {self.council.n}")
        self.clients.member_ballot(seat, motion_id, vote, self.simulation.now_ms)
        self.simulation.wake_clients()

    def status(self) -> CouncilStatus:
        simulation = self.simulation
        replicas = simulation.scenario_council.replicas
        views = Counter(
            replica.view for i, replica in replicas.items() if not simulation.seat_down(i)
        )
        view = views.most_common(1)[0][0] if views else simulation.view_seen
        seats = []
        for seat in self.council.seats():
            replica_id = seat.number - 1
            replica = replicas.get(replica_id)
            sent = simulation.last_sent.get(replica_id)
            seats.append(
                SeatHealth(
                    seat=seat.number,
                    principal=seat.principal,
                    constituency=seat.constituency,
                    state="offline" if simulation.seat_down(replica_id) else "online",
                    faulty=seat.number in self.loaded.faulty_seats,
                    view=None if replica is None else replica.view,
                    last_executed=None if replica is None else replica.last_executed,
                    last_message_ms=None if sent is None else sent[0],
                    last_message_kind=None if sent is None else sent[1],
                )
            )
        return CouncilStatus(view, view % self.council.n + 1, tuple(seats))

    # -- the pacing loop ---------------------------------------------------------------------

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        started_s = loop.time()
        origin_ms = self.simulation.now_ms
        while True:
            target_ms = origin_ms + int((loop.time() - started_s) * 1000 * self.speed)
            self.simulation.advance_to(target_ms, SLICE_EVENTS_MAX)
            self._announce()
            await asyncio.sleep(SLICE_S)

    def _announce(self) -> None:
        sink, simulation = self._sink, self.simulation
        if sink is None:
            return
        fresh = [m for m in simulation.decisions if m not in self._announced]
        if fresh:
            records = simulation.decision_records()
            for motion_id in fresh:
                record = records.get(motion_id)
                if record is not None:
                    self._announced.add(motion_id)
                    sink.decision(record)
        for key, count in simulation.stats.evidence_by_culprit.items():
            if count > self._evidence_seen[key]:
                self._evidence_seen[key] = count
                culprit, kind = key
                sink.observe(
                    Observation("evidence", {"culprit_seat": culprit + 1, "evidence": kind})
                )
        if simulation.now_ms >= self._traffic_due_ms:
            self._traffic_due_ms = simulation.now_ms + TRAFFIC_EVERY_MS
            for source, kinds in sorted(simulation.traffic.items()):
                sink.observe(
                    Observation("traffic", {"from_seat": source + 1, "messages": dict(kinds)})
                )
            simulation.traffic.clear()

    def _observe(self, observation: Observation) -> None:
        if self._sink is not None:
            self._sink.observe(observation)

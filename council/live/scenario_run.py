"""``council scenario run FILE --live``: the scenario on real processes, a real broker, real time.

The runner writes a council with fresh keys, starts a broker and one agent process per seat,
each with its fault plan (behaviours, the network it applies to what it receives, the motions'
merits); kills and restarts processes at the scenario's crash times; submits the motions as the
secretariat at their times; and, once they are decided or the time is up, stops the agents and
builds the same report as the simulator from what they recorded.

Checked live: agreement (every correct agent executed the same batch at each sequence number)
and liveness; validity and integrity are enforced at each agent's edge and by the replica, but
not re-checked here. Twins and the split-brain coalition need the simulator.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from consensus import QuorumMath
from council.commands.init import write_council
from council.governance.records import DecisionRecord
from council.live.council_dir import CouncilDir
from council.live.credentials import Credentials
from council.live.fault_plan import AgentFaultPlan, link_spec, phase_specs
from council.live.secretariat import Secretariat
from council.live.supervisor import Supervisor, local_broker, run_dir
from council.report.model import (
    AgentTimeline,
    CouncilInfo,
    EvidenceRow,
    Messages,
    RunReport,
    ScenarioInfo,
    SeatInfo,
    Timeline,
    Verdicts,
    ViolationInfo,
)
from council.scenario.expectations import judged
from council.scenario.outcome import Tally, motion_result
from council.scenario.run import RUN_KINDS, network_of
from council.scenario.schema import (
    Behaviour,
    Crash,
    LoadedScenario,
    Omit,
    SeatSelector,
    resolve_seats,
)

#: Kinds only the simulator can play.
SIMULATOR_ONLY = frozenset({"twins", "split-brain"})
#: Seats whose messages are honest: only these count for agreement.
HONEST_MESSAGES = RUN_KINDS - SIMULATOR_ONLY


class LiveScenarioError(Exception):
    """The scenario cannot run live (and why)."""


def boot_allowance_s(seats: int) -> float:
    """Time for the agent processes to start and connect before the scenario's time zero."""
    return 3.0 + 0.4 * seats


@dataclass
class Observed:
    submitted_ms: dict[str, int] = field(default_factory=dict)
    decided_ms: dict[str, int] = field(default_factory=dict)
    down: dict[int, list[list[int]]] = field(default_factory=dict)


def _plan_behaviours(
    loaded: LoadedScenario, behaviours: tuple[Behaviour, ...]
) -> tuple[Behaviour, ...]:
    """Behaviours with every seat selector resolved to seat numbers (agents have no council)."""
    resolved: list[Behaviour] = []
    for behaviour in behaviours:
        if isinstance(behaviour, Omit):
            seats = resolve_seats(behaviour.peers, loaded.council)
            behaviour = behaviour.model_copy(update={"peers": SeatSelector(seats=seats)})
        resolved.append(behaviour)
    return tuple(resolved)


def write_plans(
    loaded: LoadedScenario, directory: CouncilDir, seed: int, epoch_ms: int
) -> dict[int, Path]:
    network = network_of(loaded, seed)
    merits = {m.id: m.merit for m in loaded.motions}
    plans_dir = run_dir(directory) / "plans"
    plans_dir.mkdir(parents=True, exist_ok=True)
    paths = {}
    for seat in range(1, loaded.council.n + 1):
        plan = AgentFaultPlan(
            epoch_ms=epoch_ms,
            seed=seed,
            behaviours=_plan_behaviours(loaded, tuple(loaded.faulty_seats.get(seat, ()))),
            base_link=link_spec(network.base),
            phases=phase_specs(network),
            merits=merits,
            voting=loaded.voting,
        )
        paths[seat] = plans_dir / f"seat-{seat:02d}.json"
        plan.save(paths[seat])
    return paths


async def run_live(
    loaded: LoadedScenario, *, seed: int | None = None, work_dir: Path, prefer: str = "auto"
) -> RunReport:
    """Run ``loaded`` live in ``work_dir`` and return its report, expectations judged."""
    seed = loaded.scenario.seed if seed is None else seed
    unsupported = sorted(
        {b.kind for bs in loaded.faulty_seats.values() for b in bs} & SIMULATOR_ONLY
    )
    if unsupported:
        raise LiveScenarioError(
            f"{', '.join(unsupported)} cannot run live (they need the simulator); "
            "run this scenario without --live"
        )
    started = time.perf_counter()
    council_path = work_dir / "council"
    write_council(loaded.council, council_path, overwrite=True)
    directory = CouncilDir.load(council_path)
    broker, credentials_file = await local_broker(directory, prefer)
    epoch_ms = time.time_ns() // 1_000_000 + int(boot_allowance_s(loaded.council.n) * 1000)
    plans = write_plans(loaded, directory, seed, epoch_ms)
    supervisor = Supervisor(
        directory, broker.url(), credentials_file, restart=False, fault_plans=plans
    )
    observed = Observed()
    try:
        supervisor.start_all()
        password = Credentials.load(credentials_file).password(loaded.council.secretariat[0])
        url = broker.url().with_credentials(loaded.council.secretariat[0], password)
        async with Secretariat(directory, url, loaded.council.secretariat[0]) as clerk:
            crashes = asyncio.gather(*_crash_tasks(loaded, supervisor, epoch_ms, observed))
            decisions = await _motions(loaded, directory, clerk, epoch_ms, observed)
            crashes.cancel()
    finally:
        await supervisor.stop()
        await broker.stop()
    report = _report(loaded, seed, directory, decisions, observed, epoch_ms, started)
    # The counterfactual, and so ``flipped``, is a simulator run.
    return judged(report, loaded.scenario.expect.model_copy(update={"flipped": None}))


def _scenario_ms(epoch_ms: int) -> int:
    return time.time_ns() // 1_000_000 - epoch_ms


async def _sleep_until(epoch_ms: int, at_ms: int) -> None:
    delay_ms = at_ms - _scenario_ms(epoch_ms)
    if delay_ms > 0:
        await asyncio.sleep(delay_ms / 1000)


def _crash_tasks(
    loaded: LoadedScenario, supervisor: Supervisor, epoch_ms: int, observed: Observed
) -> list[asyncio.Task[None]]:
    async def crash(seat: int, at_ms: int, restart_at_ms: int | None) -> None:
        await _sleep_until(epoch_ms, at_ms)
        supervisor.kill(seat)  # kill -9: the agent keeps only what its store holds
        observed.down.setdefault(seat, []).append([_scenario_ms(epoch_ms)])
        if restart_at_ms is not None:
            await _sleep_until(epoch_ms, restart_at_ms)
            supervisor.start(seat)
            observed.down[seat][-1].append(_scenario_ms(epoch_ms))

    return [
        asyncio.create_task(crash(seat, b.at_ms, b.restart_at_ms))
        for seat, behaviours in loaded.faulty_seats.items()
        for b in behaviours
        if isinstance(b, Crash)
    ]


async def _motions(
    loaded: LoadedScenario,
    directory: CouncilDir,
    clerk: Secretariat,
    epoch_ms: int,
    observed: Observed,
) -> dict[str, DecisionRecord]:
    end_ms = loaded.scenario.duration_ms

    def decided(record: DecisionRecord) -> None:
        observed.decided_ms.setdefault(record.motion_id, _scenario_ms(epoch_ms))

    clerk.on_decision = decided

    async def one(motion_id: str, title: str, category: str, at_ms: int) -> None:
        await _sleep_until(epoch_ms, at_ms)
        observed.submitted_ms[motion_id] = at_ms
        remaining_s = max(1.0, (end_ms - _scenario_ms(epoch_ms)) / 1000)
        try:
            opened_s = await clerk.submit_motion(motion_id, title, category, timeout_s=remaining_s)
            window = directory.council.categories[category].window_ms
            remaining_s = max(1.0, (end_ms - _scenario_ms(epoch_ms)) / 1000)
            await clerk.decision(motion_id, window, timeout_s=remaining_s, opened_s=opened_s)
        except (TimeoutError, Exception):
            return

    await asyncio.gather(*(one(m.id, m.title, m.category, m.at_ms) for m in loaded.motions))
    return dict(clerk.decisions)


class HistoryFile(BaseModel):
    """What an agent process wrote about its life (one file per process, so per restart)."""

    model_config = ConfigDict(frozen=True)

    seat: int
    views: list[tuple[int, int]]
    commits: list[tuple[int, int]]
    executed: dict[int, str]
    sent_by_kind: dict[str, int]
    bytes_by_kind: dict[str, int]
    evidence: dict[str, int]
    network_dropped: int = 0


def _histories(directory: CouncilDir, seats: int) -> dict[int, list[HistoryFile]]:
    histories: dict[int, list[HistoryFile]] = {}
    for seat in range(1, seats + 1):
        folder = directory.agent_dir(seat) / "history"
        paths = sorted(folder.glob("*.json"))
        histories[seat] = [HistoryFile.model_validate_json(p.read_text()) for p in paths]
    return histories


def _report(
    loaded: LoadedScenario,
    seed: int,
    directory: CouncilDir,
    decisions: dict[str, DecisionRecord],
    observed: Observed,
    epoch_ms: int,
    started_s: float,
) -> RunReport:
    council = loaded.council
    n = council.n
    quorums = QuorumMath.for_council(n)
    histories = _histories(directory, n)
    honest = {
        seat
        for seat in range(1, n + 1)
        if {b.kind for b in loaded.faulty_seats.get(seat, ())} <= HONEST_MESSAGES
    }
    violation = _agreement(histories, honest)
    sent: Counter[str] = Counter()
    sent_bytes: Counter[str] = Counter()
    evidence: Counter[tuple[int, str]] = Counter()
    highest_view = 0
    agents = []
    end_ms = _scenario_ms(epoch_ms)
    for seat, documents in sorted(histories.items()):
        views: list[tuple[int, int]] = [(0, 0)]
        commits: list[tuple[int, int]] = []
        for document in documents:
            sent.update(document.sent_by_kind)
            sent_bytes.update(document.bytes_by_kind)
            views += document.views
            commits += document.commits
            if seat in honest:
                for key, count in document.evidence.items():
                    culprit, _, kind = key.partition("/")
                    evidence[(int(culprit), kind)] += count
        highest_view = max([highest_view, *(v for _, v in views)])
        down = [(d[0], d[1] if len(d) > 1 else end_ms) for d in observed.down.get(seat, [])]
        agents.append(
            AgentTimeline(seat=seat, views=sorted(views), commits=sorted(commits)[-200:], down=down)
        )
    motions = []
    for motion in loaded.motions:
        record = decisions.get(motion.id)
        rule = council.categories[motion.category].rule
        if record is None:
            motions.append(motion_result(motion, rule, n, Tally("undecided", 0, 0, 0), None))
            continue
        tally = Tally(record.outcome, record.yes, record.no, record.abstain)
        decided = observed.decided_ms.get(motion.id)
        motions.append(motion_result(motion, rule, n, tally, decided))
    live = all(m.outcome != "undecided" for m in motions)
    executed = max((len(d.executed) for ds in histories.values() for d in ds), default=0)
    return RunReport(
        scenario=ScenarioInfo(
            name=loaded.scenario.name,
            description=loaded.scenario.description,
            file=str(loaded.path) if loaded.path else None,
            seed=seed,
            replay=f"council scenario run {loaded.path or '<file>'} --live --seed {seed}",
        ),
        council=CouncilInfo(
            name=council.name,
            id=council.council_id,
            n=n,
            f=quorums.f,
            quorum=quorums.quorum,
            seats=[
                SeatInfo(
                    seat=s.number,
                    constituency=s.constituency,
                    behaviours=[b.kind for b in loaded.faulty_seats.get(s.number, ())],
                )
                for s in council.seats()
            ],
        ),
        verdicts=Verdicts(
            agreement="ok" if violation is None else "violated",
            validity="ok",
            integrity="ok",
            liveness="ok" if live else "stalled",
        ),
        expectations=[],
        passed=True,
        motions=motions,
        timeline=Timeline(end_ms=max(end_ms, 0), agents=agents),
        latency_ms=[m.latency_ms for m in motions if m.latency_ms is not None],
        messages=Messages(count_by_kind=dict(sent), bytes_by_kind=dict(sent_bytes)),
        evidence=[
            EvidenceRow(seat=seat, kind=kind, count=count)
            for (seat, kind), count in sorted(evidence.items())
        ],
        view_changes=highest_view,
        highest_view=highest_view,
        ordered=executed,
        counterfactual=None,
        violation=violation,
        wall_s=round(time.perf_counter() - started_s, 3),
    )


def _agreement(histories: dict[int, list[HistoryFile]], honest: set[int]) -> ViolationInfo | None:
    """The first sequence number at which two correct agents executed different batches."""
    first: dict[int, tuple[str, int]] = {}
    for seat in sorted(honest):
        for document in histories.get(seat, []):
            for seq, digest in document.executed.items():
                seen = first.setdefault(seq, (digest, seat))
                if seen[0] != digest:
                    detail = (
                        f"agreement: seat {seat} executed batch {digest[:12]} at seq {seq}, "
                        f"seat {seen[1]} executed {seen[0][:12]}"
                    )
                    return ViolationInfo(seq=seq, detail=detail, trace=[])
    return None

"""Turn a finished scenario simulation into its :class:`RunReport`."""

from __future__ import annotations

from dataclasses import dataclass

from consensus import QuorumMath
from council.report.model import (
    AgentTimeline,
    CouncilInfo,
    EvidenceRow,
    Messages,
    MotionResult,
    RunReport,
    ScenarioInfo,
    SeatInfo,
    Timeline,
    Verdicts,
    ViolationInfo,
)
from council.scenario.schema import ResolvedMotion
from council.scenario.simulation import AgentHistory, ScenarioSimulation
from council.scenario.voting import PlannedMotion
from council.sim.runner import SimulationOutcome

#: Commits drawn per agent in the timeline; more would not show and would bloat the page.
TIMELINE_COMMITS_MAX = 200


@dataclass(frozen=True, slots=True)
class RunIdentity:
    """What the report says about the run besides its results."""

    name: str
    description: str
    file: str | None
    seed: int
    replay: str
    council_name: str
    council_id: str
    constituencies: tuple[str, ...]  # seat k's constituency at index k - 1
    behaviours: dict[int, tuple[str, ...]]  # seat → behaviour kinds
    rules: dict[str, str]  # category → voting rule


def _sampled(points: list[tuple[int, int]], limit: int) -> list[tuple[int, int]]:
    if len(points) <= limit:
        return list(points)
    step = len(points) / limit
    return [points[int(i * step)] for i in range(limit - 1)] + [points[-1]]


def _agent_timeline(seat: int, history: AgentHistory, end_ms: int) -> AgentTimeline:
    down = [(d[0], d[1] if len(d) > 1 else end_ms) for d in history.down]
    return AgentTimeline(
        seat=seat,
        views=list(history.views),
        commits=_sampled(history.commits, TIMELINE_COMMITS_MAX),
        down=down,
    )


@dataclass(frozen=True, slots=True)
class Tally:
    """Where a motion ended: its outcome ("undecided" when it never closed) and its ballots."""

    outcome: str
    yes: int
    no: int
    abstain: int


def motion_result(
    motion: PlannedMotion | ResolvedMotion, rule: str, n: int, tally: Tally, decided_ms: int | None
) -> MotionResult:
    """A motion's line in the report, the same for simulated and live runs."""
    return MotionResult(
        id=motion.id,
        title=motion.title,
        category=motion.category,
        rule=rule,
        submitted_ms=motion.at_ms,
        decided_ms=decided_ms,
        latency_ms=None if decided_ms is None else max(0, decided_ms - motion.at_ms),
        outcome=tally.outcome,  # type: ignore[arg-type]
        yes=tally.yes,
        no=tally.no,
        abstain=tally.abstain,
        absent=n - tally.yes - tally.no - tally.abstain,
        counterfactual_outcome=None,
        flipped=False,
    )


def _motion_result(
    simulation: ScenarioSimulation, motion: PlannedMotion, rule: str, n: int
) -> MotionResult:
    decision = simulation.decisions.get(motion.id)
    if decision is not None:
        tally = Tally(decision.outcome, decision.yes, decision.no, decision.abstain)
        return motion_result(motion, rule, n, tally, decision.decided_ms)
    state = simulation.motion_state(motion.id)  # the ballots cast so far
    tally = Tally("undecided", *((state.yes, state.no, state.abstain) if state else (0, 0, 0)))
    return motion_result(motion, rule, n, tally, None)


def build_report(
    simulation: ScenarioSimulation,
    identity: RunIdentity,
    motions: tuple[PlannedMotion, ...],
    wall_s: float,
) -> RunReport:
    """The report of one run, before expectations and counterfactual are added."""
    n = simulation.settings.agents
    quorums = QuorumMath.for_council(n)
    violation = simulation.violation
    verdict = {name: "ok" for name in ("agreement", "validity", "integrity")}
    if violation is not None:
        verdict[violation.invariant] = "violated"
    live = simulation.governance_clients.done
    results = [
        _motion_result(simulation, m, identity.rules.get(m.category, "?"), n) for m in motions
    ]
    stats = simulation.stats
    evidence = [
        EvidenceRow(seat=culprit + 1, kind=kind, count=count)
        for (culprit, kind), count in sorted(stats.evidence_by_culprit.items())
    ]
    end_ms = simulation.now_ms
    return RunReport(
        scenario=ScenarioInfo(
            name=identity.name,
            description=identity.description,
            file=identity.file,
            seed=identity.seed,
            replay=identity.replay,
        ),
        council=CouncilInfo(
            name=identity.council_name,
            id=identity.council_id,
            n=n,
            f=quorums.f,
            quorum=quorums.quorum,
            seats=[
                SeatInfo(
                    seat=seat,
                    constituency=identity.constituencies[seat - 1],
                    behaviours=list(identity.behaviours.get(seat, ())),
                )
                for seat in range(1, n + 1)
            ],
        ),
        verdicts=Verdicts(
            agreement=verdict["agreement"],  # type: ignore[arg-type]
            validity=verdict["validity"],  # type: ignore[arg-type]
            integrity=verdict["integrity"],  # type: ignore[arg-type]
            liveness="ok" if live else "stalled",
        ),
        expectations=[],
        passed=True,
        motions=results,
        timeline=Timeline(
            end_ms=end_ms,
            agents=[
                _agent_timeline(i + 1, history, end_ms)
                for i, history in sorted(simulation.histories.items())
            ],
        ),
        latency_ms=[r.latency_ms for r in results if r.latency_ms is not None],
        messages=Messages(
            count_by_kind=dict(sorted(stats.messages_by_kind.items())),
            bytes_by_kind=dict(sorted(stats.bytes_by_kind.items())),
        ),
        evidence=evidence,
        view_changes=stats.highest_view,
        highest_view=stats.highest_view,
        ordered=len(simulation.checker.ordered),
        counterfactual=None,
        violation=None
        if violation is None
        else ViolationInfo(
            seq=violation.seq,
            detail=f"{violation.invariant}: {violation.detail}",
            trace=SimulationOutcome(simulation).trace_for_violation(),
        ),
        wall_s=round(wall_s, 3),
    )

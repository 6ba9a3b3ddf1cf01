"""Realistic run reports and sweep curves built by hand, so report tests need no simulator.

The council is the default 33 seats (9 government, 8 industry, 8 academia, 8 civil society);
the industry seats vote as a captured bloc on environment motions and seat 1 (the first
primary) equivocates and censors, which forces view changes early in the run.
"""

from __future__ import annotations

import random

from council.report.model import (
    AgentTimeline,
    CouncilInfo,
    Counterfactual,
    EvidenceRow,
    ExpectationResult,
    Messages,
    MotionResult,
    Outcome,
    RunReport,
    ScenarioInfo,
    SeatInfo,
    SweepCurve,
    SweepRow,
    Timeline,
    Verdicts,
    ViolationInfo,
)

N = 33
F = 10
QUORUM = 22
END_MS = 60_000
CONSTITUENCIES = [("government", 9), ("industry", 8), ("academia", 8), ("civil-society", 8)]
BLOC = list(range(10, 18))  # the industry seats
CRASHED_SEAT = 25
HOSTILE_TITLE = "Publish <script>alert('x')</script> & audit the registry"
CATEGORIES = {"budget": "majority", "environment": "two-thirds", "anti-corruption": "two-thirds"}
# Motions whose outcome the bloc changed: honest seats would have adopted them.
FLIPPED = ["G-3", "G-8", "G-14"]


def seats() -> list[SeatInfo]:
    result: list[SeatInfo] = []
    for constituency, count in CONSTITUENCIES:
        for _ in range(count):
            number = len(result) + 1
            behaviours: list[str] = []
            if number == 1:
                behaviours = ["equivocate", "censor anti-corruption"]
            elif number in BLOC:
                behaviours = ["bloc-vote no on environment"]
            elif number == CRASHED_SEAT:
                behaviours = ["crash at 12000 ms, restart at 21000 ms"]
            result.append(SeatInfo(seat=number, constituency=constituency, behaviours=behaviours))
    return result


def motions(rng: random.Random) -> list[MotionResult]:
    result = [_motion(rng, "M-1", "Audit the procurement office", "anti-corruption", 100)]
    for index in range(1, 20):
        category = ("budget", "environment")[index % 2]
        title = HOSTILE_TITLE if index == 5 else f"Generated {category} motion {index}"
        result.append(_motion(rng, f"G-{index}", title, category, 500 + 2_400 * index))
    return result


def _motion(
    rng: random.Random, motion_id: str, title: str, category: str, submitted_ms: int
) -> MotionResult:
    rule = CATEGORIES[category]
    absent = rng.choice([0, 0, 0, 1, 2])
    abstain = rng.randint(0, 3)
    yes = rng.randint(8, N - absent - abstain)
    no = N - absent - abstain - yes
    outcome: Outcome = "adopted" if _met(rule, yes) else "rejected"
    if motion_id == "G-19":
        outcome, absent, yes, no, abstain = "undecided", 14, 12, 6, 1
    elif motion_id == "G-17":
        outcome, absent, yes, no, abstain = "lapsed", 20, 9, 3, 1
    flipped = motion_id in FLIPPED
    if flipped:
        outcome, yes, no, abstain, absent = "rejected", 15, 17, 1, 0
    latency = None if outcome == "undecided" else rng.randint(180, 900) + (4_000 * flipped)
    return MotionResult(
        id=motion_id,
        title=title,
        category=category,
        rule=rule,
        submitted_ms=submitted_ms,
        decided_ms=None if latency is None else submitted_ms + latency,
        latency_ms=latency,
        outcome=outcome,
        yes=yes,
        no=no,
        abstain=abstain,
        absent=absent,
        counterfactual_outcome="adopted" if flipped else outcome,
        flipped=flipped,
    )


def _met(rule: str, yes: int) -> bool:
    return yes > N / 2 if rule == "majority" else 3 * yes >= 2 * N


def timeline(rng: random.Random) -> Timeline:
    # Everyone leaves view 0 (the equivocating primary) around 2.1 s; a second change at 31 s.
    agents: list[AgentTimeline] = []
    for seat in range(1, N + 1):
        first = 2_100 + rng.randint(0, 120)
        second = 31_000 + rng.randint(0, 200)
        views = [(0, 0), (first, 1), (second, 2)]
        down: list[tuple[int, int]] = []
        commits: list[tuple[int, int]] = []
        if seat == CRASHED_SEAT:
            down = [(12_000, 21_000)]
        seq = 0
        for t in range(150, END_MS, 300):
            if 1_900 < t < first + 400 or any(a <= t < b for a, b in down):
                continue
            seq += rng.randint(1, 3)
            commits.append((t + rng.randint(0, 40), seq))
        agents.append(AgentTimeline(seat=seat, views=views, commits=commits, down=down))
    return Timeline(end_ms=END_MS, agents=agents)


def sample_report(*, violation: bool = False, seed: int = 7) -> RunReport:
    """A run of the industry-capture scenario; with ``violation`` the agreement broke at seq 42."""
    rng = random.Random(seed)
    run_motions = motions(rng)
    latencies = [m.latency_ms for m in run_motions if m.latency_ms is not None]
    within = max(latencies) <= 30_000
    expectations = [
        ExpectationResult(
            name="safety holds",
            passed=not violation,
            detail="agreement violated at seq 42" if violation else "no invariant broken",
        ),
        ExpectationResult(
            name="decided within 30000 ms",
            passed=within,
            detail=f"slowest decision {max(latencies)} ms; G-19 undecided",
        ),
        ExpectationResult(name="M-1 adopted", passed=True, detail="M-1 was adopted"),
        ExpectationResult(name="view changes at most 3", passed=True, detail="2 view changes"),
        ExpectationResult(name="flipped [G-3]", passed=True, detail="bloc flipped G-3, G-8, G-14"),
    ]
    evidence = [
        EvidenceRow(seat=1, kind="equivocation", count=14),
        EvidenceRow(seat=1, kind="bad-signature", count=3),
        EvidenceRow(seat=12, kind="conflicting-commit", count=2),
        EvidenceRow(seat=17, kind="equivocation", count=5),
    ]
    kinds = {"prepare": 41_210, "commit": 40_870, "pre-prepare": 1_250, "request": 1_090}
    kinds |= {"reply": 21_800, "checkpoint": 3_300, "view-change": 96, "new-view": 3}
    return RunReport(
        scenario=ScenarioInfo(
            name="industry-capture",
            description="Every industry seat votes as a bloc; the captured primary censors "
            "anti-corruption motions.",
            file="scenarios/industry-capture.yaml",
            seed=seed,
            replay=f"council scenario run scenarios/industry-capture.yaml --seed {seed}",
        ),
        council=CouncilInfo(
            name="Example Council", id="example-council", n=N, f=F, quorum=QUORUM, seats=seats()
        ),
        verdicts=Verdicts(
            agreement="violated" if violation else "ok",
            validity="ok",
            integrity="ok",
            liveness="stalled" if violation else "ok",
        ),
        expectations=expectations,
        passed=all(e.passed for e in expectations),
        motions=run_motions,
        timeline=timeline(rng),
        latency_ms=latencies,
        messages=Messages(
            count_by_kind=kinds,
            bytes_by_kind={
                kind: count * (380 if kind != "new-view" else 52_000)
                for kind, count in kinds.items()
            },
        ),
        evidence=evidence,
        view_changes=2,
        highest_view=2,
        ordered=1_904,
        counterfactual=Counterfactual(bloc=BLOC, flipped=FLIPPED),
        violation=ViolationInfo(
            seq=42,
            detail="seat 3 committed digest 9f2c… and seat 20 committed digest 41ab… at seq 42",
            trace=[
                "t=2104 r0 PRE-PREPARE seq=42 view=0 digest=9f2c… to seats 2-17",
                "t=2104 r0 PRE-PREPARE seq=42 view=0 digest=41ab… to seats 18-33",
                "t=2131 r2 COMMIT seq=42 digest=9f2c… (22 matching)",
                "t=2139 r19 COMMIT seq=42 digest=41ab… (22 matching)",
            ],
        )
        if violation
        else None,
        wall_s=3.82,
    )


def sample_sweep() -> SweepCurve:
    """A split-brain sweep over 0..16 colluders: safety holds through f = 10 and fails beyond."""
    rows = []
    for colluders in range(17):
        beyond = colluders > F
        rows.append(
            SweepRow(
                colluders=colluders,
                runs=50,
                safe=0.0 if beyond else 1.0,
                live=max(0.0, 1.0 - 0.02 * colluders) if not beyond else 0.18,
                flipped=min(1.0, 0.035 * colluders),
            )
        )
    return SweepCurve(scenario="split-brain", seeds=50, attack="split-brain", rows=rows, n=N, f=F)

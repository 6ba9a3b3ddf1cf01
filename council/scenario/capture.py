"""The capture-resistance curve: one scenario run with growing colluding blocs over many seeds.

For each bloc size ``k`` and seed, ``k`` seats spread over the council (seat 1 — the first
primary — first) take the scenario's capture behaviours; with ``attack="split-brain"`` they
also collude to split the honest seats. Each run is compared with the same seed and no bloc:
a motion is *flipped* when both runs decided it and the outcomes differ. Runs are independent
and deterministic, so they spread over processes and the curve does not depend on ``jobs``.
"""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from council.report.model import SweepCurve, SweepRow
from council.scenario.loader import load_scenario
from council.scenario.run import simulate
from council.scenario.schema import (
    Behaviour,
    LoadedScenario,
    SeatSelector,
    SplitBrain,
    resolve_seats,
)
from council.sim.sweep import default_jobs

ATTACKS = ("scenario", "split-brain")
#: Entries of a faulty group that describe one seat's circumstances, not a capture.
NOT_CAPTURE = frozenset({"crash", "twins", "split-brain"})


@dataclass(frozen=True, slots=True)
class SweepRun:
    path: str
    seed: int
    colluders: int
    attack: str


@dataclass(frozen=True, slots=True)
class RunSummary:
    run: SweepRun
    safe: bool
    live: bool
    outcomes: tuple[tuple[str, str], ...]


@cache
def _loaded(path: str) -> LoadedScenario:
    return load_scenario(Path(path))


def capture_behaviours(loaded: LoadedScenario, attack: str) -> tuple[Behaviour, ...]:
    """What a captured seat does: the first faulty group's capture behaviours, plus the
    split-brain collusion when asked."""
    template: tuple[Behaviour, ...] = ()
    if loaded.scenario.faulty:
        group = loaded.scenario.faulty[0]
        template = tuple(b for b in group.behaviours if b.kind not in NOT_CAPTURE)
    if attack == "split-brain":
        template = (*template, SplitBrain())
    return template


def run_one(run: SweepRun) -> RunSummary:
    loaded = _loaded(run.path)
    behaviours = capture_behaviours(loaded, run.attack)
    seats = (
        resolve_seats(SeatSelector(count=run.colluders), loaded.council) if run.colluders else ()
    )
    report = simulate(loaded, seed=run.seed, faulty={seat: behaviours for seat in seats})
    outcomes = tuple((m.id, m.outcome) for m in report.motions)
    return RunSummary(run, report.verdicts.safe, report.verdicts.live, outcomes)


def _flipped(summary: RunSummary, baseline: RunSummary) -> tuple[int, int]:
    """(flipped, compared): motions both runs decided, and those whose outcome differs."""
    before = dict(baseline.outcomes)
    compared = flipped = 0
    for motion, outcome in summary.outcomes:
        honest = before.get(motion, "undecided")
        if outcome == "undecided" or honest == "undecided":
            continue
        compared += 1
        flipped += outcome != honest
    return flipped, compared


def sweep_capture(
    path: Path,
    colluders: range,
    seeds: int,
    *,
    attack: str = "split-brain",
    first_seed: int | None = None,
    jobs: int | None = None,
) -> SweepCurve:
    """The curve over ``colluders`` bloc sizes, ``seeds`` seeds each."""
    if attack not in ATTACKS:
        raise ValueError(f"unknown attack {attack!r}; expected one of {', '.join(ATTACKS)}")
    loaded = _loaded(str(path))
    start = loaded.scenario.seed if first_seed is None else first_seed
    seed_list = range(start, start + seeds)
    sizes = sorted({0, *colluders})
    runs = [SweepRun(str(path), seed, k, attack) for k in sizes for seed in seed_list]
    jobs = default_jobs() if jobs is None else jobs
    if jobs <= 1 or len(runs) <= 1:
        summaries = [run_one(run) for run in runs]
    else:
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=min(jobs, len(runs)), mp_context=context) as pool:
            summaries = list(pool.map(run_one, runs))
    baselines = {s.run.seed: s for s in summaries if s.run.colluders == 0}
    rows = []
    for k in colluders:
        of_k = [s for s in summaries if s.run.colluders == k]
        flips = [_flipped(s, baselines[s.run.seed]) for s in of_k]
        compared = sum(c for _, c in flips)
        rows.append(
            SweepRow(
                colluders=k,
                runs=len(of_k),
                safe=sum(s.safe for s in of_k) / len(of_k),
                live=sum(s.live for s in of_k) / len(of_k),
                flipped=sum(f for f, _ in flips) / compared if compared else 0.0,
            )
        )
    n = loaded.council.n
    return SweepCurve(
        scenario=loaded.scenario.name, seeds=seeds, attack=attack, rows=rows, n=n, f=(n - 1) // 3
    )

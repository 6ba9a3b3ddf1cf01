"""Running a shipped scenario and keeping what the report leaves out.

The run report says what a governance designer needs; a few behaviours leave their mark only
inside the simulation — forged messages die at the signature check, twin copies differ only
in what each signed, ballots withheld are simply missing. :func:`observe` runs a scenario with
:func:`council.scenario.run.run_scenario`, as the CLI does, and keeps the simulation of the
run under test (not the counterfactual's) so a test can look at those marks too.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from council.report.model import MotionResult, RunReport
from council.scenario import run as scenario_run
from council.scenario.loader import load_scenario
from council.scenario.schema import LoadedScenario
from council.scenario.simulation import ScenarioSimulation

SCENARIOS_DIR = Path(__file__).resolve().parents[2] / "scenarios"
#: Every shipped scenario file; councils/ holds council files, not scenarios.
SHIPPED = tuple(sorted(SCENARIOS_DIR.glob("*.yaml")))


@dataclass(frozen=True)
class Observed:
    """A scenario, its report, and the simulation of the run the report is about."""

    loaded: LoadedScenario
    report: RunReport
    simulation: ScenarioSimulation

    def motion(self, motion_id: str) -> MotionResult:
        return next(m for m in self.report.motions if m.id == motion_id)

    def motions_of(self, *categories: str) -> list[MotionResult]:
        return [m for m in self.report.motions if m.category in categories]

    def faulty_with(self, kind: str) -> list[int]:
        """The seats the scenario gives a behaviour of ``kind``."""
        return [
            seat
            for seat, behaviours in self.loaded.faulty_seats.items()
            if any(b.kind == kind for b in behaviours)
        ]

    def evidence_against(self, seat: int, kind: str | None = None) -> int:
        return sum(
            row.count
            for row in self.report.evidence
            if row.seat == seat and (kind is None or row.kind == kind)
        )

    def ballot_cast(self, seat: int, motion_id: str) -> bool:
        return (seat, motion_id) in self.simulation.governance_clients.ballots_cast

    def rejected_by_correct_replicas(self) -> Counter[str]:
        """Why the correct replicas refused messages that passed the signature check."""
        reasons: Counter[str] = Counter()
        for replica in self.simulation.scenario_council.replicas.values():
            reasons.update(replica.rejected)
        return reasons

    def rejected_at_the_edge(self) -> dict[str, int]:
        """Messages the simulator's verifier refused before any replica saw them."""
        return dict(self.simulation.scenario_council.verifier.rejected)

    def nodes(self) -> dict[int, Any]:
        """The node each seat ran as (replica id → node), faulty wrappers included."""
        return dict(self.simulation.scenario_council.nodes)


@contextmanager
def recording_simulations() -> Iterator[list[ScenarioSimulation]]:
    """Every ScenarioSimulation the runner builds inside the block, in order."""
    built: list[ScenarioSimulation] = []

    class Recording(ScenarioSimulation):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            built.append(self)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(scenario_run, "ScenarioSimulation", Recording)
        yield built


def observe(path: Path, *, seed: int | None = None) -> Observed:
    """Run the scenario at ``path`` as ``council scenario run`` does."""
    loaded = load_scenario(path, seed=seed)
    with recording_simulations() as built:
        report = scenario_run.run_scenario(loaded)
    return Observed(loaded, report, built[0])


def failure_message(observed: Observed) -> str:
    """What failed and how to replay it, for an assertion message."""
    report = observed.report
    failed = [f"  - {e.name}: {e.detail}" for e in report.expectations if not e.passed]
    return "\n".join(
        [
            f"scenario {report.scenario.name!r} failed its expectations:",
            *failed,
            f"verdicts: {report.verdicts.model_dump()}",
            f"replay: {report.scenario.replay}",
        ]
    )

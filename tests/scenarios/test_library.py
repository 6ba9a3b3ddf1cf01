"""The scenario library as a whole: it covers every behaviour, runs reproducibly, and the
capture-resistance sweep shows the threshold where it is: safe through f colluders, not beyond.
"""

from __future__ import annotations

import json

from council.report.model import RunReport
from council.scenario.capture import sweep_capture
from council.scenario.loader import load_scenario
from council.scenario.run import run_scenario
from council.scenario.schema import BEHAVIOURS, Crash
from tests.scenarios.observed import SCENARIOS_DIR, SHIPPED
from tests.scenarios.test_shipped import CHECKS


def _kinds_used() -> set[str]:
    return {
        behaviour.kind
        for path in SHIPPED
        for behaviours in load_scenario(path).faulty_seats.values()
        for behaviour in behaviours
    }


def test_the_library_covers_every_behaviour_kind() -> None:
    missing = set(BEHAVIOURS) - _kinds_used()

    assert not missing, f"no shipped scenario uses: {sorted(missing)}"


def test_the_library_has_a_crash_restart_of_the_primary_and_a_healing_partition() -> None:
    loaded = [load_scenario(path) for path in SHIPPED]

    assert any(
        isinstance(b, Crash) and b.restart_at_ms is not None
        for scenario in loaded
        for b in scenario.faulty_seats.get(1, ())
    )
    assert any(phase.partition for scenario in loaded for phase in scenario.scenario.network.phases)


def test_every_shipped_scenario_has_a_behavioural_check() -> None:
    assert {path.stem for path in SHIPPED} == set(CHECKS)


def _without_wall_time(report: RunReport) -> dict[str, object]:
    document = json.loads(report.model_dump_json())
    del document["wall_s"]
    return dict(document)


def test_a_scenario_run_is_deterministic() -> None:
    path = SCENARIOS_DIR / "silent-minority.yaml"

    first = run_scenario(load_scenario(path), seed=4)
    second = run_scenario(load_scenario(path), seed=4)

    assert _without_wall_time(first) == _without_wall_time(second)


def test_split_brain_breaks_agreement_only_beyond_f_colluders() -> None:
    path = SCENARIOS_DIR / "beyond-threshold-split-brain.yaml"

    curve = sweep_capture(path, range(9, 12), seeds=2, attack="split-brain", jobs=2)

    safe = {row.colluders: row.safe for row in curve.rows}
    assert curve.f == 10
    assert safe == {9: 1.0, 10: 1.0, 11: 0.0}

"""The run report and sweep curve models: JSON round-trips, strictness, immutability."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from council.report import RunReport, SweepCurve
from council.report.model import percentile
from tests.report.sample import sample_report, sample_sweep


@pytest.mark.parametrize("violation", [False, True])
def test_run_report_survives_a_json_round_trip(violation: bool) -> None:
    report = sample_report(violation=violation)

    again = RunReport.model_validate_json(report.model_dump_json(indent=2))

    assert again == report


def test_run_report_json_has_the_contract_keys() -> None:
    document = json.loads(sample_report(violation=True).model_dump_json())

    assert set(document) == {
        *("scenario", "council", "verdicts", "expectations", "passed", "motions", "timeline"),
        *("latency_ms", "messages", "evidence", "view_changes", "highest_view", "ordered"),
        *("counterfactual", "violation", "wall_s"),
    }
    assert document["timeline"]["agents"][0]["views"][0] == [0, 0]
    assert document["violation"]["seq"] == 42
    assert document["council"]["seats"][0] == {
        "seat": 1,
        "constituency": "government",
        "behaviours": ["equivocate", "censor anti-corruption"],
    }


def test_sweep_curve_survives_a_json_round_trip() -> None:
    curve = sample_sweep()

    assert SweepCurve.model_validate_json(curve.model_dump_json(indent=2)) == curve


def test_sweep_curve_without_council_size_still_loads() -> None:
    document = {"scenario": "s", "seeds": 2, "attack": "split-brain", "rows": []}

    curve = SweepCurve.model_validate(document)

    assert curve.f is None and curve.n is None


def test_unknown_keys_are_rejected() -> None:
    document = json.loads(sample_report().model_dump_json())
    document["verdicts"]["fairness"] = "ok"

    with pytest.raises(ValidationError, match="fairness"):
        RunReport.model_validate(document)


def test_outcomes_and_verdicts_are_checked() -> None:
    document = json.loads(sample_report().model_dump_json())
    document["motions"][0]["outcome"] = "postponed"

    with pytest.raises(ValidationError, match="outcome"):
        RunReport.model_validate(document)


def test_reports_are_frozen() -> None:
    report = sample_report()

    with pytest.raises(ValidationError):
        report.passed = False  # type: ignore[misc]


def test_verdict_shortcuts_and_seat_lookup() -> None:
    healthy, broken = sample_report(), sample_report(violation=True)

    assert healthy.verdicts.safe and healthy.verdicts.live
    assert not broken.verdicts.safe and not broken.verdicts.live
    assert healthy.seat(25) is not None and healthy.seat(25).faulty  # type: ignore[union-attr]
    assert healthy.seat(34) is None


def test_percentile_uses_the_nearest_rank() -> None:
    assert percentile([], 0.5) is None
    assert percentile([30, 10, 20], 0.5) == 20
    assert percentile(list(range(1, 101)), 0.99) == 99

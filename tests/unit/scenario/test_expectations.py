"""Expectations are judged against the report, and say what was seen."""

from __future__ import annotations

from council.report.model import Counterfactual, RunReport, Verdicts
from council.scenario.expectations import judge
from council.scenario.schema import Expectations
from tests.report.sample import sample_report


def report(**changes: object) -> RunReport:
    return sample_report().model_copy(update=changes)


SAFE = Verdicts(agreement="ok", validity="ok", integrity="ok", liveness="ok")
BROKEN = Verdicts(agreement="violated", validity="ok", integrity="ok", liveness="stalled")


def test_safety_holds_or_its_violation_is_detected() -> None:
    [held] = judge(report(verdicts=SAFE), Expectations())
    assert held.passed
    [broken] = judge(report(verdicts=BROKEN), Expectations())
    assert not broken.passed and "agreement" in broken.detail
    [detected] = judge(report(verdicts=BROKEN), Expectations(safety="violated"))
    assert detected.passed and "agreement" in detected.detail
    [missed] = judge(report(verdicts=SAFE), Expectations(safety="violated"))
    assert not missed.passed and "no violation" in missed.detail


def test_decision_time_names_the_late_motions() -> None:
    everything = report(verdicts=SAFE)
    sample = everything.model_copy(
        update={"motions": [m for m in everything.motions if m.latency_ms is not None]}
    )
    slowest = max(m.latency_ms or 0 for m in sample.motions)
    _, ok = judge(sample, Expectations(decided_within_ms=slowest))
    assert ok.passed
    _, late = judge(sample, Expectations(decided_within_ms=slowest - 1))
    assert not late.passed
    [_, undecided] = judge(everything, Expectations(decided_within_ms=10**9))
    assert not undecided.passed and "undecided" in undecided.detail
    late_motion = next(m for m in sample.motions if m.latency_ms == slowest)
    assert late_motion.id in late.detail


def test_outcomes_and_view_changes() -> None:
    sample = report(verdicts=SAFE)
    first, second = sample.motions[:2]
    wrong = "rejected" if second.outcome == "adopted" else "adopted"
    expect = Expectations.model_validate(
        {
            "outcomes": {first.id: first.outcome, second.id: wrong},
            "view_changes_at_most": sample.view_changes,
        }
    )
    results = judge(sample, expect)
    assert [r.passed for r in results] == [True, True, False, True]
    assert f"expected {wrong}" in results[2].detail
    [_, too_many] = judge(sample, Expectations(view_changes_at_most=sample.view_changes - 1))
    assert not too_many.passed


def test_flipped_motions_must_all_have_been_flipped() -> None:
    sample = report(verdicts=SAFE, counterfactual=Counterfactual(bloc=[1], flipped=["A", "B"]))
    [_, ok] = judge(sample, Expectations(flipped=("A",)))
    assert ok.passed
    [_, missing] = judge(sample, Expectations(flipped=("A", "C")))
    assert not missing.passed and "C" in missing.detail
    [_, none] = judge(report(verdicts=SAFE, counterfactual=None), Expectations(flipped=("A",)))
    assert not none.passed

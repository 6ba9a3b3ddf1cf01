"""A scenario's expectations, judged against its run report."""

from __future__ import annotations

from collections.abc import Sequence

from council.report.model import ExpectationResult, RunReport
from council.scenario.schema import Expectations


def judged(report: RunReport, expect: Expectations) -> RunReport:
    """``report`` with its expectations judged and ``passed`` set."""
    results = judge(report, expect)
    return report.model_copy(
        update={"expectations": results, "passed": all(r.passed for r in results)}
    )


def judge(report: RunReport, expect: Expectations) -> list[ExpectationResult]:
    """One result per expectation, each saying what was seen."""
    results = [_safety(report, expect.safety)]
    if expect.decided_within_ms is not None:
        results.append(_decided_within(report, expect.decided_within_ms))
    for motion_id, wanted in expect.outcomes.items():
        motion = next((m for m in report.motions if m.id == motion_id), None)
        seen = motion.outcome if motion else "not submitted"
        results.append(
            ExpectationResult(
                name=f"outcome of {motion_id}",
                passed=seen == wanted,
                detail=f"expected {wanted}, got {seen}",
            )
        )
    if expect.view_changes_at_most is not None:
        limit = expect.view_changes_at_most
        results.append(
            ExpectationResult(
                name="view changes",
                passed=report.view_changes <= limit,
                detail=f"{report.view_changes} view changes, at most {limit} expected",
            )
        )
    if expect.flipped is not None:
        results.append(_flipped(report, expect.flipped))
    return results


def _safety(report: RunReport, wanted: str) -> ExpectationResult:
    safe = report.verdicts.safe
    broken = [
        name
        for name in ("agreement", "validity", "integrity")
        if getattr(report.verdicts, name) != "ok"
    ]
    if wanted == "holds":
        detail = "agreement, validity and integrity held" if safe else f"broken: {broken}"
        return ExpectationResult(name="safety holds", passed=safe, detail=detail)
    detail = (
        f"the run detected the broken invariant: {', '.join(broken)}"
        if not safe
        else "no violation was detected"
    )
    return ExpectationResult(name="safety violation detected", passed=not safe, detail=detail)


def _decided_within(report: RunReport, limit_ms: int) -> ExpectationResult:
    late = [
        f"{m.id} ({'undecided' if m.latency_ms is None else f'{m.latency_ms} ms'})"
        for m in report.motions
        if m.latency_ms is None or m.latency_ms > limit_ms
    ]
    detail = (
        f"all {len(report.motions)} motions decided within {limit_ms} ms"
        if not late
        else f"{len(late)} not decided within {limit_ms} ms: {', '.join(late[:8])}"
    )
    return ExpectationResult(name=f"decided within {limit_ms} ms", passed=not late, detail=detail)


def _flipped(report: RunReport, wanted: Sequence[str]) -> ExpectationResult:
    seen = report.counterfactual.flipped if report.counterfactual else []
    missing = [m for m in wanted if m not in seen]
    detail = (
        f"flipped by the bloc: {', '.join(seen) or 'none'}"
        if not missing
        else f"expected {', '.join(missing)} flipped; flipped: {', '.join(seen) or 'none'}"
    )
    return ExpectationResult(name="outcomes flipped by the bloc", passed=not missing, detail=detail)

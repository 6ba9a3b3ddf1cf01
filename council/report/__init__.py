"""Run reports and sweep curves: the model, and its terminal, JSON and HTML renderings.

::

    from council.report import print_report, render_html

    print_report(report, Console())
    Path("run.html").write_text(render_html(report))
    Path("run.json").write_text(report.model_dump_json(indent=2))
"""

from council.report.html import render_html, render_sweep_html
from council.report.model import (
    AgentTimeline,
    CouncilInfo,
    Counterfactual,
    EvidenceRow,
    ExpectationResult,
    Messages,
    MotionResult,
    RunReport,
    ScenarioInfo,
    SeatInfo,
    SweepCurve,
    SweepRow,
    Timeline,
    Verdicts,
    ViolationInfo,
)
from council.report.terminal import print_report, print_sweep

__all__ = [
    "AgentTimeline",
    "CouncilInfo",
    "Counterfactual",
    "EvidenceRow",
    "ExpectationResult",
    "Messages",
    "MotionResult",
    "RunReport",
    "ScenarioInfo",
    "SeatInfo",
    "SweepCurve",
    "SweepRow",
    "Timeline",
    "Verdicts",
    "ViolationInfo",
    "print_report",
    "print_sweep",
    "render_html",
    "render_sweep_html",
]

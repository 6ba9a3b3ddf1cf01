"""The motions table of the HTML report: outcome, tally bar against the rule, counterfactual."""

from __future__ import annotations

import math
from html import escape

from council.report import charts
from council.report.fmt import duration
from council.report.model import MotionResult, RunReport

YES, NO, ABSTAIN, ABSENT = "#009E73", "#D55E00", "#8c959f", "#e1e5ea"
TALLY_LEGEND = (("yes", YES), ("no", NO), ("abstain", ABSTAIN), ("absent", ABSENT))


def adoption_threshold(rule: str, n: int) -> int | None:
    """Yes votes (over all ``n`` seats) the rule needs, or None for a rule we do not know."""
    if rule == "majority":
        return n // 2 + 1
    if rule == "two-thirds":
        return math.ceil(2 * n / 3)
    if rule == "unanimity":
        return n
    return None


def motions_table(report: RunReport) -> str:
    """The table, with a legend; rows the bloc flipped are highlighted."""
    headers = [
        ("motion", "text", ""),
        ("category", "text", ""),
        ("submitted", "number", "num"),
        ("latency", "number", "num"),
        ("outcome", "text", ""),
        ("tally", "", ""),
    ]
    if report.counterfactual is not None:
        headers += [("honest bloc", "text", ""), ("flipped", "text", "")]
    head = "".join(_header(name, sort, css_class) for name, sort, css_class in headers)
    rows = "".join(_row(report, motion) for motion in report.motions)
    legend = "".join(
        f'<span class="swatch" style="background:{fill}"></span>{name}'
        for name, fill in TALLY_LEGEND
    )
    return (
        f'<p class="note">{legend}</p>'
        f'<table id="motions"><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>'
    )


def _header(name: str, sort: str, css_class: str) -> str:
    # data-sort="number"|"text" makes the column sortable by the page script.
    attributes = (f' data-sort="{sort}"' if sort else "") + (
        f' class="{css_class}"' if css_class else ""
    )
    return f'<th scope="col"{attributes}>{escape(name)}</th>'


def _row(report: RunReport, motion: MotionResult) -> str:
    n = report.council.n
    threshold = adoption_threshold(motion.rule, n)
    segments = [
        charts.Segment("yes", motion.yes, YES),
        charts.Segment("no", motion.no, NO),
        charts.Segment("abstain", motion.abstain, ABSTAIN),
        charts.Segment("absent", motion.absent, ABSENT),
    ]
    needed = "" if threshold is None else f"; {motion.rule} needs {threshold} yes"
    title = (
        f"{motion.id} tally: {motion.yes} yes, {motion.no} no, {motion.abstain} abstain, "
        f"{motion.absent} absent{needed}"
    )
    tally = charts.tally_bar(f"tally-{motion.id}", segments, n, threshold, title)
    counts = f"{motion.yes} yes · {motion.no} no · {motion.abstain} abst. · {motion.absent} absent"
    latency = motion.latency_ms
    cells = [
        f'<td data-value="{escape(motion.id)}"><span class="motion-id">{escape(motion.id)}</span>'
        f'<div class="sub">{escape(motion.title)}</div></td>',
        f'<td>{escape(motion.category)}<div class="sub">{escape(motion.rule)}</div></td>',
        f'<td class="num" data-value="{motion.submitted_ms}">{duration(motion.submitted_ms)}</td>',
        f'<td class="num" data-value="{"" if latency is None else latency}">'
        f"{duration(latency)}</td>",
        f"<td>{_badge(motion.outcome)}</td>",
        f'<td>{tally}<div class="counts">{counts}</div></td>',
    ]
    if report.counterfactual is not None:
        counterfactual = motion.counterfactual_outcome
        cells.append(f"<td>{'—' if counterfactual is None else _badge(counterfactual)}</td>")
        flipped = '<span class="badge flip">⚑ flipped</span>' if motion.flipped else ""
        cells.append(f"<td>{flipped}</td>")
    row_class = ' class="flipped"' if motion.flipped else ""
    return f"<tr{row_class}>{''.join(cells)}</tr>"


def _badge(outcome: str) -> str:
    known = outcome in ("adopted", "rejected", "lapsed", "undecided")
    tone = outcome if known else "undecided"
    return f'<span class="badge {tone}">{escape(outcome)}</span>'

"""The sweep page: the capture-resistance curve of ``council sweep`` and its table.

Shares of runs safe and live, and of motion outcomes the bloc flipped, by bloc size; the
largest tolerated bloc ``f`` is marked and the area beyond it shaded, because past ``f`` the
protocol promises nothing and the curve shows what actually happened.
"""

from __future__ import annotations

from html import escape

from council.report import charts, page
from council.report.fmt import share
from council.report.model import SweepCurve, SweepRow

SAFE, LIVE, FLIPPED = "#0072B2", "#009E73", "#D55E00"


def render_sweep_html(curve: SweepCurve) -> str:
    """The capture-resistance curve (share safe, live and flipped by bloc size) and its table."""
    rows = sorted(curve.rows, key=lambda r: r.colluders)
    xs = [row.colluders for row in rows]
    series = [
        charts.Series("share of runs safe", SAFE, [row.safe for row in rows]),
        charts.Series("share of runs live", LIVE, [row.live for row in rows], dash="7 4"),
        charts.Series("share of outcomes flipped", FLIPPED, [row.flipped for row in rows]),
    ]
    threshold = (
        None
        if curve.f is None
        else charts.Marker(curve.f, f"f = {curve.f} (largest tolerated bloc)")
    )
    title = f"Capture-resistance curve of {curve.scenario} ({curve.attack}): shares by bloc size"
    plot = charts.share_chart(
        "sweep-curve", title, xs, series, threshold=threshold, x_title="colluding seats"
    )
    safe_through = _safe_through(curve)
    council = "" if curve.n is None else f"<span>n = <b>{curve.n}</b>, f = <b>{curve.f}</b></span>"
    body = [
        f"<header><h1>Capture resistance: {escape(curve.scenario)}</h1>",
        f'<div class="meta"><span>attack <b>{escape(curve.attack)}</b></span>',
        f"<span><b>{curve.seeds}</b> seeds per bloc size</span>{council}</div></header>",
        '<div class="banner">',
        page.card(
            "Safe through",
            "—" if safe_through is None else f"{safe_through} colluders",
            _safe_tone(curve, safe_through),
            "every run safe up to this bloc size",
        ),
        page.card(
            "Tolerated (f)",
            "—" if curve.f is None else str(curve.f),
            "",
            "largest bloc PBFT tolerates",
        ),
        page.card("Bloc sizes", str(len(rows)), "", f"{sum(r.runs for r in rows):,} runs in all"),
        "</div>",
        page.section(
            "Curve", plot, note="Beyond f the protocol promises nothing; the shaded area."
        ),
        page.section("By bloc size", _sweep_table(curve, rows)),
        "<footer>Each point is a share over all seeds run with that bloc size.</footer>",
    ]
    return page.document(f"Capture resistance — {curve.scenario}", "\n".join(body))


def _safe_through(curve: SweepCurve) -> int | None:
    safe = None
    for row in sorted(curve.rows, key=lambda r: r.colluders):
        if row.safe < 1.0:
            break
        safe = row.colluders
    return safe


def _safe_tone(curve: SweepCurve, safe_through: int | None) -> str:
    if curve.f is None or safe_through is None:
        return "bad" if safe_through is None else ""
    return "ok" if safe_through >= curve.f else "bad"


def _sweep_table(curve: SweepCurve, rows: list[SweepRow]) -> str:
    head = "".join(
        f'<th class="num" data-sort="number">{name}</th>' if name else "<th></th>"
        for name in ("colluders", "", "runs", "safe", "live", "flipped")
    )
    lines = "".join(_sweep_row(curve, row) for row in rows)
    return f'<table id="sweep-table"><thead><tr>{head}</tr></thead><tbody>{lines}</tbody></table>'


def _sweep_row(curve: SweepCurve, row: SweepRow) -> str:
    beyond = curve.f is not None and row.colluders > curve.f
    marker = ""
    if curve.f is not None and row.colluders == curve.f:
        marker = '<span class="badge undecided">= f</span>'
    elif beyond:
        marker = '<span class="badge rejected">beyond f</span>'
    row_class = ' class="beyond"' if beyond else ""
    shares = "".join(
        _share_cell(value, colour)
        for value, colour in ((row.safe, SAFE), (row.live, LIVE), (row.flipped, FLIPPED))
    )
    return (
        f"<tr{row_class}>"
        f'<td class="num">{row.colluders}</td><td>{marker}</td>'
        f'<td class="num">{row.runs}</td>{shares}</tr>'
    )


def _share_cell(value: float, colour: str) -> str:
    # A CSS bar: readable without JavaScript and without another SVG per cell.
    fill = f'<span style="width:{value * 100:.0f}%;background:{colour}"></span>'
    percentage = f'<span class="pct">{share(value)}</span>'
    return (
        f'<td class="num" data-value="{value}"><span class="track">{fill}</span>{percentage}</td>'
    )

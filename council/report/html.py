"""Self-contained HTML pages: one for a scenario run (here), one for a sweep (``sweep_page``).

``render_html(report)`` puts the verdicts first (a banner and the expectations), then the plots a
designer reads at a glance — the per-agent timeline, decision latency, traffic, evidence of
misbehaviour — then the motions with their tallies and counterfactual outcomes, and finally the
command that replays the run. Everything is inline and every text from the report is escaped.
"""

from __future__ import annotations

from html import escape

from council.report import charts, page, svg
from council.report.fmt import duration, quantity, size
from council.report.model import RunReport, percentile
from council.report.motions import motions_table
from council.report.sweep_page import render_sweep_html
from council.report.timeline import timeline_figure

__all__ = ["render_html", "render_sweep_html"]


def render_html(report: RunReport) -> str:
    """The run report as one HTML page that needs no network and no JavaScript to read."""
    scenario, council = report.scenario, report.council
    body = [
        f"<header><h1>{escape(scenario.name)}</h1>",
        f'<p class="lead">{escape(scenario.description)}</p>' if scenario.description else "",
        '<div class="meta">',
        f"<span>council <b>{escape(council.name)}</b> ({escape(council.id)})</span>",
        f"<span>seed <b>{scenario.seed}</b></span>",
        f"<span>n = <b>{council.n}</b>, f = <b>{council.f}</b>, Q = <b>{council.quorum}</b></span>",
        f"<span>{sum(s.faulty for s in council.seats)} faulty seats</span>",
        f"<span>ran {duration(report.timeline.end_ms)} virtual in {report.wall_s:.2f} s</span>",
        "</div></header>",
        _banner(report),
        _expectations(report),
        _violation(report),
        page.section(
            "Per-agent timeline",
            timeline_figure(report),
            note="Do the seats move through views together, and where do commits stall?",
            section_id="timeline-section",
        ),
        '<div class="grid">',
        page.section(
            "Decision latency", _latency(report), note="Submission to decision, per motion."
        ),
        page.section(
            "Evidence of misbehaviour",
            _evidence(report),
            note="Signed proofs held against each seat, by kind.",
        ),
        page.section("Messages by kind", _traffic(report, "count"), note="Envelopes sent."),
        page.section("Bytes by kind", _traffic(report, "bytes"), note="Bytes on the wire."),
        "</div>",
        page.section(
            "Motions",
            motions_table(report),
            note=_motions_note(report),
            section_id="motions-section",
        ),
        page.section(
            "Replay",
            f'<pre class="replay"><code>{escape(scenario.replay)}</code></pre>',
            note="The same scenario and seed give the same run, event for event.",
        ),
        "<footer>Times are virtual milliseconds of the simulated clock.</footer>",
    ]
    return page.document(f"{scenario.name} — seed {scenario.seed}", "\n".join(body))


def _banner(report: RunReport) -> str:
    verdicts = report.verdicts
    broken = [
        name for name in ("agreement", "validity", "integrity") if getattr(verdicts, name) != "ok"
    ]
    met = sum(e.passed for e in report.expectations)
    cards = [
        page.card(
            "Safety",
            "safe" if verdicts.safe else "violated",
            "ok" if verdicts.safe else "bad",
            "agreement, validity, integrity" if verdicts.safe else "broken: " + ", ".join(broken),
        ),
        page.card(
            "Liveness",
            "live" if verdicts.live else "stalled",
            "ok" if verdicts.live else "bad",
            f"{report.ordered:,} requests ordered",
        ),
        page.card(
            "Expectations",
            f"{met} / {len(report.expectations)}",
            "ok" if met == len(report.expectations) else "bad",
            "met",
        ),
        page.card(
            "View changes",
            str(report.view_changes),
            "",
            f"highest view {report.highest_view}",
        ),
    ]
    if report.counterfactual is not None:
        flipped = len(report.counterfactual.flipped)
        cards.append(
            page.card(
                "Outcomes flipped",
                f"{flipped} / {len(report.motions)}",
                "warn" if flipped else "ok",
                f"by a bloc of {len(report.counterfactual.bloc)} seats",
            )
        )
    verdict = "passed" if report.passed else "failed"
    overall = (
        f'<div class="overall {"ok" if report.passed else "bad"}" role="status">'
        f"Scenario {verdict}: "
        f"{'every expectation met' if report.passed else 'see the failed expectations below'}"
        "</div>"
    )
    return f'{overall}<div class="banner" aria-label="verdicts">{"".join(cards)}</div>'


def _expectations(report: RunReport) -> str:
    if not report.expectations:
        return ""
    items = []
    for expectation in report.expectations:
        state, mark = ("pass", "✓") if expectation.passed else ("fail", "✗")
        items.append(
            f'<li class="{state}"><span class="mark" aria-label="{state}">{mark}</span>'
            f'{escape(expectation.name)} <span class="detail">— {escape(expectation.detail)}'
            "</span></li>"
        )
    return f'<h3>Expectations</h3><ul class="expectations">{"".join(items)}</ul>'


def _violation(report: RunReport) -> str:
    violation = report.violation
    if violation is None:
        return ""
    trace = escape("\n".join(violation.trace))
    return (
        '<div class="violation" role="alert">'
        f"<h3>Safety violated at sequence number {violation.seq}</h3>"
        f"<div>{escape(violation.detail)}</div><pre>{trace}</pre></div>"
    )


def _latency(report: RunReport) -> str:
    p50, p99 = percentile(report.latency_ms, 0.5), percentile(report.latency_ms, 0.99)
    markers = [
        charts.Marker(value, f"{name} {duration(value)}", stroke)
        for name, value, stroke in (("p50", p50, "#0b3d91"), ("p99", p99, "#b42318"))
        if value is not None
    ]
    title = f"Decision latency of {len(report.latency_ms)} decided motions"
    if p50 is not None:
        title += f" (p50 {duration(p50)}, p99 {duration(p99)})"
    return charts.histogram("latency", title, report.latency_ms, markers=markers, x_label=duration)


def _traffic(report: RunReport, measure: str) -> str:
    counts = report.messages.count_by_kind
    kinds = sorted(counts, key=lambda kind: (-counts[kind], kind))
    values = counts if measure == "count" else report.messages.bytes_by_kind
    label = quantity if measure == "count" else size
    bars = [
        charts.Bar(kind, [charts.Segment(kind, values.get(kind, 0), svg.CATEGORICAL[i % 7])])
        for i, kind in enumerate(kinds)
    ]
    total = label(sum(values.values()))
    title = f"{'Messages' if measure == 'count' else 'Bytes'} by kind ({total} in all)"
    return charts.bar_chart(f"messages-{measure}", title, bars, label)


def _evidence(report: RunReport) -> str:
    kinds = sorted({row.kind for row in report.evidence})
    fills = {kind: svg.CATEGORICAL[(i + 5) % 7] for i, kind in enumerate(kinds)}
    by_seat: dict[int, list[charts.Segment]] = {}
    for row in sorted(report.evidence, key=lambda r: (r.seat, r.kind)):
        by_seat.setdefault(row.seat, []).append(
            charts.Segment(row.kind, row.count, fills[row.kind])
        )
    bars = []
    for seat_number, segments in sorted(by_seat.items()):
        seat = report.seat(seat_number)
        label = f"seat {seat_number}" + (f" · {seat.constituency}" if seat else "")
        note = ", ".join(seat.behaviours) if seat else ""
        bars.append(charts.Bar(label, segments, note or "not configured faulty"))
    total = sum(row.count for row in report.evidence)
    title = f"Evidence of misbehaviour: {total} proofs against {len(bars)} seats"
    legend = [(kind, fills[kind]) for kind in kinds]
    return charts.bar_chart("evidence", title, bars, quantity, legend=legend)


def _motions_note(report: RunReport) -> str:
    note = "Tally bars cover all seats; the black tick is the yes count the rule needs."
    if report.counterfactual is not None:
        bloc = ", ".join(str(seat) for seat in report.counterfactual.bloc)
        note += f" Counterfactual: the same seed with seats {bloc} voting honestly."
    return note

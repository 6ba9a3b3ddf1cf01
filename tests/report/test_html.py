"""The self-contained HTML pages: no external resources, a titled SVG per plot, escaped text."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ElementTree

import pytest

from council.report import RunReport, render_html, render_sweep_html
from council.report.model import Counterfactual, Messages, Timeline
from tests.report.sample import FLIPPED, HOSTILE_TITLE, sample_report, sample_sweep

RUN_PLOTS = ("timeline", "latency", "messages-count", "messages-bytes", "evidence")
EXTERNAL = re.compile(r"""(?:src|href|xlink:href)\s*=\s*["']?\s*(?:https?:)?//""", re.IGNORECASE)


def svgs(page: str) -> dict[str, ElementTree.Element]:
    """Every <svg> with an id, parsed as XML (which also proves it is well-formed)."""
    found = {}
    for markup in re.findall(r"<svg\b.*?</svg>", page, flags=re.DOTALL):
        element = ElementTree.fromstring(markup)
        found[element.attrib["id"]] = element
    return found


@pytest.fixture(scope="module")
def page() -> str:
    return render_html(sample_report(violation=True))


def test_page_is_self_contained(page: str) -> None:
    assert EXTERNAL.search(page) is None
    assert "http://" not in page and "https://" not in page
    assert "<link" not in page
    assert "@import" not in page and "url(http" not in page
    assert page.count("<script>") == 2  # the error hook and the sorting script, both inline


def test_each_plot_is_one_titled_accessible_svg(page: str) -> None:
    plots = svgs(page)

    for plot_id in RUN_PLOTS:
        svg = plots[plot_id]
        title = svg.find("title")
        assert title is not None and title.text, plot_id
        assert svg.attrib["role"] == "img"
        assert svg.attrib["aria-labelledby"].split()[0] == title.attrib["id"]
    assert sum(1 for plot_id in plots if plot_id in RUN_PLOTS) == len(RUN_PLOTS)


def test_timeline_has_a_row_per_seat_and_labels_faulty_behaviours(page: str) -> None:
    timeline = ElementTree.tostring(svgs(page)["timeline"], encoding="unicode")

    for seat in range(1, 34):
        assert re.search(rf">{seat}  (government|industry|academia|civil-society)<", timeline)
    assert "equivocate, censor anti-corruption" in timeline
    assert "url(#down-hatch)" in timeline
    assert timeline.count("sampled commits") == 33


def test_motion_title_with_markup_is_escaped(page: str) -> None:
    assert HOSTILE_TITLE not in page
    assert "alert('x')</script>" not in page
    assert "Publish &lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &amp; audit" in page


def test_hostile_text_everywhere_stays_text() -> None:
    hostile = '"><img src=x onerror=alert(1)>'
    report = sample_report()
    scenario = report.scenario.model_copy(update={"name": hostile, "description": hostile})
    seats = [report.council.seats[0].model_copy(update={"behaviours": [hostile]})]
    council = report.council.model_copy(update={"name": hostile, "seats": seats})
    messages = Messages(count_by_kind={hostile: 3}, bytes_by_kind={hostile: 300})
    hostile_report = report.model_copy(
        update={"scenario": scenario, "council": council, "messages": messages}
    )

    html = render_html(hostile_report)

    assert "<img" not in html
    svgs(html)  # still well-formed


def test_verdict_banner_expectations_and_violation_trace(page: str) -> None:
    assert "Scenario failed" in page
    assert '<div class="value">violated</div>' in page
    assert '<div class="value">stalled</div>' in page
    assert "✗</span>safety holds" in page
    assert "Safety violated at sequence number 42" in page
    assert "t=2139 r19 COMMIT seq=42 digest=41ab… (22 matching)" in page


def test_a_passing_run_has_no_violation_box() -> None:
    html = render_html(sample_report())

    assert "Scenario passed" in html
    assert 'class="violation"' not in html


def test_motions_table_shows_tallies_counterfactual_and_flipped_rows(page: str) -> None:
    report = sample_report(violation=True)
    flipped_rows = re.findall(r'<tr class="flipped">.*?</tr>', page, flags=re.DOTALL)

    assert len(flipped_rows) == len(FLIPPED)
    for motion_id, row in zip(FLIPPED, flipped_rows, strict=True):
        assert f'<span class="motion-id">{motion_id}</span>' in row
        assert "⚑ flipped" in row
    for motion in report.motions:
        assert f'id="tally-{motion.id}"' in page
    assert "honest bloc" in page


def test_latency_plot_marks_p50_and_p99(page: str) -> None:
    latency = ElementTree.tostring(svgs(page)["latency"], encoding="unicode")

    assert "p50 686 ms" in latency and "p99 4.7 s" in latency


def test_a_run_with_nothing_recorded_still_renders() -> None:
    report = sample_report().model_copy(
        update={
            "motions": [],
            "latency_ms": [],
            "evidence": [],
            "expectations": [],
            "counterfactual": None,
            "timeline": Timeline(end_ms=0, agents=[]),
            "messages": Messages(count_by_kind={}, bytes_by_kind={}),
        }
    )

    html = render_html(report)

    assert set(RUN_PLOTS) <= set(svgs(html))
    assert "no decided motions" in html
    assert "honest bloc" not in html


def test_counterfactual_without_flips_is_reported_as_none() -> None:
    report: RunReport = sample_report()
    motions = [m.model_copy(update={"flipped": False}) for m in report.motions]
    report = report.model_copy(
        update={"motions": motions, "counterfactual": Counterfactual(bloc=[10], flipped=[])}
    )

    html = render_html(report)

    assert "⚑ flipped" not in html
    assert "0 / 20" in html


def test_sweep_page_marks_f_and_is_self_contained() -> None:
    html = render_sweep_html(sample_sweep())
    curve = svgs(html)["sweep-curve"]
    curve_text = ElementTree.tostring(curve, encoding="unicode")

    assert EXTERNAL.search(html) is None and "http" not in html
    assert curve.find("title") is not None
    assert "f = 10 (largest tolerated bloc)" in curve_text
    assert "beyond the tolerated threshold" in curve_text
    assert html.count('<tr class="beyond">') == 6
    assert '<span class="badge undecided">= f</span>' in html
    assert "10 colluders" in html  # safe through


def test_sweep_page_without_f_draws_no_marker() -> None:
    curve = sample_sweep().model_copy(update={"f": None, "n": None})

    html = render_sweep_html(curve)

    assert "largest tolerated bloc)" not in html
    assert "beyond f" not in html

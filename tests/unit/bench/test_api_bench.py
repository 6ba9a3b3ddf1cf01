"""The front door's benchmark runs and reports each figure (make bench judges the values)."""

from __future__ import annotations

from bench.api_bench import measure_api


def test_the_api_benchmark_reports_its_figures() -> None:
    figures = measure_api(quick=True)
    assert set(figures) == {
        "api_record_verify_ms",
        "api_submit_per_s",
        "api_get_motion_per_s",
        "api_list_motions_per_s",
    }
    assert all(value > 0 for value in figures.values())

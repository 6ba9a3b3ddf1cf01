"""The rich terminal rendering of run reports and sweep curves."""

from __future__ import annotations

from rich.console import Console

from council.report import RunReport, print_report, print_sweep
from tests.report.sample import FLIPPED, sample_report, sample_sweep


def rendered(report: RunReport) -> str:
    console = Console(record=True, width=160)
    print_report(report, console)
    return console.export_text()


def test_header_names_scenario_seed_and_council_thresholds() -> None:
    text = rendered(sample_report())

    assert "industry-capture — seed 7" in text
    assert "n=33 f=10 Q=22" in text


def test_verdicts_are_shown() -> None:
    text = rendered(sample_report(violation=True))

    for line in ("agreement", "validity", "integrity", "liveness"):
        assert line in text
    assert "violated" in text and "stalled" in text
    assert "safety violated at seq 42" in text
    assert "t=2104 r0 PRE-PREPARE seq=42" in text


def test_expectations_are_ticked_or_crossed() -> None:
    text = rendered(sample_report(violation=True))

    assert "✗ safety holds — agreement violated at seq 42" in text
    assert "✓ M-1 adopted — M-1 was adopted" in text


def test_every_motion_is_listed_and_flipped_ones_are_marked() -> None:
    report = sample_report()
    text = rendered(report)

    for motion in report.motions:
        assert f"│ {motion.id} " in text
    flipped_lines = [line for line in text.splitlines() if "⚑ flipped" in line]
    assert sorted(line.split("│")[1].strip() for line in flipped_lines) == sorted(FLIPPED)


def test_user_text_is_not_read_as_markup() -> None:
    report = sample_report()
    motions = [report.motions[0].model_copy(update={"title": "[bold]Capture[/bold] the [red]"})]
    text = rendered(report.model_copy(update={"motions": motions}))

    assert "[bold]Capture[/bold] the [red]" in text


def test_traffic_evidence_and_replay_are_shown() -> None:
    text = rendered(sample_report())

    assert "prepare" in text and "15.7 MB" in text
    assert "equivocation" in text and "conflicting-commit" in text
    assert "replay: council scenario run scenarios/industry-capture.yaml --seed 7" in text


def test_sweep_table_marks_f_and_the_bloc_sizes_beyond_it() -> None:
    console = Console(record=True, width=160)
    print_sweep(sample_sweep(), console)
    text = console.export_text()

    rows = {line.split("│")[1].strip(): line for line in text.splitlines() if line.count("│") > 5}
    assert "= f" in rows["10"]
    assert "beyond f" in rows["11"] and "beyond f" in rows["16"]
    assert "beyond" not in rows["9"]
    assert "100%" in rows["10"] and "0%" in rows["11"]

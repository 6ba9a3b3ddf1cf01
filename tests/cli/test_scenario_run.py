"""``council scenario run`` and ``council sweep``: reports, files written, exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from council.cli import app
from council.commands.runs import parse_colluders
from council.report.model import RunReport, SweepCurve

SMALL_COUNCIL = """
name: Small Council
seats:
  - {constituency: citizens, count: 4}
  - {constituency: experts, count: 3}
categories:
  budget: {rule: majority, window_ms: 3000}
  charter: {rule: two-thirds, window_ms: 3000}
"""


def scenario(tmp_path: Path, expect: str, faulty: str = "") -> Path:
    (tmp_path / "council.yaml").write_text(SMALL_COUNCIL)
    path = tmp_path / "small.yaml"
    path.write_text(
        f"""
name: small
council: council.yaml
seed: 4
duration_ms: 30000
{faulty}
motions:
  - {{id: M-1, title: "Fund the library", category: budget, at_ms: 10, merit: 1.0}}
  - {{id: M-2, title: "Amend the charter", category: charter, at_ms: 20, merit: 1.0}}
expect:
{expect}
"""
    )
    return path


def test_a_passing_scenario_exits_0_and_writes_its_reports(tmp_path: Path) -> None:
    path = scenario(tmp_path, "  outcomes: {M-1: adopted, M-2: adopted}")
    out_json, out_html = tmp_path / "r.json", tmp_path / "r.html"
    result = CliRunner().invoke(
        app, ["scenario", "run", str(path), "--json", str(out_json), "--html", str(out_html)]
    )
    assert result.exit_code == 0, result.output
    assert "M-1" in result.output and "adopted" in result.output
    report = RunReport.model_validate_json(out_json.read_text())
    assert report.passed and report.council.n == 7
    assert {m.id: m.outcome for m in report.motions} == {"M-1": "adopted", "M-2": "adopted"}
    assert out_html.read_text().startswith("<!DOCTYPE html>")


def test_a_failed_expectation_exits_1_and_says_which(tmp_path: Path) -> None:
    path = scenario(tmp_path, "  outcomes: {M-1: rejected}")
    result = CliRunner().invoke(app, ["scenario", "run", str(path)])
    assert result.exit_code == 1
    assert "expectation failed: outcome of M-1: expected rejected, got adopted" in result.output
    assert f"council scenario run {path} --seed 4" in result.output


def test_a_bloc_that_withholds_its_votes_flips_a_two_thirds_motion(tmp_path: Path) -> None:
    faulty = """faulty:
  - constituency: experts
    behaviours: [{kind: withhold-votes, categories: [charter]}]"""
    path = scenario(tmp_path, "  flipped: [M-2]\n  outcomes: {M-1: adopted}", faulty)
    out_json = tmp_path / "r.json"
    result = CliRunner().invoke(app, ["scenario", "run", str(path), "--json", str(out_json)])
    assert result.exit_code == 0, result.output
    report = RunReport.model_validate_json(out_json.read_text())
    assert report.counterfactual is not None and report.counterfactual.bloc == [5, 6, 7]
    charter = next(m for m in report.motions if m.id == "M-2")
    assert charter.counterfactual_outcome == "adopted" and charter.outcome != "adopted"
    assert charter.absent == 3


def test_the_seed_option_replaces_the_file_seed(tmp_path: Path) -> None:
    path = scenario(tmp_path, "  safety: holds")
    out_json = tmp_path / "r.json"
    result = CliRunner().invoke(
        app, ["scenario", "run", str(path), "--seed", "99", "--json", str(out_json)]
    )
    assert result.exit_code == 0, result.output
    assert json.loads(out_json.read_text())["scenario"]["seed"] == 99


def test_an_invalid_file_exits_2_naming_file_line_and_field(tmp_path: Path) -> None:
    path = scenario(tmp_path, "  safty: holds")
    result = CliRunner().invoke(app, ["scenario", "run", str(path)])
    assert result.exit_code == 2
    assert f"{path}:" in result.output and "safty" in result.output


def test_sweep_writes_the_curve(tmp_path: Path) -> None:
    path = scenario(tmp_path, "  safety: holds")
    out_json = tmp_path / "curve.json"
    result = CliRunner().invoke(
        app,
        [
            *("sweep", str(path), "--colluders", "1..3", "--seeds", "2", "--jobs", "1"),
            *("--json", str(out_json), "--html", str(tmp_path / "curve.html")),
        ],
    )
    assert result.exit_code == 0, result.output
    curve = SweepCurve.model_validate_json(out_json.read_text())
    assert [row.colluders for row in curve.rows] == [1, 2, 3]
    assert curve.f == 2
    by_size = {row.colluders: row for row in curve.rows}
    assert by_size[1].safe == by_size[2].safe == 1.0, "up to f the split brain fails"
    assert by_size[3].safe == 0.0, "f + 1 colluders split the honest seats"


@pytest.mark.parametrize(
    ("text", "sizes"), [("0..16", list(range(17))), ("7", [7]), (" 3..4 ", [3, 4])]
)
def test_colluder_ranges(text: str, sizes: list[int]) -> None:
    assert list(parse_colluders(text)) == sizes


@pytest.mark.parametrize("text", ["5..2", "x", "1-4", ""])
def test_bad_colluder_ranges_are_refused(text: str) -> None:
    result = CliRunner().invoke(app, ["sweep", "nowhere.yaml", "--colluders", text])
    assert result.exit_code == 2


def test_decision_records_of_a_run_verify_offline(tmp_path: Path) -> None:
    path = scenario(tmp_path, "  safety: holds")
    records = tmp_path / "records"
    result = CliRunner().invoke(app, ["scenario", "run", str(path), "--records", str(records)])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in records.iterdir()) == ["M-1.json", "M-2.json", "roster.json"]
    roster = str(records / "roster.json")
    checked = CliRunner().invoke(app, ["verify", str(records / "M-1.json"), "--roster", roster])
    assert checked.exit_code == 0, checked.output
    assert checked.output.startswith("valid: motion M-1 adopted")
    record = json.loads((records / "M-1.json").read_text())
    record["closing"]["certificate"] = record["closing"]["certificate"][:4]  # Q is 5 of 7
    (records / "tampered.json").write_text(json.dumps(record))
    tampered = CliRunner().invoke(
        app, ["verify", str(records / "tampered.json"), "--roster", roster]
    )
    assert tampered.exit_code == 1
    assert "commit certificate" in tampered.output

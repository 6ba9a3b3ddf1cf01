"""`council scenario validate FILE...`: one ok line per valid file, the errors of the others."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner, Result

from council.cli import app
from tests.unit.spec.support import scenario, write


def validate(*files: Path) -> Result:
    return CliRunner().invoke(app, ["scenario", "validate", *map(str, files)])


VALID = """
faulty:
  - constituency: industry
    behaviours: [{kind: bloc-vote, vote: "no"}]
  - seats: [1]
    behaviours: [{kind: censor, categories: [budget]}, {kind: equivocate}]
motions:
  - {id: M-1, title: Audit, category: anti-corruption, at_ms: 100}
  - generate: {count: 4}
"""


def test_valid_file_gets_a_one_line_summary(tmp_path: Path) -> None:
    path = scenario(tmp_path, VALID)
    result = validate(path)
    assert result.exit_code == 0, result.output
    assert result.stdout == (
        f"ok: {path} — test: 33 seats, 9 faulty (censor, equivocate, bloc-vote), 5 motions\n"
    )


def test_invalid_file_prints_its_errors_and_exits_1(tmp_path: Path) -> None:
    good = scenario(tmp_path, VALID)
    bad = write(tmp_path, "bad.yaml", "name: bad\ncouncil: council.yaml\nseed: x\n")
    result = validate(good, bad)
    assert result.exit_code == 1
    assert result.stdout.startswith(f"ok: {good} — ")
    assert result.stderr == f"{bad}:3: seed: expected an integer, got 'x'\n"


def test_missing_file_is_an_error(tmp_path: Path) -> None:
    result = validate(tmp_path / "nope.yaml")
    assert result.exit_code == 1
    assert f"{tmp_path / 'nope.yaml'}:0: (file): cannot read" in result.stderr


def test_scenario_without_arguments_shows_help() -> None:
    result = CliRunner().invoke(app, ["scenario"])
    assert "validate" in result.output

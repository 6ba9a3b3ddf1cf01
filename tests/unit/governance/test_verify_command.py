"""``council verify``: valid and invalid records, and files it cannot read."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from council.cli import app
from council.governance import (
    DecisionRecord,
    DecisionRecorder,
    ballot_operation,
    motion_operation,
)
from tests.unit.governance.support import SECRETARIAT, GovernedCouncil


@pytest.fixture(scope="module")
def decision() -> tuple[DecisionRecord, GovernedCouncil]:
    council = GovernedCouncil(n=4)
    council.submit(SECRETARIAT, motion_operation("M-1", "Audit", "Audit it.", "budget", 0))
    for seat, vote in enumerate(["yes", "yes", "no", "abstain"]):
        council.submit(f"r{seat}", ballot_operation("M-1", vote))
    recorder = DecisionRecorder(council.rules)
    for effect in council.effects[0]:
        recorder.observe(effect)
    return recorder.records["M-1"], council


@pytest.fixture
def files(tmp_path: Path, decision: tuple[DecisionRecord, GovernedCouncil]) -> tuple[Path, Path]:
    record, council = decision
    record_file, roster_file = tmp_path / "decision.json", tmp_path / "roster.json"
    record_file.write_text(record.model_dump_json(indent=2), encoding="utf-8")
    council.roster.save(roster_file)
    return record_file, roster_file


def verify(record_file: Path, roster_file: Path) -> Result:
    return CliRunner().invoke(app, ["verify", str(record_file), "--roster", str(roster_file)])


def test_a_valid_record_is_summarised(
    files: tuple[Path, Path], decision: tuple[DecisionRecord, GovernedCouncil]
) -> None:
    record, _ = decision
    result = verify(*files)
    assert result.exit_code == 0, result.output
    assert result.output == (
        f"valid: motion M-1 rejected (yes 2, no 1, abstain 1), closed at seq"
        f" {record.closing.seq} with {len(record.closing.certificate)} commits\n"
    )


def test_an_invalid_record_lists_its_problems(files: tuple[Path, Path]) -> None:
    record_file, roster_file = files
    document = json.loads(record_file.read_text(encoding="utf-8"))
    document["outcome"] = "adopted"
    record_file.write_text(json.dumps(document), encoding="utf-8")
    result = verify(record_file, roster_file)
    assert result.exit_code == 1
    assert result.output.splitlines() == [
        "invalid: motion M-1: 1 problem(s)",
        "  - outcome: the ballots give rejected under majority (turnout 0.5),"
        " the record says adopted",
    ]


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        ("missing-record", "cannot read decision record"),
        ("garbage-record", "not a decision record"),
        ("missing-roster", "cannot read roster"),
        ("garbage-roster", "not a roster"),
    ],
)
def test_unreadable_files_exit_2_without_a_traceback(
    files: tuple[Path, Path], tmp_path: Path, damage: str, message: str
) -> None:
    record_file, roster_file = files
    if damage == "missing-record":
        record_file = tmp_path / "absent.json"
    elif damage == "garbage-record":
        record_file.write_text('{"council_id": "x"}', encoding="utf-8")
    elif damage == "missing-roster":
        roster_file = tmp_path / "absent-roster.json"
    else:
        roster_file.write_text("[]", encoding="utf-8")
    result = verify(record_file, roster_file)
    assert result.exit_code == 2
    assert message in result.output
    assert "Traceback" not in result.output
    assert isinstance(result.exception, SystemExit)

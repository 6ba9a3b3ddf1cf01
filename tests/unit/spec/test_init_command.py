"""`council init` writes a council file, 0600 private keys and a roster that match each other."""

from __future__ import annotations

import stat
from pathlib import Path

from typer.testing import CliRunner, Result

from council.cli import app
from council.council_file import default_council, dump_council, load_council
from crypto import Roster, load_private_key
from tests.unit.spec.support import write

PRINCIPALS = {f"r{i}" for i in range(33)} | {"secretariat", "gateway"}


def init(*arguments: str) -> Result:
    return CliRunner().invoke(app, ["init", *arguments])


def test_init_writes_a_default_council_with_keys_and_roster(tmp_path: Path) -> None:
    out = tmp_path / "council"
    result = init("--name", "Example Council", "--out", str(out))
    assert result.exit_code == 0, result.output
    assert load_council(out / "council.yaml") == default_council("Example Council")
    keys = sorted((out / "keys").iterdir())
    assert {key.stem for key in keys} == PRINCIPALS
    assert all(stat.S_IMODE(key.stat().st_mode) == 0o600 for key in keys)
    roster = Roster.load(out / "roster.json")
    assert roster.council_id == "example-council"
    assert set(roster) == PRINCIPALS
    for key in keys:
        assert roster.public_key(key.stem) == load_private_key(key).public_key()
    assert "next steps" in result.stdout
    assert str(out / "roster.json") in result.stdout


def test_keys_are_random_not_derived(tmp_path: Path) -> None:
    init("--name", "Twice", "--out", str(tmp_path / "a"))
    init("--name", "Twice", "--out", str(tmp_path / "b"))
    first, second = (Roster.load(tmp_path / d / "roster.json") for d in ("a", "b"))
    assert first.public_key("r0") != second.public_key("r0")


def test_init_refuses_to_overwrite_without_force(tmp_path: Path) -> None:
    init("--name", "Example Council", "--out", str(tmp_path))
    roster = (tmp_path / "roster.json").read_text()
    result = init("--name", "Other Council", "--out", str(tmp_path))
    assert result.exit_code == 1
    assert "already holds a council" in result.stderr
    assert "--force" in result.stderr
    assert (tmp_path / "roster.json").read_text() == roster

    result = init("--name", "Other Council", "--out", str(tmp_path), "--force")
    assert result.exit_code == 0, result.output
    replaced = Roster.load(tmp_path / "roster.json")
    assert replaced.council_id == "other-council"
    assert load_private_key(tmp_path / "keys" / "r5.key").public_key() == replaced.public_key("r5")


def test_seats_from_takes_the_council_layout_from_a_file(tmp_path: Path) -> None:
    template = write(
        tmp_path,
        "layout.yaml",
        """
        name: Template
        seats:
          - {constituency: port, count: 3}
          - {constituency: town, count: 2}
        categories:
          dredging: {rule: unanimity}
        secretariat: [clerk, registrar]
        """,
    )
    out = tmp_path / "out"
    result = init("--name", "Harbour Board", "--out", str(out), "--seats-from", str(template))
    assert result.exit_code == 0, result.output
    council = load_council(out / "council.yaml")
    assert (council.name, council.council_id, council.n) == ("Harbour Board", "harbour-board", 5)
    assert set(Roster.load(out / "roster.json")) == {
        "r0",
        "r1",
        "r2",
        "r3",
        "r4",
        "clerk",
        "registrar",
    }


def test_invalid_seats_from_file_is_reported(tmp_path: Path) -> None:
    template = write(tmp_path, "layout.yaml", dump_council(default_council("x")) + "extra: 1\n")
    result = init("--name", "Y", "--out", str(tmp_path / "out"), "--seats-from", str(template))
    assert result.exit_code == 1
    assert f"{template}:" in result.stderr
    assert "unknown key 'extra'" in result.stderr
    assert not (tmp_path / "out").exists()

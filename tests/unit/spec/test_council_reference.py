"""A scenario names its council by a path relative to itself, or holds it inline."""

from __future__ import annotations

from pathlib import Path

from council.council_file import default_council, dump_council
from council.scenario import load_scenario
from tests.unit.spec.support import COUNCIL_NAME, errors, write

INLINE = """
name: inline
council:
  name: Small Council
  seats:
    - {constituency: members, count: 4}
  categories:
    budget: {rule: majority}
motions:
  - {id: M-1, title: Budget, category: budget, at_ms: 10}
"""


def test_council_path_is_relative_to_the_scenario_file(tmp_path: Path) -> None:
    (tmp_path / "councils").mkdir()
    (tmp_path / "scenarios").mkdir()
    write(tmp_path / "councils", "main.yaml", dump_council(default_council(COUNCIL_NAME)))
    path = write(
        tmp_path / "scenarios", "s.yaml", "name: relative\ncouncil: ../councils/main.yaml\n"
    )
    loaded = load_scenario(path)
    assert loaded.council == default_council(COUNCIL_NAME)
    assert loaded.path == path


def test_inline_council_loads_like_a_council_file(tmp_path: Path) -> None:
    loaded = load_scenario(write(tmp_path, "s.yaml", INLINE))
    assert loaded.council.n == 4
    assert loaded.council.council_id == "small-council"
    assert [m.submitter for m in loaded.motions] == ["secretariat"]


def test_error_in_inline_council_points_into_the_scenario(tmp_path: Path) -> None:
    path = write(tmp_path, "s.yaml", INLINE.replace("count: 4", "count: 3"))
    assert errors(path) == [f"{path}:4: council.seats: expected at least 4 seats in all, got 3"]


def test_inline_council_stances_are_checked_at_their_line(tmp_path: Path) -> None:
    text = INLINE.replace(
        "    budget: {rule: majority}\n",
        "    budget: {rule: majority}\n  voting:\n    stances: {members: {budgte: 'no'}}\n",
    )
    path = write(tmp_path, "s.yaml", text)
    assert errors(path) == [
        f"{path}:9: council.voting.stances.members.budgte: unknown category 'budgte';"
        " expected one of: budget"
    ]


def test_error_in_council_file_names_the_council_file(tmp_path: Path) -> None:
    council = write(tmp_path, "council.yaml", "name: Broken\nseats: []\ncategories: {}\n")
    path = write(tmp_path, "s.yaml", "name: s\ncouncil: council.yaml\n")
    assert errors(path) == [
        f"{council}:2: seats: expected at least 4 seats in all, got 0",
        f"{council}:3: categories: expected at least 1 item(s), got 0",
    ]


def test_missing_council_file_is_reported_at_the_council_line(tmp_path: Path) -> None:
    path = write(tmp_path, "s.yaml", "name: s\nseed: 2\ncouncil: nowhere.yaml\n")
    assert errors(path) == [
        f"{path}:3: council: no council file at '{tmp_path / 'nowhere.yaml'}'"
        " (the path is relative to this file)"
    ]

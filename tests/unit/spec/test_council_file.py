"""The council file: seats numbered in file order, categories, voting policy, and its YAML form."""

from __future__ import annotations

from pathlib import Path

import pytest

from council.council_file import (
    Category,
    CouncilFile,
    SeatGroup,
    default_council,
    dump_council,
    load_council,
)
from council.yamlfile import SpecError
from tests.unit.spec.support import write

SMALL = """
name: Harbour Board
seats:
  - {constituency: port, count: 2}
  - {constituency: town, count: 3}
categories:
  dredging: {rule: two-thirds, window_ms: 5000}
"""


def council_errors(path: Path) -> list[str]:
    with pytest.raises(SpecError) as caught:
        load_council(path)
    return str(caught.value).splitlines()


def test_default_council_has_33_seats_in_four_constituencies() -> None:
    council = default_council("Example Council")
    assert council.n == 33
    assert council.council_id == "example-council"
    assert council.constituencies() == ("government", "industry", "academia", "civil-society")
    assert [len(council.seat_numbers(c)) for c in council.constituencies()] == [9, 8, 8, 8]
    assert {c.rule for c in council.categories.values()} == {"majority", "two-thirds", "unanimity"}
    assert council.categories["anti-corruption"].rule == "two-thirds"
    assert council.secretariat == ("secretariat", "gateway")


def test_seats_are_numbered_in_file_order_with_their_principals(tmp_path: Path) -> None:
    council = load_council(write(tmp_path, "c.yaml", SMALL))
    assert [(s.number, s.constituency, s.principal) for s in council.seats()] == [
        (1, "port", "r0"),
        (2, "port", "r1"),
        (3, "town", "r2"),
        (4, "town", "r3"),
        (5, "town", "r4"),
    ]
    assert council.seat_of("r3") == council.seats()[3]
    assert council.seat_of("secretariat") is None


def test_defaults_fill_what_the_file_leaves_out(tmp_path: Path) -> None:
    council = load_council(write(tmp_path, "c.yaml", SMALL))
    assert council.council_id == "harbour-board"
    assert council.categories["dredging"] == Category(rule="two-thirds", window_ms=5000)
    assert council.categories["dredging"].turnout == 0.5
    assert council.voting.policy == "merit"
    assert council.voting.think_ms == (20, 200)


def test_dumped_council_loads_back_equal(tmp_path: Path) -> None:
    council = default_council("Example Council")
    text = dump_council(council)
    assert text.startswith("# ")
    assert load_council(write(tmp_path, "c.yaml", text)) == council


def test_dump_keeps_stances_that_yaml_would_read_as_booleans(tmp_path: Path) -> None:
    council = CouncilFile.model_validate(
        {
            **default_council("Stances").model_dump(by_alias=True),
            "voting": {"policy": "stance", "stances": {"industry": {"environment": "no"}}},
        }
    )
    assert load_council(write(tmp_path, "c.yaml", dump_council(council))) == council


def test_id_must_be_a_slug(tmp_path: Path) -> None:
    path = write(tmp_path, "c.yaml", SMALL + "id: Harbour Board\n")
    assert council_errors(path) == [
        f"{path}:7: id: expected a slug (lowercase letters and digits joined by single hyphens,"
        " e.g. 'example-council'), got 'Harbour Board'"
    ]


def test_a_council_needs_four_seats(tmp_path: Path) -> None:
    path = write(tmp_path, "c.yaml", SMALL.replace("count: 3", "count: 1"))
    assert council_errors(path) == [f"{path}:2: seats: expected at least 4 seats in all, got 3"]


def test_category_values_are_checked(tmp_path: Path) -> None:
    text = SMALL.replace("window_ms: 5000}", "window_ms: 0, turnout: -0.1, quorum: 3}")
    path = write(tmp_path, "c.yaml", text)
    assert council_errors(path) == [
        f"{path}:6: categories.dredging.window_ms: expected a value greater than 0, got 0",
        f"{path}:6: categories.dredging.turnout: expected a number between 0 and 1, got -0.1",
        f"{path}:6: categories.dredging.quorum: unknown key 'quorum';"
        " expected one of: rule, window_ms, turnout",
    ]


def test_voting_policy_is_checked_against_the_council(tmp_path: Path) -> None:
    voting = """\
voting:
  policy: stance
  stances:
    port: {dredging: yes, tolls: no}
    harbour: {dredging: merit}
  think_ms: [300, 100]
"""
    path = write(tmp_path, "c.yaml", SMALL + voting)
    assert council_errors(path) == [
        f"{path}:12: voting.think_ms: expected [low, high] with low <= high, got [300, 100]",
    ]
    path = write(tmp_path, "c.yaml", SMALL + voting.replace("[300, 100]", "[10, 100]"))
    assert council_errors(path) == [
        f"{path}:10: voting.stances.port.tolls: unknown category 'tolls';"
        " expected one of: dredging",
        f"{path}:11: voting.stances.harbour: unknown constituency 'harbour';"
        " expected one of: port, town",
    ]


def test_secretariat_cannot_take_a_seat_principal() -> None:
    with pytest.raises(ValueError, match="'r4' is a seat's principal"):
        CouncilFile(
            name="X",
            seats=(SeatGroup(constituency="a", count=4),),
            categories={"c": Category(rule="majority")},
            secretariat=("r4",),
        )

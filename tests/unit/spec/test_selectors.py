"""Seat selectors resolve to seat numbers of the council, and faulty groups to faulty seats."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from council.council_file import default_council
from council.scenario import SeatSelector, resolve_seats
from council.scenario.schema import Silent
from council.sim.cluster import byzantine_placement
from tests.unit.spec.support import load, scenario

COUNCIL = default_council("Selectors")  # government 1-9, industry 10-17, academia 18-25, ...


def test_seats_by_number_come_sorted() -> None:
    assert resolve_seats(SeatSelector(seats=(5, 1, 3)), COUNCIL) == (1, 3, 5)


def test_constituency_selects_all_its_seats() -> None:
    assert resolve_seats(SeatSelector(constituency="industry"), COUNCIL) == tuple(range(10, 18))


def test_constituency_with_count_selects_its_first_seats() -> None:
    assert resolve_seats(SeatSelector(constituency="academia", count=3), COUNCIL) == (18, 19, 20)


def test_count_spreads_over_the_council_from_seat_one() -> None:
    chosen = resolve_seats(SeatSelector(count=10), COUNCIL)
    assert chosen == tuple(i + 1 for i in byzantine_placement(33, 10))
    assert chosen[0] == 1
    assert len(set(chosen)) == 10


def test_count_zero_selects_no_seat() -> None:
    assert resolve_seats(SeatSelector(count=0), COUNCIL) == ()


def test_selector_that_does_not_fit_the_council_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="seat 34"):
        resolve_seats(SeatSelector(seats=(34,)), COUNCIL)
    with pytest.raises(ValueError, match="constituency 'clergy'"):
        resolve_seats(SeatSelector(constituency="clergy"), COUNCIL)
    with pytest.raises(ValueError, match="industry has 8 seats"):
        resolve_seats(SeatSelector(constituency="industry", count=9), COUNCIL)


@pytest.mark.parametrize(
    "fields",
    [{}, {"seats": (1,), "constituency": "industry"}, {"seats": (1,), "count": 1}],
)
def test_selector_takes_exactly_one_way_to_choose(fields: dict[str, object]) -> None:
    with pytest.raises(ValidationError, match="expected exactly one of seats, constituency"):
        SeatSelector.model_validate(fields)


def test_selectors_are_frozen_so_the_runner_can_derive_variants() -> None:
    selector = SeatSelector(count=3)
    assert selector.model_copy(update={"count": 5}).count == 5
    with pytest.raises(ValidationError):
        selector.count = 4  # type: ignore[misc]


def test_faulty_groups_become_faulty_seats(tmp_path: Path) -> None:
    loaded = load(
        scenario(
            tmp_path,
            """
            faulty:
              - {constituency: civil-society, count: 2, behaviours: [{kind: silent}]}
              - seats: [1]
                behaviours:
                  - {kind: censor, categories: [anti-corruption]}
                  - {kind: equivocate, until_ms: 3000}
            """,
        )
    )
    assert list(loaded.faulty_seats) == [1, 26, 27]
    assert [b.kind for b in loaded.faulty_seats[1]] == ["censor", "equivocate"]
    assert loaded.faulty_seats[26] == (Silent(),)


def test_changed_faulty_groups_resolve_again(tmp_path: Path) -> None:
    from council.scenario import resolve_scenario

    loaded = load(scenario(tmp_path, "faulty: [{count: 2, behaviours: [{kind: silent}]}]\n"))
    group = loaded.scenario.faulty[0].model_copy(update={"count": 4})
    bigger = loaded.scenario.model_copy(update={"faulty": (group,)})
    assert len(resolve_scenario(bigger, loaded.council).faulty_seats) == 4

"""Voting rules count yes votes against all seats; turnout decides lapsed versus rejected."""

from __future__ import annotations

from fractions import Fraction

import pytest

from council.governance import decide, rule_met, turnout_needed, yes_needed
from council.governance.tally import VotingRule


@pytest.mark.parametrize(
    ("rule", "needed"), [("majority", 17), ("two-thirds", 22), ("unanimity", 33)]
)
def test_thirty_three_seats_need_these_many_yes_votes(rule: VotingRule, needed: int) -> None:
    assert yes_needed(rule, 33) == needed
    assert rule_met(rule, 33, needed)
    assert not rule_met(rule, 33, needed - 1)
    assert decide(rule, 33, 0.5, needed, 33 - needed, 0) == "adopted"
    assert decide(rule, 33, 0.5, needed - 1, 34 - needed, 0) == "rejected"


@pytest.mark.parametrize(
    ("rule", "seats", "needed"),
    [
        ("majority", 4, 3),  # 2 of 4 is not more than half
        ("majority", 5, 3),
        ("two-thirds", 3, 2),
        ("two-thirds", 4, 3),  # 3 * 3 >= 2 * 4
        ("two-thirds", 6, 4),
        ("unanimity", 4, 4),
    ],
)
def test_small_councils(rule: VotingRule, seats: int, needed: int) -> None:
    assert yes_needed(rule, seats) == needed


def test_rules_count_all_seats_not_votes_cast() -> None:
    # 16 yes against 1 no is an overwhelming share of votes cast but not a majority of 33 seats.
    assert decide("majority", 33, 0.0, 16, 1, 0) == "rejected"


def test_too_few_ballots_lapse_rather_than_fail() -> None:
    # turnout 0.5 of 33 seats: ⌈16.5⌉ = 17 ballots needed; abstentions are ballots.
    assert turnout_needed(0.5, 33) == 17
    assert decide("majority", 33, 0.5, 10, 6, 0) == "lapsed"
    assert decide("majority", 33, 0.5, 10, 6, 1) == "rejected"
    assert decide("majority", 33, 0.5, 10, 0, 7) == "rejected"


def test_a_met_rule_adopts_even_below_turnout() -> None:
    assert decide("majority", 33, 1.0, 17, 0, 0) == "adopted"


@pytest.mark.parametrize(
    ("turnout", "seats", "needed"),
    [
        (0.1, 10, 1),  # the float 0.1 is a hair above 1/10; read as the decimal it stands for
        (0.3, 10, 3),
        (0.7, 10, 7),
        (2 / 3, 33, 22),
        (Fraction(2, 3), 33, 22),
        (0.0, 33, 0),
        (1.0, 33, 33),
        (1, 4, 4),
    ],
)
def test_turnout_threshold_is_exact(turnout: float, seats: int, needed: int) -> None:
    assert turnout_needed(turnout, seats) == needed


def test_no_turnout_never_lapses() -> None:
    assert decide("unanimity", 4, 0.0, 0, 0, 0) == "rejected"


@pytest.mark.parametrize(("yes", "no", "abstain"), [(-1, 0, 0), (20, 10, 4), (0, 0, 34)])
def test_impossible_tallies_are_refused(yes: int, no: int, abstain: int) -> None:
    with pytest.raises(ValueError, match="impossible tally"):
        decide("majority", 33, 0.5, yes, no, abstain)


def test_bad_parameters_are_refused() -> None:
    with pytest.raises(ValueError, match="turnout"):
        turnout_needed(1.5, 33)
    with pytest.raises(ValueError, match="voting rule"):
        yes_needed("plurality", 33)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="seat"):
        yes_needed("majority", 0)

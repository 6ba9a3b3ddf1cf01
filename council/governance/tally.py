"""Voting rules and the outcome of a closed motion, in exact integer arithmetic.

Rules count yes votes against ALL seats, not against the votes cast, so absent or abstaining
seats cannot lower the bar: with ``n`` seats

- majority:   ``yes > n / 2``      (``2 * yes > n``)
- two-thirds: ``yes >= 2n / 3``    (``3 * yes >= 2 * n``)
- unanimity:  ``yes == n``

At close a motion is adopted when its rule is met; otherwise it lapsed when fewer than
``⌈turnout · n⌉`` seats cast a ballot (an abstention is a ballot), and was rejected when enough
did. ``turnout`` is read as the decimal the council file wrote (``0.1`` is one tenth, not the
nearest binary float), so every agent and every verifier compute the same threshold.
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Final, Literal, get_args

VotingRule = Literal["majority", "two-thirds", "unanimity"]
VOTING_RULES: Final[tuple[VotingRule, ...]] = get_args(VotingRule)
Outcome = Literal["adopted", "rejected", "lapsed"]
OUTCOMES: Final[tuple[Outcome, ...]] = get_args(Outcome)


def yes_needed(rule: VotingRule, seats: int) -> int:
    """The fewest yes votes that meet ``rule`` in a council of ``seats`` seats."""
    _check_seats(seats)
    if rule == "majority":
        return seats // 2 + 1
    if rule == "two-thirds":
        return (2 * seats + 2) // 3
    if rule == "unanimity":
        return seats
    raise ValueError(f"unknown voting rule {rule!r} (expected one of {', '.join(VOTING_RULES)})")


def rule_met(rule: VotingRule, seats: int, yes: int) -> bool:
    return yes >= yes_needed(rule, seats)


def turnout_fraction(turnout: float | Fraction) -> Fraction:
    """``turnout`` as an exact fraction in [0, 1], taken from its shortest decimal form."""
    exact = turnout if isinstance(turnout, Fraction) else Fraction(repr(float(turnout)))
    if not 0 <= exact <= 1:
        raise ValueError(f"turnout must be between 0 and 1, got {turnout}")
    return exact


def turnout_needed(turnout: float | Fraction, seats: int) -> int:
    """``⌈turnout · seats⌉``: ballots needed for a motion not to lapse."""
    _check_seats(seats)
    return math.ceil(turnout_fraction(turnout) * seats)


def decide(
    rule: VotingRule,
    seats: int,
    turnout: float | Fraction,
    yes: int,
    no: int,
    abstain: int,
) -> Outcome:
    """The outcome of a motion closed with these counts."""
    if min(yes, no, abstain) < 0 or yes + no + abstain > seats:
        raise ValueError(
            f"impossible tally for {seats} seats: yes {yes}, no {no}, abstain {abstain}"
        )
    if rule_met(rule, seats, yes):
        return "adopted"
    if yes + no + abstain < turnout_needed(turnout, seats):
        return "lapsed"
    return "rejected"


def _check_seats(seats: int) -> None:
    if seats < 1:
        raise ValueError(f"a council has at least one seat, got {seats}")

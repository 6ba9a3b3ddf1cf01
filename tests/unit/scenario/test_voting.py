"""Seat ballots: honest policies are seeded per seat and motion; captured seats obey."""

from __future__ import annotations

from council.scenario.voting import (
    CapturedVoting,
    HonestPolicy,
    PlannedMotion,
    honest_ballot,
    seat_ballot,
)

MOTION = PlannedMotion("M-1", "Audit", "", "anti-corruption", at_ms=100, merit=0.7)
MERIT = HonestPolicy()


def test_an_honest_ballot_depends_only_on_seed_seat_and_motion() -> None:
    first = seat_ballot(MERIT, (), 7, 3, "industry", MOTION, now_ms=10)
    later = seat_ballot(MERIT, (), 7, 3, "industry", MOTION, now_ms=90_000)
    assert first == later
    assert honest_ballot(MERIT, 7, 3, "industry", MOTION) == first


def test_merit_is_the_share_of_honest_yes_votes() -> None:
    votes = [honest_ballot(MERIT, seed, 1, "x", MOTION).vote for seed in range(2_000)]
    share = votes.count("yes") / len(votes)
    assert 0.65 < share < 0.75
    assert set(votes) == {"yes", "no"}


def test_abstention_probability() -> None:
    policy = HonestPolicy(abstain=0.5)
    votes = [honest_ballot(policy, seed, 1, "x", MOTION).vote for seed in range(2_000)]
    assert 0.45 < votes.count("abstain") / len(votes) < 0.55


def test_stance_policy_follows_the_constituency_and_falls_back_to_merit() -> None:
    policy = HonestPolicy(policy="stance", stances=(("industry", "anti-corruption", "no"),))
    assert all(
        honest_ballot(policy, seed, 2, "industry", MOTION).vote == "no" for seed in range(50)
    )
    academia = {honest_ballot(policy, seed, 2, "academia", MOTION).vote for seed in range(50)}
    assert academia == {"yes", "no"}


def test_think_time_stays_in_the_policy_range() -> None:
    policy = HonestPolicy(think_ms=(30, 40))
    thinks = {honest_ballot(policy, seed, 1, "x", MOTION).think_ms for seed in range(200)}
    assert min(thinks) >= 30 and max(thinks) <= 40 and len(thinks) > 1


def test_bloc_vote_overrides_only_the_motions_it_covers() -> None:
    bloc = CapturedVoting(vote="no", categories=frozenset({"anti-corruption"}))
    budget = PlannedMotion("B-1", "Budget", "", "budget", at_ms=0, merit=1.0)
    for seed in range(20):
        assert seat_ballot(MERIT, (bloc,), seed, 1, "x", MOTION, 0) is not None
        ballot = seat_ballot(MERIT, (bloc,), seed, 1, "x", MOTION, 0)
        assert ballot is not None and ballot.vote == "no"
        honest = seat_ballot(MERIT, (bloc,), seed, 1, "x", budget, 0)
        assert honest is not None and honest.vote == "yes"


def test_withholding_casts_nothing_inside_its_window_only() -> None:
    withhold = CapturedVoting(vote=None, from_ms=1_000, until_ms=2_000)
    assert seat_ballot(MERIT, (withhold,), 1, 1, "x", MOTION, 1_500) is None
    assert seat_ballot(MERIT, (withhold,), 1, 1, "x", MOTION, 999) is not None
    assert seat_ballot(MERIT, (withhold,), 1, 1, "x", MOTION, 2_000) is not None


def test_a_bloc_vote_keeps_the_honest_think_time() -> None:
    bloc = CapturedVoting(vote="yes", motions=frozenset({"M-1"}))
    honest = honest_ballot(MERIT, 4, 9, "x", MOTION)
    captured = seat_ballot(MERIT, (bloc,), 4, 9, "x", MOTION, 0)
    assert captured is not None and captured.think_ms == honest.think_ms

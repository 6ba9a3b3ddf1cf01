"""How each seat votes: an honest seeded policy, or a captured seat's instructions.

An honest seat's ballot on a motion depends only on the seed, the seat and the motion — not on
when it heard of the motion or what else happened in the run. So the counterfactual run (the
same seed with the bloc voting honestly) gives every honest seat exactly the same ballots, and
any difference in outcomes is the bloc's doing.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Iterable
from dataclasses import dataclass

from council.council_file import VotingPolicy
from council.scenario.faults import Behaviour, BlocVote, WithholdVotes

VOTES = ("yes", "no", "abstain")


@dataclass(frozen=True, slots=True)
class PlannedMotion:
    """A motion the secretariat submits at ``at_ms``; ``merit`` is the chance an honest seat
    voting on merit supports it."""

    id: str
    title: str
    text: str
    category: str
    at_ms: int
    merit: float
    submitter: str = "secretariat"


@dataclass(frozen=True, slots=True)
class HonestPolicy:
    """An honest seat's policy: on merit, or by its constituency's stance per category."""

    policy: str = "merit"
    stances: tuple[tuple[str, str, str], ...] = ()  # (constituency, category, stance)
    abstain: float = 0.0
    think_ms: tuple[int, int] = (20, 200)

    def stance(self, constituency: str, category: str) -> str:
        for who, what, stance in self.stances:
            if who == constituency and what == category:
                return stance
        return "merit"


@dataclass(frozen=True, slots=True)
class CapturedVoting:
    """A captured seat's instructions: cast ``vote`` (bloc voting) or nothing (withholding) on
    the motions it covers; other motions it votes on honestly."""

    vote: str | None
    categories: frozenset[str] = frozenset()
    motions: frozenset[str] = frozenset()
    from_ms: int = 0
    until_ms: int | None = None

    def covers(self, motion: PlannedMotion, now_ms: int) -> bool:
        if now_ms < self.from_ms or (self.until_ms is not None and now_ms >= self.until_ms):
            return False
        if self.categories and motion.category not in self.categories:
            return False
        return not self.motions or motion.id in self.motions


def honest_policy(voting: VotingPolicy) -> HonestPolicy:
    """The policy a council file (or a scenario's override) gives its honest seats."""
    stances = tuple(
        (who, what, stance)
        for who, by_category in sorted(voting.stances.items())
        for what, stance in sorted(by_category.items())
    )
    return HonestPolicy(voting.policy, stances, voting.abstain, voting.think_ms)


def captured_voting(behaviours: Iterable[Behaviour]) -> tuple[CapturedVoting, ...]:
    """A seat's capture instructions: its bloc-vote and withhold-votes entries."""
    return tuple(
        CapturedVoting(
            vote=b.vote if isinstance(b, BlocVote) else None,
            categories=frozenset(b.categories),
            motions=frozenset(b.motions),
            from_ms=b.from_ms,
            until_ms=b.until_ms,
        )
        for b in behaviours
        if isinstance(b, BlocVote | WithholdVotes)
    )


def _rng(seed: int, seat: int, motion_id: str) -> random.Random:
    digest = hashlib.sha256(f"byzantine-council/vote/{seed}/{seat}/{motion_id}".encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


@dataclass(frozen=True, slots=True)
class Ballot:
    vote: str
    think_ms: int


def honest_ballot(
    policy: HonestPolicy, seed: int, seat: int, constituency: str, motion: PlannedMotion
) -> Ballot:
    """The ballot seat ``seat`` casts on ``motion`` when it votes honestly."""
    rng = _rng(seed, seat, motion.id)
    think_ms = rng.randint(*policy.think_ms)
    merit_draw = rng.random()
    if rng.random() < policy.abstain:
        return Ballot("abstain", think_ms)
    stance = policy.stance(constituency, motion.category) if policy.policy == "stance" else "merit"
    if stance != "merit":
        return Ballot(stance, think_ms)
    return Ballot("yes" if merit_draw < motion.merit else "no", think_ms)


def seat_ballot(
    policy: HonestPolicy,
    captured: tuple[CapturedVoting, ...],
    seed: int,
    seat: int,
    constituency: str,
    motion: PlannedMotion,
    now_ms: int,
) -> Ballot | None:
    """The ballot a seat casts, or None when its instructions are to withhold it."""
    honest = honest_ballot(policy, seed, seat, constituency, motion)
    for instruction in captured:
        if instruction.covers(motion, now_ms):
            if instruction.vote is None:
                return None
            return Ballot(instruction.vote, honest.think_ms)
    return honest

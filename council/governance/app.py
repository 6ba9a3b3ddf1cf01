"""The governance application: motions, ballots and decisions, replicated on the ordered log.

Every agent executes the same requests in the same order, so every agent holds the same motions,
counts the same ballots and reaches the same outcome at the same sequence number. While a motion
is open a seat may change its ballot: its later ballot replaces the earlier one, so each seat's
last ordered ballot is the one counted. Nothing here reads a clock: time enters only as the
``at_ms`` a motion or close request states, and a motion closes either by an ordered close
request (after its window) or when the ballot of the last seat yet to vote is ordered; a seat
changing its ballot is not a new seat voting. A request the rules refuse yields a
``rejected-request`` result and leaves the state unchanged; a faulty client can waste a
sequence number, never corrupt a tally.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any, Literal

from consensus.messages import Request, canonical_json, replica_principal
from council.governance.events import (
    BallotCast,
    Closed,
    Event,
    Opened,
    RejectedRequest,
    StatusReport,
)
from council.governance.operations import (
    BallotOp,
    CloseOp,
    MotionOp,
    QueryOp,
    Vote,
    parse_operation,
)
from council.governance.tally import (
    VOTING_RULES,
    Outcome,
    VotingRule,
    decide,
    turnout_fraction,
)

MotionStatus = Literal["open", "closed"]


@dataclass(frozen=True, slots=True)
class CategoryRule:
    """How motions of one category are decided: the rule, the voting window, the turnout."""

    rule: VotingRule
    window_ms: int
    turnout: float

    def __post_init__(self) -> None:
        if self.rule not in VOTING_RULES:
            raise ValueError(f"unknown voting rule {self.rule!r}")
        if self.window_ms < 0:
            raise ValueError(f"window_ms must not be negative, got {self.window_ms}")
        turnout_fraction(self.turnout)


@dataclass(frozen=True)
class GovernanceRules:
    """The council's constitution as the application applies it.

    ``seats`` maps each seat's principal to its seat number (1..n); ``secretariat`` are the
    client principals that may submit motions and close requests.
    """

    council_id: str
    seats: dict[str, int]
    categories: dict[str, CategoryRule]
    secretariat: frozenset[str]

    def __post_init__(self) -> None:
        if sorted(self.seats.values()) != list(range(1, len(self.seats) + 1)):
            raise ValueError("seats must be numbered 1..n, each number once")
        if set(self.seats) & self.secretariat:
            raise ValueError("a seat cannot also be a secretariat principal")

    @classmethod
    def for_council(
        cls,
        council_id: str,
        n: int,
        categories: Mapping[str, CategoryRule],
        secretariat: frozenset[str] = frozenset({"secretariat"}),
    ) -> GovernanceRules:
        """Rules for ``n`` seats where seat ``k`` is replica ``k - 1`` (principal ``r{k-1}``)."""
        seats = {replica_principal(k - 1): k for k in range(1, n + 1)}
        return cls(council_id, seats, dict(categories), frozenset(secretariat))

    @property
    def n(self) -> int:
        return len(self.seats)


@dataclass(frozen=True, slots=True)
class MotionState:
    """One motion as every agent holds it; ``ballots`` maps seat number to the counted vote,
    the seat's last ordered ballot."""

    id: str
    title: str
    text: str
    category: str
    rule: VotingRule
    window_ms: int
    turnout: float
    at_ms: int
    opened_seq: int
    submitter: str
    seats: int
    ballots: Mapping[int, Vote] = field(default_factory=lambda: MappingProxyType({}))
    status: MotionStatus = "open"
    outcome: Outcome | None = None
    closed_seq: int | None = None

    @property
    def yes(self) -> int:
        return sum(1 for vote in self.ballots.values() if vote == "yes")

    @property
    def no(self) -> int:
        return sum(1 for vote in self.ballots.values() if vote == "no")

    @property
    def abstain(self) -> int:
        return sum(1 for vote in self.ballots.values() if vote == "abstain")

    @property
    def absent(self) -> int:
        return self.seats - len(self.ballots)

    @property
    def closes_at_ms(self) -> int:
        """The earliest ``at_ms`` a close request may state."""
        return self.at_ms + self.window_ms


class _Refused(Exception):
    """The request breaks a rule; the message is the reason the client is told."""


class GovernanceApplication:
    """The council's replicated state machine (``consensus.Application``)."""

    def __init__(self, rules: GovernanceRules) -> None:
        self.rules = rules
        self._motions: dict[str, MotionState] = {}  # in opening order

    # -- consensus.Application ---------------------------------------------------------------

    def execute(self, request: Request, seq: int) -> str:
        """Apply one ordered request; the result is a canonical JSON event, never an error."""
        try:
            operation = parse_operation(request.operation)
            if isinstance(operation, MotionOp):
                event: Event = self._open(operation, request.client, seq)
            elif isinstance(operation, BallotOp):
                event = self._cast(operation, request.client, seq)
            elif isinstance(operation, QueryOp):
                event = self._status(operation.motion)
            else:
                event = self._close_on_request(operation, request.client, seq)
        except (_Refused, ValueError) as refusal:
            event = RejectedRequest(reason=str(refusal))
        return event.text()

    def snapshot(self) -> str:
        return canonical_json({"motions": [_to_json(m) for m in self._motions.values()]})

    def restore(self, snapshot: str) -> None:
        document = json.loads(snapshot)
        motions = (_from_json(entry, self.rules.n) for entry in document["motions"])
        self._motions = {motion.id: motion for motion in motions}

    # -- queries -----------------------------------------------------------------------------

    def motions(self) -> tuple[MotionState, ...]:
        """Every motion opened so far, in the order the council ordered them."""
        return tuple(self._motions.values())

    def motion(self, motion_id: str) -> MotionState | None:
        return self._motions.get(motion_id)

    # -- transitions -------------------------------------------------------------------------

    def _open(self, op: MotionOp, client: str, seq: int) -> Event:
        if client not in self.rules.secretariat:
            raise _Refused(f"{client} may not submit motions (not in the secretariat)")
        if op.id in self._motions:
            raise _Refused(f"motion {op.id} already exists")
        category = self.rules.categories.get(op.category)
        if category is None:
            raise _Refused(f"motion {op.id}: unknown category {op.category!r}")
        self._motions[op.id] = MotionState(
            id=op.id,
            title=op.title,
            text=op.text,
            category=op.category,
            rule=category.rule,
            window_ms=category.window_ms,
            turnout=category.turnout,
            at_ms=op.at_ms,
            opened_seq=seq,
            submitter=client,
            seats=self.rules.n,
        )
        return Opened(motion=op.id)

    def _cast(self, op: BallotOp, client: str, seq: int) -> Event:
        seat = self.rules.seats.get(client)
        if seat is None:
            raise _Refused(f"{client} is not a seat and may not vote")
        motion = self._open_motion(op.motion)
        earlier = motion.ballots.get(seat)
        motion = replace(motion, ballots=MappingProxyType({**motion.ballots, seat: op.vote}))
        self._motions[motion.id] = motion
        if earlier is None and len(motion.ballots) == self.rules.n:
            return self._close(motion, seq)
        return BallotCast(motion=op.motion, vote=op.vote, changed_from=earlier)

    def _close_on_request(self, op: CloseOp, client: str, seq: int) -> Event:
        if client not in self.rules.secretariat:
            raise _Refused(f"{client} may not close motions (not in the secretariat)")
        motion = self._open_motion(op.motion)
        if op.at_ms < motion.closes_at_ms:
            raise _Refused(
                f"too early to close {op.motion}: its window ends at {motion.closes_at_ms} ms,"
                f" close requested at {op.at_ms} ms"
            )
        return self._close(motion, seq)

    def _status(self, motion_id: str) -> StatusReport:
        motion = self._motions.get(motion_id)
        if motion is None:
            raise _Refused(f"unknown motion {motion_id}")
        return StatusReport(
            motion=motion.id,
            title=motion.title,
            category=motion.category,
            rule=motion.rule,
            status=motion.status,
            outcome=motion.outcome,
            yes=motion.yes,
            no=motion.no,
            abstain=motion.abstain,
            absent=motion.absent,
            opened_seq=motion.opened_seq,
            closed_seq=motion.closed_seq,
        )

    def _open_motion(self, motion_id: str) -> MotionState:
        motion = self._motions.get(motion_id)
        if motion is None:
            raise _Refused(f"unknown motion {motion_id}")
        if motion.status != "open":
            raise _Refused(f"motion {motion_id} is closed")
        return motion

    def _close(self, motion: MotionState, seq: int) -> Closed:
        yes, no, abstain = motion.yes, motion.no, motion.abstain
        outcome = decide(motion.rule, motion.seats, motion.turnout, yes, no, abstain)
        self._motions[motion.id] = replace(motion, status="closed", outcome=outcome, closed_seq=seq)
        return Closed(motion=motion.id, outcome=outcome, yes=yes, no=no, abstain=abstain)


_SCALARS = (
    "id",
    "title",
    "text",
    "category",
    "rule",
    "window_ms",
    "turnout",
    "at_ms",
    "opened_seq",
    "submitter",
    "status",
    "outcome",
    "closed_seq",
)


def _to_json(motion: MotionState) -> dict[str, Any]:
    document = {name: getattr(motion, name) for name in _SCALARS}
    document["ballots"] = {str(seat): vote for seat, vote in sorted(motion.ballots.items())}
    return document


def _from_json(document: dict[str, Any], seats: int) -> MotionState:
    ballots = {int(seat): vote for seat, vote in document["ballots"].items()}
    scalars = {name: document[name] for name in _SCALARS}
    return MotionState(**scalars, seats=seats, ballots=MappingProxyType(ballots))

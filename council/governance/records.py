"""Decision records: what proves, offline, that the council decided a motion as it says.

A :class:`DecisionRecord` holds the signed motion request, each seat's counted signed ballot, and
the closing evidence: the batch ordered at the closing sequence number (so its digest can be
recomputed) and the commit certificate — ``Q`` signed COMMITs for that digest. Anyone holding
the roster can check it with :func:`council.governance.verify.verify_decision`; nothing in it
needs to be trusted because an agent produced it.

A seat may change its ballot while the motion is open, and only its last ordered ballot counts.
A record carries exactly that ballot for each seat that voted, in the order those ballots were
ordered; the ballots it superseded are left out, so a record never holds two ballots of one
seat and the ballots in it, counted, give its tally.

A :class:`DecisionRecorder` builds records from one agent's ``Execute`` effects, in order. Only
requests whose result was accepted count: a refused ballot (on a closed or unknown motion, or
from a non-seat) never enters a record. An agent that skipped part of the log by state transfer
cannot show the motion or ballots it did not execute, so it records no decision for motions
opened before it caught up.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Final

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from consensus.effects import Effect, Execute
from consensus.messages import Commit, Envelope, MalformedMessage, Request, decode
from council.governance.app import GovernanceRules
from council.governance.events import BallotCast, Closed, Opened, event_kind, parse_event
from council.governance.operations import BallotOp, MotionOp, parse_operation
from council.governance.tally import Outcome, VotingRule

Count = Annotated[int, Field(ge=0)]


class _Record(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ClosingEvidence(_Record):
    """The sequence number that closed the motion, its batch and its commit certificate."""

    seq: Annotated[int, Field(ge=1)]
    view: Count
    digest: str
    request: Envelope  # the close request, or the last seat's ballot
    batch: tuple[Envelope, ...]
    certificate: tuple[Envelope, ...]


class DecisionRecord(_Record):
    """A motion's decision with every signature needed to check it against the roster.

    ``ballots`` holds each voting seat's counted ballot (its last) and no other.

    Load one with ``DecisionRecord.model_validate_json(text)``; write with ``model_dump_json()``.
    """

    council_id: str
    motion_id: str
    submitter: str
    motion: Envelope
    ballots: tuple[Envelope, ...]
    rule: VotingRule
    window_ms: Count
    turnout: float
    seats: Annotated[int, Field(ge=1)]
    outcome: Outcome
    yes: Count
    no: Count
    abstain: Count
    closing: ClosingEvidence


@dataclass(slots=True)
class _OpenMotion:
    motion: Envelope
    submitter: str
    category: str
    # Each seat's counted ballot by its principal, in the order the counted ballots were ordered.
    ballots: dict[str, Envelope] = field(default_factory=dict)

    def count(self, ballot: Envelope) -> None:
        """``ballot`` is now its seat's counted one, replacing any earlier ballot of the seat."""
        self.ballots.pop(ballot.sender, None)
        self.ballots[ballot.sender] = ballot


#: The results a decision record is built from.
_RECORDED_KINDS: Final = frozenset({"opened", "ballot", "closed"})


class DecisionRecorder:
    """Turns one agent's ordered ``Execute`` effects into decision records."""

    def __init__(self, rules: GovernanceRules) -> None:
        self.rules = rules
        self.records: dict[str, DecisionRecord] = {}
        self._open: dict[str, _OpenMotion] = {}

    def observe(self, effect: Effect) -> list[DecisionRecord]:
        """Feed the agent's next effect (anything but ``Execute`` is ignored); returns the
        records of the motions it closed."""
        if not isinstance(effect, Execute):
            return []
        closed: list[DecisionRecord] = []
        for envelope, result in zip(effect.executed, effect.results, strict=True):
            if event_kind(result) not in _RECORDED_KINDS:
                continue  # queries and refusals: most results, and none a record needs
            event = parse_event(result)
            if isinstance(event, Opened):
                self._opened(event.motion, envelope)
            elif isinstance(event, BallotCast):
                self._counted(event.motion, envelope)
            elif isinstance(event, Closed):
                record = self._closed(event, envelope, effect)
                if record is not None:
                    closed.append(record)
        return closed

    def _opened(self, motion_id: str, envelope: Envelope) -> None:
        operation = _operation_of(envelope)
        if isinstance(operation, MotionOp):
            self._open[motion_id] = _OpenMotion(envelope, envelope.sender, operation.category)

    def _counted(self, motion_id: str, envelope: Envelope) -> None:
        motion = self._open.get(motion_id)
        if motion is not None:
            motion.count(envelope)

    def _closed(self, event: Closed, envelope: Envelope, execute: Execute) -> DecisionRecord | None:
        motion = self._open.pop(event.motion, None)
        if motion is None:
            return None  # opened before this agent caught up by state transfer
        category = self.rules.categories[motion.category]
        if isinstance(_operation_of(envelope), BallotOp):  # the last seat's ballot closed it
            motion.count(envelope)
        record = self.records[event.motion] = DecisionRecord(
            council_id=self.rules.council_id,
            motion_id=event.motion,
            submitter=motion.submitter,
            motion=motion.motion,
            ballots=tuple(motion.ballots.values()),
            rule=category.rule,
            window_ms=category.window_ms,
            turnout=category.turnout,
            seats=self.rules.n,
            outcome=event.outcome,
            yes=event.yes,
            no=event.no,
            abstain=event.abstain,
            closing=ClosingEvidence(
                seq=execute.seq,
                view=_certificate_view(execute),
                digest=execute.digest,
                request=envelope,
                batch=execute.requests,
                certificate=execute.certificate,
            ),
        )
        return record


def _operation_of(envelope: Envelope) -> object:
    try:
        request = decode(envelope)
        return parse_operation(request.operation) if isinstance(request, Request) else None
    except (MalformedMessage, ValueError):
        return None


def _certificate_view(execute: Execute) -> int:
    """The view the commits were signed in (the certificate's, should it differ from the
    view the agent was in when it executed)."""
    for envelope in execute.certificate:
        try:
            commit = decode(envelope)
        except (MalformedMessage, ValidationError):
            continue
        if isinstance(commit, Commit):
            return commit.view
    return execute.view

"""The governance application: motions, ballots, voting rules and verifiable decisions.

Motions and ballots are client requests ordered by the council (:mod:`.operations`); every agent
executes them with a :class:`GovernanceApplication` and reaches the same decisions
(:mod:`.tally`). A :class:`DecisionRecorder` turns an agent's executions into
:class:`DecisionRecord` s that anyone holding the roster can check with
:func:`verify_decision`.
"""

from council.governance.app import (
    CategoryRule,
    GovernanceApplication,
    GovernanceRules,
    MotionState,
    MotionStatus,
)
from council.governance.events import (
    BallotCast,
    Closed,
    Event,
    Opened,
    RejectedRequest,
    parse_event,
)
from council.governance.operations import (
    VOTES,
    BallotOp,
    CloseOp,
    MotionOp,
    Operation,
    Vote,
    ballot_operation,
    close_operation,
    motion_operation,
    parse_operation,
)
from council.governance.records import ClosingEvidence, DecisionRecord, DecisionRecorder
from council.governance.tally import (
    OUTCOMES,
    VOTING_RULES,
    Outcome,
    VotingRule,
    decide,
    rule_met,
    turnout_needed,
    yes_needed,
)
from council.governance.verify import verify_decision

__all__ = [
    "OUTCOMES",
    "VOTES",
    "VOTING_RULES",
    "BallotCast",
    "BallotOp",
    "CategoryRule",
    "CloseOp",
    "Closed",
    "ClosingEvidence",
    "DecisionRecord",
    "DecisionRecorder",
    "Event",
    "GovernanceApplication",
    "GovernanceRules",
    "MotionOp",
    "MotionState",
    "MotionStatus",
    "Opened",
    "Operation",
    "Outcome",
    "RejectedRequest",
    "Vote",
    "VotingRule",
    "ballot_operation",
    "close_operation",
    "decide",
    "motion_operation",
    "parse_event",
    "parse_operation",
    "rule_met",
    "turnout_needed",
    "verify_decision",
    "yes_needed",
]

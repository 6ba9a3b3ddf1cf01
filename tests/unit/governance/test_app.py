"""The governance application: every agent reaches the same decisions from the same log."""

from __future__ import annotations

import json
from typing import Any

import pytest

from consensus import Request
from council.governance import (
    CategoryRule,
    GovernanceApplication,
    GovernanceRules,
    ballot_operation,
    close_operation,
    motion_operation,
)

RULES = GovernanceRules.for_council(
    "test-council",
    4,
    {
        "budget": CategoryRule(rule="majority", window_ms=1_000, turnout=0.5),
        "constitutional": CategoryRule(rule="unanimity", window_ms=5_000, turnout=1.0),
    },
)
SECRETARIAT = "secretariat"


class Clerk:
    """Feeds one application ordered requests, numbering sequence and timestamps."""

    def __init__(self, application: GovernanceApplication | None = None) -> None:
        self.application = application or GovernanceApplication(RULES)
        self.seq = 0

    def run(self, client: str, operation: str) -> dict[str, Any]:
        self.seq += 1
        request = Request(client=client, timestamp=self.seq, operation=operation)
        result: dict[str, Any] = json.loads(self.application.execute(request, self.seq))
        return result

    def motion(self, motion_id: str = "M-1", category: str = "budget", at_ms: int = 100) -> None:
        operation = motion_operation(motion_id, "Title", "Text", category, at_ms)
        assert self.run(SECRETARIAT, operation) == {"event": "opened", "motion": motion_id}

    def vote(self, seat: int, vote: str, motion_id: str = "M-1") -> dict[str, Any]:
        return self.run(f"r{seat - 1}", ballot_operation(motion_id, vote))

    def close(self, at_ms: int, motion_id: str = "M-1") -> dict[str, Any]:
        return self.run(SECRETARIAT, close_operation(motion_id, at_ms))


def rejected(result: dict[str, Any]) -> str:
    assert result["event"] == "rejected-request", result
    reason: str = result["reason"]
    return reason


def test_a_motion_opens_collects_ballots_and_closes_after_its_window() -> None:
    clerk = Clerk()
    clerk.motion()
    assert clerk.vote(1, "yes") == {"event": "ballot", "motion": "M-1", "vote": "yes"}
    clerk.vote(2, "yes")
    clerk.vote(3, "abstain")
    closed = clerk.close(at_ms=1_100)
    assert closed == {
        "event": "closed",
        "motion": "M-1",
        "outcome": "rejected",  # 2 of 4 seats is not a majority
        "yes": 2,
        "no": 0,
        "abstain": 1,
    }
    motion = clerk.application.motion("M-1")
    assert motion is not None
    assert (motion.status, motion.outcome, motion.opened_seq, motion.closed_seq) == (
        "closed",
        "rejected",
        1,
        5,
    )
    assert (motion.yes, motion.no, motion.abstain, motion.absent) == (2, 0, 1, 1)
    assert motion.submitter == SECRETARIAT and motion.rule == "majority"


def test_the_last_seats_ballot_closes_the_motion() -> None:
    clerk = Clerk()
    clerk.motion(category="constitutional")
    for seat in (1, 2, 3):
        assert clerk.vote(seat, "yes")["event"] == "ballot"
    assert clerk.vote(4, "yes") == {
        "event": "closed",
        "motion": "M-1",
        "outcome": "adopted",
        "yes": 4,
        "no": 0,
        "abstain": 0,
    }
    motion = clerk.application.motion("M-1")
    assert motion is not None and motion.closed_seq == 5


def test_too_few_ballots_lapse() -> None:
    clerk = Clerk()
    clerk.motion()
    clerk.vote(1, "no")
    assert clerk.close(at_ms=1_100)["outcome"] == "lapsed"  # 1 ballot, 2 needed


def test_close_is_accepted_from_the_end_of_the_window_on() -> None:
    clerk = Clerk()
    clerk.motion(at_ms=100)
    assert rejected(clerk.close(at_ms=1_099)) == (
        "too early to close M-1: its window ends at 1100 ms, close requested at 1099 ms"
    )
    assert clerk.close(at_ms=1_100)["event"] == "closed"
    clerk.motion("M-2", at_ms=100)
    assert clerk.close(at_ms=99_000, motion_id="M-2")["event"] == "closed"


def test_a_seats_later_ballot_replaces_its_earlier_one() -> None:
    clerk = Clerk()
    clerk.motion()
    clerk.vote(1, "yes")
    assert clerk.vote(1, "no") == {
        "event": "ballot",
        "motion": "M-1",
        "vote": "no",
        "changed_from": "yes",
    }
    clerk.vote(2, "yes")
    clerk.vote(3, "yes")
    motion = clerk.application.motion("M-1")
    assert motion is not None and dict(motion.ballots) == {1: "no", 2: "yes", 3: "yes"}
    # Had seat 1's first ballot counted, yes 3 of 4 would have adopted it.
    assert clerk.close(at_ms=2_000) == {
        "event": "closed",
        "motion": "M-1",
        "outcome": "rejected",
        "yes": 2,
        "no": 1,
        "abstain": 0,
    }


def test_the_result_of_a_change_names_the_vote_it_replaced_in_canonical_json() -> None:
    application = GovernanceApplication(RULES)
    operation = motion_operation("M-1", "Title", "Text", "budget", 0)
    ordered = [
        (SECRETARIAT, operation),
        ("r0", ballot_operation("M-1", "yes")),
        ("r0", ballot_operation("M-1", "abstain")),
        ("r0", ballot_operation("M-1", "abstain")),
    ]
    results = [
        application.execute(Request(client=client, timestamp=seq, operation=op), seq)
        for seq, (client, op) in enumerate(ordered, start=1)
    ]
    assert results[1:] == [
        '{"event":"ballot","motion":"M-1","vote":"yes"}',
        '{"changed_from":"yes","event":"ballot","motion":"M-1","vote":"abstain"}',
        # Casting the same vote again is still a later ballot replacing the earlier one.
        '{"changed_from":"abstain","event":"ballot","motion":"M-1","vote":"abstain"}',
    ]


def test_a_change_is_not_a_new_seat_voting_so_only_the_last_seat_closes_the_motion() -> None:
    clerk = Clerk()
    clerk.motion(category="constitutional")
    for seat in (1, 2, 3):
        clerk.vote(seat, "no")
    for seat in (1, 2, 3):
        assert clerk.vote(seat, "yes")["event"] == "ballot"
    assert clerk.vote(3, "no")["changed_from"] == "yes"
    motion = clerk.application.motion("M-1")
    assert motion is not None and (motion.status, motion.absent) == ("open", 1)
    assert clerk.vote(4, "yes") == {
        "event": "closed",
        "motion": "M-1",
        "outcome": "rejected",  # seat 3's last ballot is a no: not unanimous
        "yes": 3,
        "no": 1,
        "abstain": 0,
    }


@pytest.mark.parametrize("closed_by", ["the last seat", "a close request"])
def test_a_seat_cannot_change_its_ballot_once_the_motion_is_closed(closed_by: str) -> None:
    clerk = Clerk()
    clerk.motion()
    for seat in (1, 2, 3):
        clerk.vote(seat, "yes")
    if closed_by == "the last seat":
        assert clerk.vote(4, "no")["event"] == "closed"
    else:
        assert clerk.close(at_ms=1_100)["event"] == "closed"
    before = clerk.application.snapshot()
    assert rejected(clerk.vote(1, "no")) == "motion M-1 is closed"
    assert clerk.application.snapshot() == before
    motion = clerk.application.motion("M-1")
    assert motion is not None and (motion.outcome, motion.yes) == ("adopted", 3)


@pytest.mark.parametrize(
    ("client", "operation", "reason"),
    [
        ("r0", "{not json", "operation is not JSON"),
        ("r0", '"ballot"', "operation is not a JSON object"),
        ("r0", '{"op":"veto","motion":"M-1"}', "unknown operation 'veto'"),
        ("r0", '{"op":"ballot","motion":"M-1","vote":"maybe"}', "ballot: vote:"),
        (
            "r0",
            motion_operation("M-9", "t", "x", "budget", 0),
            "r0 may not submit motions (not in the secretariat)",
        ),
        (
            SECRETARIAT,
            motion_operation("M-1", "t", "x", "budget", 0),
            "motion M-1 already exists",
        ),
        (
            SECRETARIAT,
            motion_operation("M-9", "t", "x", "fisheries", 0),
            "motion M-9: unknown category 'fisheries'",
        ),
        ("r4", ballot_operation("M-1", "yes"), "r4 is not a seat and may not vote"),
        (SECRETARIAT, ballot_operation("M-1", "yes"), "secretariat is not a seat and may not vote"),
        ("r0", ballot_operation("M-9", "yes"), "unknown motion M-9"),
        ("r0", ballot_operation("M-0", "yes"), "motion M-0 is closed"),
        ("r0", close_operation("M-1", 9_999), "r0 may not close motions (not in the secretariat)"),
        (SECRETARIAT, close_operation("M-9", 9_999), "unknown motion M-9"),
        (SECRETARIAT, close_operation("M-0", 9_999), "motion M-0 is closed"),
    ],
)
def test_bad_requests_are_rejected_with_a_reason_and_change_nothing(
    client: str, operation: str, reason: str
) -> None:
    clerk = Clerk()
    clerk.motion("M-0", at_ms=0)
    clerk.close(at_ms=1_000, motion_id="M-0")
    clerk.motion("M-1")
    before = clerk.application.snapshot()
    assert rejected(clerk.run(client, operation)).startswith(reason)
    assert clerk.application.snapshot() == before


def test_results_are_canonical_json() -> None:
    application = GovernanceApplication(RULES)
    request = Request(client=SECRETARIAT, timestamp=1, operation=close_operation("M-1", 1))
    assert application.execute(request, 1) == (
        '{"event":"rejected-request","reason":"unknown motion M-1"}'
    )


def script(clerk: Clerk) -> list[dict[str, Any]]:
    """A mixed history: two motions, first, changed and refused ballots, an early and a real
    close."""
    clerk.motion("M-1")
    clerk.motion("M-2", category="constitutional", at_ms=400)
    return [
        clerk.vote(1, "yes"),
        clerk.vote(2, "no", "M-2"),
        clerk.vote(2, "yes"),
        clerk.vote(2, "abstain"),
        clerk.close(at_ms=500),
        clerk.vote(3, "yes"),
        clerk.close(at_ms=1_200),
        clerk.vote(4, "yes", "M-2"),
    ]


def test_two_agents_executing_the_same_log_agree_byte_for_byte() -> None:
    first, second = Clerk(), Clerk()
    assert script(first) == script(second)
    assert first.application.snapshot() == second.application.snapshot()
    assert first.application.motions() == second.application.motions()


def test_restore_reproduces_the_state_and_its_future() -> None:
    original = Clerk()
    script(original)
    restored = Clerk(GovernanceApplication(RULES))
    restored.application.restore(original.application.snapshot())
    restored.seq = original.seq
    assert restored.application.snapshot() == original.application.snapshot()
    assert restored.application.motions() == original.application.motions()
    for clerk in (original, restored):
        clerk.vote(1, "no", "M-2")
        clerk.vote(3, "yes", "M-2")
    assert restored.application.snapshot() == original.application.snapshot()
    motion = restored.application.motion("M-2")
    assert motion is not None and (motion.status, motion.outcome) == ("closed", "rejected")


def test_restore_keeps_each_seats_changed_ballot() -> None:
    original = Clerk()
    original.motion(category="constitutional")
    original.vote(1, "no")
    original.vote(1, "yes")
    original.vote(2, "abstain")
    snapshot = original.application.snapshot()
    assert json.loads(snapshot)["motions"][0]["ballots"] == {"1": "yes", "2": "abstain"}
    restored = Clerk(GovernanceApplication(RULES))
    restored.application.restore(snapshot)
    restored.seq = original.seq
    motion = restored.application.motion("M-1")
    assert motion is not None and dict(motion.ballots) == {1: "yes", 2: "abstain"}
    for clerk in (original, restored):
        # The restored state knows seat 2 already voted: its change neither closes the motion
        # nor counts as a third seat.
        assert clerk.vote(2, "yes")["changed_from"] == "abstain"
        assert clerk.vote(3, "yes")["event"] == "ballot"
        assert clerk.vote(4, "yes")["outcome"] == "adopted"
    assert restored.application.snapshot() == original.application.snapshot()


def test_queries_list_motions_in_order_and_answer_unknown_with_none() -> None:
    clerk = Clerk()
    clerk.motion("M-2")
    clerk.motion("M-1")
    assert [motion.id for motion in clerk.application.motions()] == ["M-2", "M-1"]
    assert clerk.application.motion("M-3") is None


def test_rules_number_seats_from_one() -> None:
    assert RULES.seats == {"r0": 1, "r1": 2, "r2": 3, "r3": 4}
    assert RULES.n == 4
    with pytest.raises(ValueError, match="numbered"):
        GovernanceRules("c", {"r0": 1, "r1": 3}, {}, frozenset())
    with pytest.raises(ValueError, match="voting rule"):
        CategoryRule(rule="plurality", window_ms=0, turnout=0.5)  # type: ignore[arg-type]


def test_a_query_reports_the_motion_and_changes_nothing() -> None:
    from council.governance.operations import query_operation

    clerk = Clerk()
    clerk.motion()
    clerk.vote(1, "yes")
    clerk.vote(2, "no")
    before = clerk.application.snapshot()
    status = clerk.run("anyone", query_operation("M-1"))
    assert clerk.application.snapshot() == before
    assert status == {
        "event": "status",
        "motion": "M-1",
        "title": "Title",
        "category": "budget",
        "rule": "majority",
        "status": "open",
        "outcome": None,
        "yes": 1,
        "no": 1,
        "abstain": 0,
        "absent": 2,
        "opened_seq": 1,
        "closed_seq": None,
    }
    clerk.close(at_ms=1_100)
    closed = clerk.run("anyone", query_operation("M-1"))
    assert closed["status"] == "closed" and closed["outcome"] == "rejected"
    assert "unknown motion M-9" in rejected(clerk.run("anyone", query_operation("M-9")))

"""Decision records from a real council of four verify offline, and tampering is named."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

import crypto
from consensus import Envelope, Execute, Request, decode, seal
from council.governance import (
    BallotOp,
    DecisionRecord,
    DecisionRecorder,
    ballot_operation,
    close_operation,
    motion_operation,
    parse_operation,
    verify_decision,
)
from tests.unit.governance.support import SECRETARIAT, GovernedCouncil

Document = dict[str, Any]


@pytest.fixture(scope="module")
def council() -> GovernedCouncil:
    """M-1 is adopted by the last seat's ballot after seat 2 changed its no to a yes; M-2 is
    rejected by a close after its window, seat 1 having changed its yes to a no."""
    council = GovernedCouncil(n=4)
    council.submit(SECRETARIAT, motion_operation("M-1", "Audit", "Audit it all.", "budget", 0))
    council.submit(SECRETARIAT, motion_operation("M-2", "Roads", "Fix the roads.", "budget", 0))
    council.submit("r0", ballot_operation("M-1", "yes"))
    council.submit("r1", ballot_operation("M-1", "no"))
    council.submit("r2", ballot_operation("M-1", "no"))
    council.submit("r0", ballot_operation("M-2", "yes"))
    council.submit("r1", ballot_operation("M-2", "abstain"))
    council.submit("r1", ballot_operation("M-1", "yes"))
    council.submit("r0", ballot_operation("M-2", "no"))
    council.submit("r3", ballot_operation("M-1", "yes"))
    council.submit(SECRETARIAT, close_operation("M-2", 1_000))
    return council


@pytest.fixture(scope="module")
def records(council: GovernedCouncil) -> dict[str, DecisionRecord]:
    recorder = DecisionRecorder(council.rules)
    for effect in council.effects[2]:
        recorder.observe(effect)
    return recorder.records


def ballots_of(council: GovernedCouncil, sender: str, motion_id: str) -> list[Envelope]:
    """Every ballot of ``sender`` on ``motion_id`` the council executed, in order."""
    found = []
    for effect in council.effects[0]:
        if isinstance(effect, Execute):
            found += [e for e in effect.executed if e.sender == sender and vote_of(e, motion_id)]
    return found


def vote_of(envelope: Envelope, motion_id: str | None = None) -> str | None:
    """The vote ``envelope`` casts (on ``motion_id``, when given), or ``None``."""
    request = decode(envelope)
    if not isinstance(request, Request):
        return None
    operation = parse_operation(request.operation)
    if not isinstance(operation, BallotOp):
        return None
    return operation.vote if motion_id in (None, operation.motion) else None


def tampered(record: DecisionRecord, change: Callable[[Document], None]) -> DecisionRecord:
    document: Document = json.loads(record.model_dump_json())
    change(document)
    return DecisionRecord.model_validate_json(json.dumps(document))


def problems_of(
    council: GovernedCouncil, record: DecisionRecord, change: Callable[[Document], None]
) -> list[str]:
    return verify_decision(tampered(record, change), council.roster)


def test_the_recorder_records_each_closed_motion(
    council: GovernedCouncil, records: dict[str, DecisionRecord]
) -> None:
    assert sorted(records) == ["M-1", "M-2"]
    adopted, rejected = records["M-1"], records["M-2"]
    assert (adopted.outcome, adopted.yes, adopted.no, adopted.abstain) == ("adopted", 3, 1, 0)
    assert adopted.closing.request.signature == adopted.ballots[-1].signature
    assert (rejected.outcome, rejected.yes, rejected.no, rejected.abstain) == ("rejected", 0, 1, 1)
    assert rejected.closing.request.sender == SECRETARIAT
    state = council.applications[2].motion("M-1")
    assert state is not None and state.closed_seq == adopted.closing.seq
    assert (adopted.rule, adopted.turnout, adopted.seats, adopted.submitter) == (
        "majority",
        0.5,
        4,
        SECRETARIAT,
    )
    assert len(adopted.closing.certificate) >= council.replicas[0].quorums.quorum


def test_a_record_carries_each_seats_last_ballot_in_the_order_those_were_ordered(
    council: GovernedCouncil, records: dict[str, DecisionRecord]
) -> None:
    adopted, rejected = records["M-1"], records["M-2"]
    assert [(b.sender, vote_of(b)) for b in adopted.ballots] == [
        ("r0", "yes"),
        ("r2", "no"),
        ("r1", "yes"),
        ("r3", "yes"),
    ]
    assert [(b.sender, vote_of(b)) for b in rejected.ballots] == [("r1", "abstain"), ("r0", "no")]
    for record, seat in ((adopted, "r1"), (rejected, "r0")):
        first, last = ballots_of(council, seat, record.motion_id)
        assert not any(ballot.same_signed(first) for ballot in record.ballots)
        assert any(ballot.same_signed(last) for ballot in record.ballots)
        assert verify_decision(record, council.roster) == []


def test_genuine_records_verify(
    council: GovernedCouncil, records: dict[str, DecisionRecord]
) -> None:
    for record in records.values():
        assert verify_decision(record, council.roster) == []


def test_every_agent_records_a_verifiable_decision(council: GovernedCouncil) -> None:
    for effects in council.effects:
        recorder = DecisionRecorder(council.rules)
        for effect in effects:
            recorder.observe(effect)
        assert sorted(recorder.records) == ["M-1", "M-2"]
        for record in recorder.records.values():
            assert verify_decision(record, council.roster) == []


def test_records_survive_a_json_round_trip(records: dict[str, DecisionRecord]) -> None:
    for record in records.values():
        text = record.model_dump_json()
        assert DecisionRecord.model_validate_json(text).model_dump_json() == text


def test_a_recorder_that_missed_the_opening_records_nothing(council: GovernedCouncil) -> None:
    recorder = DecisionRecorder(council.rules)
    executes = [effect for effect in council.effects[0] if isinstance(effect, Execute)]
    for effect in executes[1:]:  # the first execution opened M-1
        recorder.observe(effect)
    assert sorted(recorder.records) == ["M-2"]


def flip_a_byte_of_the_first_ballot(document: Document) -> None:
    body: str = document["ballots"][0]["body"]
    at = body.index("yes")
    document["ballots"][0]["body"] = body[:at] + "n" + body[at + 1 :]


def test_a_flipped_byte_in_a_ballot_is_named(
    council: GovernedCouncil, records: dict[str, DecisionRecord]
) -> None:
    problems = problems_of(council, records["M-1"], flip_a_byte_of_the_first_ballot)
    assert "ballot 1 (r0): signature does not verify" in problems
    assert any(problem.startswith("tally: the ballots give yes 2") for problem in problems)


def test_a_short_commit_certificate_is_named(
    council: GovernedCouncil, records: dict[str, DecisionRecord]
) -> None:
    def keep_two_commits(document: Document) -> None:
        document["closing"]["certificate"] = document["closing"]["certificate"][:2]

    problems = problems_of(council, records["M-1"], keep_two_commits)
    assert problems == ["commit certificate: 2 distinct valid commits, 3 needed"]


def test_a_commit_counted_twice_does_not_count(
    council: GovernedCouncil, records: dict[str, DecisionRecord]
) -> None:
    def repeat_the_first_commit(document: Document) -> None:
        commits = document["closing"]["certificate"][:3]
        document["closing"]["certificate"] = [commits[0], commits[0], commits[1]]

    problems = problems_of(council, records["M-1"], repeat_the_first_commit)
    assert problems == [
        "commit 2 (r0): a second commit from replica 0",
        "commit certificate: 2 distinct valid commits, 3 needed",
    ]


def test_a_commit_for_another_sequence_number_is_named(
    council: GovernedCouncil, records: dict[str, DecisionRecord]
) -> None:
    other = json.loads(records["M-2"].model_dump_json())["closing"]

    def borrow_a_commit(document: Document) -> None:
        document["closing"]["certificate"][0] = other["certificate"][0]

    problems = problems_of(council, records["M-1"], borrow_a_commit)
    closing = records["M-1"].closing
    assert any(
        problem.startswith(f"commit 1 ({other['certificate'][0]['sender']}): for view 0 seq ")
        and problem.endswith(f"not view 0 seq {closing.seq} digest {closing.digest[:16]}…")
        for problem in problems
    ), problems


def test_a_changed_outcome_is_named(
    council: GovernedCouncil, records: dict[str, DecisionRecord]
) -> None:
    def claim_rejection(document: Document) -> None:
        document["outcome"] = "rejected"

    problems = problems_of(council, records["M-1"], claim_rejection)
    assert problems == [
        "outcome: the ballots give adopted under majority (turnout 0.5), the record says rejected"
    ]


def test_a_changed_tally_is_named(
    council: GovernedCouncil, records: dict[str, DecisionRecord]
) -> None:
    def claim_more_yes(document: Document) -> None:
        document["yes"] = 4
        document["no"] = 0

    problems = problems_of(council, records["M-1"], claim_more_yes)
    assert problems == [
        "tally: the ballots give yes 3, no 1, abstain 0; the record says yes 4, no 0, abstain 0"
    ]


def test_a_changed_batch_is_named(
    council: GovernedCouncil, records: dict[str, DecisionRecord]
) -> None:
    def swap_the_batch(document: Document) -> None:
        document["closing"]["batch"] = [document["motion"]]

    problems = problems_of(council, records["M-1"], swap_the_batch)
    assert len(problems) == 2
    assert problems[0].startswith("closing batch: its digest is ")
    assert problems[1] == "closing request (r3): not in the closing batch"


def test_a_missing_ballot_is_named(
    council: GovernedCouncil, records: dict[str, DecisionRecord]
) -> None:
    def drop_the_first_ballot(document: Document) -> None:
        del document["ballots"][0]

    problems = problems_of(council, records["M-1"], drop_the_first_ballot)
    assert "closing request (r3): a ballot closed the motion, but 3 of 4 seats voted" in problems


def test_a_second_ballot_of_a_seat_is_named(
    council: GovernedCouncil, records: dict[str, DecisionRecord]
) -> None:
    def repeat_a_ballot(document: Document) -> None:
        document["ballots"].append(document["ballots"][0])

    problems = problems_of(council, records["M-2"], repeat_a_ballot)
    assert problems == [
        "ballot 3 (r1): a second ballot of seat 2, after ballot 1;"
        " a record carries only a seat's counted ballot"
    ]


def test_a_record_that_also_carries_a_superseded_ballot_is_rejected(
    council: GovernedCouncil, records: dict[str, DecisionRecord]
) -> None:
    first, _ = ballots_of(council, "r0", "M-2")

    def carry_both_ballots_of_seat_1(document: Document) -> None:
        # In log order, as if the verifier were to let the last one win: it must not.
        document["ballots"].insert(1, json.loads(first.model_dump_json()))

    problems = problems_of(council, records["M-2"], carry_both_ballots_of_seat_1)
    assert problems[0] == (
        "ballot 3 (r0): a second ballot of seat 1, after ballot 2;"
        " a record carries only a seat's counted ballot"
    )
    assert verify_decision(records["M-2"], council.roster) == []


def test_a_ballot_on_another_motion_is_named(
    council: GovernedCouncil, records: dict[str, DecisionRecord]
) -> None:
    ballot = json.loads(records["M-1"].model_dump_json())["ballots"][3]

    def add_a_foreign_ballot(document: Document) -> None:
        document["ballots"].append(ballot)

    problems = problems_of(council, records["M-2"], add_a_foreign_ballot)
    assert problems[0] == "ballot 3 (r3): votes on M-1, not M-2"


def test_a_ballot_from_outside_the_seats_is_named(
    council: GovernedCouncil, records: dict[str, DecisionRecord]
) -> None:
    forged = council.request(SECRETARIAT, ballot_operation("M-2", "yes"))

    def add_a_secretariat_ballot(document: Document) -> None:
        document["ballots"].append(json.loads(forged.model_dump_json()))

    problems = problems_of(council, records["M-2"], add_a_secretariat_ballot)
    assert problems[0] == "ballot 3 (secretariat): secretariat is not a seat of 4"


def test_a_motion_submitted_by_a_seat_is_named(
    council: GovernedCouncil, records: dict[str, DecisionRecord]
) -> None:
    operation = motion_operation("M-2", "Roads", "Fix the roads.", "budget", 0)
    motion = council.request("r0", operation)

    def resubmit_as_a_seat(document: Document) -> None:
        document["motion"] = json.loads(motion.model_dump_json())
        document["submitter"] = "r0"

    problems = problems_of(council, records["M-2"], resubmit_as_a_seat)
    assert problems == ["motion: submitted by r0, a seat, not a secretariat client"]


def test_a_close_before_the_window_ends_is_named(
    council: GovernedCouncil, records: dict[str, DecisionRecord]
) -> None:
    early = Request(client=SECRETARIAT, timestamp=99, operation=close_operation("M-2", 999))
    envelope = json.loads(seal(council.signers[SECRETARIAT], early).model_dump_json())

    def close_early(document: Document) -> None:
        document["closing"]["request"] = envelope

    problems = problems_of(council, records["M-2"], close_early)
    assert "closing request (secretariat): at 999 ms, before the window ends at 1000 ms" in (
        problems
    )


def test_a_roster_of_another_council_is_named(
    council: GovernedCouncil, records: dict[str, DecisionRecord]
) -> None:
    other = crypto.Roster("other-council", dict(council.roster.members))
    assert verify_decision(records["M-1"], other) == [
        "roster is for council 'other-council', the record for 'governance-test'"
    ]


def test_a_roster_with_other_keys_rejects_every_signature(
    council: GovernedCouncil, records: dict[str, DecisionRecord]
) -> None:
    strangers = {
        name: crypto.PrivateKey.derive(7, name).public_key() for name in council.roster.members
    }
    problems = verify_decision(records["M-1"], crypto.Roster(council.roster.council_id, strangers))
    assert "motion (secretariat): signature does not verify" in problems
    assert "ballot 4 (r3): signature does not verify" in problems
    assert "commit certificate: 0 distinct valid commits, 3 needed" in problems


def test_a_decision_closed_inside_a_larger_batch_verifies() -> None:
    council = GovernedCouncil(n=4)
    council.submit(SECRETARIAT, motion_operation("M-3", "Charter", "Amend.", "constitutional", 0))
    ballots = [(f"r{i}", ballot_operation("M-3", "yes")) for i in range(4)]
    late = ("r0", ballot_operation("M-3", "no"))
    council.submit_together([*ballots, late])
    recorder = DecisionRecorder(council.rules)
    for effect in council.effects[1]:
        recorder.observe(effect)
    record = recorder.records["M-3"]
    assert (record.outcome, record.yes) == ("adopted", 4)
    # Seat 1's late change came after the close and was refused: its yes is the one counted.
    assert [(b.sender, vote_of(b)) for b in record.ballots] == [(f"r{i}", "yes") for i in range(4)]
    assert record.closing.request.signature == record.ballots[-1].signature
    assert len(record.closing.batch) == 5
    assert verify_decision(record, council.roster) == []

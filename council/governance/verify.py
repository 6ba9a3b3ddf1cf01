"""Offline verification of a decision record against the council roster.

Each check names what failed, so a reader can tell a forged ballot from a short certificate:

- the motion request is validly signed by the stated submitter, a client (not a seat), and
  opens the record's motion;
- every ballot is validly signed by a seat (``r{i}``, ``i < seats``), votes on this motion,
  and no seat has two: a record carries only each seat's counted ballot, its last, so a second
  ballot of a seat is an error, never read as a change of vote;
- the closing batch hashes to the closing digest, and holds the closing request (a close after
  the motion's window, or the last seat's ballot);
- the commit certificate holds at least ``Q`` valid COMMITs for that view, seq and digest, from
  distinct replicas;
- the ballots, counted again, give the recorded tally and outcome under the recorded rule.

The certificate covers only the closing batch, so a valid record shows that its ballots were
signed and give its tally, not that the log held no others: a record that leaves a ballot out,
or carries one that the seat's later ballot superseded, still verifies when its tally is the
count of the ballots it carries.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Final

import crypto
from consensus.messages import Commit, Envelope, MalformedMessage, Request, batch_digest, decode
from consensus.quorum import QuorumMath
from consensus.verification import EnvelopeVerifier
from council.governance.operations import BallotOp, CloseOp, MotionOp, Vote, parse_operation
from council.governance.records import DecisionRecord
from council.governance.tally import decide

_REPLICA_PRINCIPAL: Final = re.compile(r"r(0|[1-9][0-9]*)")


def verify_decision(record: DecisionRecord, roster: crypto.Roster) -> list[str]:
    """Every problem found in ``record``, in reading order; an empty list means it is valid."""
    if roster.council_id != record.council_id:
        return [
            f"roster is for council {roster.council_id!r}, the record for {record.council_id!r}"
        ]
    # A fresh copy: nothing a caller's objects memoised (digests, verdicts) is trusted.
    record = DecisionRecord.model_validate_json(record.model_dump_json())
    signatures = EnvelopeVerifier(crypto.Verifier(roster))
    problems = _check_motion(record, signatures)
    votes, ballot_problems = _check_ballots(record, signatures)
    problems += ballot_problems
    problems += _check_closing(record, signatures, len(votes))
    problems += _check_certificate(record, signatures)
    problems += _check_tally(record, list(votes.values()))
    return problems


def _seat_of(principal: str, seats: int) -> int | None:
    """The seat number ``principal`` signs for, or ``None`` when it is not a seat."""
    match = _REPLICA_PRINCIPAL.fullmatch(principal)
    if match is None or int(match.group(1)) >= seats:
        return None
    return int(match.group(1)) + 1


def _open_request(
    envelope: Envelope, signatures: EnvelopeVerifier, label: str
) -> tuple[object, list[str]]:
    """The operation of a signed client request, or problems saying why there is none."""
    if not signatures.verify(envelope):
        return None, [f"{label}: signature does not verify"]
    try:
        request = decode(envelope)
    except MalformedMessage:
        return None, [f"{label}: not a well-formed message"]
    if not isinstance(request, Request):
        return None, [f"{label}: a {request.kind} message, not a client request"]
    if request.client != envelope.sender:
        return None, [f"{label}: request of client {request.client} signed by {envelope.sender}"]
    try:
        return parse_operation(request.operation), []
    except ValueError as error:
        return None, [f"{label}: {error}"]


def _check_motion(record: DecisionRecord, signatures: EnvelopeVerifier) -> list[str]:
    sender = record.motion.sender
    operation, problems = _open_request(record.motion, signatures, f"motion ({sender})")
    if sender != record.submitter:
        problems.append(f"motion: signed by {sender}, but the record names {record.submitter}")
    if _REPLICA_PRINCIPAL.fullmatch(sender):
        problems.append(f"motion: submitted by {sender}, a seat, not a secretariat client")
    if operation is not None and not isinstance(operation, MotionOp):
        problems.append("motion: the request is not a motion")
    elif isinstance(operation, MotionOp) and operation.id != record.motion_id:
        problems.append(f"motion: opens {operation.id}, not {record.motion_id}")
    return problems


def _check_ballots(
    record: DecisionRecord, signatures: EnvelopeVerifier
) -> tuple[dict[int, Vote], list[str]]:
    """The counted vote of each seat, and the problems of the ballots that do not count."""
    votes: dict[int, Vote] = {}
    ballot_of: dict[int, int] = {}  # seat -> the index of its ballot in the record
    problems: list[str] = []
    for index, envelope in enumerate(record.ballots, start=1):
        label = f"ballot {index} ({envelope.sender})"
        operation, found = _open_request(envelope, signatures, label)
        seat = _seat_of(envelope.sender, record.seats)
        if seat is None:
            found.append(f"{label}: {envelope.sender} is not a seat of {record.seats}")
        elif seat in ballot_of:
            found.append(
                f"{label}: a second ballot of seat {seat}, after ballot {ballot_of[seat]};"
                " a record carries only a seat's counted ballot"
            )
        if operation is not None and not isinstance(operation, BallotOp):
            found.append(f"{label}: the request is not a ballot")
        elif isinstance(operation, BallotOp) and operation.motion != record.motion_id:
            found.append(f"{label}: votes on {operation.motion}, not {record.motion_id}")
        if seat is not None:
            ballot_of.setdefault(seat, index)
        problems += found
        if not found and isinstance(operation, BallotOp) and seat is not None:
            votes[seat] = operation.vote
    return votes, problems


def _check_closing(record: DecisionRecord, signatures: EnvelopeVerifier, voted: int) -> list[str]:
    closing = record.closing
    problems: list[str] = []
    recomputed = batch_digest(closing.batch)
    if recomputed != closing.digest:
        problems.append(
            f"closing batch: its digest is {recomputed[:16]}…, the closing digest"
            f" {closing.digest[:16]}…"
        )
    request = closing.request
    label = f"closing request ({request.sender})"
    if not any(request.same_signed(entry) for entry in closing.batch):
        problems.append(f"{label}: not in the closing batch")
    operation, found = _open_request(request, signatures, label)
    problems += found
    if isinstance(operation, BallotOp):
        if not any(request.same_signed(ballot) for ballot in record.ballots):
            problems.append(f"{label}: a ballot that is not among the record's ballots")
        if voted != record.seats:
            problems.append(
                f"{label}: a ballot closed the motion, but {voted} of {record.seats} seats voted"
            )
    elif isinstance(operation, CloseOp):
        problems += _check_close(record, operation, label)
    elif operation is not None:
        problems.append(f"{label}: neither a ballot nor a close request")
    return problems


def _check_close(record: DecisionRecord, close: CloseOp, label: str) -> list[str]:
    problems: list[str] = []
    if close.motion != record.motion_id:
        problems.append(f"{label}: closes {close.motion}, not {record.motion_id}")
    if _REPLICA_PRINCIPAL.fullmatch(record.closing.request.sender):
        problems.append(f"{label}: sent by a seat, not a secretariat client")
    try:
        motion = decode(record.motion)
        opened = parse_operation(motion.operation) if isinstance(motion, Request) else None
    except (MalformedMessage, ValueError):
        return problems  # the motion's own check says what is wrong with it
    if isinstance(opened, MotionOp) and close.at_ms < opened.at_ms + record.window_ms:
        problems.append(
            f"{label}: at {close.at_ms} ms, before the window ends at"
            f" {opened.at_ms + record.window_ms} ms"
        )
    return problems


def _check_certificate(record: DecisionRecord, signatures: EnvelopeVerifier) -> list[str]:
    closing = record.closing
    try:
        needed = QuorumMath.for_council(record.seats).quorum
    except ValueError as error:
        return [f"seats: {error}"]
    problems: list[str] = []
    replicas: set[int] = set()
    for index, envelope in enumerate(closing.certificate, start=1):
        label = f"commit {index} ({envelope.sender})"
        commit = _commit_of(envelope) if signatures.verify(envelope) else None
        if not signatures.verify(envelope):
            problems.append(f"{label}: signature does not verify")
        elif commit is None:
            problems.append(f"{label}: not a commit")
        elif _seat_of(envelope.sender, record.seats) != commit.replica + 1:
            problems.append(f"{label}: signed by {envelope.sender} for replica {commit.replica}")
        elif (commit.view, commit.seq, commit.digest) != (
            closing.view,
            closing.seq,
            closing.digest,
        ):
            problems.append(
                f"{label}: for view {commit.view} seq {commit.seq} digest {commit.digest[:16]}…,"
                f" not view {closing.view} seq {closing.seq} digest {closing.digest[:16]}…"
            )
        elif commit.replica in replicas:
            problems.append(f"{label}: a second commit from replica {commit.replica}")
        else:
            replicas.add(commit.replica)
    if len(replicas) < needed:
        problems.append(
            f"commit certificate: {len(replicas)} distinct valid commits, {needed} needed"
        )
    return problems


def _commit_of(envelope: Envelope) -> Commit | None:
    try:
        message = decode(envelope)
    except MalformedMessage:
        return None
    return message if isinstance(message, Commit) else None


def _check_tally(record: DecisionRecord, votes: list[Vote]) -> list[str]:
    counted = Counter(votes)
    yes, no, abstain = counted["yes"], counted["no"], counted["abstain"]
    problems: list[str] = []
    if (yes, no, abstain) != (record.yes, record.no, record.abstain):
        problems.append(
            f"tally: the ballots give yes {yes}, no {no}, abstain {abstain};"
            f" the record says yes {record.yes}, no {record.no}, abstain {record.abstain}"
        )
    try:
        outcome = decide(record.rule, record.seats, record.turnout, yes, no, abstain)
    except ValueError as error:
        return [*problems, f"outcome: {error}"]
    if outcome != record.outcome:
        problems.append(
            f"outcome: the ballots give {outcome} under {record.rule}"
            f" (turnout {record.turnout}), the record says {record.outcome}"
        )
    return problems

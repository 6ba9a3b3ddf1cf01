"""Member ballot instructions: what the gateway signs, and which of them a seat's agent takes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

import crypto
from consensus import Envelope, decode
from consensus.messages import Request
from council.cli import app
from council.commands.init import write_council
from council.governance.operations import Vote
from council.live.agent import Agent, AgentSettings, members_vote
from council.live.connection import BrokerUrl
from council.live.council_dir import CouncilDir
from council.live.member_ballots import (
    ISSUED_FILE,
    MEMBER_BALLOT,
    AlreadyTaken,
    MemberBallot,
    MemberBallotIssuer,
    MemberBallots,
    sign_member_ballot,
)
from council.live.supervisor import Supervisor
from council.live.wire import Dropped, DropReason, encode_bundle
from tests.integration.live_support import council_file

NO_BROKER = BrokerUrl.parse("mqtt://127.0.0.1:9")  # never dialled: the agent is not run


@pytest.fixture
def directory(tmp_path: Path) -> CouncilDir:
    write_council(council_file(4, window_ms=3_000), tmp_path / "council")
    return CouncilDir.load(tmp_path / "council")


@pytest.fixture
def issuer(directory: CouncilDir) -> MemberBallotIssuer:
    return MemberBallotIssuer(directory.signer("gateway"))


def instruction(
    directory: CouncilDir, issued_us: int, seat: int = 2, vote: Vote = "yes", motion: str = "M-1"
) -> Envelope:
    ballot = MemberBallot(issued_us=issued_us, motion=motion, seat=seat, vote=vote)
    return sign_member_ballot(directory.signer("gateway"), ballot)


def test_an_instruction_is_canonical_json_signed_by_the_gateway_as_its_own_kind(
    directory: CouncilDir, issuer: MemberBallotIssuer
) -> None:
    envelope = issuer.issue(3, "M-1", "no")
    document = json.loads(envelope.body)
    assert list(document) == ["issued_us", "kind", "motion", "seat", "vote"]
    assert envelope.body == json.dumps(document, separators=(",", ":"))
    assert (envelope.kind, envelope.sender) == (MEMBER_BALLOT, "gateway")
    assert (document["seat"], document["motion"], document["vote"]) == (3, "M-1", "no")
    signatures = crypto.Verifier(directory.roster)
    signature = bytes.fromhex(envelope.signature)
    body = envelope.body.encode()
    assert signatures.verify("gateway", MEMBER_BALLOT, body, signature)
    # Domain separation: the same bytes are no request, and no one else's.
    assert not signatures.verify("gateway", "request", body, signature)
    assert not signatures.verify("secretariat", MEMBER_BALLOT, body, signature)


def test_issue_times_only_grow_and_bad_fields_are_refused(issuer: MemberBallotIssuer) -> None:
    times = [json.loads(issuer.issue(1, "M-1", "yes").body)["issued_us"] for _ in range(50)]
    assert times == sorted(set(times))
    with pytest.raises(ValueError, match="vote"):
        issuer.issue(1, "M-1", "maybe")
    with pytest.raises(ValueError, match="seat"):
        issuer.issue(0, "M-1", "yes")


def test_the_seat_takes_a_newer_instruction_for_each_motion(directory: CouncilDir) -> None:
    seat = MemberBallots(2)
    assert seat.accept(instruction(directory, 100, vote="yes")).vote == "yes"
    assert seat.accept(instruction(directory, 200, vote="no")).vote == "no"
    assert seat.accept(instruction(directory, 50, motion="M-2")).motion == "M-2"
    assert seat.taken == 3


def test_a_replayed_or_older_instruction_does_not_flip_a_changed_vote_back(
    directory: CouncilDir,
) -> None:
    seat = MemberBallots(2)
    first, second = instruction(directory, 100, vote="yes"), instruction(directory, 200, vote="no")
    seat.accept(first)
    seat.accept(second)
    for stale in (first, instruction(directory, 150, vote="abstain")):
        with pytest.raises(Dropped) as dropped:
            seat.accept(stale)
        assert dropped.value.reason is DropReason.STALE_INSTRUCTION
    assert seat.taken == 2


def test_the_last_instruction_sent_again_is_a_repeat_not_a_drop(directory: CouncilDir) -> None:
    seat = MemberBallots(2)
    latest = instruction(directory, 200, vote="no")
    seat.accept(latest)
    for _ in range(3):  # the gateway repeats what it sent, in case it was lost
        with pytest.raises(AlreadyTaken):
            seat.accept(latest)
    assert (seat.taken, seat.repeats) == (1, 3)


def test_another_seats_or_another_principals_instruction_is_dropped(
    directory: CouncilDir,
) -> None:
    seat = MemberBallots(2)
    with pytest.raises(Dropped) as dropped:
        seat.accept(instruction(directory, 100, seat=3))
    assert dropped.value.reason is DropReason.WRONG_SEAT
    ballot = MemberBallot(issued_us=100, motion="M-1", seat=2, vote="yes")
    for principal in ("secretariat", "r1"):
        with pytest.raises(Dropped) as dropped:
            seat.accept(sign_member_ballot(directory.signer(principal), ballot))
        assert dropped.value.reason is DropReason.NOT_THE_GATEWAY
    garbled = instruction(directory, 100).model_copy(update={"body": '{"seat":2}'})
    with pytest.raises(Dropped) as dropped:
        seat.accept(garbled)
    assert dropped.value.reason is DropReason.MALFORMED
    assert seat.taken == 0


def test_the_last_issue_times_outlive_a_restart(directory: CouncilDir, tmp_path: Path) -> None:
    path = tmp_path / ISSUED_FILE
    MemberBallots(2, path).accept(instruction(directory, 200, vote="no"))
    restarted = MemberBallots(2, path)
    with pytest.raises(Dropped):
        restarted.accept(instruction(directory, 100, vote="yes"))
    assert restarted.accept(instruction(directory, 300)).issued_us == 300
    path.write_text("[1, 2]")
    with pytest.raises(ValueError, match="member ballot issue times"):
        MemberBallots(2, path)


# -- the agent: its edge, its counters and its ballot session ------------------------------


@pytest.fixture
def agent(directory: CouncilDir) -> Agent:
    return Agent(AgentSettings(2, directory.path, NO_BROKER, member_ballots=True))


def deliver(agent: Agent, envelope: Envelope, now_ms: int = 10) -> None:
    """What the agent's loop does with one publish on its direct topic from the gateway."""
    topic = agent.topics.direct(agent.principal, "gateway")
    payload = encode_bundle(agent.directory.council_id, [envelope])
    for accepted in agent.inbound.accept(topic, payload):
        assert accepted.kind == MEMBER_BALLOT
        agent._instructed(accepted, now_ms)


def ballots_sent(agent: Agent) -> list[str]:
    """The operations of the ballots the agent's step publishes."""
    outbox = agent.core.drain(now_ms=20)
    requests = outbox.bundles.get(agent.topics.request(agent.principal), [])
    operations = []
    for envelope in requests:
        request = decode(envelope)
        assert isinstance(request, Request)
        operations.append(request.operation)
    return operations


def test_the_agent_casts_what_its_member_instructs_and_counts_what_it_drops(
    agent: Agent, directory: CouncilDir
) -> None:
    deliver(agent, instruction(directory, 100, vote="yes"))
    assert ballots_sent(agent) == ['{"motion":"M-1","op":"ballot","vote":"yes"}']
    forged = instruction(directory, 200, vote="no").model_copy(update={"signature": "00" * 64})
    deliver(agent, forged)
    deliver(agent, instruction(directory, 100, vote="yes"))  # repeated: cast already
    deliver(agent, instruction(directory, 50, vote="no"))  # older: a replay
    deliver(agent, instruction(directory, 300, seat=3))
    assert ballots_sent(agent) == []
    status = json.loads(agent.status_json())["status"]
    assert status["member_ballots"] == 1
    assert status["dropped"] == {"bad-signature": 1, "stale-instruction": 1, "wrong-seat": 1}


def test_a_changed_instruction_replaces_the_ballot_still_waiting(
    agent: Agent, directory: CouncilDir
) -> None:
    deliver(agent, instruction(directory, 100, vote="yes"))  # outstanding: one at a time
    deliver(agent, instruction(directory, 200, vote="no"))
    deliver(agent, instruction(directory, 300, vote="abstain"))
    assert ballots_sent(agent) == ['{"motion":"M-1","op":"ballot","vote":"yes"}']
    assert [operation for _, operation in agent.core._queued_ballots] == [
        '{"motion":"M-1","op":"ballot","vote":"abstain"}'
    ]


def test_a_seat_whose_member_votes_casts_no_ballot_by_policy() -> None:
    assert members_vote("M-1", "budget") is None


def test_council_up_passes_member_ballots_on_to_every_agent(directory: CouncilDir) -> None:
    credentials = directory.path / "credentials.json"
    assert "--member-ballots" in Supervisor(
        directory, NO_BROKER, credentials, member_ballots=True
    ).command(3)
    assert "--member-ballots" not in Supervisor(directory, NO_BROKER, credentials).command(3)
    for command in ("agent", "up"):
        result = CliRunner().invoke(app, [command, "--help"], terminal_width=200)
        assert "--member-ballots" in result.output

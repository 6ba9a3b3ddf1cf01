"""Named regressions for state transfer, crash recovery and exactly-once execution
(OSDI'99 §4.1 and §4.3; TOCS 2002 §5.3)."""

from __future__ import annotations

import json

from consensus import Envelope, Respond, StateTransferred
from consensus.messages import Commit, Prepare, StateSnapshot, batch_digest
from tests.regressions.harness import Council, executed_requests


def transferred(council: Council, replica: int) -> list[int]:
    effects = council.effects[replica]
    return [effect.seq for effect in effects if isinstance(effect, StateTransferred)]


# -- state transfer -------------------------------------------------------------------------------


class LaggingScenario:
    """r0..r4 order six requests (K = 2, L = 4) while r5 hears nothing: seq 6 is stable and
    r5 is below its watermarks. r6 is faulty."""

    LAGGING = 5

    def __init__(self) -> None:
        self.council = council = Council(7, faulty={6})
        self.ordering = [0, 1, 2, 3, 4]
        for timestamp in range(1, 7):
            council.submit(council.request("alice", timestamp), to=0)
            council.flush(among=self.ordering)
        assert all(council.replicas[i].stable_seq == 6 for i in self.ordering)
        checkpoint = council.storage[0].checkpoint
        assert checkpoint is not None and checkpoint.seq == 6
        self.certificate = checkpoint.certificate
        self.snapshot = checkpoint.snapshot

    def offer(self, snapshot: str, certificate: tuple[Envelope, ...] | None = None) -> bool:
        """r6 offers r5 a snapshot of seq 6 with ``certificate`` (the genuine one by default)."""
        council = self.council
        message = StateSnapshot(
            replica=6,
            seq=6,
            snapshot=snapshot,
            certificate=self.certificate if certificate is None else certificate,
        )
        return council.deliver(council.sign(6, message), to=self.LAGGING)


def test_a_replica_that_missed_several_checkpoints_catches_up_by_certified_state_transfer() -> None:
    scenario = LaggingScenario()
    council, lagging = scenario.council, LaggingScenario.LAGGING
    assert council.executed(lagging) == []
    council.submit(council.request("alice", 7), to=0)
    council.run(until_ms=3_000)  # r5 is back on the network

    assert transferred(council, lagging) == [6]
    assert [effect.seq for effect in council.executed(lagging)] == [7]
    caught_up, reference = council.replicas[lagging], council.replicas[0]
    assert caught_up.application.snapshot() == reference.application.snapshot()
    assert caught_up.client_table == reference.client_table == {"alice": 7}


def test_a_forged_snapshot_that_misses_its_certified_digest_is_evidence_and_not_adopted() -> None:
    scenario = LaggingScenario()
    council, lagging = scenario.council, LaggingScenario.LAGGING
    state = json.loads(scenario.snapshot)
    state["clients"]["alice"] = 1  # let alice's requests 2..6 run a second time
    assert scenario.offer(json.dumps(state, sort_keys=True, separators=(",", ":")))

    (evidence,) = council.evidence(lagging)
    assert (evidence.kind, evidence.culprit) == ("state-snapshot-mismatch", 6)
    assert transferred(council, lagging) == []
    assert council.replicas[lagging].last_executed == 0
    assert council.replicas[lagging].client_table == {}


def test_an_uncertified_snapshot_is_ignored() -> None:
    scenario = LaggingScenario()
    council, lagging = scenario.council, LaggingScenario.LAGGING
    quorum = council.quorums.quorum
    assert scenario.offer(scenario.snapshot, certificate=())
    assert scenario.offer(scenario.snapshot, certificate=scenario.certificate[: quorum - 1])
    assert council.evidence(lagging) == []  # no proof that r6 lied, only that it proved nothing
    assert transferred(council, lagging) == []
    assert council.replicas[lagging].last_executed == 0

    assert scenario.offer(scenario.snapshot)  # the same state with its certificate is adopted
    assert transferred(council, lagging) == [6]


# -- crash recovery -----------------------------------------------------------------------------


def test_a_restarted_replica_never_contradicts_a_vote_it_signed_before_the_crash() -> None:
    # Everyone but r1 is played by the test: after the restart r1 is even shown a complete
    # certificate for the other batch, so only its persisted votes can stop it.
    council = Council(4, faulty={0, 2, 3})
    a, b = (council.request("alice", 1),), (council.request("bob", 1),)
    digest_a, digest_b = batch_digest(a), batch_digest(b)
    council.deliver(council.pre_prepare(0, 1, a), to=1)
    council.deliver_all([council.prepare(i, 0, 1, digest_a) for i in (2, 3)], to=1)
    assert _votes(council, 1) == {("prepare", digest_a), ("commit", digest_a)}

    council.crash(1)
    council.restart(1)
    council.clear_effects()
    council.deliver(council.pre_prepare(0, 1, b), to=1)
    council.deliver_all([council.prepare(i, 0, 1, digest_b) for i in (2, 3)], to=1)
    council.deliver_all([council.commit(i, 0, 1, digest_b) for i in (0, 2, 3)], to=1)
    assert _votes(council, 1) == set()

    council.storage[1].records.clear()  # what the persisted votes prevented:
    council.crash(1)
    council.restart(1)
    council.deliver(council.pre_prepare(0, 1, b), to=1)
    council.deliver_all([council.prepare(i, 0, 1, digest_b) for i in (2, 3)], to=1)
    assert _votes(council, 1) == {("prepare", digest_b), ("commit", digest_b)}


def _votes(council: Council, replica: int) -> set[tuple[str, str]]:
    """(kind, digest) of every prepare and commit ``replica`` signed for (view 0, seq 1)."""
    votes: list[Prepare | Commit] = [m for _, m in council.sent(replica, Prepare)]
    votes += [m for _, m in council.sent(replica, Commit)]
    return {(vote.kind, vote.digest) for vote in votes if (vote.view, vote.seq) == (0, 1)}


def test_a_committed_batch_keeps_its_seq_when_every_replica_restarts_in_turn() -> None:
    # Each restart forgets the log but must keep the prepared certificates: otherwise the
    # next view change finds no trace of seq 1 and gives it to another batch.
    council = Council(4)
    first = (council.request("alice", 1),)
    council.submit(first[0], to=0)
    council.flush()
    assert all(council.log(i) == [(1, batch_digest(first))] for i in council.honest)
    for i in council.honest:  # one at a time: never more than f replicas are down
        council.crash(i)
        council.restart(i)
    second = council.request("bob", 1)
    council.submit(second)
    council.run(until_ms=20_000)

    for i in council.honest:
        decided: dict[int, set[str]] = {}
        for seq, digest in council.log(i):  # before and after the restart
            decided.setdefault(seq, set()).add(digest)
        assert decided[1] == {batch_digest(first)}
        assert all(len(digests) == 1 for digests in decided.values())
        assert second.request_digest() in executed_requests(council.executed(i))


# -- exactly once -------------------------------------------------------------------------------


def test_a_retransmitted_request_gets_the_cached_reply_and_is_not_executed_again() -> None:
    council = Council(4)
    first, second = council.request("alice", 1), council.request("alice", 2)
    for request in (first, second):
        council.submit(request, to=0)
        council.flush()
    replies = {i: _responses(council, i) for i in council.honest}
    assert all(len(sent) == 2 for sent in replies.values())

    council.submit(second)  # the client did not hear enough replies and broadcasts it
    council.submit(first)  # an older request replayed: nothing to answer, nothing to run
    council.run(until_ms=2_000)
    for i in council.honest:
        assert executed_requests(council.executed(i)) == [
            first.request_digest(),
            second.request_digest(),
        ]
        assert _responses(council, i) == [*replies[i], replies[i][1]]


def _responses(council: Council, replica: int) -> list[str]:
    """The signatures of the replies ``replica`` handed to clients, in order."""
    effects = council.effects[replica]
    return [effect.envelope.signature for effect in effects if isinstance(effect, Respond)]


def test_a_request_ordered_twice_by_a_faulty_primary_runs_once() -> None:
    council = Council(4, faulty={0})
    batch = (council.request("alice", 1),)
    for seq in (1, 2):
        council.deliver(council.pre_prepare(0, seq, batch), to=council.honest)
        council.flush()
    for i in council.honest:
        assert council.log(i) == [(1, batch_digest(batch)), (2, batch_digest(batch))]
        assert executed_requests(council.executed(i)) == [batch[0].request_digest()]

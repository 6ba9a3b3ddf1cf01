"""Named regressions for the normal-case pitfalls of PBFT implementations (OSDI'99 §4.2).

Each test plays the faulty members itself, with their real keys, against correct replicas, and
states what the correct ones must (and must never) sign or execute.
"""

from __future__ import annotations

import json

import pytest

from consensus import Envelope, Evidence
from consensus.messages import Commit, Prepare, PrePrepare, ViewChange, batch_digest, decode
from tests.regressions.harness import Council, executed_requests


def commits_for(council: Council, replica: int, seq: int) -> list[Commit]:
    return [commit for _, commit in council.sent(replica, Commit) if commit.seq == seq]


def prepares_for(council: Council, replica: int, seq: int) -> list[Prepare]:
    return [prepare for _, prepare in council.sent(replica, Prepare) if prepare.seq == seq]


def assert_agreement(council: Council) -> None:
    """Every two running replicas executed the same batch wherever both executed one."""
    logs = [dict(council.log(i)) for i in council.honest]
    for log in logs:
        for other in logs:
            for seq in log.keys() & other.keys():
                assert log[seq] == other[seq], f"replicas disagree at seq {seq}"


# -- a renumbered pre-prepare ---------------------------------------------------------------------


def test_a_pre_prepare_with_a_changed_sequence_number_never_joins_a_prepared_certificate() -> None:
    council = Council(4, faulty={0})
    batch = (council.request("alice", 1),)
    digest = batch_digest(batch)
    council.deliver(council.pre_prepare(0, 1, batch), to=[1, 2])
    council.deliver(council.pre_prepare(0, 2, batch), to=3)  # the same batch, renumbered for r3
    council.flush()

    # r3's prepare for seq 2 found no pre-prepare to match anywhere: nobody commits seq 2.
    assert [p.seq for p in prepares_for(council, 3, 2)] == [2]
    assert all(commits_for(council, i, 2) == [] for i in council.honest)
    # r1 and r2 prepared seq 1, but two commits are not a quorum of three: nothing executes.
    assert all(council.executed(i) == [] for i in council.honest)

    council.run(until_ms=5_000)
    # Retransmission may still order the renumbered copy, but the request runs once, at seq 1,
    # with the same log everywhere.
    for i in council.honest:
        assert council.log(i)[0] == (1, digest)
        assert all(c.digest == digest for c in commits_for(council, i, 1))
        assert executed_requests(council.executed(i)) == [batch[0].request_digest()]
    assert_agreement(council)


# -- late conflicting votes -----------------------------------------------------------------------


def test_a_late_conflicting_prepare_never_draws_a_second_commit_for_the_slot() -> None:
    council = Council(7, faulty={0, 6})
    a, b = (council.request("alice", 1),), (council.request("bob", 1),)
    digest_a, digest_b = batch_digest(a), batch_digest(b)
    council.deliver(council.pre_prepare(0, 1, a), to=council.honest)
    council.flush()
    assert all(council.log(i) == [(1, digest_a)] for i in council.honest)

    # Too late: the faulty primary and backup now vouch for b at the same (view, seq).
    council.deliver_all(
        [
            council.prepare(6, 0, 1, digest_b),
            council.pre_prepare(0, 1, b),
            council.prepare(0, 0, 1, digest_b),
            council.commit(6, 0, 1, digest_b),
            council.commit(0, 0, 1, digest_b),
        ],
        to=council.honest,
    )
    council.run(until_ms=6_000)

    for i in council.honest:
        assert {p.digest for p in prepares_for(council, i, 1)} == {digest_a}
        assert {c.digest for c in commits_for(council, i, 1)} == {digest_a}
        signed_at_view_0 = [c for c in commits_for(council, i, 1) if c.view == 0]
        assert len(signed_at_view_0) == 1
        assert council.log(i) == [(1, digest_a)]
        assert any(e.kind == "equivocation" and e.culprit == 0 for e in council.evidence(i))


# -- forged identities ----------------------------------------------------------------------------


def test_commits_forged_under_other_identities_never_complete_a_commit_certificate() -> None:
    council = Council(4, faulty={3})  # the forger holds r3's key and no other
    council.submit(council.request("alice", 1), to=0)
    pre_prepare, message = council.sent(0, PrePrepare)[0]
    council.drop()
    council.deliver(pre_prepare, to=1)
    (r1_prepare, _) = council.sent(1, Prepare)[0]
    council.drop()
    council.deliver(r1_prepare, to=0)
    council.deliver(council.prepare(3, 0, 1, message.digest), to=[0, 1])
    council.drop()
    # r0 and r1 are prepared and committed themselves; r1 holds only its own commit.
    assert len(commits_for(council, 0, 1)) == len(commits_for(council, 1, 1)) == 1
    r0_commit = council.sent(0, Commit)[0][0]

    wrong_key = [
        council.forge(claimed=who, key_of=3, message=_commit(who, message.digest)) for who in (0, 2)
    ]
    for forged in wrong_key:
        assert not council.deliver(forged, to=1)  # refused at the edge
    own_key_other_name = [council.sign(3, _commit(who, message.digest)) for who in (0, 2)]
    for forged in own_key_other_name:
        assert council.deliver(forged, to=1)  # a valid signature, by r3, about someone else
    assert council.replicas[1].rejected["sender-mismatch"] == 2
    council.deliver(council.commit(3, 0, 1, message.digest), to=1)  # r3's one honest-looking vote

    assert council.executed(1) == []  # r1 + r3 is two commits, not a quorum of three
    council.deliver(r0_commit, to=1)
    assert council.log(1) == [(1, message.digest)]  # a genuine third commit completes it


def _commit(replica: int, digest: str) -> Commit:
    return Commit(view=0, seq=1, digest=digest, replica=replica)


# -- an equivocating primary ----------------------------------------------------------------------


def test_two_pre_prepares_for_one_slot_become_evidence_and_a_view_change() -> None:
    council = Council(4, faulty={0})
    a, b = (council.request("alice", 1),), (council.request("bob", 1),)
    first, second = council.pre_prepare(0, 1, a), council.pre_prepare(0, 1, b)
    council.deliver(first, to=1)
    council.deliver(second, to=1)

    assert {p.digest for p in prepares_for(council, 1, 1)} == {batch_digest(a)}
    (evidence,) = [e for e in council.evidence(1) if e.kind == "equivocation"]
    assert (evidence.kind, evidence.culprit) == ("equivocation", 0)
    assert [e.signature for e in evidence.proof] == [first.signature, second.signature]
    assert_proves_equivocation(council, evidence)
    view_changes = [vc for _, vc in council.sent(1, ViewChange)]
    assert [vc.new_view for vc in view_changes] == [1]
    assert council.replicas[1].view == 1 and not council.replicas[1].active


def assert_proves_equivocation(council: Council, evidence: Evidence) -> None:
    """Anyone holding the roster sees two signed pre-prepares for one slot that differ."""
    checker = Council(council.config.n).verifier  # a fresh verifier: nothing memoised
    fresh = [Envelope(**e.model_dump(exclude={"attachment"})) for e in evidence.proof]
    assert all(checker.verify(envelope) for envelope in fresh)
    first, second = (decode(envelope) for envelope in fresh)
    assert isinstance(first, PrePrepare) and isinstance(second, PrePrepare)
    assert (first.view, first.seq) == (second.view, second.seq)
    assert first.digest != second.digest


# -- the primary's own prepare --------------------------------------------------------------------


@pytest.mark.parametrize("n", [4, 7])
def test_the_primarys_own_prepare_never_counts_toward_a_prepared_certificate(n: int) -> None:
    council = Council(n, faulty={0})
    quorum = council.quorums.quorum
    backups = list(range(1, quorum - 1))  # Q - 2 backups: one short of a prepared certificate
    batch = (council.request("alice", 1),)
    digest = batch_digest(batch)
    pre_prepare = council.pre_prepare(0, 1, batch)
    council.deliver(pre_prepare, to=backups)
    council.flush(among=backups)
    council.deliver(council.prepare(0, 0, 1, digest), to=backups)  # the primary "prepares" too
    council.flush(among=backups)

    assert all(commits_for(council, i, 1) == [] for i in backups)
    assert all(council.replicas[i].rejected["prepare-from-primary"] == 1 for i in backups)

    one_more = [*backups, quorum - 1]
    council.deliver(pre_prepare, to=quorum - 1)
    council.flush(among=one_more)  # a (Q - 1)-th backup's prepare completes the certificate
    assert all(len(commits_for(council, i, 1)) == 1 for i in backups)


# -- duplicate votes ------------------------------------------------------------------------------


def test_one_sender_counts_once_however_often_it_repeats_or_re_signs_its_vote() -> None:
    council = Council(7, faulty={0, 3})  # Q = 5: a prepared certificate needs 4 backups
    batch = (council.request("alice", 1),)
    digest = batch_digest(batch)
    council.deliver(council.pre_prepare(0, 1, batch), to=[1, 2, 4])
    council.flush(among=[1, 2])  # r1 and r2 hold each other's prepare and their own
    prepare = council.prepare(3, 0, 1, digest)
    for vote in (prepare, prepare, council.prepare(3, 0, 1, digest), _re_encoded(council, prepare)):
        assert council.deliver(vote, to=[1, 2, 4])
    assert commits_for(council, 1, 1) == []  # r1, r2 and r3 (four times) are three backups

    council.deliver(own(council, 1, Prepare), to=4)
    council.deliver(own(council, 2, Prepare), to=4)
    council.deliver(own(council, 4, Prepare), to=[1, 2])
    assert all(len(commits_for(council, i, 1)) == 1 for i in (1, 2, 4))  # a fourth backup
    council.drop()

    commit = council.commit(3, 0, 1, digest)
    council.deliver(own(council, 2, Commit), to=1)
    for vote in (commit, commit, _re_encoded(council, commit)):
        assert council.deliver(vote, to=1)
    council.deliver(council.commit(0, 0, 1, digest), to=1)
    assert council.executed(1) == []  # r1, r2, r3 (three times) and r0 are four commits
    council.deliver(own(council, 4, Commit), to=1)
    assert council.log(1) == [(1, digest)]


def own(council: Council, replica: int, kind: type[Prepare] | type[Commit]) -> Envelope:
    """The first vote of this kind that ``replica`` signed."""
    return council.sent(replica, kind)[0][0]


def _re_encoded(council: Council, envelope: Envelope) -> Envelope:
    """The same vote, signed again over a differently formatted body (a new signature)."""
    body = json.dumps(json.loads(envelope.body), indent=1, sort_keys=False)
    assert body != envelope.body
    re_signed = council.sign_text(envelope.sender, envelope.kind, body)
    assert re_signed.signature != envelope.signature
    assert decode(re_signed) == decode(envelope)
    return re_signed

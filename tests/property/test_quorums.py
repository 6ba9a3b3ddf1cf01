"""Quorum sizes: two quorums always share an honest member, and a quorum never needs a faulty one.

For every council size n from 4 to 200, ``Q = quorum_size(n)`` is the smallest size such that
two quorums intersect in at least ``f + 1`` members (so at least one correct member is in both,
whichever ``f`` are faulty), and ``Q ≤ n − f`` (the correct members alone form a quorum).
``2f + 1`` is not such a size except when ``n = 3f + 1``: at n = 33 two sets of 21 share 9
members, all of whom may be faulty — and real replicas counting to 21 then break agreement.
"""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from consensus import Envelope, QuorumMath, max_faulty, quorum_size, seal
from consensus.messages import Commit, Prepare, PrePrepare, batch_digest
from consensus.testing import council_sizes, faulty_sets
from council.sim.cluster import byzantine_placement
from council.sim.manual import ManualCluster

COUNCIL_SIZES = range(4, 201)


def smallest_intersecting_size(n: int, f: int) -> int:
    """The smallest q with 2q − n ≥ f + 1, found by search rather than by formula."""
    return next(q for q in range(n + 1) if 2 * q - n >= f + 1)


def test_every_quorum_from_4_to_200_intersects_in_f_plus_1_and_leaves_room_for_f_faults() -> None:
    for n in COUNCIL_SIZES:
        f, q = max_faulty(n), quorum_size(n)
        assert 2 * q - n >= f + 1, f"n={n}: two quorums of {q} may share only {2 * q - n}"
        assert q <= n - f, f"n={n}: a quorum of {q} needs a faulty member (n - f = {n - f})"


def test_every_quorum_from_4_to_200_is_the_smallest_safe_size() -> None:
    for n in COUNCIL_SIZES:
        f, q = max_faulty(n), quorum_size(n)
        assert q == smallest_intersecting_size(n, f), f"n={n}: {q} is not the smallest safe size"
        assert 2 * (q - 1) - n < f + 1, f"n={n}: {q - 1} would already be safe"


def test_f_is_the_most_faults_a_council_of_n_tolerates() -> None:
    for n in COUNCIL_SIZES:
        f = max_faulty(n)
        assert 3 * f + 1 <= n < 3 * (f + 1) + 1, f"n={n}: f={f}"


def test_certificate_sizes_of_every_council_match_the_quorum_arithmetic() -> None:
    for n in COUNCIL_SIZES:
        quorums = QuorumMath.for_council(n)
        assert (quorums.n, quorums.f) == (n, max_faulty(n))
        assert quorums.quorum == quorum_size(n)
        assert quorums.weak == quorums.f + 1
        assert {quorums.primary(view) for view in range(2 * n)} == set(range(n))


def test_the_two_most_distant_quorums_still_share_f_plus_1_members() -> None:
    for n in COUNCIL_SIZES:
        f, q = max_faulty(n), quorum_size(n)
        first, last = set(range(q)), set(range(n - q, n))
        assert len(first & last) == 2 * q - n >= f + 1, f"n={n}"


@given(st.data(), council_sizes())
def test_any_two_quorums_share_a_correct_member_whoever_is_faulty(
    data: st.DataObject, n: int
) -> None:
    q = quorum_size(n)
    first = set(data.draw(st.permutations(range(n)), label="first")[:q])
    second = set(data.draw(st.permutations(range(n)), label="second")[:q])
    faulty = set(data.draw(faulty_sets(n), label="faulty"))
    assert (first & second) - faulty, f"n={n}: quorums share only faulty members"


@given(st.data(), council_sizes())
def test_the_correct_members_alone_are_a_quorum(data: st.DataObject, n: int) -> None:
    faulty = data.draw(faulty_sets(n), label="faulty")
    assert n - len(faulty) >= quorum_size(n)


def test_two_f_plus_one_of_33_is_not_a_safe_quorum() -> None:
    n, f = 33, max_faulty(33)
    assert (f, 2 * f + 1, quorum_size(n)) == (10, 21, 22)
    first, second = set(range(21)), set(range(12, 33))
    shared = first & second
    assert len(first) == len(second) == 2 * f + 1
    assert len(shared) == 9 <= f
    # The adversary owns every shared member and one more: a legal faulty set of size f.
    faulty = shared | {0}
    assert len(faulty) == f
    assert not (first & second) - faulty, "two 2f+1 sets share no correct member"


def test_two_f_plus_one_is_safe_only_when_n_is_3f_plus_1_and_then_it_is_the_quorum() -> None:
    for n in COUNCIL_SIZES:
        f = max_faulty(n)
        weak_quorum = 2 * f + 1
        assert (2 * weak_quorum - n >= f + 1) == (n == 3 * f + 1), f"n={n}"
        if n == 3 * f + 1:
            assert quorum_size(n) == weak_quorum


# -- the same arithmetic, with real replicas -------------------------------------------------

SPLIT_SEED = 33


def split_brain(cluster: ManualCluster) -> None:
    """The faulty primary of view 0 and its f − 1 faulty backups give seq 1 one batch for the
    first 11 correct replicas and another for the other 12, with every faulty vote for each."""
    faulty = cluster.faulty
    assert cluster.config.quorums.primary(0) in faulty
    first, second = cluster.submit(0, "fund the library"), cluster.submit(1, "close the library")
    cluster.in_transit.clear()  # the requests went to the faulty primary; it keeps them
    correct = cluster.correct
    halves = (correct[:11], correct[11:])
    for half, batch in zip(halves, ((first,), (second,)), strict=True):
        for vote in faulty_votes(cluster, batch):
            for target in half:
                cluster.inject(vote, target)
    cluster.deliver_all()


def faulty_votes(cluster: ManualCluster, batch: tuple[Envelope, ...]) -> list[Envelope]:
    digest = batch_digest(batch)
    primary = cluster.config.quorums.primary(0)
    votes = [
        seal(
            cluster.signer_of(primary),
            PrePrepare(view=0, seq=1, digest=digest),
            attachment=batch,
        )
    ]
    for replica in cluster.faulty:
        signer = cluster.signer_of(replica)
        if replica != primary:
            votes.append(seal(signer, Prepare(view=0, seq=1, digest=digest, replica=replica)))
        votes.append(seal(signer, Commit(view=0, seq=1, digest=digest, replica=replica)))
    return votes


def new_split_council() -> ManualCluster:
    faulty = byzantine_placement(33, 10)
    assert 0 in faulty and len(faulty) == max_faulty(33)
    return ManualCluster(33, seed=SPLIT_SEED, faulty=faulty, in_transit_max=100_000)


def test_real_replicas_counting_to_22_survive_a_split_brain_of_10_of_33() -> None:
    cluster = new_split_council()
    split_brain(cluster)
    assert not cluster.checker.violations, f"seed={SPLIT_SEED}: {cluster.checker.violations}"
    executed = {cluster.replica(r).last_executed for r in cluster.correct}
    assert executed == {0, 1}, "the larger half commits, the smaller one cannot"


def test_real_replicas_counting_to_2f_plus_1_break_agreement_under_the_same_split() -> None:
    cluster = new_split_council()
    counting_to_21 = QuorumMath(n=33, f=10, quorum=2 * 10 + 1, weak=10 + 1)
    for replica_id in cluster.correct:
        cluster.replica(replica_id).quorums = counting_to_21
    split_brain(cluster)
    invariants = {violation.invariant for violation in cluster.checker.violations}
    assert invariants == {"agreement"}, f"seed={SPLIT_SEED}: {cluster.checker.violations}"
    assert all(violation.seq == 1 for violation in cluster.checker.violations)

"""Quorum arithmetic: Q = ⌈(n + f + 1) / 2⌉, weak certificates of f + 1."""

from __future__ import annotations

import pytest

from consensus import QuorumMath, max_faulty, quorum_size


@pytest.mark.parametrize(
    ("n", "f", "quorum", "weak"),
    [
        (4, 1, 3, 2),
        (7, 2, 5, 3),
        (10, 3, 7, 4),
        (33, 10, 22, 11),
        (100, 33, 67, 34),
    ],
)
def test_certificate_sizes_of_a_council(n: int, f: int, quorum: int, weak: int) -> None:
    assert QuorumMath.for_council(n) == QuorumMath(n=n, f=f, quorum=quorum, weak=weak)
    assert max_faulty(n) == f
    assert quorum_size(n) == quorum


def test_thirty_three_members_need_twenty_two_not_two_f_plus_one() -> None:
    quorums = QuorumMath.for_council(33)
    assert quorums.quorum == 22 != 2 * quorums.f + 1
    # Two sets of 2f + 1 = 21 may share only 9 members, fewer than f + 1 = 11.
    assert 2 * (2 * quorums.f + 1) - 33 < quorums.f + 1


@pytest.mark.parametrize("n", range(4, 201))
def test_two_quorums_share_an_honest_member_and_the_honest_alone_form_one(n: int) -> None:
    quorums = QuorumMath.for_council(n)
    assert 3 * quorums.f < n <= 3 * quorums.f + 3
    assert 2 * quorums.quorum - n >= quorums.f + 1  # any two quorums overlap in f + 1
    assert 2 * (quorums.quorum - 1) - n < quorums.f + 1  # and no smaller size would do
    assert quorums.quorum <= n - quorums.f  # the f faulty cannot block progress by silence


@pytest.mark.parametrize("n", [-1, 0, 1, 2, 3])
def test_a_council_too_small_to_tolerate_one_fault_is_refused(n: int) -> None:
    with pytest.raises(ValueError):
        QuorumMath.for_council(n)


def test_the_primary_rotates_through_every_member() -> None:
    quorums = QuorumMath.for_council(7)
    assert [quorums.primary(view) for view in range(9)] == [0, 1, 2, 3, 4, 5, 6, 0, 1]

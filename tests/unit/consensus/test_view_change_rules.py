"""The pure rules of a view change: checkpoint and prepared certificates, and O from V."""

from __future__ import annotations

import itertools

import pytest

from consensus import NULL_DIGEST, Envelope
from consensus.messages import Checkpoint, PreparedProof, PrePrepare, batch_digest, decode
from consensus.view_change import (
    ViewChangeSummary,
    check_checkpoint_certificate,
    check_prepared_proof,
    plan_new_view,
)
from tests.regressions.harness import Council

STATE = "5a" * 32
OTHER_STATE = "a5" * 32


@pytest.fixture(scope="module")
def council() -> Council:
    return Council(7)  # Q = 5


def checkpoint(council: Council, replica: int, seq: int = 4, state: str = STATE) -> Envelope:
    return council.sign(replica, Checkpoint(replica=replica, seq=seq, state_digest=state))


def certify(council: Council, certificate: list[Envelope], seq: int = 4) -> str | None:
    return check_checkpoint_certificate(council.verifier, council.config, seq, tuple(certificate))


# -- checkpoint certificates --------------------------------------------------------------------


def test_q_distinct_signers_of_one_digest_certify_a_checkpoint(council: Council) -> None:
    assert certify(council, [checkpoint(council, i) for i in range(5)]) == STATE
    assert certify(council, [checkpoint(council, i) for i in range(7)]) == STATE


def test_fewer_than_q_signers_certify_nothing(council: Council) -> None:
    assert certify(council, [checkpoint(council, i) for i in range(4)]) is None


def test_a_signer_counted_twice_certifies_nothing(council: Council) -> None:
    votes = [checkpoint(council, i) for i in range(4)]
    re_signed = council.sign_text(3, "checkpoint", votes[3].body.replace(":", ": "))
    assert certify(council, [*votes, votes[0]]) is None
    assert certify(council, [*votes, re_signed]) is None


def test_signers_that_disagree_on_the_digest_certify_nothing(council: Council) -> None:
    votes = [checkpoint(council, i) for i in range(5)]
    assert certify(council, [*votes[:4], checkpoint(council, 4, state=OTHER_STATE)]) is None
    assert certify(council, [*votes, checkpoint(council, 5, state=OTHER_STATE)]) is None


def test_a_checkpoint_for_another_sequence_number_certifies_nothing(council: Council) -> None:
    votes = [checkpoint(council, i) for i in range(4)]
    assert certify(council, [*votes, checkpoint(council, 4, seq=6)]) is None


def test_a_vote_signed_under_another_name_certifies_nothing(council: Council) -> None:
    votes = [checkpoint(council, i) for i in range(4)]
    relabelled = council.sign(6, Checkpoint(replica=4, seq=4, state_digest=STATE))
    forged = council.forge(claimed=4, key_of=6, message=decode(votes[0]).model_copy())
    assert certify(council, [*votes, relabelled]) is None
    assert certify(council, [*votes, forged]) is None


def test_the_genesis_checkpoint_needs_no_certificate(council: Council) -> None:
    assert certify(council, [], seq=0) == ""
    assert certify(council, [checkpoint(council, 0)], seq=0) is None


# -- prepared certificates ----------------------------------------------------------------------


def prepared_proof(council: Council, backups: list[int], seq: int = 1) -> PreparedProof:
    batch = (council.request("alice", seq),)
    pre_prepare = council.pre_prepare(0, seq, batch)
    prepares = tuple(council.prepare(i, 0, seq, batch_digest(batch)) for i in backups)
    return PreparedProof(pre_prepare=pre_prepare.detached(), prepares=prepares)


def check(council: Council, proof: PreparedProof) -> PrePrepare | None:
    return check_prepared_proof(
        council.verifier, council.config, proof, low_seq=0, high_seq=8, below_view=1
    )


def test_a_prepared_certificate_needs_q_minus_1_distinct_backups(council: Council) -> None:
    assert check(council, prepared_proof(council, [1, 2, 3, 4])) is not None
    assert check(council, prepared_proof(council, [1, 2, 3])) is None
    assert check(council, prepared_proof(council, [1, 2, 3, 3])) is None


def test_a_prepared_certificate_holding_the_primarys_prepare_is_invalid(council: Council) -> None:
    assert check(council, prepared_proof(council, [0, 1, 2, 3])) is None
    assert check(council, prepared_proof(council, [0, 1, 2, 3, 4])) is None


# -- planning NEW-VIEW's O set ------------------------------------------------------------------


class Planner:
    """Builds checked view-change summaries for a council of seven."""

    def __init__(self, council: Council) -> None:
        self.council = council
        self.batches: dict[tuple[int, int], tuple[Envelope, ...]] = {}

    def batch(self, view: int, seq: int) -> tuple[Envelope, ...]:
        key = (view, seq)
        if key not in self.batches:
            client = ("alice", "bob", "carol")[view % 3]
            self.batches[key] = (self.council.request(client, 10 * view + seq),)
        return self.batches[key]

    def summary(
        self, replica: int, prepared: list[tuple[int, int]], stable_seq: int = 0
    ) -> ViewChangeSummary:
        """``replica``'s view-change for view 3, with prepared (view, seq) entries."""
        entries = []
        for view, seq in prepared:
            envelope = self.council.pre_prepare(view, seq, self.batch(view, seq))
            message = decode(envelope)
            assert isinstance(message, PrePrepare)
            entries.append((message, envelope.detached()))
        return ViewChangeSummary(
            replica=replica,
            new_view=3,
            stable_seq=stable_seq,
            checkpoint_proof=(),
            prepared=tuple(entries),
            batches={seq: self.batch(view, seq) for view, seq in prepared},
        )

    def digest(self, view: int, seq: int) -> str:
        return batch_digest(self.batch(view, seq))


def assignments(summaries: list[ViewChangeSummary]) -> list[tuple[int, str]]:
    return [(a.seq, a.digest) for a in plan_new_view(3, summaries).assignments]


def test_o_takes_for_each_seq_the_digest_prepared_in_the_highest_view(council: Council) -> None:
    planner = Planner(council)
    summaries = [
        planner.summary(0, [(0, 1), (2, 2)]),
        planner.summary(1, [(1, 1), (0, 2)]),
        planner.summary(2, []),
    ]
    for order in itertools.permutations(summaries):
        assert assignments(list(order)) == [(1, planner.digest(1, 1)), (2, planner.digest(2, 2))]
    plan = plan_new_view(3, summaries)
    assert [a.requests for a in plan.assignments] == [planner.batch(1, 1), planner.batch(2, 2)]


def test_o_fills_every_gap_up_to_the_highest_prepared_seq_with_null(council: Council) -> None:
    planner = Planner(council)
    summaries = [planner.summary(0, [(0, 2)]), planner.summary(1, [(1, 5)]), planner.summary(2, [])]
    assert assignments(summaries) == [
        (1, NULL_DIGEST),
        (2, planner.digest(0, 2)),
        (3, NULL_DIGEST),
        (4, NULL_DIGEST),
        (5, planner.digest(1, 5)),
    ]
    nulls = [a for a in plan_new_view(3, summaries).assignments if a.digest == NULL_DIGEST]
    assert all(a.requests == () for a in nulls)


def test_o_starts_above_the_highest_stable_checkpoint_in_v(council: Council) -> None:
    planner = Planner(council)
    summaries = [
        planner.summary(0, [(0, 3), (0, 5)], stable_seq=0),
        planner.summary(1, [(1, 6)], stable_seq=4),
        planner.summary(2, [], stable_seq=2),
    ]
    plan = plan_new_view(3, summaries)
    assert plan.stable_seq == 4
    assert assignments(summaries) == [(5, planner.digest(0, 5)), (6, planner.digest(1, 6))]


def test_o_is_empty_when_nothing_was_prepared(council: Council) -> None:
    planner = Planner(council)
    summaries = [planner.summary(i, [], stable_seq=2) for i in range(5)]
    plan = plan_new_view(3, summaries)
    assert (plan.stable_seq, plan.assignments) == (2, ())

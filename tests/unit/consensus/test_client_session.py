"""A client accepts a result only when f + 1 distinct replicas report it."""

from __future__ import annotations

import pytest

from consensus.client import ClientSession, Completed
from consensus.messages import ReplyEntry
from tests.regressions.harness import Council


def session_of(n: int) -> tuple[ClientSession, ReplyEntry]:
    council = Council(n)
    session = ClientSession(council.quorums, council.signer("alice"))
    request = session.submit("transfer", now_ms=0)
    assert request.sender == "alice"
    return session, ("alice", 1, "ok")


@pytest.mark.parametrize("n", [4, 7, 10])
def test_f_plus_1_matching_replies_complete_a_request(n: int) -> None:
    session, entry = session_of(n)
    weak = session.quorums.weak
    outcomes = [session.on_reply(replica, 0, entry, now_ms=5) for replica in range(weak)]
    assert outcomes[:-1] == [None] * (weak - 1)
    assert outcomes[-1] == Completed(timestamp=1, result="ok", submitted_ms=0, completed_ms=5)
    assert session.outstanding == {}


@pytest.mark.parametrize("n", [4, 7, 10])
def test_f_byzantine_replies_with_a_wrong_result_do_not_fool_the_client(n: int) -> None:
    session, entry = session_of(n)
    f = session.quorums.f
    lie = ("alice", 1, "forged")
    for replica in range(f):
        assert session.on_reply(replica, 0, lie, now_ms=1) is None
    honest = range(f, n)
    outcomes = [session.on_reply(replica, 0, entry, now_ms=2) for replica in honest]
    completed = [outcome for outcome in outcomes if outcome is not None]
    assert [c.result for c in completed] == ["ok"]
    assert outcomes.index(completed[0]) == f  # after exactly f + 1 honest replies


@pytest.mark.parametrize("n", [4, 7])
def test_one_replica_repeating_its_reply_counts_once(n: int) -> None:
    session, entry = session_of(n)
    for _ in range(n):
        assert session.on_reply(0, 0, entry, now_ms=1) is None
    changed_mind = ("alice", 1, "other")
    assert session.on_reply(0, 0, changed_mind, now_ms=1) is None
    assert 1 in session.outstanding


def test_replies_about_another_client_or_request_are_ignored() -> None:
    session, _ = session_of(4)
    for replica in range(4):
        assert session.on_reply(replica, 0, ("bob", 1, "ok"), now_ms=1) is None
        assert session.on_reply(replica, 0, ("alice", 2, "ok"), now_ms=1) is None
    assert 1 in session.outstanding


def test_one_faulty_reply_cannot_send_the_next_request_to_a_far_view() -> None:
    session, entry = session_of(7)  # f = 2, weak certificate 3
    assert session.on_reply(1, 1, entry, now_ms=1) is None
    assert session.on_reply(2, 1, entry, now_ms=1) is None
    # The faulty reply completes the request and claims view 1000.
    assert session.on_reply(0, 1_000, entry, now_ms=1) is not None
    assert session.view_hint == 1
    follow_up = session.submit("next", now_ms=2)
    sends = [e for e in session.take_effects() if getattr(e, "envelope", None) == follow_up]
    assert [getattr(e, "to", None) for e in sends] == ["r1"]  # the primary of view 1 of 7


def complete(session: ClientSession, timestamp: int, now_ms: int) -> None:
    entry = (session.principal, timestamp, "ok")
    for replica in range(session.quorums.weak):
        session.on_reply(replica, 0, entry, now_ms)
    assert timestamp not in session.outstanding


def test_the_first_wait_adapts_to_the_councils_latency_and_never_drops_below_the_floor() -> None:
    council = Council(4)
    session = ClientSession(council.quorums, council.signer("alice"), retransmit_timeout_ms=2_000)
    assert session.first_timeout_ms() == 2_000
    now = 0
    for timestamp in range(1, 21):  # answered in 3 s (no tick: no retransmission)
        session.submit(f"op-{timestamp}", now)
        complete(session, timestamp, now + 3_000)
        now += 3_000
    # Smoothed 3 s, its variation decaying towards 0: the wait settles just above 3 s.
    assert 3_000 < session.first_timeout_ms() < 4_000
    for timestamp in range(21, 61):  # the council speeds up
        session.submit(f"op-{timestamp}", now)
        complete(session, timestamp, now + 100)
        now += 100
    assert session.first_timeout_ms() == 2_000  # the floor


def test_a_wait_that_ran_out_stays_doubled_until_an_answer_comes_in_time() -> None:
    council = Council(4)
    session = ClientSession(council.quorums, council.signer("alice"), retransmit_timeout_ms=2_000)
    session.submit("slow", now_ms=0)
    session.tick(now_ms=2_000)  # no answer within 2 s: broadcast, and wait 4 s
    assert [type(e).__name__ for e in session.take_effects()] == ["Send", "Broadcast"]
    complete(session, 1, now_ms=3_500)  # answered after the retransmission: no sample (Karn)
    assert session.latency.smoothed_ms is None
    assert session.first_timeout_ms() == 4_000  # the next request does not storm at 2 s
    session.submit("next", now_ms=4_000)
    session.tick(now_ms=7_000)  # 3 s in: within the doubled wait, nothing is broadcast
    assert [type(e).__name__ for e in session.take_effects()] == ["Send"]
    complete(session, 2, now_ms=7_500)  # in time: a sample, and the back-off is over
    assert session.backed_off_ms == 0 and session.latency.smoothed_ms == 3_500

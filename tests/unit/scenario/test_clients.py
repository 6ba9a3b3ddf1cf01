"""The scenario's clients: planned motions, one request outstanding per principal, closes."""

from __future__ import annotations

import json

import crypto
from consensus import Broadcast, QuorumMath, Reply, Request, Send, decode, seal
from consensus.client import ClientSession
from council.scenario.clients import GovernanceClients
from council.scenario.voting import Ballot, PlannedMotion

QUORUMS = QuorumMath.for_council(4)
WINDOW_MS = 5_000


def session(name: str) -> ClientSession:
    key = crypto.PrivateKey.derive(1, name)
    return ClientSession(QUORUMS, crypto.Signer("test-council", name, key, crypto.get_backend()))


def motion(motion_id: str, at_ms: int) -> PlannedMotion:
    return PlannedMotion(motion_id, f"title {motion_id}", "", "budget", at_ms, merit=0.5)


def operations(clients: GovernanceClients) -> list[tuple[str, dict[str, object]]]:
    sent = []
    for effect in clients.take_effects():
        assert isinstance(effect, Send | Broadcast)
        request = decode(effect.envelope)
        assert isinstance(request, Request)
        sent.append((request.client, json.loads(request.operation)))
    return sent


def clients_for(*motions: PlannedMotion, ballot: Ballot | None = None) -> GovernanceClients:
    return GovernanceClients(
        [session("secretariat"), session("r0"), session("r1")],
        motions,
        lambda _: WINDOW_MS,
        lambda seat, m, now: ballot,
    )


def test_motions_are_submitted_at_their_planned_time() -> None:
    clients = clients_for(motion("M-1", 100))
    assert clients.next_deadline_ms() == 100
    clients.start(0)
    assert operations(clients) == []
    clients.tick(100)
    [(client, operation)] = operations(clients)
    assert client == "secretariat"
    assert operation["op"] == "motion" and operation["id"] == "M-1" and operation["at_ms"] == 100


def test_a_principal_keeps_one_request_outstanding_and_queues_the_rest() -> None:
    clients = clients_for(motion("M-1", 100), motion("M-2", 100))
    clients.tick(100)
    assert [op["id"] for _, op in operations(clients)] == ["M-1"]
    assert len(clients.submitted) == 1, "M-2 waits until M-1 is answered"


def test_an_opening_casts_the_seat_ballot_after_its_think_time_and_plans_the_close() -> None:
    clients = clients_for(motion("M-1", 100), ballot=Ballot("yes", think_ms=40))
    clients.opened(seat=2, motion_id="M-1", now_ms=300)
    clients.opened(seat=2, motion_id="M-1", now_ms=310)  # a second execution: no second vote
    assert clients.ballots_cast == {(2, "M-1"): "yes"}
    clients.tick(339)
    assert all(op["op"] != "ballot" for _, op in operations(clients))
    clients.tick(340)
    assert operations(clients) == [("r1", {"motion": "M-1", "op": "ballot", "vote": "yes"})]
    clients.tick(100 + WINDOW_MS)
    close = ("secretariat", {"at_ms": 100 + WINDOW_MS, "motion": "M-1", "op": "close"})
    assert close not in operations(clients), "queued behind the unanswered motion"
    answer_motion(clients, now_ms=100 + WINDOW_MS + 1)
    assert operations(clients) == [close]


def answer_motion(clients: GovernanceClients, now_ms: int) -> None:
    """f + 1 replicas reply to the secretariat's first request."""
    result = ("secretariat", 1, '{"event":"opened","motion":"M-1"}')
    for replica in range(QUORUMS.weak):
        principal = f"r{replica}"
        key = crypto.PrivateKey.derive(1, principal)
        signer = crypto.Signer("test-council", principal, key, crypto.get_backend())
        reply = Reply(view=0, seq=1, replica=replica, results=(result,))
        clients.receive(seal(signer, reply), now_ms)


def test_a_withheld_ballot_is_never_sent() -> None:
    clients = clients_for(motion("M-1", 0), ballot=None)
    clients.opened(seat=1, motion_id="M-1", now_ms=10)
    clients.tick(1_000)
    assert all(op["op"] != "ballot" for _, op in operations(clients))
    assert clients.ballots_cast == {}


def test_done_when_every_motion_is_decided() -> None:
    clients = clients_for(motion("M-1", 0), motion("M-2", 0))
    clients.decided_motion("M-1")
    assert not clients.done
    clients.decided_motion("M-2")
    assert clients.done

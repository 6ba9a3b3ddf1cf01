"""Twins: two correct copies of one seat conflict exactly when their groups differ."""

from __future__ import annotations

from collections import defaultdict

from consensus import Broadcast, Execute, Send
from consensus.messages import PrePrepare
from council.behaviours import ALWAYS, TwinPair, Window
from tests.unit.behaviours.support import Link

GROUP_A, GROUP_B = frozenset({1, 2}), frozenset({3})


def _pre_prepares(link: Link) -> dict[tuple[int, int], dict[str, set[str]]]:
    """(view, seq) → digest → the seats that were sent that version."""
    found: dict[tuple[int, int], dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    for effect in link.effects(0, Send):
        message = link.verifier.open_as(effect.envelope, PrePrepare)
        if message is not None:
            found[(message.view, message.seq)][message.digest].add(effect.to)
    return found


def _twin_primary(link: Link, window: Window = ALWAYS) -> TwinPair:
    pair = link.wrap(0, "twins", window, twin=link.new_replica(0), groups=(GROUP_A, GROUP_B))
    assert isinstance(pair, TwinPair)
    return pair


def test_twins_sign_the_same_messages_while_their_groups_show_them_the_same_inputs() -> None:
    link = Link(4, batch_size_max=2)
    _twin_primary(link)
    link.submit(link.request("alice", "x"))
    link.advance(10)
    versions = _pre_prepares(link)
    assert list(versions) == [(0, 1)]
    assert list(versions[(0, 1)].values()) == [{"r1", "r2", "r3"}]
    pre_prepare_signatures = {
        e.envelope.signature for e in link.effects(0, Send) if e.envelope.kind == "pre-prepare"
    }
    assert len(pre_prepare_signatures) == 1, "the very same signed message, from both copies"
    assert not link.effects(0, Broadcast), "each copy speaks to its own group only"


def test_twins_sign_conflicting_pre_prepares_once_their_groups_differ() -> None:
    link = Link(4, batch_size_max=2)
    pair = _twin_primary(link)
    link.submit(link.request("alice", "x"))
    link.advance(10)
    # Group A (with copy A) holds a quorum and commits seq 1; copy B's group cannot, so copy B
    # still has seq 1 in flight when the next requests come and batches them differently.
    copy_a, copy_b = pair.copies
    assert (link.replicas[0].last_executed, getattr(copy_b, "last_executed", None)) == (1, 0)
    assert copy_a is link.replicas[0]
    link.submit(link.request("alice", "y"))
    link.advance(link.now_ms + 3)
    link.submit(link.request("bob", "z"))
    link.advance(link.now_ms + 10)
    conflicts = {slot: v for slot, v in _pre_prepares(link).items() if len(v) > 1}
    assert list(conflicts) == [(0, 2)]
    assert sorted(sorted(seats) for seats in conflicts[(0, 2)].values()) == [["r1", "r2"], ["r3"]]


def test_the_council_catches_the_twins_and_stays_in_agreement() -> None:
    link = Link(4, batch_size_max=2)
    _twin_primary(link)
    for client, operation, wait_ms in (("alice", "x", 10), ("alice", "y", 3), ("bob", "z", 10)):
        link.submit(link.request(client, operation))
        link.advance(link.now_ms + wait_ms)
    link.advance(link.now_ms + 10_000)
    assert {(e.kind, e.culprit) for i in link.honest for e in link.evidence(i)} == {
        ("equivocation", 0)
    }
    assert all(sorted(link.executed_ops(i)) == ["x", "y", "z"] for i in link.honest)
    assert link.logs_agree()


def test_outside_the_window_the_pair_is_copy_a_alone_and_copy_b_keeps_up() -> None:
    link = Link(4)
    pair = _twin_primary(link, Window(10_000))
    operations = []
    for k in range(3):
        operations.append(f"a{k}")
        link.submit(link.request("alice", f"a{k}"))
        link.advance(link.now_ms + 100)
    copy_a, copy_b = link.replicas[0], pair.copies[1]
    assert link.effects(0, Broadcast) and not link.effects(0, Send)
    assert len(link.effects(0, Execute)) == copy_a.last_executed == 3
    assert getattr(copy_b, "last_executed", None) == 3, "copy B heard everything"
    assert all(link.executed_ops(i) == operations for i in link.honest)

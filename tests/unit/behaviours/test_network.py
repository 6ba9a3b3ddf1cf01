"""Silent, slow and omitting seats: a bad link at one seat, around a correct replica."""

from __future__ import annotations

import pytest

from consensus import Broadcast, Envelope, Persist, Send, replica_principal, seal
from consensus.messages import Heartbeat, Prepare, PrePrepare
from council.behaviours import Window, wrap
from tests.unit.behaviours.support import Link, ScriptedNode


def _order(link: Link, count: int, prefix: str = "a", every_ms: int = 100) -> list[str]:
    operations = [f"{prefix}{k}" for k in range(count)]
    for operation in operations:
        link.submit(link.request("alice", operation))
        link.advance(link.now_ms + every_ms)
    return operations


# -- silent ----------------------------------------------------------------------------------


def test_a_silent_seat_neither_speaks_nor_hears_while_the_others_order_without_it() -> None:
    link = Link(4)
    link.wrap(1, "silent", Window(0, 1_000))
    operations = _order(link, 3)
    assert link.messages(1) == []
    silent = link.replicas[1]
    assert silent.last_executed == 0 and not silent.pending and not silent.slots
    assert all(link.executed_ops(i) == operations for i in (0, 2, 3))


def test_after_a_short_silence_the_seat_catches_up_by_itself() -> None:
    link = Link(4)
    link.wrap(1, "silent", Window(0, 1_000))
    before = _order(link, 3)
    link.advance(1_000)
    after = _order(link, 3, prefix="b", every_ms=500)
    link.advance(link.now_ms + 5_000)
    assert link.executed_ops(1) == before + after
    assert link.messages(1), "it speaks again after its window"
    assert link.logs_agree()


# -- slow ------------------------------------------------------------------------------------


def test_a_slow_seat_sends_each_message_exactly_delay_ms_later_in_order() -> None:
    link = Link(4)
    link.wrap(1, "slow", delay_ms=30)
    link.submit(link.request("alice", "x"))
    link.advance(100)
    pre_prepared_ms = next(t for t, e in link.out[0] if isinstance(e, Broadcast))
    sent = [(t, e) for t, e in link.out[1] if isinstance(e, Broadcast)]
    kinds = [e.envelope.kind for _, e in sent]
    assert kinds[:2] == ["prepare", "commit"]  # the order the replica produced them in
    assert [t for t, _ in sent[:2]] == [pre_prepared_ms + 30] * 2
    persisted_ms = [t for t, e in link.out[1] if isinstance(e, Persist)]
    assert persisted_ms[0] == pre_prepared_ms, "what is not a message is not held"
    assert all(link.executed_ops(i) == ["x"] for i in range(4))


def test_a_slow_seat_asks_to_be_ticked_when_its_oldest_held_message_is_due() -> None:
    link = Link(4)
    slow = link.wrap(1, "slow", Window(0, 1_000), delay_ms=30)
    link.deliver(link.request("alice", "x"), 0)
    link.advance(2)  # the primary's batch wait: its pre-prepare reaches the slow seat at 2 ms
    assert link.sent(0, PrePrepare) and not link.sent(1, Prepare)
    assert slow.next_deadline_ms() == 32
    link.advance(31)
    assert not link.sent(1, Prepare)
    link.advance(32)
    assert len(link.sent(1, Prepare)) == 1


def test_after_its_window_a_slow_seat_sends_at_once() -> None:
    link = Link(4)
    link.wrap(1, "slow", Window(0, 1_000), delay_ms=30)
    link.advance(1_500)
    link.submit(link.request("alice", "x"))
    link.advance(1_600)
    prepared_at = [t for t, e in link.out[1] if isinstance(e, Broadcast)]
    pre_prepared_at = [t for t, e in link.out[0] if isinstance(e, Broadcast)]
    assert prepared_at[0] == pre_prepared_at[-1] < 1_530


# -- omit ------------------------------------------------------------------------------------


def _prepare_targets(link: Link, seat: int) -> list[str]:
    return [
        effect.to if isinstance(effect, Send) else "*"
        for _, effect in link.out[seat]
        if isinstance(effect, Send | Broadcast) and effect.envelope.kind == "prepare"
    ]


def test_omitting_both_ways_cuts_exactly_the_named_peers() -> None:
    link = Link(4)
    link.wrap(1, "omit", peers=frozenset({2}), direction="both")
    link.submit(link.request("alice", "x"))
    link.advance(100)
    assert _prepare_targets(link, 1) == [replica_principal(0), replica_principal(3)]
    slot = link.replicas[1].slots[1]
    assert 2 not in slot.prepares.by_sender and 3 in slot.prepares.by_sender
    assert 1 not in link.replicas[2].slots[1].prepares.by_sender
    assert all(link.executed_ops(i) == ["x"] for i in range(4))


def _heartbeat(link: Link, replica: int) -> Envelope:
    message = Heartbeat(view=0, replica=replica, last_seq=0)
    return seal(link.signers[replica_principal(replica)], message)


@pytest.mark.parametrize(
    ("direction", "heard_from", "sent_to"),
    [
        ("in", ["r1", "alice"], ["*", "r2", "r3", "alice"]),
        ("out", ["r1", "r2", "alice"], ["r1", "r3", "r3", "alice"]),
        ("both", ["r1", "alice"], ["r1", "r3", "r3", "alice"]),
    ],
)
def test_omit_drops_what_comes_from_and_goes_to_the_peers_in_its_direction(
    direction: str, heard_from: list[str], sent_to: list[str]
) -> None:
    link = Link(4)
    inner = ScriptedNode()
    node = wrap("omit", inner, link.context(0), peers=frozenset({2}), direction=direction)
    for envelope in (_heartbeat(link, 1), _heartbeat(link, 2), link.request("alice")):
        node.receive(envelope, 0)
    assert [envelope.sender for envelope in inner.heard] == heard_from
    message = _heartbeat(link, 0)
    inner.queued = [Broadcast(message), Send("r2", message), Send("r3", message)]
    inner.queued.append(Send("alice", message))  # clients are never cut off
    sent = [effect.to if isinstance(effect, Send) else "*" for effect in node.take_effects()]
    assert sent == sent_to

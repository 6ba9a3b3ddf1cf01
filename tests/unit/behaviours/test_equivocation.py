"""Equivocation: two signed versions of one slot, and the evidence honest replicas draw."""

from __future__ import annotations

from consensus import Send
from consensus.messages import Prepare, PrePrepare, decode
from tests.unit.behaviours.support import Link


def _order(link: Link, count: int) -> list[str]:
    operations = [f"a{k}" for k in range(count)]
    for operation in operations:
        link.submit(link.request("alice", operation))
        link.advance(link.now_ms + 100)
    return operations


def test_an_equivocating_primary_shows_the_halves_two_batches_for_one_seq() -> None:
    link = Link(4)
    link.wrap(0, "equivocate")
    link.submit(link.request("alice", "x"))
    link.advance(10)
    pre_prepares = [
        (effect.to, decode(effect.envelope))
        for effect in link.effects(0, Send)
        if effect.envelope.kind == "pre-prepare"
    ]
    by_target = {to: message for to, message in pre_prepares}
    assert set(by_target) == {"r1", "r2", "r3"}
    assert all(isinstance(m, PrePrepare) and m.seq == 1 for m in by_target.values())
    assert by_target["r1"] == by_target["r3"] != by_target["r2"]


def test_an_equivocating_primary_is_caught_and_replaced_and_the_council_agrees() -> None:
    link = Link(4)
    link.wrap(0, "equivocate")
    operations = _order(link, 3)
    link.advance(link.now_ms + 10_000)
    culprits = {(e.kind, e.culprit) for i in link.honest for e in link.evidence(i)}
    assert culprits == {("equivocation", 0)}
    assert all(link.replicas[i].view >= 1 for i in link.honest)
    assert all(link.executed_ops(i) == operations for i in link.honest)
    assert link.logs_agree()


def test_an_equivocating_backup_votes_two_ways_and_a_replica_shown_both_has_proof() -> None:
    link = Link(4)
    link.wrap(1, "equivocate")
    operations = _order(link, 1)
    assert all(link.executed_ops(i) == operations for i in link.honest)
    votes = {
        (to, message.kind, message.digest)
        for to, message in (
            (effect.to, decode(effect.envelope)) for effect in link.effects(1, Send)
        )
        if isinstance(message, Prepare)
    }
    assert len({digest for _, _, digest in votes}) == 2
    assert not any(link.evidence(i) for i in link.honest)
    # Replica 3 heard the other version; gossip or a retransmitted certificate shows it to 2.
    shown = [e for e in link.received[3] if e.sender == "r1" and e.kind in ("prepare", "commit")]
    for envelope in shown:
        link.deliver(envelope, 2)
    assert {(e.kind, e.culprit) for e in link.evidence(2)} == {("equivocation", 1)}


def test_in_a_council_that_relays_votes_an_equivocating_backup_still_votes_two_ways() -> None:
    link = Link(4, relay_votes=True)
    link.wrap(1, "equivocate")
    operations = _order(link, 1)
    assert all(link.executed_ops(i) == operations for i in link.honest)
    prepares = {
        effect.to: decode(effect.envelope)
        for effect in link.effects(1, Send)
        if effect.envelope.kind == "prepare"
    }
    # Meant for the primary alone, the vote reaches every replica, in two versions.
    assert set(prepares) == {"r0", "r2", "r3"}
    assert prepares["r0"] == prepares["r2"] != prepares["r3"]

"""Replaying seats re-send their own old messages; censoring seats never hear some requests."""

from __future__ import annotations

import pytest

from consensus import Broadcast, Envelope, Execute, Send, seal
from consensus.messages import Commit, Prepare
from council.behaviours import Censor, motion_category, wrap
from tests.unit.behaviours.support import Link, ScriptedNode, motion


def _order(link: Link, count: int) -> list[str]:
    operations = [f"a{k}" for k in range(count)]
    for operation in operations:
        link.submit(link.request("alice", operation))
        link.advance(link.now_ms + 100)
    return operations


# -- replay ----------------------------------------------------------------------------------


def test_a_replaying_seat_re_sends_its_own_old_messages_and_nothing_else_changes() -> None:
    link = Link(4)
    link.wrap(1, "replay")
    operations = _order(link, 4)
    sent = link.messages(1)
    earlier: set[str] = set()
    replays = 0
    for _, effect in link.out[1]:
        if isinstance(effect, Broadcast) and effect.envelope.signature in earlier:
            replays += 1  # a copy of something this seat already said
        if isinstance(effect, Send | Broadcast):
            earlier.add(effect.envelope.signature)
    assert replays >= 4
    assert all(envelope.sender == "r1" for envelope in sent)
    verifier = link.fresh_verifier()
    assert all(verifier.verify(envelope) for envelope in sent)
    # Stale duplicates are not equivocation: nobody accuses the replaying seat.
    assert not any(link.evidence(i) for i in link.honest)
    assert all(link.executed_ops(i) == operations for i in link.honest)
    assert link.logs_agree()


def test_replay_history_is_bounded() -> None:
    link = Link(4)
    inner = ScriptedNode()
    context = link.context(1)
    node = wrap("replay", inner, context, history_max=2)
    messages = [
        seal(context.signer, Prepare(view=0, seq=seq, digest="d" * 64, replica=1))
        for seq in range(1, 6)
    ]
    replayed: list[Envelope] = []
    for envelope in messages:
        inner.queued = [Broadcast(envelope)]
        effects = node.take_effects()
        assert effects[0] == Broadcast(envelope)
        replayed.extend(effect.envelope for effect in effects[1:] if isinstance(effect, Broadcast))
    assert len(replayed) == 4
    assert replayed[-1] in messages[2:4], "only the last two messages are remembered"


# -- censor ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("operation", "category"),
    [
        (motion("M-1", "budget"), "budget"),
        ('{"op":"ballot","motion":"M-1","vote":"yes"}', None),
        ('{"op":"motion","category":5}', None),
        ('{"op":"motion"}', None),
        ("[1, 2]", None),
        ("{not json", None),
        ("[" * 100_000, None),
        ("", None),
    ],
)
def test_the_category_of_a_motion_is_read_defensively(operation: str, category: str | None) -> None:
    assert motion_category(operation) == category


def test_a_censor_drops_only_matching_motions_and_listed_submitters() -> None:
    link = Link(4)
    inner = ScriptedNode()
    node = wrap("censor", inner, link.context(0), categories=["budget"], submitters=["bob"])
    requests = {
        "budget motion": link.request("secretariat", motion("M-1", "budget")),
        "environment motion": link.request("secretariat", motion("M-2", "environment")),
        "ballot on the budget motion": link.request("alice", '{"op":"ballot","motion":"M-1"}'),
        "not json": link.request("alice", "budget"),
        "bob's ballot": link.request("bob", '{"op":"ballot","motion":"M-2","vote":"no"}'),
    }
    for envelope in requests.values():
        node.receive(envelope, 0)
    heard = [name for name, envelope in requests.items() if envelope in inner.heard]
    assert heard == ["environment motion", "ballot on the budget motion", "not json"]
    assert isinstance(node, Censor) and node.censored == 2


def test_a_censoring_primary_is_replaced_and_the_motion_is_decided_anyway() -> None:
    link = Link(4)
    link.wrap(0, "censor", categories=["budget"])
    censored = link.request("secretariat", motion("M-1", "budget"))
    link.submit(censored)
    link.advance(100)
    assert not any(link.effects(i, Execute) for i in range(4)), "the primary never proposed it"
    link.advance(10_000)
    for i in link.honest:
        assert link.replicas[i].view >= 1
        assert link.executed_ops(i) == [motion("M-1", "budget")]


def test_a_relaying_primary_replays_only_what_it_signed() -> None:
    link = Link(4)
    inner = ScriptedNode()
    context = link.context(0)
    node = wrap("replay", inner, context)
    others_vote = seal(link.context(2).signer, Prepare(view=0, seq=1, digest="d" * 64, replica=2))
    own = seal(context.signer, Commit(view=0, seq=1, digest="d" * 64, replica=0))
    for envelope in (others_vote, own, others_vote, others_vote):
        inner.queued = [Broadcast(envelope)]
        effects = node.take_effects()
    replayed = [effect.envelope for effect in effects[1:] if isinstance(effect, Broadcast)]
    assert replayed == [own], "a relayed vote is not this seat's to replay"

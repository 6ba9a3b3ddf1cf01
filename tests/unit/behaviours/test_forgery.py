"""Forged messages fail every verifier; corrupted ones verify but never count."""

from __future__ import annotations

import pytest

from consensus import Execute, replica_principal
from consensus.messages import Checkpoint, Commit, Prepare, PrePrepare
from council.behaviours import FORGE_MODES
from tests.unit.behaviours.support import Link


def _order(link: Link, count: int) -> list[str]:
    operations = [f"a{k}" for k in range(count)]
    for operation in operations:
        link.submit(link.request("alice", operation))
        link.advance(link.now_ms + 100)
    return operations


# -- forge -----------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", FORGE_MODES)
def test_every_forged_message_fails_signature_verification(mode: str) -> None:
    link = Link(4)
    link.wrap(1, "forge", mode=mode)
    operations = _order(link, 2)
    forged = link.messages(1)
    assert {e.kind for e in forged} >= {"prepare", "commit", "reply"}
    verifier = link.fresh_verifier()
    assert not any(verifier.verify(envelope) for envelope in forged)
    assert link.edge_rejections >= len(forged)
    if mode == "impersonate":
        assert all(e.sender != replica_principal(1) for e in forged)
    # Nothing forged got in: the others ordered without the forger's votes.
    for i in link.honest:
        assert all(1 not in slot.prepares.by_sender for slot in link.replicas[i].slots.values())
        assert link.executed_ops(i) == operations
    genuine_replies = [reply for reply in link.replies if verifier.verify(reply)]
    assert {reply.sender for reply in genuine_replies} == {"r0", "r2", "r3"}


# -- corrupt ---------------------------------------------------------------------------------


def test_corrupted_votes_and_checkpoints_verify_but_never_join_a_certificate() -> None:
    link = Link(4, checkpoint_interval=2, watermark_window=8)
    link.wrap(3, "corrupt")
    operations = _order(link, 4)
    corrupted = link.messages(3)
    assert {e.kind for e in corrupted} >= {"prepare", "commit", "checkpoint"}
    verifier = link.fresh_verifier()
    assert all(verifier.verify(envelope) for envelope in corrupted)
    honest_digests = {execute.digest for execute in link.effects(0, Execute)}
    for _, vote in link.sent(3, Prepare) + link.sent(3, Commit):
        assert vote.digest not in honest_digests
    assert all(link.executed_ops(i) == operations for i in link.honest)
    for i in link.honest:
        for execute in link.effects(i, Execute):
            assert all(vote.sender != replica_principal(3) for vote in execute.certificate)
        replica = link.replicas[i]
        assert replica.stable_seq == 4
        assert replica_principal(3) not in {vote.sender for vote in replica.stable_certificate}
    state_digests = {m.state_digest for i in link.honest for _, m in link.sent(i, Checkpoint)}
    assert not state_digests & {m.state_digest for _, m in link.sent(3, Checkpoint)}


def test_a_corrupting_primary_is_never_followed_and_is_replaced() -> None:
    link = Link(4)
    link.wrap(0, "corrupt")
    operations = _order(link, 3)
    link.advance(link.now_ms + 10_000)
    corrupted = link.sent(0, PrePrepare)
    verifier = link.fresh_verifier()
    assert corrupted and all(verifier.verify(envelope) for envelope, _ in corrupted)
    window = link.config.watermark_window
    shifted = {(m.view, m.seq) for _, m in corrupted}
    assert all(view == 1 or seq > window for view, seq in shifted)
    assert len({view for view, _ in shifted}) == 2, "both fields were drawn"
    # A seq beyond the window is refused at once; a view ahead is held, then refused when
    # that view starts under another primary. No backup prepares anything of view 0.
    for i in link.honest:
        heard = [e for e in link.received[i] if e.sender == "r0" and e.kind == "pre-prepare"]
        rejected = link.replicas[i].rejected
        refused = rejected.get("pre-prepare-outside-watermarks", 0)
        refused += rejected.get("pre-prepare-not-from-primary", 0)
        assert refused == len(heard) > 0
        assert all(message.view >= 1 for _, message in link.sent(i, Prepare))
        assert link.executed_ops(i) == operations
    assert link.logs_agree()

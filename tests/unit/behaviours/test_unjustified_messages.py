"""Messages beyond the watermarks and view changes nobody asked for: signed, and refused."""

from __future__ import annotations

from consensus import Broadcast
from consensus.messages import Prepare, PrePrepare, ViewChange
from council.behaviours import Window
from council.behaviours.view_change import FAR_VIEWS_AHEAD
from tests.unit.behaviours.support import Link


def _order(link: Link, count: int) -> list[str]:
    operations = [f"a{k}" for k in range(count)]
    for operation in operations:
        link.submit(link.request("alice", operation))
        link.advance(link.now_ms + 100)
    return operations


# -- out of watermarks -----------------------------------------------------------------------


def test_pre_prepares_beyond_the_high_watermark_are_refused_by_every_backup() -> None:
    link = Link(4)
    link.wrap(0, "out-of-watermarks")
    operations = _order(link, 3)
    window = link.config.watermark_window
    far = [m for _, m in link.sent(0, PrePrepare) if m.seq > window]
    assert len(far) == 3 and all(m.seq >= 2 * window for m in far)
    for i in link.honest:
        replica = link.replicas[i]
        assert replica.rejected["pre-prepare-outside-watermarks"] == 3
        assert all(seq <= window for seq in replica.slots)
        assert link.executed_ops(i) == operations
    assert all(link.replicas[i].view == 0 for i in link.honest)


def test_prepares_beyond_the_high_watermark_are_refused() -> None:
    link = Link(4)
    link.wrap(1, "out-of-watermarks")
    operations = _order(link, 2)
    window = link.config.watermark_window
    far = [m for _, m in link.sent(1, Prepare) if m.seq > window]
    assert len(far) == 2
    for i in link.honest:
        assert link.replicas[i].rejected["prepare-outside-watermarks"] == 2
        assert link.executed_ops(i) == operations


# -- bogus view changes ----------------------------------------------------------------------


def test_bogus_view_changes_alone_never_move_an_honest_replica() -> None:
    link = Link(4)
    link.wrap(3, "bogus-view-change", every_ms=100)
    operations = _order(link, 5)
    link.advance(2_000)
    bogus = [m for _, m in link.sent(3, ViewChange)]
    assert len(bogus) >= 10
    assert all(m.new_view >= FAR_VIEWS_AHEAD for m in bogus)
    for i in link.honest:
        assert link.replicas[i].view == 0 and link.replicas[i].active
        assert link.executed_ops(i) == operations
        # The unproven ones are recorded as a lone voice; the fabricated ones are evidence.
        kinds = {(e.kind, e.culprit) for e in link.evidence(i)}
        assert kinds == {("invalid-view-change", 3)}


def test_f_seats_sending_bogus_view_changes_together_still_move_nobody() -> None:
    link = Link(7)  # f = 2
    for seat in (5, 6):
        link.wrap(seat, "bogus-view-change", every_ms=100)
    operations = _order(link, 3)
    link.advance(3_000)
    for i in link.honest:
        assert link.replicas[i].view == 0 and link.replicas[i].active
        assert link.executed_ops(i) == operations


def test_bogus_view_changes_go_out_every_every_ms_inside_the_window_only() -> None:
    link = Link(4)
    link.wrap(3, "bogus-view-change", Window(500, 1_000), every_ms=200)
    link.advance(3_000)
    sent_at = [
        t
        for t, effect in link.out[3]
        if isinstance(effect, Broadcast) and effect.envelope.kind == "view-change"
    ]
    assert sent_at == [500, 700, 900]
    assert all(link.replicas[i].view == 0 for i in link.honest)

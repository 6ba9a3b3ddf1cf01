"""Named regressions for view changes (OSDI'99 §4.4–4.5): NEW-VIEW's O set, VIEW-CHANGE's P
set, silent primaries, back-off and joining a view change."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import pytest

import consensus.view_change as view_change_rules
from consensus import NULL_DIGEST, Envelope, Send, replica_principal
from consensus.messages import (
    Heartbeat,
    Prepare,
    PrePrepare,
    Status,
    Suspect,
    ViewChange,
    batch_digest,
)
from tests.regressions.harness import Council

Batch = tuple[Envelope, ...]


# -- NEW-VIEW's O set -----------------------------------------------------------------------------


class GapScenario:
    """View 0 prepared bob's request at seq 2 but lost seq 1, so the honest O for view 1 is
    ``[null at 1, bob's batch at 2]``. r1, the primary of view 1, is faulty."""

    def __init__(self) -> None:
        self.council = council = Council(4, faulty={1})
        self.alice = (council.request("alice", 1),)
        self.bob = (council.request("bob", 1),)
        council.submit(self.alice[0], to=0)
        council.submit(self.bob[0], to=0)
        (_, seq1), (pre_prepare2, seq2) = council.sent(0, PrePrepare)
        assert (seq1.seq, seq2.seq) == (1, 2)
        council.drop()  # seq 1's pre-prepare is lost
        council.deliver(pre_prepare2, to=[2, 3])
        council.flush()
        council.tick(council.config.view_change_timeout_ms)  # nothing executes: view change
        council.exchange_suspicions(among=[0, 2, 3])
        self.view_changes = [council.sent(i, ViewChange)[0][0] for i in (0, 2, 3)]
        council.flush()

    def send_new_view(self, assignments: list[tuple[int, Batch]]) -> None:
        new_view = self.council.new_view(1, self.view_changes, assignments)
        assert self.council.deliver(new_view, to=self.council.honest)


WRONG_O: dict[str, Callable[[GapScenario], list[tuple[int, Batch]]]] = {
    "drops-the-prepared-request": lambda s: [],
    "assigns-another-digest": lambda s: [(1, ()), (2, s.alice)],
    "omits-the-gap-null-request": lambda s: [(2, s.bob)],
    "fills-the-gap-with-a-request": lambda s: [(1, s.alice), (2, s.bob)],
}


@pytest.mark.parametrize("wrong_o", WRONG_O.values(), ids=WRONG_O.keys())
def test_a_new_view_with_a_wrong_o_set_is_rejected_with_evidence_against_the_new_primary(
    wrong_o: Callable[[GapScenario], list[tuple[int, Batch]]],
) -> None:
    scenario = GapScenario()
    council = scenario.council
    scenario.send_new_view(wrong_o(scenario))
    for i in council.honest:
        assert 1 not in council.views_entered(i)
        assert not council.replicas[i].active
        assert any(e.kind == "invalid-new-view" and e.culprit == 1 for e in council.evidence(i))
        assert [p for _, p in council.sent(i, Prepare) if p.view == 1] == []


def test_a_new_view_whose_o_fills_gaps_with_null_requests_is_entered() -> None:
    scenario = GapScenario()
    council = scenario.council
    scenario.send_new_view([(1, ()), (2, scenario.bob)])
    council.flush()
    for i in council.honest:
        assert council.views_entered(i) == [1]
        assert council.evidence(i) == []
        assert council.log(i) == [(1, NULL_DIGEST), (2, batch_digest(scenario.bob))]


def test_view_changes_checked_on_arrival_are_not_checked_again_inside_the_new_view(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Under load each view-change carries hundreds of signed votes; every backup decoded and
    # checked all Q of them a second time inside the NEW-VIEW, for seconds, all at once.
    scenario = GapScenario()
    council = scenario.council
    checked_in_v: list[int] = []
    check = view_change_rules.check_view_change

    def counted(*args: Any, **kwargs: Any) -> Any:
        checked_in_v.append(args[3].replica)
        return check(*args, **kwargs)

    monkeypatch.setattr(view_change_rules, "check_view_change", counted)
    scenario.send_new_view([(1, ()), (2, scenario.bob)])
    council.flush()
    assert checked_in_v == [], "each honest replica had all of V from its senders"
    for i in council.honest:
        assert council.views_entered(i) == [1]
        assert council.log(i) == [(1, NULL_DIGEST), (2, batch_digest(scenario.bob))]


def test_a_view_change_in_v_with_a_known_signature_but_other_bytes_is_checked_and_refused() -> None:
    scenario = GapScenario()
    council = scenario.council
    genuine, *others = scenario.view_changes
    altered = genuine.model_copy(update={"body": genuine.body.replace(",", ", ", 1)})
    assert altered.signature == genuine.signature and altered.body != genuine.body
    new_view = council.new_view(1, [altered, *others], [(1, ()), (2, scenario.bob)])
    assert council.deliver(new_view, to=council.honest)
    for i in council.honest:
        assert 1 not in council.views_entered(i)
        assert any(e.kind == "invalid-new-view" and e.culprit == 1 for e in council.evidence(i))


def test_a_new_view_signed_by_a_backup_neither_frames_the_primary_nor_derails_the_view() -> None:
    council = Council(4, faulty={3})
    council.submit(council.request("alice", 1), to=[1, 2])  # the primary never hears of it
    council.tick(council.config.view_change_timeout_ms)
    council.exchange_suspicions(among=[1, 2])
    assert all(not council.replicas[i].active for i in (1, 2))
    view_changes = [council.sent(i, ViewChange)[0][0] for i in (1, 2)]
    bogus = council.new_view(1, [*view_changes, council.view_change(3, 1)], [], signer=3)
    assert council.deliver(bogus, to=[1, 2])
    for i in (1, 2):
        assert council.evidence(i) == []  # r3 signed it: it proves nothing against r1
        assert council.replicas[i].view == 1  # still waiting for r1's NEW-VIEW

    council.flush()
    for i in council.honest:
        assert council.views_entered(i) == [1]
        assert len(council.executed(i)) == 1


# -- VIEW-CHANGE's P set --------------------------------------------------------------------------


class WatermarkScenario:
    """Five requests ordered by r0, r1, r2 (K = 2, L = 4): seq 4 is stable, so a view change
    may carry certificates for 4 < seq <= 8 only. r3 is faulty and has seen every signature."""

    def __init__(self) -> None:
        self.council = council = Council(4, faulty={3})
        for timestamp in range(1, 6):
            council.submit(council.request("alice", timestamp), to=0)
            council.flush()
        assert all(council.replicas[i].stable_seq == 4 for i in council.honest)
        self.certificate = council.replicas[0].stable_certificate

    def prepared(self, seq: int) -> tuple[Envelope, tuple[Envelope, ...]]:
        """The genuine prepared certificate of ``seq`` (view 0)."""
        council = self.council
        (pre_prepare,) = [e for e, m in council.sent(0, PrePrepare) if m.seq == seq]
        prepares = tuple(e for i in (1, 2) for e, m in council.sent(i, Prepare) if m.seq == seq)
        return pre_prepare, prepares

    def view_change(self, stable_seq: int, prepared_seq: int) -> Envelope:
        proof = self.certificate if stable_seq == 4 else ()
        return self.council.view_change(
            3,
            1,
            stable_seq=stable_seq,
            checkpoint_proof=proof,
            prepared=[self.prepared(prepared_seq)],
        )


@pytest.mark.parametrize(
    ("stable_seq", "prepared_seq"),
    [(4, 3), (4, 4), (0, 5)],
    ids=["below-the-stable-checkpoint", "at-the-stable-checkpoint", "above-h-plus-l"],
)
def test_a_view_change_with_certificates_outside_its_watermarks_is_rejected_as_evidence(
    stable_seq: int, prepared_seq: int
) -> None:
    scenario = WatermarkScenario()
    council = scenario.council
    view_change = scenario.view_change(stable_seq, prepared_seq)
    assert council.deliver(view_change, to=1)
    (evidence,) = council.evidence(1)
    assert (evidence.kind, evidence.culprit) == ("invalid-view-change", 3)
    assert [e.signature for e in evidence.proof] == [view_change.signature]
    assert council.replicas[1].rejected["view-change-invalid"] == 1


def test_a_view_change_with_certificates_inside_its_watermarks_is_accepted() -> None:
    scenario = WatermarkScenario()
    council = scenario.council
    assert council.deliver(scenario.view_change(4, 5), to=1)
    assert council.evidence(1) == []
    assert "view-change-invalid" not in council.replicas[1].rejected


def test_a_view_change_that_lost_its_unsigned_batches_does_not_incriminate_its_signer() -> None:
    council = Council(4)
    council.submit(council.request("alice", 1), to=0)
    council.flush(among=[0, 2, 3])  # r2 holds a prepared certificate for seq 1
    council.submit(council.request("bob", 1), to=2)  # only r2 waits for this one
    council.tick(council.config.view_change_timeout_ms)
    council.exchange_suspicions(among=[2], also=[3])  # r3 suspects the primary too
    ((view_change, message),) = council.sent(2, ViewChange)
    assert len(message.prepared) == len(view_change.attachment) == 1

    assert council.deliver(view_change.detached(), to=1)  # the batch was lost in transit
    assert council.evidence(1) == []
    assert council.deliver(view_change, to=1)  # the intact copy is valid
    assert council.evidence(1) == []
    assert "view-change-invalid" not in council.replicas[1].rejected


# -- silent primaries -----------------------------------------------------------------------------


def test_a_silent_primary_of_an_idle_council_is_replaced_and_the_next_primary_leads() -> None:
    council = Council(4, faulty={0})
    silence_ms = council.config.primary_silence_timeout_ms
    council.run(until_ms=silence_ms - 50)
    assert all(council.replicas[i].view == 0 for i in council.honest)

    council.run(until_ms=silence_ms + 200)
    for i in council.honest:
        assert council.views_entered(i) == [1]
        assert council.replicas[i].active
    request = council.request("alice", 1)
    council.submit(request, to=1)
    council.flush()
    for i in council.honest:
        assert [(e.view, e.seq) for e in council.executed(i)] == [(1, 1)]


def test_heartbeats_keep_a_live_idle_primary_in_office() -> None:
    council = Council(4)
    council.run(until_ms=10 * council.config.primary_silence_timeout_ms)
    assert len(council.sent(0, Heartbeat)) >= 10
    for i in council.honest:
        assert council.replicas[i].view == 0 and council.sent(i, ViewChange) == []


def test_a_primary_that_ignores_pending_requests_is_replaced_and_they_execute() -> None:
    council = Council(4, faulty={0})
    request = council.request("alice", 1)
    council.submit(request)  # the client broadcast it: every backup waits for the primary
    timeout_ms = council.config.view_change_timeout_ms
    heartbeat = council.sign(0, Heartbeat(view=0, replica=0, last_seq=0))
    for now_ms in range(0, timeout_ms, 200):  # the primary pretends to be alive
        council.tick(now_ms)
        council.deliver(heartbeat, to=council.honest)
        council.flush()
    assert all(council.replicas[i].view == 0 for i in council.honest)

    council.run(until_ms=timeout_ms + 500)
    for i in council.honest:
        assert council.views_entered(i) == [1]
        assert [(e.view, e.seq) for e in council.executed(i)] == [(1, 1)]


# -- back-off and joining ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("timeout_max_ms", "waits_ms"),
    [(64_000, [1_000, 2_000]), (1_500, [1_000, 1_500])],
    ids=["doubling", "capped"],
)
def test_each_failed_view_change_doubles_the_wait_before_the_next(
    timeout_max_ms: int, waits_ms: list[int]
) -> None:
    # The primaries of views 0, 1 and 2 are faulty and silent; r3 leads view 3.
    council = Council(10, faulty={0, 1, 2}, view_change_timeout_max_ms=timeout_max_ms)
    council.submit(council.request("alice", 1))
    council.run(until_ms=20_000)
    for i in council.honest:
        started_ms = [_sent_at(council, i, new_view) for new_view in (1, 2, 3)]
        assert started_ms[0] == council.config.view_change_timeout_ms == 1_000
        assert [later - earlier for earlier, later in itertools.pairwise(started_ms)] == waits_ms
        assert council.views_entered(i) == [3]
        assert [(e.view, e.seq) for e in council.executed(i)] == [(3, 1)]


def _sent_at(council: Council, replica: int, new_view: int) -> int:
    """When ``replica`` first broadcast its VIEW-CHANGE for ``new_view``."""
    return min(
        at for at, _, vc in council.sent_timed(replica, ViewChange) if vc.new_view == new_view
    )


@pytest.mark.parametrize("n", [4, 7])
def test_a_replica_joins_a_view_change_on_f_plus_1_votes_but_not_on_f(n: int) -> None:
    f = (n - 1) // 3
    council = Council(n, faulty=range(n - f, n))
    for faulty in sorted(council.faulty):  # f view-changes: all could be lies
        assert council.deliver(council.view_change(faulty, 1), to=1)
    assert council.sent(1, ViewChange) == []
    assert council.replicas[1].active and council.replicas[1].view == 0

    council.submit(council.request("alice", 1), to=2)  # one correct replica times out as well
    council.tick(council.config.view_change_timeout_ms)
    council.exchange_suspicions(among=[2], also=sorted(council.faulty))
    (r2_view_change, _) = council.sent(2, ViewChange)[0]
    council.deliver(r2_view_change, to=1)
    assert [vc.new_view for _, vc in council.sent(1, ViewChange)] == [1]


def test_a_replica_joins_the_smallest_view_that_f_plus_1_replicas_have_moved_past() -> None:
    council = Council(4, faulty={3})
    council.deliver(council.view_change(3, 5), to=1)
    council.deliver(council.view_change(2, 3), to=1)  # r2 has failed over twice already
    assert [vc.new_view for _, vc in council.sent(1, ViewChange)] == [3]


def test_a_replica_cut_off_alone_suspects_the_primary_but_stays_in_the_view() -> None:
    # Timing out alone must not strand a replica in a view change nobody else joins: its
    # VIEW-CHANGE would be signed, so it could never come back to the view the others are in.
    council = Council(4)
    council.submit(council.request("alice", 1), to=3)  # only r3 waits; the primary never hears
    council.tick(council.config.view_change_timeout_ms)
    assert council.sent(3, Suspect) and council.sent(3, ViewChange) == []
    council.flush()  # one suspicion of f + 1 = 2: nobody moves
    for i in council.honest:
        assert council.replicas[i].active and council.replicas[i].view == 0
    council.submit(council.request("bob", 1))
    council.flush()
    for i in council.honest:
        assert [e.view for e in council.executed(i)] == [0]


def test_f_plus_1_suspicions_start_the_view_change_and_f_do_not() -> None:
    council = Council(7, faulty={5, 6})
    council.exchange_suspicions(among=[1], also=[5, 6])
    assert council.sent(1, ViewChange) == [], "f faulty suspicions alone prove nothing"
    council.submit(council.request("alice", 1), to=2)
    council.tick(council.config.view_change_timeout_ms)
    council.exchange_suspicions(among=[1, 2], also=[5, 6])
    assert [vc.new_view for _, vc in council.sent(1, ViewChange)] == [1]


def test_the_wait_for_new_view_starts_when_a_quorum_wants_the_view() -> None:
    # Under load the others take most of a timeout to join; the new primary must then still
    # get a whole timeout, or replicas give up on each view just as its NEW-VIEW comes.
    council = Council(4, faulty={0})
    timeout_ms = council.config.view_change_timeout_ms
    early, late = 3, (1, 2)  # replica 1 leads view 1
    council.replicas[early].start_view_change(1)
    council.tick(0)
    council.tick(timeout_ms * 9 // 10)
    for i in late:
        council.replicas[i].start_view_change(1)
    council.tick(council.now_ms)
    # Every VIEW-CHANGE arrives; the NEW-VIEW reaches replica 2 but not yet replica 3.
    held: list[Envelope] = []
    while council.in_flight:
        item = council.in_flight.pop(0)
        targets = [t for t in item.targets if t in council.replicas]
        if item.envelope.kind == "new-view" and early in targets:
            held.append(item.envelope)
            targets.remove(early)
        council.deliver(item.envelope, targets)
    assert held and council.replicas[2].active and council.replicas[2].view == 1
    # Past a timeout since the early replica's own VIEW-CHANGE, not since the quorum formed.
    council.tick(timeout_ms * 3 // 2)
    assert council.replicas[early].view == 1, "gave up on view 1 before its primary had time"
    council.deliver_all(held, early)
    assert council.replicas[early].active and council.replicas[early].view == 1


# -- resending view-change messages --------------------------------------------------------------


def _copies_to(council: Council, sender: int, kind: str, peer: int) -> list[Envelope]:
    """What ``sender`` sent ``peer`` alone (not broadcast) of ``kind``."""
    return [
        effect.envelope
        for effect in council.effects[sender]
        if isinstance(effect, Send)
        and effect.to == replica_principal(peer)
        and effect.envelope.kind == kind
    ]


def _asks(council: Council, peer: int, view: int, status_round: int, to: list[int]) -> None:
    """``peer`` says (STATUS) it is in ``view`` but not active there: it lacks the NEW-VIEW."""
    status = Status(
        view=view, replica=peer, active=False, last_executed=0, stable_seq=0, round=status_round
    )
    council.deliver(council.sign(peer, status), to=to)


def test_a_lagging_peer_gets_the_new_view_once_per_interval_and_from_the_primary_first() -> None:
    # Under load a NEW-VIEW is megabytes, and a replica still reading its backlog asks for it
    # every status interval. Answering each ask — f + 1 responders a round — once flooded the
    # broker with copies every lagging replica then read, and the view never settled.
    resend_ms = 2_000
    council = Council(4, faulty={0}, view_message_resend_ms=resend_ms)
    timeout_ms = council.config.view_change_timeout_ms
    for i in (1, 2, 3):
        council.replicas[i].start_view_change(1)
    council.tick(0)
    lagging = 3
    while council.in_flight:  # everything arrives, except the NEW-VIEW at the lagging replica
        item = council.in_flight.pop(0)
        targets = [t for t in item.targets if t in council.replicas]
        if item.envelope.kind == "new-view":
            targets = [t for t in targets if t != lagging]
        council.deliver(item.envelope, targets)
    assert council.replicas[1].active and council.replicas[2].active
    assert not council.replicas[lagging].active
    # Rounds 0 and 1 of the lagging replica's STATUS reach both responders of each round.
    _asks(council, lagging, 1, status_round=0, to=[1, 2])
    _asks(council, lagging, 1, status_round=1, to=[1, 2])
    assert _copies_to(council, 1, "new-view", lagging) == [], "the broadcast is on its way"
    council.tick(resend_ms)
    _asks(council, lagging, 1, status_round=0, to=[1, 2])
    _asks(council, lagging, 1, status_round=2, to=[1, 2])
    assert len(_copies_to(council, 1, "new-view", lagging)) == 1, "once per interval"
    assert _copies_to(council, 2, "new-view", lagging) == [], "a backup leaves it to the primary"
    # The view has been active for a view-change timeout: a primary that withheld the NEW-VIEW
    # is not the only way to it any more.
    council.tick(max(resend_ms, timeout_ms) * 2)
    _asks(council, lagging, 1, status_round=1, to=[2])
    assert len(_copies_to(council, 2, "new-view", lagging)) == 1
    (forwarded,) = _copies_to(council, 2, "new-view", lagging)
    assert forwarded.sender == replica_principal(1), "the primary's signed NEW-VIEW, passed on"


def test_a_view_change_is_resent_once_per_interval_and_with_batches_only_to_the_new_primary() -> (
    None
):
    resend_ms = 2_000
    council = Council(4, view_message_resend_ms=resend_ms)
    council.submit(council.request("alice", 1))
    council.run(200)
    assert all(council.log(i) for i in range(4)), "one batch ordered in view 0"
    council.crash(0)
    council.replicas[3].start_view_change(1)
    council.tick(council.now_ms)
    view_change = council.sent(3, ViewChange)[-1][0]
    assert view_change.attachment, "the prepared batch goes to the new primary"
    council.clear_effects()
    _asks(council, 2, 1, status_round=0, to=[3])
    _asks(council, 2, 1, status_round=1, to=[3])
    _asks(council, 1, 1, status_round=0, to=[3])
    _asks(council, 1, 1, status_round=1, to=[3])
    assert _copies_to(council, 3, "view-change", 2) == []
    assert _copies_to(council, 3, "view-change", 1) == []
    council.tick(council.now_ms + resend_ms)
    for peer in (1, 2):
        for status_round in (0, 1, 2):
            _asks(council, peer, 1, status_round=status_round, to=[3])
    (to_backup,) = _copies_to(council, 3, "view-change", 2)
    (to_primary,) = _copies_to(council, 3, "view-change", 1)
    assert to_backup.signature == to_primary.signature == view_change.signature
    assert to_backup.attachment == () and to_primary.attachment == view_change.attachment

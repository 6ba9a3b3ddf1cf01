"""A whole council under an adversarial network and up to f Byzantine members stays safe, and
once the faults stop, it answers every request.

Hypothesis plays the network and the faulty replicas. Each program draws a council of 4 to 7,
a faulty set of at most f (puppets that say only what the ``inject`` rules make them say, with
their real keys), and a seed; the rules then submit requests, deliver, drop, duplicate and
reorder messages, let time pass (far enough to fire view changes), crash and restart correct
replicas, and inject Byzantine messages drawn from :func:`consensus.testing.byzantine_messages`.
After every step the safety checker must have seen no violation of agreement, validity or
integrity. The liveness machine then heals everything — every correct replica up, no more
injections, every message delivered, time passing — and every request must complete.

A failure prints the program (and the seed of its council) that replays it.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from consensus import (
    Envelope,
    Execute,
    LedgerApplication,
    PersistCheckpoint,
    Request,
    StateTransferred,
    decode,
    replica_principal,
    seal,
)
from consensus.application import checkpoint_snapshot
from consensus.messages import PrePrepare, batch_digest
from consensus.testing import byzantine_messages, faulty_sets
from council.sim.manual import ManualCluster

#: Small logs, so checkpoints, watermarks, garbage collection and state transfer happen within
#: a few requests; small batches, so there are many sequence numbers to disagree on.
CONFIG: dict[str, int] = {
    "checkpoint_interval": 2,
    "watermark_window": 4,
    "batch_size_max": 2,
    "in_flight_max": 2,
}
CLIENTS = 3
IN_TRANSIT_MAX = 128
#: Virtual milliseconds an ``advance`` may take: a batch wait, a heartbeat, a status round, a
#: view-change timeout, a primary-silence timeout, a client retransmission, a long stall.
ADVANCES_MS = (2, 250, 300, 1_000, 1_500, 2_000, 5_000)
#: Lengths of the quiet spells in which the network delivers everything in order.
CALM_MS = (5, 100, 1_000, 5_000)
#: One round of a healed network for a lagging replica: a status interval.
CATCH_UP_STEP_MS = 300
#: Time between two rounds of a network that loses everything to and from one replica.
CUT_OFF_STEP_MS = 100
#: How long the healed council may take to answer everything (view-change back-off included).
SETTLE_LIMIT_MS = 600_000

council_sizes_small = st.integers(min_value=4, max_value=7)
indices = st.integers(min_value=0, max_value=1 << 16)


class CouncilMachine(RuleBasedStateMachine):
    """Safety after every step, whatever the network and the faulty replicas do."""

    cluster: ManualCluster

    @initialize(
        n=council_sizes_small,
        data=st.data(),
        seed=st.integers(0, 1 << 16),
        first_requests=st.integers(0, CLIENTS),
        relay_votes=st.booleans(),
    )
    def start(
        self, n: int, data: st.DataObject, seed: int, first_requests: int, relay_votes: bool
    ) -> None:
        faulty = data.draw(faulty_sets(n), label="faulty")
        assert len(faulty) <= (n - 1) // 3, f"n={n}: {faulty} is more than f"
        self.cluster = ManualCluster(
            n,
            seed,
            faulty,
            clients=CLIENTS,
            in_transit_max=IN_TRANSIT_MAX,
            relay_votes=relay_votes,
            **CONFIG,
        )
        self.operations = 0
        # Faulty members may also act as clients: their requests are genuine, so validity
        # admits them, and a faulty primary may order them.
        self.faulty_requests = [self._faulty_request(replica) for replica in faulty]
        for client in range(first_requests):
            self.submit(client)

    def _faulty_request(self, replica: int) -> Envelope:
        signer = self.cluster.signer_of(replica)
        request = Request(client=signer.principal, timestamp=1, operation=f"motion-of-{replica}")
        envelope = seal(signer, request)
        self.cluster.checker.submit(envelope.request_digest())
        return envelope

    def describe(self) -> str:
        c = self.cluster
        relay = " relay_votes" if c.config.relay_votes else ""
        return f"n={c.n} seed={c.seed} faulty={c.faulty} crashed={sorted(c.crashed)}{relay}"

    # -- clients -----------------------------------------------------------------------------

    @precondition(lambda self: self.cluster.idle_clients())
    @rule(client=indices)
    def submit(self, client: int) -> None:
        idle = self.cluster.idle_clients()
        self.operations += 1
        self.cluster.submit(idle[client % len(idle)], f"motion-{self.operations}")

    # -- the network -------------------------------------------------------------------------

    @precondition(lambda self: self.cluster.in_transit)
    @rule(index=indices)
    def deliver(self, index: int) -> None:
        self.cluster.deliver(index % len(self.cluster.in_transit))

    @precondition(lambda self: len(self.cluster.in_transit) > 1)
    @rule()
    def deliver_newest_first(self) -> None:
        """Reorder: the last message sent overtakes all the others."""
        self.cluster.deliver(len(self.cluster.in_transit) - 1)

    @precondition(lambda self: self.cluster.in_transit)
    @rule(count=st.integers(min_value=1, max_value=200))
    def deliver_in_order(self, count: int) -> None:
        for _ in range(min(count, len(self.cluster.in_transit))):
            self.cluster.deliver(0)

    @precondition(lambda self: self.cluster.in_transit)
    @rule(order=st.randoms(use_true_random=False), count=st.integers(1, 100))
    def deliver_shuffled(self, order: random.Random, count: int) -> None:
        for _ in range(count):
            if not self.cluster.in_transit:
                return
            self.cluster.deliver(order.randrange(len(self.cluster.in_transit)))

    @precondition(lambda self: self.cluster.in_transit)
    @rule(index=indices)
    def drop(self, index: int) -> None:
        self.cluster.drop(index % len(self.cluster.in_transit))

    @precondition(lambda self: self.cluster.in_transit)
    @rule(index=indices)
    def duplicate(self, index: int) -> None:
        self.cluster.duplicate(index % len(self.cluster.in_transit))

    @rule(ms=st.sampled_from(ADVANCES_MS))
    def advance(self, ms: int) -> None:
        self.cluster.advance(ms)

    @rule(ms=st.sampled_from(CALM_MS))
    def calm(self, ms: int) -> None:
        """A quiet spell: every message arrives in order and timers fire, for up to ``ms``."""
        self.cluster.settle(ms)

    # -- crashes -----------------------------------------------------------------------------

    @precondition(lambda self: len(self.cluster.crashed) < self.cluster.config.quorums.f)
    @rule(index=indices)
    def crash(self, index: int) -> None:
        """Crash a correct replica. Up to f may be down at once, on top of the faulty ones:
        more than the council can stay live with, never an excuse to be unsafe. Any number
        may crash one after the other."""
        running = self.cluster.running
        self.cluster.crash(running[index % len(running)])

    @precondition(lambda self: self.cluster.crashed)
    @rule(index=indices)
    def restart(self, index: int) -> None:
        crashed = sorted(self.cluster.crashed)
        self.cluster.restart(crashed[index % len(crashed)])

    # -- the faulty replicas -----------------------------------------------------------------

    @precondition(lambda self: self.cluster.faulty)
    @rule(data=st.data(), deliver_now=st.booleans())
    def inject(self, data: st.DataObject, deliver_now: bool) -> None:
        """A faulty replica tells one correct replica something."""
        envelope = data.draw(self._lies(), label="lie")
        target = data.draw(st.sampled_from(self.cluster.correct), label="target")
        index = self.cluster.inject(envelope, target)
        if deliver_now and index < len(self.cluster.in_transit):
            self.cluster.deliver(index)

    @precondition(lambda self: self.cluster.faulty)
    @rule(data=st.data())
    def inject_to_all(self, data: st.DataObject) -> None:
        """A faulty replica tells every correct replica the same thing."""
        envelope = data.draw(self._lies(), label="lie")
        for target in self.cluster.correct:
            self.cluster.inject(envelope, target)

    def _lies(self) -> st.SearchStrategy[Envelope]:
        c = self.cluster
        views = {c.replica(r).view for r in c.correct}
        executed = {c.replica(r).last_executed for r in c.correct}
        near_views = sorted({v + d for v in views for d in (-1, 0, 1, 2) if v + d >= 0})
        near_seqs = sorted({s + d for s in executed for d in (1, 2, 3, 5, 9) if s + d >= 1})
        return byzantine_messages(
            {replica: c.signer_of(replica) for replica in c.faulty},
            c.config,
            view_values=st.sampled_from(near_views) | st.integers(0, 40),
            seq_values=st.sampled_from(near_seqs) | st.integers(1, 200),
            request_pool=[*c.submitted[-8:], *self.faulty_requests],
            known_digests=known_digests(c.observed),
            observed=list(c.observed),
        )

    # -- invariants --------------------------------------------------------------------------

    @invariant()
    def agreement_validity_and_integrity_hold(self) -> None:
        violations = self.cluster.checker.violations
        assert not violations, f"{self.describe()}: {violations}"

    def teardown(self) -> None:
        """Tell ``--hypothesis-show-statistics`` how far the programs got."""
        cluster = getattr(self, "cluster", None)
        if cluster is None:
            return
        executed = max(cluster.replica(r).last_executed for r in cluster.correct)
        stable = max(cluster.replica(r).stable_seq for r in cluster.correct)
        event("executed", bucket(executed))
        event("stable checkpoint", bucket(stable))
        event("highest view entered", bucket(cluster.highest_view))
        event("evidence", bucket(len(cluster.evidence)))
        event("faulty", len(cluster.faulty))


def bucket(count: int) -> str:
    return "0" if count == 0 else "1" if count == 1 else "2-4" if count < 5 else "5+"


def known_digests(envelopes: Sequence[Envelope]) -> list[str]:
    """Batch digests of the pre-prepares seen, for votes that conflict with real ones."""
    found: list[str] = []
    for envelope in envelopes:
        if envelope.kind == "pre-prepare":
            message = decode(envelope)
            assert isinstance(message, PrePrepare)
            found.append(message.digest)
    return sorted(set(found))


class HealingCouncilMachine(CouncilMachine):
    """After the same faults, a healed council answers every request it was sent."""

    def teardown(self) -> None:
        super().teardown()
        cluster = getattr(self, "cluster", None)
        if cluster is None or cluster.checker.violations:
            return  # nothing was built, or safety already failed and is being reported
        for replica in sorted(cluster.crashed):
            cluster.restart(replica)
        answered = cluster.settle(SETTLE_LIMIT_MS)
        assert not cluster.checker.violations, f"{self.describe()}: {cluster.checker.violations}"
        assert answered, (
            f"{self.describe()}: {cluster.outstanding} requests unanswered after "
            f"{SETTLE_LIMIT_MS} ms of healed network (now {cluster.now_ms} ms); views "
            f"{[cluster.replica(r).view for r in cluster.correct]}, executed "
            f"{[cluster.replica(r).last_executed for r in cluster.correct]}"
        )


#: The long sweeps run a thousand programs each; a failure then shrinks for minutes.
LONG_RUN_TIMEOUT_S = 3 * 3600

TestCouncilSafety = CouncilMachine.TestCase
TestCouncilLiveness = HealingCouncilMachine.TestCase


@pytest.mark.slow
@pytest.mark.timeout(LONG_RUN_TIMEOUT_S)
def test_council_safety_long() -> None:
    run_state_machine_as_test(CouncilMachine, settings=settings.get_profile("long"))


@pytest.mark.slow
@pytest.mark.timeout(LONG_RUN_TIMEOUT_S)
def test_council_liveness_long() -> None:
    run_state_machine_as_test(HealingCouncilMachine, settings=settings.get_profile("long"))


# -- the harness and the strategies, checked on their own -------------------------------------


def test_a_manual_council_without_faults_answers_a_request() -> None:
    cluster = ManualCluster(4, seed=11, faulty=(), clients=1, **CONFIG)
    cluster.submit(0, "motion-1")
    assert cluster.settle(10_000), f"seed={cluster.seed}: {cluster.outstanding} outstanding"
    assert [completed.timestamp for completed in cluster.completed] == [1]
    assert {cluster.replica(r).last_executed for r in cluster.correct} == {1}
    assert not cluster.checker.violations


def test_a_replica_restarted_behind_the_stable_checkpoint_catches_up_by_state_transfer() -> None:
    cluster = ManualCluster(4, seed=12, faulty=(), clients=1, **CONFIG)
    cluster.crash(3)
    for operation in range(12):
        cluster.submit(0, f"motion-{operation}")
        assert cluster.settle(10_000), f"seed={cluster.seed}: stalled at {operation}"
    stable_seq = cluster.replica(0).stable_seq
    assert stable_seq > CONFIG["watermark_window"], "the log moved past what replica 3 can fetch"
    cluster.restart(3)
    for _ in range(20):  # a few status rounds on a healed network
        cluster.advance(CATCH_UP_STEP_MS)
        cluster.deliver_all()
    assert cluster.state_transfers >= 1, f"seed={cluster.seed}: replica 3 never fetched state"
    assert cluster.replica(3).last_executed >= stable_seq, f"seed={cluster.seed}"
    assert not cluster.checker.violations, f"seed={cluster.seed}: {cluster.checker.violations}"


@given(st.data(), st.integers(4, 7))
def test_byzantine_messages_are_signed_by_faulty_replicas_or_replay_what_was_seen(
    data: st.DataObject, n: int
) -> None:
    faulty = data.draw(faulty_sets(n).filter(bool), label="faulty")
    cluster = ManualCluster(n, seed=n, faulty=faulty, clients=2, **CONFIG)
    cluster.submit(0, "motion-1")
    cluster.settle(5_000)
    signers = {replica: cluster.signer_of(replica) for replica in faulty}
    lie = data.draw(
        byzantine_messages(
            signers, cluster.config, request_pool=cluster.submitted, observed=cluster.observed
        )
    )
    assert cluster.council.verifier.verify(lie), "a lie must pass the edge to be worth telling"
    faulty_principals = {replica_principal(replica) for replica in faulty}
    assert lie.sender in faulty_principals or lie in cluster.observed


def test_a_state_transfer_followed_by_execution_in_one_step_is_not_taken_for_a_replay() -> None:
    """A replica adopting the snapshot at seq 2 may execute seq 3 before its effects are
    routed; the checker must learn the client table *at* seq 2, not the one after seq 3."""
    cluster = ManualCluster(4, seed=13, faulty=(), clients=1, **CONFIG)
    client = cluster.sessions[0].signer
    request = seal(client, Request(client=client.principal, timestamp=2, operation="motion-2"))
    cluster.checker.submit(request.request_digest())
    snapshot = checkpoint_snapshot(2, LedgerApplication().snapshot(), {client.principal: 1})
    replica = cluster.replica(1)
    replica.client_table = {client.principal: 2}  # as it is once seq 3 has run
    digest = batch_digest((request,))
    cluster._perform(
        1,
        [
            PersistCheckpoint(seq=2, certificate=(), snapshot=snapshot),
            StateTransferred(seq=2),
            Execute(seq=3, view=0, digest=digest, requests=(request,), executed=(request,)),
        ],
    )
    assert cluster.state_transfers == 1
    assert not cluster.checker.violations, cluster.checker.violations


def test_a_replica_restarted_while_cut_off_does_not_race_ahead_of_the_council() -> None:
    """Found by the liveness machine: a restarted replica's back-off starts over, so it used
    to run through views faster than the others and, once every back-off reached its cap,
    the council stayed spread over views that never met. n = 4 with one faulty member needs
    all three correct replicas in one view."""
    cluster = ManualCluster(4, seed=3, faulty=(3,), view_change_timeout_max_ms=4_000)
    cluster.submit(0, "motion-1")
    cut_off(cluster, 2, duration_ms=30_000)
    cluster.crash(2)
    cluster.restart(2)
    cut_off(cluster, 2, duration_ms=10_000)
    answered = cluster.settle(120_000)
    views = [cluster.replica(r).view for r in cluster.correct]
    assert answered, f"seed={cluster.seed}: no answer; replicas in views {views}"
    assert len(set(views)) == 1, f"seed={cluster.seed}: views {views}"
    assert not cluster.checker.violations, f"seed={cluster.seed}: {cluster.checker.violations}"


def cut_off(cluster: ManualCluster, replica: int, *, duration_ms: int) -> None:
    """Every message to or from ``replica`` is lost for ``duration_ms``; the rest arrive."""
    until_ms = cluster.now_ms + duration_ms
    while cluster.now_ms < until_ms:
        for index in reversed(range(len(cluster.in_transit))):
            if replica in (cluster.in_transit[index].source, cluster.in_transit[index].target):
                cluster.drop(index)
        cluster.deliver_all()
        cluster.advance(CUT_OFF_STEP_MS)

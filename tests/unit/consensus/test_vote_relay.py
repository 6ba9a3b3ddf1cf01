"""Relayed votes (``ReplicaConfig.relay_votes``): backups vote to the primary, which passes on
each quorum it gathers; the council orders the same requests with far fewer messages, and a
primary that withholds the quorums is replaced."""

from __future__ import annotations

import random
from collections import Counter

from consensus import Effect, decode, replica_principal
from consensus.messages import Commit, Prepare
from council.behaviours import BehaviourContext
from council.behaviours.base import Behaviour, MessageEffect
from council.sim import Simulation, SimulationSettings
from council.sim.cluster import Council
from council.sim.manual import InTransit, ManualCluster
from council.sim.runner import CLIENTS_NODE, default_world

N = 7  # f = 2, Q = 5


def deliver_everything(cluster: ManualCluster) -> list[InTransit]:
    """Deliver in sending order, letting the primary's batch wait pass, until the council is
    quiet; everything that was delivered."""
    delivered = []
    for _ in range(3):
        while cluster.in_transit:
            delivered.append(cluster.deliver(0))
        cluster.advance(5)
    return delivered


def votes(delivered: list[InTransit], kind: type[Prepare | Commit]) -> list[InTransit]:
    return [
        m for m in delivered if m.target != CLIENTS_NODE and isinstance(decode(m.envelope), kind)
    ]


def test_backups_vote_to_the_primary_and_the_primary_relays_each_quorum_once() -> None:
    cluster = ManualCluster(N, seed=4, clients=1, relay_votes=True)
    cluster.submit(0, "motion-1")
    delivered = deliver_everything(cluster)
    quorum = cluster.config.quorums.quorum

    prepares = votes(delivered, Prepare)
    own_prepares = [m for m in prepares if m.source != 0]
    # Each backup's PREPARE goes to the primary (replica 0) alone ...
    assert {m.target for m in own_prepares if _signer(m) == m.source} == {0}
    # ... and the primary passes on the Q - 1 that prepared the slot, once to each backup.
    relayed = Counter(m.target for m in prepares if m.source == 0)
    assert relayed == Counter({backup: quorum - 1 for backup in range(1, N)})
    # The same for COMMIT: Q commits committed the slot at the primary; it passes on the
    # others' (its own went out with the prepares).
    relayed_commits = [m for m in votes(delivered, Commit) if m.source == 0 and _signer(m) != 0]
    assert Counter(m.target for m in relayed_commits) == Counter(
        {backup: quorum - 1 for backup in range(1, N)}
    )
    # Every replica executed the request: the client has f + 1 matching replies and more.
    assert len(cluster.completed) == 1
    assert all(cluster.replica(r).last_executed == 1 for r in range(N))


def test_relayed_votes_travel_on_4n_messages_where_all_to_all_takes_2n_squared() -> None:
    counts = {}
    for relay in (False, True):
        cluster = ManualCluster(N, seed=4, clients=1, relay_votes=relay)
        cluster.submit(0, "motion-1")
        delivered = deliver_everything(cluster)
        # Messages on the wire, one per (publish, recipient): what a broker delivers.
        counts[relay] = len(votes(delivered, Prepare)) + len(votes(delivered, Commit))
    assert counts[False] == (N - 1) * (N - 1) + N * (N - 1)
    quorum = ManualCluster(N, seed=4).config.quorums.quorum
    # Votes to the primary: n - 1 prepares and n - 1 commits; relayed back: Q - 1 of each to
    # each backup, plus the primary's own commit.
    assert counts[True] == 2 * (N - 1) + 2 * (quorum - 1) * (N - 1) + (N - 1)


class WithholdsQuorums(Behaviour):
    """A primary that takes in votes but passes on none of the quorums it gathers."""

    kind = "withhold-quorums"

    def rewrite(self, effect: MessageEffect) -> list[Effect]:
        own = effect.envelope.sender == replica_principal(self.context.replica_id)
        return [effect] if own else []


def test_a_primary_that_withholds_the_quorums_is_replaced_and_the_council_goes_on() -> None:
    settings = SimulationSettings(agents=N, requests=30, clients=4, seed=3, relay_votes=True)
    world = default_world(settings)
    council = world.council
    assert isinstance(council, Council)
    context = BehaviourContext(0, council.signers["r0"], council.config, random.Random(0))
    council.nodes[0] = WithholdsQuorums(council.replicas.pop(0), context)
    simulation = Simulation(settings, world=world)
    outcome = simulation.run()
    assert outcome.safe, simulation.violation
    assert outcome.live, f"{len(simulation.clients.completed)}/30 completed"
    assert simulation.stats.highest_view >= 1  # the withholding primary was replaced


def test_ten_byzantine_of_33_cannot_break_a_council_that_relays_votes() -> None:
    for attack in ("mixed", "silent"):
        settings = SimulationSettings(
            agents=33, byzantine=10, attack=attack, requests=60, clients=16, seed=7,
            relay_votes=True,
        )  # fmt: skip
        simulation = Simulation(settings)
        outcome = simulation.run()
        assert outcome.safe, (attack, simulation.violation)
        assert outcome.live, (attack, len(simulation.clients.completed))


def _signer(message: InTransit) -> int:
    return int(message.envelope.sender.removeprefix("r"))

"""Every behaviour, worn by one seat of four in the seeded simulator: the council stays safe
and live (one Byzantine seat is within f)."""

from __future__ import annotations

import random
from typing import Any

import pytest

from consensus import LedgerApplication, Replica, replica_principal
from council.behaviours import KINDS, BehaviourContext, Node, Window, wrap
from council.sim import Simulation, SimulationSettings
from council.sim.cluster import Council
from council.sim.runner import default_world

PARAMS: dict[str, dict[str, Any]] = {
    "slow": {"delay_ms": 50},
    "omit": {"peers": frozenset({2}), "direction": "both"},
    "censor": {"submitters": ["client-0"]},
    "bogus-view-change": {"every_ms": 200},
}


def _wear(council: Council, seat: int, kind: str, window: Window) -> None:
    """Put behaviour ``kind`` on ``seat``; it stops counting as a correct replica."""
    signer = council.signers[replica_principal(seat)]
    context = BehaviourContext(seat, signer, council.config, random.Random(seat))
    params = dict(PARAMS.get(kind, {}))
    if kind == "twins":
        params["twin"] = Replica(
            council.config, seat, signer, council.verifier, LedgerApplication()
        )
    council.nodes[seat] = wrap(kind, council.replicas.pop(seat), context, window, **params)


@pytest.mark.parametrize("relay_votes", [False, True], ids=["all-to-all", "relayed"])
@pytest.mark.parametrize("seat", [0, 1], ids=["primary", "backup"])
@pytest.mark.parametrize("kind", KINDS)
def test_one_seat_of_four_wearing_a_behaviour_leaves_the_council_safe_and_live(
    kind: str, seat: int, relay_votes: bool
) -> None:
    settings = SimulationSettings(
        agents=4, requests=40, clients=4, seed=3, time_limit_ms=60_000, relay_votes=relay_votes
    )
    world = default_world(settings)
    assert isinstance(world.council, Council)
    _wear(world.council, seat, kind, Window(0, 20_000))
    simulation = Simulation(settings, world=world)
    outcome = simulation.run()
    assert outcome.safe, simulation.violation
    assert outcome.live, f"{len(simulation.clients.completed)}/40 completed"


@pytest.mark.parametrize("kind", [kind for kind in KINDS if kind != "twins"])
def test_a_behaviour_wrapped_around_a_forger_copes_with_messages_that_do_not_decode(
    kind: str,
) -> None:
    settings = SimulationSettings(agents=4, requests=20, clients=4, seed=5, time_limit_ms=60_000)
    world = default_world(settings)
    council = world.council
    assert isinstance(council, Council)
    context = BehaviourContext(0, council.signers["r0"], council.config, random.Random(0))
    forger = wrap("forge", council.replicas.pop(0), context, mode="tampered-body")
    council.nodes[0] = wrap(kind, forger, context, **PARAMS.get(kind, {}))
    outcome = Simulation(settings, world=world).run()
    assert outcome.safe and outcome.live


def test_every_message_behaviour_at_once_on_one_seat_leaves_the_council_safe_and_live() -> None:
    settings = SimulationSettings(agents=7, requests=60, clients=6, seed=9, time_limit_ms=60_000)
    world = default_world(settings)
    council = world.council
    assert isinstance(council, Council)
    context = BehaviourContext(0, council.signers["r0"], council.config, random.Random(0))
    node: Node = council.replicas.pop(0)
    for kind in KINDS:
        if kind not in ("silent", "forge", "twins"):  # each of those alone mutes the seat
            node = wrap(kind, node, context, Window(0, 30_000), **PARAMS.get(kind, {}))
    council.nodes[0] = node
    simulation = Simulation(settings, world=world)
    outcome = simulation.run()
    assert outcome.safe, simulation.violation
    assert outcome.live
    assert simulation.stats.evidence_culprits == {0}, "only the Byzantine seat is accused"

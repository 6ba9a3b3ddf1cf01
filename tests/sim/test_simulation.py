"""End-to-end runs of the simulator: the council orders requests, and sees a broken council."""

from __future__ import annotations

from council.sim import Simulation, SimulationSettings


def run(**overrides: object) -> Simulation:
    settings = SimulationSettings(**overrides)  # type: ignore[arg-type]
    simulation = Simulation(settings)
    simulation.run()
    return simulation


def test_a_council_without_faults_orders_every_request() -> None:
    simulation = run(agents=7, requests=60, clients=8, seed=3)
    assert simulation.violation is None
    assert simulation.clients.done
    assert len(simulation.checker.ordered) == 60


def test_ten_mixed_byzantine_of_33_keep_the_council_safe_and_live() -> None:
    simulation = run(agents=33, byzantine=10, attack="mixed", requests=40, clients=16, seed=5)
    assert simulation.violation is None
    assert simulation.clients.done
    assert simulation.stats.highest_view >= 1  # the equivocating first primary was replaced


def test_eleven_colluders_splitting_the_council_break_agreement_and_are_seen() -> None:
    simulation = run(agents=33, byzantine=11, attack="split-brain", requests=20, clients=8, seed=1)
    assert simulation.violation is not None
    assert simulation.violation.invariant == "agreement"

"""Helpers shared by the simulation tests: running settings and explaining failures."""

from __future__ import annotations

from council.sim import Simulation, SimulationSettings
from council.sim.sweep import replay_command


def explain(simulation: Simulation) -> str:
    """Seed, verdicts and the command that replays ``simulation``: every failure prints it."""
    settings = simulation.settings
    violation = simulation.violation
    clients = simulation.clients
    return (
        f"seed {settings.seed}: violation={violation}, "
        f"completed {len(clients.completed)}/{settings.requests}, "
        f"view {simulation.stats.highest_view}, {simulation.now_ms} virtual ms "
        f"— replay: {replay_command(settings)}"
    )


def run(settings: SimulationSettings) -> Simulation:
    """Run ``settings`` until every request completes, safety breaks or time runs out."""
    simulation = Simulation(settings)
    simulation.run()
    return simulation

"""The deterministic simulator: a whole council in one process, on a seeded network."""

from council.sim.network import NetworkConditions
from council.sim.report import summarize
from council.sim.runner import Simulation, SimulationOutcome, SimulationSettings

__all__ = [
    "NetworkConditions",
    "Simulation",
    "SimulationOutcome",
    "SimulationSettings",
    "summarize",
]

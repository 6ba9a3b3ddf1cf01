"""Scenario files: the model, loading and checking against a council, and resolved runs.

`load_scenario(path)` gives a `LoadedScenario` (the scenario, its council, the faulty seats and
every motion to submit); `council.scenario.schema` holds the models.
"""

from council.scenario.checks import scenario_problems, selector_problems
from council.scenario.loader import load_scenario, resolve_motions, resolve_scenario
from council.scenario.schema import (
    BEHAVIOURS,
    Behaviour,
    Expectations,
    FaultyGroup,
    LoadedScenario,
    MotionSpec,
    ResolvedMotion,
    Scenario,
    SeatSelector,
    resolve_seats,
)

__all__ = [
    "BEHAVIOURS",
    "Behaviour",
    "Expectations",
    "FaultyGroup",
    "LoadedScenario",
    "MotionSpec",
    "ResolvedMotion",
    "Scenario",
    "SeatSelector",
    "load_scenario",
    "resolve_motions",
    "resolve_scenario",
    "resolve_seats",
    "scenario_problems",
    "selector_problems",
]

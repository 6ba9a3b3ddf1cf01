"""Simulator throughput: ordered requests per second at n = 33, and cost as n grows.

Each figure is the median of repeated runs in this one process, so the ratios between figures
are measured under the same machine load. Runs are saturated: many client sessions keep the
primary's batches full, which is the regime a throughput figure is about.
"""

from __future__ import annotations

import math
import statistics
import time
from typing import Any

from council.sim import Simulation, SimulationSettings

SATURATING_CLIENTS = 512
COUNCIL_SIZES = (4, 16, 33, 64, 100)


def _timed_run(settings: SimulationSettings) -> tuple[float, float, int]:
    """Wall and CPU seconds of one run (setup excluded) and the requests it ordered."""
    simulation = Simulation(settings)
    wall_started, cpu_started = time.perf_counter(), time.process_time()
    outcome = simulation.run()
    wall_s, cpu_s = time.perf_counter() - wall_started, time.process_time() - cpu_started
    if not (outcome.safe and outcome.live):
        raise AssertionError(f"benchmark run failed: seed {settings.seed}, {settings}")
    return wall_s, cpu_s, len(simulation.checker.ordered)


def ordered_per_s(byzantine: int, requests: int, repeats: int) -> dict[str, float]:
    """Median ordered requests per wall and per CPU second, n = 33, ``mixed`` attack."""
    wall_rates, cpu_rates = [], []
    for seed in range(1, repeats + 1):
        settings = SimulationSettings(
            agents=33,
            byzantine=byzantine,
            attack="mixed",
            requests=requests,
            clients=SATURATING_CLIENTS,
            seed=seed,
        )
        wall_s, cpu_s, ordered = _timed_run(settings)
        wall_rates.append(ordered / wall_s)
        cpu_rates.append(ordered / cpu_s)
    return {
        "wall": round(statistics.median(wall_rates), 1),
        "cpu": round(statistics.median(cpu_rates), 1),
    }


def cost_by_n(requests: int, repeats: int) -> dict[str, float]:
    """Median wall seconds per 1,000 ordered requests for each council size, no faults."""
    costs: dict[str, float] = {}
    for n in COUNCIL_SIZES:
        samples = []
        for seed in range(1, repeats + 1):
            settings = SimulationSettings(
                agents=n, requests=requests, clients=SATURATING_CLIENTS, seed=seed
            )
            wall_s, _, ordered = _timed_run(settings)
            samples.append(1000 * wall_s / ordered)
        costs[str(n)] = round(statistics.median(samples), 4)
    return costs


def growth_exponent(costs: dict[str, float], low: int = 33, high: int = 100) -> float:
    """``k`` in cost ∝ nᵏ between two council sizes (2 means quadratic)."""
    return round(math.log(costs[str(high)] / costs[str(low)]) / math.log(high / low), 3)


def measure_simulator(requests: int = 5000, repeats: int = 3) -> dict[str, Any]:
    f0 = ordered_per_s(0, requests, repeats)
    f10 = ordered_per_s(10, requests, repeats)
    costs = cost_by_n(requests // 2, repeats)
    return {
        "sim_ordered_per_s_f0": f0["wall"],
        "sim_ordered_per_s_f10": f10["wall"],
        "sim_ordered_per_cpu_s_f0": f0["cpu"],
        "sim_ordered_per_cpu_s_f10": f10["cpu"],
        "sim_cost_by_n": costs,
        "sim_cost_growth_exponent_33_to_100": growth_exponent(costs),
        "sim_settings": {
            "requests": requests,
            "clients": SATURATING_CLIENTS,
            "repeats": repeats,
            "attack_f10": "mixed",
        },
    }

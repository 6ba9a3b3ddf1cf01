"""Network faults and crashes during a fault phase: the council stays safe, and once the
network heals it finishes every request.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from council.sim import NetworkConditions, SimulationSettings
from council.sim.network import SeededNetwork
from council.sim.sweep import mixed_scenario, sweep
from tests.sim.support import explain, run


@dataclass(frozen=True, slots=True)
class FaultCase:
    name: str
    agents: int
    byzantine: int
    requests: int
    network: NetworkConditions
    crashes: int = 0
    seeds: tuple[int, ...] = (0, 1, 2)

    def settings(self, seed: int) -> SimulationSettings:
        return SimulationSettings(
            agents=self.agents,
            byzantine=self.byzantine,
            attack="mixed",
            requests=self.requests,
            clients=8,
            seed=seed,
            network=self.network,
            crashes=self.crashes,
            time_limit_ms=120_000,
        )


def loss(p: float, until_ms: int = 1_500) -> NetworkConditions:
    return NetworkConditions(loss=p, faults_until_ms=until_ms)


DUPLICATION = NetworkConditions(duplication=0.2, faults_until_ms=1_500)
PARTITIONS = NetworkConditions(
    partition_every_ms=300, partition_length_ms=200, faults_until_ms=1_500
)
CRASH_PHASE = NetworkConditions(faults_until_ms=600)
EVERYTHING = NetworkConditions(
    loss=0.1,
    duplication=0.1,
    partition_every_ms=400,
    partition_length_ms=300,
    faults_until_ms=1_500,
)
#: Nine messages in ten vanish for three seconds: nothing can be decided until it heals.
BLACKOUT = NetworkConditions(loss=0.9, faults_until_ms=3_000)
#: A new random partition every 100 ms for three seconds.
SHATTERED = NetworkConditions(
    partition_every_ms=100, partition_length_ms=100, faults_until_ms=3_000
)

SEVEN = [
    FaultCase("loss-5%", 7, 0, 150, loss(0.05)),
    FaultCase("loss-10%", 7, 0, 150, loss(0.10)),
    FaultCase("loss-10%-f-byzantine", 7, 2, 60, loss(0.10)),
    FaultCase("duplication", 7, 0, 150, DUPLICATION),
    FaultCase("duplication-f-byzantine", 7, 2, 60, DUPLICATION),
    FaultCase("partitions", 7, 0, 150, PARTITIONS),
    FaultCase("partitions-f-byzantine", 7, 2, 60, PARTITIONS),
    FaultCase("1-crash", 7, 0, 300, CRASH_PHASE, crashes=1),
    FaultCase("2-crashes", 7, 0, 300, CRASH_PHASE, crashes=2),
    FaultCase("3-crashes", 7, 0, 300, CRASH_PHASE, crashes=3),
    FaultCase("3-crashes-f-byzantine", 7, 2, 200, CRASH_PHASE, crashes=3),
    FaultCase("everything", 7, 0, 150, EVERYTHING, crashes=3),
    FaultCase("everything-f-byzantine", 7, 2, 60, EVERYTHING, crashes=3),
    FaultCase("blackout", 7, 0, 150, BLACKOUT),
    FaultCase("shattered", 7, 2, 60, SHATTERED),
]
THIRTY_THREE = [
    FaultCase("loss-5%", 33, 10, 30, loss(0.05), seeds=(0,)),
    FaultCase("loss-10%", 33, 10, 30, loss(0.10), seeds=(1,)),
    FaultCase("duplication", 33, 10, 30, DUPLICATION, seeds=(0,)),
    FaultCase("partitions", 33, 10, 30, PARTITIONS, seeds=(1,)),
    FaultCase("1-crash", 33, 10, 30, CRASH_PHASE, crashes=1, seeds=(2,)),
    FaultCase("3-crashes", 33, 10, 30, CRASH_PHASE, crashes=3, seeds=(3,)),
    FaultCase("everything", 33, 10, 30, EVERYTHING, crashes=3, seeds=(1,)),
    FaultCase("blackout", 33, 10, 30, BLACKOUT, seeds=(0,)),
    FaultCase("shattered", 33, 10, 30, SHATTERED, seeds=(2,)),
]

CASES = [
    pytest.param(case, seed, id=f"n{case.agents}-{case.name}-seed{seed}")
    for case in SEVEN + THIRTY_THREE
    for seed in case.seeds
]


@pytest.mark.parametrize(("case", "seed"), CASES)
def test_faults_never_break_safety_and_the_council_is_live_after_healing(
    case: FaultCase, seed: int
) -> None:
    settings = case.settings(seed)
    simulation = run(settings)
    why = explain(simulation)
    assert simulation.violation is None, why
    assert simulation.clients.done, why
    assert len(simulation.checker.ordered) == settings.requests, why
    # The faults did happen during the run.
    stats = simulation.stats
    assert stats.crashes == stats.restarts == case.crashes, f"crashes/restarts: {why}"
    if case.network.partition_every_ms:
        assert isinstance(simulation.network, SeededNetwork)
        assert any(p.start_ms < simulation.now_ms for p in simulation.network.partitions), why


@pytest.mark.parametrize(
    ("agents", "byzantine", "network"),
    [(7, 0, BLACKOUT), (7, 2, SHATTERED), (33, 10, BLACKOUT)],
    ids=["n7-blackout", "n7-shattered", "n33-blackout"],
)
def test_work_stuck_in_the_fault_phase_finishes_after_the_network_heals(
    agents: int, byzantine: int, network: NetworkConditions
) -> None:
    settings = SimulationSettings(
        agents=agents,
        byzantine=byzantine,
        requests=30,
        clients=8,
        seed=4,
        network=network,
        time_limit_ms=120_000,
    )
    simulation = run(settings)
    why = explain(simulation)
    assert simulation.violation is None and simulation.clients.done, why
    finished_after_healing = [
        c for c in simulation.clients.completed if c.completed_ms >= network.faults_until_ms
    ]
    assert finished_after_healing, f"everything finished inside the fault phase: {why}"


def test_a_state_transfer_followed_by_execution_is_not_an_integrity_violation() -> None:
    """A replica that catches up by state transfer executes the batches after the checkpoint
    in the same step; the checker must judge them against the checkpoint's client table, not
    the table as it is once they ran (which made them look executed twice)."""
    settings = SimulationSettings(
        agents=7,
        byzantine=0,
        requests=200,
        clients=8,
        seed=2,
        network=NetworkConditions(loss=0.05, faults_until_ms=2_000),
    )
    simulation = run(settings)
    assert simulation.stats.state_transfers >= 1, explain(simulation)
    assert simulation.violation is None, explain(simulation)
    assert simulation.clients.done, explain(simulation)


#: Seeds of ``mixed_scenario(seed, agents=7, byzantine=2, requests=12)`` where, with Q = n − f
#: = 5, every correct replica must join a view change, and crashes (and restarts with a
#: fresh, short view-change back-off) put one of them ahead of the others. A replica whose
#: view timer fires before Q replicas voted for its view must not move on alone, or the
#: correct replicas sit in different views for ever (OSDI'99 §4.5.2).
VIEW_RACE_SEEDS = (13, 106, 143, 157)


def test_a_restarted_replica_does_not_leave_the_council_in_views_that_never_meet() -> None:
    report = sweep(
        [mixed_scenario(seed, agents=7, byzantine=2, requests=12) for seed in VIEW_RACE_SEEDS],
        jobs=1,
    )
    assert not report.failures, report.describe_failures()

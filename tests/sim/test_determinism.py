"""A seed names one run: the same seed gives the same event trace, in any process.

The trace digest hashes every processed event (deliveries, ticks, crashes, restarts), so it
covers the network's faults as well as the protocol's messages.
"""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from pathlib import Path

from council.sim import NetworkConditions, Simulation, SimulationSettings
from council.sim.sweep import replay_arguments, run_one
from tests.sim.support import run

#: Every source of randomness at once: adversaries, loss, duplication, partitions, crashes.
STORMY = SimulationSettings(
    agents=33,
    byzantine=10,
    attack="mixed",
    requests=20,
    clients=8,
    seed=29,
    crashes=2,
    network=NetworkConditions(
        loss=0.05,
        duplication=0.1,
        partition_every_ms=700,
        partition_length_ms=300,
        faults_until_ms=2_000,
    ),
)

SMALL = SimulationSettings(agents=7, byzantine=0, requests=40, clients=8, seed=5)


def council_executable() -> Path:
    path = Path(sys.executable).parent / "council"
    assert path.exists(), f"the council console script is not installed next to {sys.executable}"
    return path


def test_one_seed_gives_one_trace_digest_in_one_process() -> None:
    first, second = run_one(STORMY), run_one(STORMY)
    assert first.trace_digest == second.trace_digest
    assert dataclasses.replace(first, wall_seconds=0) == dataclasses.replace(second, wall_seconds=0)
    # The run did meet the faults it is meant to replay.
    assert first.crashes == 2
    assert first.view_changes >= 1


def test_one_seed_gives_one_trace_digest_across_processes_and_hash_seeds() -> None:
    arguments = [str(council_executable()), *replay_arguments(STORMY), "--trace-digest"]
    processes = []
    for hash_seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        processes.append(
            subprocess.Popen(
                arguments, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
            )
        )
    outputs = []
    for process in processes:
        stdout, stderr = process.communicate(timeout=120)
        assert process.returncode == 0, f"{' '.join(arguments)} failed:\n{stderr}"
        outputs.append(stdout.strip())
    in_process = run_one(STORMY).trace_digest
    assert outputs == [in_process, in_process], f"replay: {' '.join(arguments)}"


def test_different_seeds_give_different_trace_digests() -> None:
    digests = {run(dataclasses.replace(SMALL, seed=seed)).trace_digest for seed in range(6)}
    assert len(digests) == 6


def with_network(
    settings: SimulationSettings, *, loss: float = 0.0, duplication: float = 0.0
) -> SimulationSettings:
    network = NetworkConditions(loss=loss, duplication=duplication, faults_until_ms=60_000)
    return dataclasses.replace(settings, network=network)


def test_the_trace_digest_covers_the_network_faults() -> None:
    baseline = run(with_network(SMALL)).trace_digest
    lossy = run(with_network(SMALL, loss=0.05))
    duplicating = run(with_network(SMALL, duplication=0.05))
    assert lossy.clients.done and duplicating.clients.done
    assert len({baseline, lossy.trace_digest, duplicating.trace_digest}) == 3


def test_the_trace_digest_covers_crashes() -> None:
    settings = dataclasses.replace(
        SMALL, requests=200, network=NetworkConditions(faults_until_ms=300)
    )
    calm = run(settings)
    crashing = run(dataclasses.replace(settings, crashes=1))
    assert crashing.stats.crashes == 1
    assert calm.trace_digest != crashing.trace_digest


def test_the_trace_digest_changes_as_the_run_goes_on() -> None:
    simulation = Simulation(SMALL)
    digests = {simulation.trace_digest}
    for _ in range(50):
        assert simulation.step()
        digests.add(simulation.trace_digest)
    assert len(digests) == 51

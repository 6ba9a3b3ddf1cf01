"""Seed sweeps of a 33-member council with 10 Byzantine members: safe and live on every seed.

The scenarios rotate, seed by seed, through the attacks (mixed, silent, split-brain) and the
network faults (loss, duplication, partitions that heal, crashes with restart) of
:func:`council.sim.sweep.mixed_scenario`. ``make test`` sweeps 200 seeds; ``make test-long``
(``pytest -m slow``) sweeps 5,000 more. A failure lists every failing seed with the
``council simulate`` command that replays it.
"""

from __future__ import annotations

import os

import pytest

from council.sim import NetworkConditions, SimulationSettings
from council.sim.sweep import (
    ATTACK_ROTATION,
    FAULT_PROFILES,
    SeedResult,
    default_jobs,
    fault_profile_of,
    mixed_scenario,
    replay_arguments,
    replay_command,
    run_one,
    sweep,
)

FAST_SEEDS = range(0, 200)
FAST_CHUNK = 20
SLOW_SEEDS = range(200, 5_200)
SLOW_CHUNK = 250


def chunks(seeds: range, size: int) -> list[range]:
    return [seeds[i : i + size] for i in range(0, len(seeds), size)]


def sweep_jobs() -> int:
    """In-process under pytest-xdist (the workers already use the cores), else every core."""
    return 1 if os.environ.get("PYTEST_XDIST_WORKER") else default_jobs()


def assert_all_safe_and_live(seeds: range) -> None:
    report = sweep([mixed_scenario(seed) for seed in seeds], jobs=sweep_jobs())
    assert [result.seed for result in report.results] == list(seeds)
    assert not report.failures, report.describe_failures()
    for result in report.results:
        assert result.ordered == result.settings.requests, result.describe()


@pytest.mark.parametrize(
    "seeds", chunks(FAST_SEEDS, FAST_CHUNK), ids=lambda s: f"seeds-{s.start}-{s.stop - 1}"
)
def test_ten_byzantine_of_33_never_break_safety_and_every_run_is_live(seeds: range) -> None:
    assert_all_safe_and_live(seeds)


@pytest.mark.slow
@pytest.mark.timeout(1_800)
@pytest.mark.parametrize(
    "seeds", chunks(SLOW_SEEDS, SLOW_CHUNK), ids=lambda s: f"seeds-{s.start}-{s.stop - 1}"
)
def test_long_sweep_ten_byzantine_of_33_safe_and_live(seeds: range) -> None:
    assert_all_safe_and_live(seeds)


def test_the_sweeps_cover_the_promised_seed_counts() -> None:
    assert len(FAST_SEEDS) >= 200
    assert len(SLOW_SEEDS) >= 5_000
    assert set(FAST_SEEDS).isdisjoint(SLOW_SEEDS)
    assert sum(len(c) for c in chunks(FAST_SEEDS, FAST_CHUNK)) == len(FAST_SEEDS)
    assert sum(len(c) for c in chunks(SLOW_SEEDS, SLOW_CHUNK)) == len(SLOW_SEEDS)


def test_the_fast_sweep_pairs_every_attack_with_every_fault_profile() -> None:
    scenarios = [mixed_scenario(seed) for seed in FAST_SEEDS]
    pairs = {(s.attack, fault_profile_of(s)) for s in scenarios}
    assert pairs == {(a, p.name) for a in ATTACK_ROTATION for p in FAULT_PROFILES}
    assert {(s.agents, s.byzantine) for s in scenarios} == {(33, 10)}
    assert all(20 <= s.requests <= 40 and 8 <= s.clients <= 16 for s in scenarios)
    faulty = [s for s in scenarios if fault_profile_of(s) != "calm"]
    assert all(s.network.faults_until_ms > 0 for s in faulty)
    assert any(s.crashes > 0 for s in scenarios)
    assert any(s.network.loss > 0 for s in scenarios)
    assert any(s.network.duplication > 0 for s in scenarios)
    assert any(s.network.partition_every_ms > 0 for s in scenarios)


def test_a_sweep_over_processes_returns_the_same_runs_as_one_process() -> None:
    scenarios = [mixed_scenario(seed, agents=7, byzantine=2, requests=12) for seed in range(8)]
    in_process = sweep(scenarios, jobs=1)
    over_processes = sweep(scenarios, jobs=2)

    def essence(result: SeedResult) -> tuple[object, ...]:
        return (result.settings, result.safe, result.live, result.ordered, result.trace_digest)

    assert [essence(r) for r in over_processes.results] == [essence(r) for r in in_process.results]
    assert len({r.trace_digest for r in in_process.results}) == len(scenarios)


def test_a_sweep_reports_a_broken_council_with_the_command_that_replays_it() -> None:
    broken = SimulationSettings(
        agents=7, byzantine=3, attack="split-brain", requests=10, clients=4, seed=11
    )
    report = sweep([broken, mixed_scenario(3, agents=7, byzantine=2, requests=10)], jobs=1)
    assert [r.seed for r in report.failures] == [11]
    assert [r.seed for r in report.unsafe] == [11]
    message = report.describe_failures()
    assert "seed 11" in message
    assert "SAFETY VIOLATED (agreement" in message
    assert (
        "council simulate --agents 7 --byzantine 3 --attack split-brain --requests 10 "
        "--clients 4 --seed 11" in message
    )


def test_a_sweep_reports_a_stalled_run() -> None:
    stalled = SimulationSettings(agents=7, requests=30, clients=4, seed=2, time_limit_ms=30)
    report = sweep([stalled], jobs=1)
    assert report.stalled == report.failures
    (result,) = report.failures
    assert result.safe and not result.live
    assert "STALLED" in result.describe()
    assert "--time-limit-ms 30" in result.describe()


def test_replay_arguments_spell_out_every_setting_that_differs_from_the_defaults() -> None:
    settings = SimulationSettings(
        agents=7,
        byzantine=2,
        attack="silent",
        requests=30,
        clients=8,
        seed=42,
        crashes=2,
        time_limit_ms=9_000,
        network=NetworkConditions(
            latency_ms=7.5,
            jitter_ms=0.0,
            loss=0.05,
            duplication=0.1,
            partition_every_ms=500,
            partition_length_ms=200,
            faults_until_ms=2_000,
        ),
    )
    assert replay_arguments(settings) == [
        "simulate",
        *("--agents", "7", "--byzantine", "2", "--attack", "silent", "--requests", "30"),
        *("--clients", "8", "--seed", "42", "--crashes", "2", "--time-limit-ms", "9000"),
        *("--latency-ms", "7.5", "--jitter-ms", "0.0", "--loss", "0.05", "--duplicate", "0.1"),
        *("--partition-every-ms", "500", "--partition-ms", "200", "--faults-ms", "2000"),
    ]
    assert replay_command(SimulationSettings(seed=9)) == (
        "council simulate --agents 33 --byzantine 0 --attack mixed --requests 500 "
        "--clients 128 --seed 9"
    )


def test_settings_the_command_line_cannot_express_are_refused() -> None:
    settings = SimulationSettings(agents=7, checkpoint_interval=8)
    with pytest.raises(ValueError, match="checkpoint_interval"):
        replay_arguments(settings)
    with pytest.raises(ValueError, match="checkpoint_interval"):
        sweep([settings], jobs=1)
    with pytest.raises(ValueError, match="jobs"):
        sweep([SimulationSettings(agents=7)], jobs=0)


def test_run_one_condenses_a_run() -> None:
    result = run_one(SimulationSettings(agents=4, requests=6, clients=2, seed=1))
    assert result.ok and result.safe and result.live
    assert result.ordered == result.completed == 6
    assert result.violation is None
    assert len(result.trace_digest) == 64
    assert result.events > 0 and result.virtual_ms > 0
    assert result.command.endswith("--seed 1")

"""Seed sweeps: many simulated runs, spread over processes, each one replayable by its seed.

A sweep takes a list of :class:`~council.sim.runner.SimulationSettings` (usually one per seed),
runs them with :class:`concurrent.futures.ProcessPoolExecutor` and returns one
:class:`SeedResult` per run, in the order given. Every result carries the exact
``council simulate ...`` command that replays it, so a failing seed found in a sweep of
thousands is one copy-paste away from a debugger.

:func:`mixed_scenario` derives, from a seed alone, a scenario that rotates the attack (mixed,
silent, split-brain) and the network faults (loss, duplication, partitions that heal, crashes
with restart) across consecutive seeds::

    from council.sim.sweep import mixed_scenario, sweep

    report = sweep([mixed_scenario(seed) for seed in range(1_000)], jobs=4)
    assert not report.failures, report.describe_failures()

Or from a shell: ``python -m council.sim.sweep --seeds 1000 --jobs 4``.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import shlex
import sys
import time
from collections.abc import Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass

from council.sim.network import NetworkConditions
from council.sim.runner import Simulation, SimulationSettings

#: The attacks :func:`mixed_scenario` rotates through, one per consecutive seed.
ATTACK_ROTATION = ("mixed", "silent", "split-brain")

#: How long the network misbehaves in :func:`mixed_scenario` before it heals (virtual ms).
FAULT_PHASE_MS = 2_500


@dataclass(frozen=True, slots=True)
class FaultProfile:
    """Network faults and crashes applied during a run's fault phase."""

    name: str
    network: NetworkConditions
    crashes: int = 0


#: The fault profiles :func:`mixed_scenario` rotates through.
FAULT_PROFILES: tuple[FaultProfile, ...] = (
    FaultProfile("calm", NetworkConditions()),
    FaultProfile("loss", NetworkConditions(loss=0.05, faults_until_ms=FAULT_PHASE_MS)),
    FaultProfile(
        "duplication", NetworkConditions(duplication=0.15, faults_until_ms=FAULT_PHASE_MS)
    ),
    FaultProfile(
        "partitions",
        NetworkConditions(
            partition_every_ms=800, partition_length_ms=400, faults_until_ms=FAULT_PHASE_MS
        ),
    ),
    FaultProfile("crashes", NetworkConditions(faults_until_ms=FAULT_PHASE_MS), crashes=2),
    FaultProfile(
        "storm",
        NetworkConditions(
            loss=0.03,
            duplication=0.05,
            partition_every_ms=1_000,
            partition_length_ms=300,
            faults_until_ms=FAULT_PHASE_MS,
        ),
        crashes=1,
    ),
)


def mixed_scenario(
    seed: int,
    *,
    agents: int = 33,
    byzantine: int = 10,
    requests: int = 20,
    clients: int = 10,
    time_limit_ms: int = 120_000,
) -> SimulationSettings:
    """The scenario of ``seed`` in a mixed sweep: the attack and the fault profile rotate.

    Consecutive seeds cycle through every pairing of :data:`ATTACK_ROTATION` and
    :data:`FAULT_PROFILES` (``3 × 6 = 18`` seeds cover them all).
    """
    attack = ATTACK_ROTATION[seed % len(ATTACK_ROTATION)]
    profile = FAULT_PROFILES[(seed // len(ATTACK_ROTATION)) % len(FAULT_PROFILES)]
    return SimulationSettings(
        agents=agents,
        byzantine=byzantine,
        attack=attack,
        requests=requests,
        clients=clients,
        seed=seed,
        network=profile.network,
        crashes=profile.crashes,
        time_limit_ms=time_limit_ms,
    )


def fault_profile_of(settings: SimulationSettings) -> str:
    """The name of the :data:`FAULT_PROFILES` entry ``settings`` uses, or ``"custom"``."""
    for profile in FAULT_PROFILES:
        if profile.network == settings.network and profile.crashes == settings.crashes:
            return profile.name
    return "custom"


# -- replay commands ----------------------------------------------------------------------------

_DEFAULTS = SimulationSettings()
_DEFAULT_NETWORK = NetworkConditions()

#: SimulationSettings field → ``council simulate`` option.
_SETTINGS_OPTIONS = (
    ("agents", "--agents"),
    ("byzantine", "--byzantine"),
    ("attack", "--attack"),
    ("requests", "--requests"),
    ("clients", "--clients"),
    ("seed", "--seed"),
    ("crashes", "--crashes"),
    ("time_limit_ms", "--time-limit-ms"),
)
#: NetworkConditions field → ``council simulate`` option.
_NETWORK_OPTIONS = (
    ("latency_ms", "--latency-ms"),
    ("jitter_ms", "--jitter-ms"),
    ("loss", "--loss"),
    ("duplication", "--duplicate"),
    ("partition_every_ms", "--partition-every-ms"),
    ("partition_length_ms", "--partition-ms"),
    ("faults_until_ms", "--faults-ms"),
)
#: Settings the command line always takes at their defaults.
_FIXED_FIELDS = ("batch_size_max", "checkpoint_interval")


def replay_arguments(settings: SimulationSettings) -> list[str]:
    """The ``council simulate`` arguments that run exactly ``settings``.

    ``--agents``, ``--byzantine``, ``--attack``, ``--requests``, ``--clients`` and ``--seed``
    are always spelled out; other options only when they differ from the defaults. Raises
    ``ValueError`` for settings the command line cannot express.
    """
    for name in _FIXED_FIELDS:
        if getattr(settings, name) != getattr(_DEFAULTS, name):
            raise ValueError(f"`council simulate` has no option for {name}")
    always = {"agents", "byzantine", "attack", "requests", "clients", "seed"}
    arguments = ["simulate"]
    for name, option in _SETTINGS_OPTIONS:
        value = getattr(settings, name)
        if name in always or value != getattr(_DEFAULTS, name):
            arguments += [option, str(value)]
    if settings.relay_votes:
        arguments.append("--relay-votes")
    for name, option in _NETWORK_OPTIONS:
        value = getattr(settings.network, name)
        if value != getattr(_DEFAULT_NETWORK, name):
            arguments += [option, repr(value) if isinstance(value, float) else str(value)]
    return arguments


def replay_command(settings: SimulationSettings) -> str:
    """The shell command that replays ``settings``: ``council simulate --agents 33 ...``."""
    return shlex.join(["council", *replay_arguments(settings)])


# -- running ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SeedResult:
    """What one run of a sweep yielded (small and picklable: it crosses processes)."""

    settings: SimulationSettings
    safe: bool
    live: bool
    violation: str | None
    ordered: int
    completed: int
    view_changes: int
    crashes: int
    state_transfers: int
    virtual_ms: int
    events: int
    trace_digest: str
    wall_seconds: float

    @property
    def seed(self) -> int:
        return self.settings.seed

    @property
    def ok(self) -> bool:
        """Safe, and every request completed."""
        return self.safe and self.live

    @property
    def command(self) -> str:
        return replay_command(self.settings)

    def describe(self) -> str:
        """One line naming the seed, the verdicts and the command that replays the run."""
        safety = "safe" if self.safe else f"SAFETY VIOLATED ({self.violation})"
        liveness = (
            "live" if self.live else f"STALLED ({self.completed}/{self.settings.requests} done)"
        )
        return (
            f"seed {self.seed} [{self.settings.attack}, {fault_profile_of(self.settings)}]: "
            f"{safety}, {liveness}, view {self.view_changes}, {self.virtual_ms} virtual ms "
            f"— replay: {self.command}"
        )


def run_one(settings: SimulationSettings) -> SeedResult:
    """Run one simulation to its end and condense it into a :class:`SeedResult`."""
    started = time.perf_counter()
    simulation = Simulation(settings)
    outcome = simulation.run()
    wall_seconds = time.perf_counter() - started
    violation = simulation.violation
    return SeedResult(
        settings=settings,
        safe=outcome.safe,
        live=outcome.live,
        violation=None
        if violation is None
        else f"{violation.invariant} at seq {violation.seq} on replica {violation.replica}: "
        f"{violation.detail}",
        ordered=len(simulation.checker.ordered),
        completed=len(simulation.clients.completed),
        view_changes=simulation.stats.highest_view,
        crashes=simulation.stats.crashes,
        state_transfers=simulation.stats.state_transfers,
        virtual_ms=simulation.now_ms,
        events=simulation.stats.events,
        trace_digest=simulation.trace_digest,
        wall_seconds=wall_seconds,
    )


@dataclass(frozen=True, slots=True)
class SweepReport:
    """The results of a sweep, in the order the settings were given."""

    results: tuple[SeedResult, ...]
    wall_seconds: float

    @property
    def failures(self) -> tuple[SeedResult, ...]:
        """Runs that broke safety or did not complete every request."""
        return tuple(result for result in self.results if not result.ok)

    @property
    def unsafe(self) -> tuple[SeedResult, ...]:
        return tuple(result for result in self.results if not result.safe)

    @property
    def stalled(self) -> tuple[SeedResult, ...]:
        return tuple(result for result in self.results if not result.live)

    def describe_failures(self, lines_max: int = 50) -> str:
        """Every failing seed with its replay command (the first ``lines_max`` of them)."""
        failures = self.failures
        lines = [f"{len(failures)} of {len(self.results)} runs failed:"]
        lines += [result.describe() for result in failures[:lines_max]]
        if len(failures) > lines_max:
            lines.append(f"... and {len(failures) - lines_max} more")
        return "\n".join(lines)


def default_jobs() -> int:
    """One process per CPU this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not every platform has sched_getaffinity
        return max(1, os.cpu_count() or 1)


def sweep(settings: Iterable[SimulationSettings], *, jobs: int | None = None) -> SweepReport:
    """Run every scenario of ``settings``, over ``jobs`` processes (1: in this process).

    Runs are independent and deterministic, so the results do not depend on ``jobs``.
    """
    scenarios = list(settings)
    for scenario in scenarios:
        replay_arguments(scenario)  # fail before running anything we could not replay
    jobs = default_jobs() if jobs is None else jobs
    if jobs < 1:
        raise ValueError(f"jobs must be at least 1, got {jobs}")
    started = time.perf_counter()
    if jobs == 1 or len(scenarios) <= 1:
        results = [run_one(scenario) for scenario in scenarios]
    else:
        chunksize = max(1, len(scenarios) // (jobs * 8))
        # Fresh interpreters rather than forks: the caller may run threads (pytest-xdist
        # does), and a fork copies their locks in whatever state they are.
        context = multiprocessing.get_context("spawn")
        workers = min(jobs, len(scenarios))
        with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
            results = list(pool.map(run_one, scenarios, chunksize=chunksize))
    return SweepReport(tuple(results), time.perf_counter() - started)


# -- command line -------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m council.sim.sweep``: run a mixed sweep and list failing seeds."""
    parser = argparse.ArgumentParser(
        prog="python -m council.sim.sweep",
        description="Sweep seeds of mixed Byzantine attacks and network faults.",
    )
    parser.add_argument("--seeds", type=int, default=200, help="how many seeds (default 200)")
    parser.add_argument("--first-seed", type=int, default=0, help="first seed (default 0)")
    parser.add_argument("--agents", type=int, default=33)
    parser.add_argument("--byzantine", type=int, default=10)
    parser.add_argument("--requests", type=int, default=20)
    parser.add_argument("--clients", type=int, default=10)
    parser.add_argument("--jobs", type=int, default=default_jobs())
    args = parser.parse_args(argv)
    scenarios = [
        mixed_scenario(
            seed,
            agents=args.agents,
            byzantine=args.byzantine,
            requests=args.requests,
            clients=args.clients,
        )
        for seed in range(args.first_seed, args.first_seed + args.seeds)
    ]
    report = sweep(scenarios, jobs=args.jobs)
    print(
        f"{len(report.results)} seeds, {len(report.unsafe)} unsafe, "
        f"{len(report.stalled)} stalled, {report.wall_seconds:.1f} s over {args.jobs} jobs"
    )
    if report.failures:
        print(report.describe_failures(lines_max=len(report.failures)))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Run a scenario file in the simulator and report on it, with the bloc's counterfactual.

The faulty seats arrive as a plain mapping seat → behaviours, so the counterfactual (the same
seed with the bloc voting honestly) and the sweep (growing blocs) are the same run with a
different mapping.
"""

from __future__ import annotations

import random
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from consensus import ReplicaConfig
from council.report.model import Counterfactual, RunReport
from council.scenario.agents import AgentPlan, ScenarioCouncil, behaviour_rng
from council.scenario.clients import BallotChooser, GovernanceClients
from council.scenario.expectations import judged
from council.scenario.links import LinkModel, NetworkPhase, PhasedNetwork
from council.scenario.outcome import RunIdentity, build_report
from council.scenario.schema import (
    Behaviour,
    Crash,
    Latency,
    LoadedScenario,
    resolve_seats,
)
from council.scenario.simulation import ScenarioSimulation
from council.scenario.voting import (
    Ballot,
    CapturedVoting,
    PlannedMotion,
    captured_voting,
    honest_policy,
    seat_ballot,
)
from council.scenario.wiring import twins_for, wrapper_for
from council.sim.runner import PlannedCrash, SimulationSettings, derive_seed

#: Behaviours that change only a seat's ballots; the counterfactual replaces them by honesty.
VOTING_KINDS = frozenset({"bloc-vote", "withhold-votes"})
#: Behaviours handled by the runner itself rather than by wrapping the agent's messages.
RUN_KINDS = VOTING_KINDS | {"crash", "twins", "split-brain"}

FaultySeats = Mapping[int, tuple[Behaviour, ...]]


def run_scenario(
    loaded: LoadedScenario,
    *,
    seed: int | None = None,
    faulty: FaultySeats | None = None,
    counterfactual: bool = True,
    records_dir: Path | None = None,
) -> RunReport:
    """Run ``loaded`` (with ``seed`` and ``faulty`` seats if given) and judge its expectations.

    With ``records_dir``, each decided motion's signed decision record and the council's roster
    are written there, for ``council verify``."""
    seed = loaded.scenario.seed if seed is None else seed
    faulty = loaded.faulty_seats if faulty is None else faulty
    report = simulate(loaded, seed=seed, faulty=faulty, records_dir=records_dir)
    if counterfactual and any(b.kind in VOTING_KINDS for bs in faulty.values() for b in bs):
        honest = {seat: _without_voting(bs) for seat, bs in faulty.items()}
        report = with_counterfactual(report, simulate(loaded, seed=seed, faulty=honest), faulty)
    return judged(report, loaded.scenario.expect)


def _without_voting(behaviours: tuple[Behaviour, ...]) -> tuple[Behaviour, ...]:
    return tuple(b for b in behaviours if b.kind not in VOTING_KINDS)


def with_counterfactual(report: RunReport, honest: RunReport, faulty: FaultySeats) -> RunReport:
    """``report`` with each motion's outcome in ``honest`` and the motions the bloc flipped."""
    other = {m.id: m.outcome for m in honest.motions}
    motions = [
        m.model_copy(
            update={
                "counterfactual_outcome": other.get(m.id),
                "flipped": other.get(m.id, m.outcome) != m.outcome,
            }
        )
        for m in report.motions
    ]
    bloc = sorted(s for s, bs in faulty.items() if any(b.kind in VOTING_KINDS for b in bs))
    flipped = [m.id for m in motions if m.flipped]
    return report.model_copy(
        update={"motions": motions, "counterfactual": Counterfactual(bloc=bloc, flipped=flipped)}
    )


@dataclass(frozen=True)
class SimulationParts:
    """What a simulated run of a scenario is made of, before any client is added: the council
    with its faulty seats wired in, how each seat votes, the network and the crashes."""

    council: ScenarioCouncil
    choose_ballot: BallotChooser
    network: PhasedNetwork
    crashes: tuple[PlannedCrash, ...]


def simulation_parts(loaded: LoadedScenario, *, seed: int, faulty: FaultySeats) -> SimulationParts:
    """The council, voting, network and crashes of ``loaded`` run with ``seed`` and ``faulty``."""
    council_file = loaded.council
    config = ReplicaConfig(n=council_file.n, relay_votes=True)
    plans, crashes, captured = _plans(faulty)
    council = ScenarioCouncil(
        config,
        seed=seed,
        rules=council_file.governance_rules(),
        plans=plans,
        wrap=lambda replica, node, seat: wrapper_for(
            replica,
            faulty[seat],
            config,
            behaviour_rng(seed, seat),
            lambda selector: resolve_seats(selector, council_file),
            inner=node,
        ),
        make_twins=lambda first, second, seat: twins_for(
            first, second, faulty[seat], config, behaviour_rng(seed, seat)
        ),
    )
    policy = honest_policy(loaded.voting)
    constituencies = tuple(seat.constituency for seat in council_file.seats())

    def choose(seat: int, motion: PlannedMotion, now_ms: int) -> Ballot | None:
        instructions = captured.get(seat, ())
        return seat_ballot(
            policy, instructions, seed, seat, constituencies[seat - 1], motion, now_ms
        )

    return SimulationParts(council, choose, network_of(loaded, seed), crashes)


def simulate(
    loaded: LoadedScenario, *, seed: int, faulty: FaultySeats, records_dir: Path | None = None
) -> RunReport:
    """One run of the simulator; expectations and counterfactual are left out."""
    started = time.perf_counter()
    scenario, council_file = loaded.scenario, loaded.council
    parts = simulation_parts(loaded, seed=seed, faulty=faulty)
    rules = parts.council.rules
    motions = tuple(
        PlannedMotion(m.id, m.title, m.text, m.category, m.at_ms, m.merit, m.submitter)
        for m in loaded.motions
    )
    clients = GovernanceClients(
        parts.council.client_sessions,
        motions,
        lambda motion: rules.categories[motion.category].window_ms,
        parts.choose_ballot,
    )
    settings = SimulationSettings(
        agents=council_file.n, seed=seed, time_limit_ms=scenario.duration_ms, requests=len(motions)
    )
    simulation = ScenarioSimulation(
        settings, parts.council, parts.network, clients, crash_plan=parts.crashes
    )
    simulation.run()
    if records_dir is not None:
        write_records(simulation, records_dir)
    constituencies = tuple(seat.constituency for seat in council_file.seats())
    identity = RunIdentity(
        name=scenario.name,
        description=scenario.description,
        file=str(loaded.path) if loaded.path else None,
        seed=seed,
        replay=f"council scenario run {loaded.path or '<file>'} --seed {seed}",
        council_name=council_file.name,
        council_id=council_file.council_id,
        constituencies=constituencies,
        behaviours={seat: tuple(b.kind for b in bs) for seat, bs in faulty.items()},
        rules={name: category.rule for name, category in council_file.categories.items()},
    )
    return build_report(simulation, identity, motions, time.perf_counter() - started)


def write_records(simulation: ScenarioSimulation, directory: Path) -> None:
    """Each decided motion's record as ``<motion>.json`` and the roster as ``roster.json``."""
    directory.mkdir(parents=True, exist_ok=True)
    simulation.scenario_council.roster.save(directory / "roster.json")
    for motion, record in simulation.decision_records().items():
        (directory / f"{motion}.json").write_text(record.model_dump_json(indent=2) + "\n")


def _plans(
    faulty: FaultySeats,
) -> tuple[dict[int, AgentPlan], tuple[PlannedCrash, ...], dict[int, tuple[CapturedVoting, ...]]]:
    """What the runner does for each faulty seat: its agent plan, its crashes, its ballots."""
    plans: dict[int, AgentPlan] = {}
    crashes: list[PlannedCrash] = []
    captured: dict[int, tuple[CapturedVoting, ...]] = {}
    for seat, behaviours in sorted(faulty.items()):
        kinds = {b.kind for b in behaviours}
        plans[seat] = AgentPlan(
            seat,
            wrapped=bool(kinds - RUN_KINDS),
            twins="twins" in kinds,
            colluding="split-brain" in kinds,
        )
        crashes += [
            PlannedCrash(seat - 1, b.at_ms, b.restart_at_ms)
            for b in behaviours
            if isinstance(b, Crash)
        ]
        instructions = captured_voting(behaviours)
        if instructions:
            captured[seat] = instructions
    return plans, tuple(crashes), captured


def _link(latency: Latency, loss: float, duplicate: float, reorder: float) -> LinkModel:
    return LinkModel(
        distribution=latency.distribution,
        base_ms=latency.base_ms,
        jitter_ms=latency.jitter_ms,
        loss=loss,
        duplicate=duplicate,
        reorder=reorder,
    )


def network_of(loaded: LoadedScenario, seed: int) -> PhasedNetwork:
    network = loaded.scenario.network
    base = _link(network.latency, network.loss, network.duplicate, network.reorder)
    phases = []
    for phase in network.phases:
        link = _link(
            phase.latency or network.latency,
            network.loss if phase.loss is None else phase.loss,
            network.duplicate if phase.duplicate is None else phase.duplicate,
            network.reorder if phase.reorder is None else phase.reorder,
        )
        groups = tuple(
            frozenset(seat - 1 for seat in resolve_seats(selector, loaded.council))
            for selector in (phase.partition or ())
        )
        phases.append(NetworkPhase(phase.from_ms, phase.until_ms, link, groups))
    return PhasedNetwork(base, tuple(phases), random.Random(derive_seed(seed, "network")))

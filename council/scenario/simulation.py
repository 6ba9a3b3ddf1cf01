"""A scenario run in the simulator: the protocol simulation plus what governance needs to see.

It adds to the plain simulation what a report is made of — when each seat heard of each
motion (so it can vote), when a motion was decided (the moment ``f + 1`` correct agents had
executed its close, so a client could learn it), each agent's views, commits and down time.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from consensus import Execute
from council.governance.app import MotionState
from council.governance.events import Closed, Opened, parse_event
from council.governance.records import DecisionRecord, DecisionRecorder
from council.scenario.agents import ScenarioCouncil
from council.scenario.clients import GovernanceClients
from council.scenario.links import PhasedNetwork
from council.sim.runner import (
    CLIENTS_NODE,
    PlannedCrash,
    Simulation,
    SimulationSettings,
    World,
)


@dataclass(slots=True)
class AgentHistory:
    """One agent's life in a run, for the timeline plot."""

    views: list[tuple[int, int]] = field(default_factory=lambda: [(0, 0)])
    commits: list[tuple[int, int]] = field(default_factory=list)
    down: list[list[int]] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Decision:
    """A motion's outcome as ``f + 1`` correct agents executed it."""

    motion: str
    outcome: str
    yes: int
    no: int
    abstain: int
    decided_ms: int
    seq: int


class ScenarioSimulation(Simulation):
    """The simulator driving governance agents, the scenario's clients and network."""

    def __init__(
        self,
        settings: SimulationSettings,
        council: ScenarioCouncil,
        network: PhasedNetwork,
        clients: GovernanceClients,
        crash_plan: tuple[PlannedCrash, ...],
    ) -> None:
        self.scenario_council = council
        self.governance_clients = clients
        self.histories = {i: AgentHistory() for i in range(settings.agents)}
        self.decisions: dict[str, Decision] = {}
        self._closed_by: dict[str, set[int]] = defaultdict(set)
        self._weak = council.quorums.weak
        self.recorders = {i: DecisionRecorder(council.rules) for i in council.replicas}
        super().__init__(settings, world=World(council, network, clients), crash_plan=crash_plan)

    def on_execute(self, replica: int, effect: Execute) -> None:
        history = self.histories[replica]
        history.commits.append((self.now_ms, effect.seq))
        correct = replica in self.scenario_council.replicas
        if correct:
            self.recorders[replica].observe(effect)
        for result in effect.results:
            if '"opened"' in result:
                event = parse_event(result)
                if isinstance(event, Opened):
                    self.governance_clients.opened(replica + 1, event.motion, self.now_ms)
                    self._rearm(CLIENTS_NODE)
            elif correct and '"closed"' in result:
                event = parse_event(result)
                if isinstance(event, Closed):
                    self._closed(replica, event, effect.seq)

    def _closed(self, replica: int, event: Closed, seq: int) -> None:
        closers = self._closed_by[event.motion]
        closers.add(replica)
        if len(closers) == self._weak and event.motion not in self.decisions:
            self.decisions[event.motion] = Decision(
                event.motion, event.outcome, event.yes, event.no, event.abstain, self.now_ms, seq
            )
            self.governance_clients.decided_motion(event.motion)

    def on_state_transfer(self, replica: int) -> None:
        # The seat skipped the openings of motions still open: it learns of them from the
        # state it received, and votes as if it had executed them.
        for motion in self.scenario_council.applications[replica].motions():
            if motion.status == "open":
                self.governance_clients.opened(replica + 1, motion.id, self.now_ms)
        self._rearm(CLIENTS_NODE)

    def on_view(self, replica: int, view: int) -> None:
        self.histories[replica].views.append((self.now_ms, view))

    def on_crash(self, replica: int, restarted: bool) -> None:
        down = self.histories[replica].down
        if restarted and down and len(down[-1]) == 1:
            down[-1].append(self.now_ms)
        elif not restarted:
            down.append([self.now_ms])

    def decision_records(self) -> dict[str, DecisionRecord]:
        """A signed, offline-verifiable record of each decided motion, from whichever correct
        agent executed it from its opening (one that caught up by state transfer cannot)."""
        records: dict[str, DecisionRecord] = {}
        for _, recorder in sorted(self.recorders.items()):
            for motion, record in recorder.records.items():
                records.setdefault(motion, record)
        return records

    def motion_state(self, motion_id: str) -> MotionState | None:
        """The motion as the most advanced correct agent holds it."""
        council = self.scenario_council
        best = max(
            council.replicas,
            key=lambda i: council.replicas[i].last_executed,
            default=None,
        )
        if best is None:
            return None
        return council.applications[best].motion(motion_id)

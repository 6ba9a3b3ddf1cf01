"""The agents of a simulated scenario: replicas running the governance application, some of
them wrapped in Byzantine behaviours.

Keys derive from the scenario's seed, so a seed names one council. An agent whose behaviours
only crash it or change its ballots still runs the protocol correctly, so the safety
checker watches it with the honest ones; agents that lie in their messages are not checked.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

import crypto
from consensus import (
    EnvelopeVerifier,
    QuorumMath,
    Replica,
    ReplicaConfig,
    replica_principal,
)
from consensus.client import ClientSession
from council.behaviours.base import Node
from council.governance.app import GovernanceApplication, GovernanceRules
from council.sim.adversary import CoalitionMember, SplitBrainCoalition
from council.sim.cluster import ReplicaStorage

#: Wraps an agent's node (its replica, or the twin pair around it) in its message behaviours:
#: (replica, node, seat) → the node the network sees.
WrapBehaviours = Callable[[Replica, Node, int], Node]
#: Builds a twin pair around two copies of a seat's replica.
MakeTwins = Callable[[Replica, Replica, int], Node]


@dataclass(frozen=True, slots=True)
class AgentPlan:
    """What a seat's agent does: lies in its messages (``wrapped``), runs as twins, or
    colludes in the split-brain coalition; everything else about it is correct."""

    seat: int
    wrapped: bool = False
    twins: bool = False
    colluding: bool = False

    @property
    def checked(self) -> bool:
        return not (self.wrapped or self.twins or self.colluding)


class ScenarioCouncil:
    """The replicas of one scenario run, their durable storage and the client sessions."""

    def __init__(
        self,
        config: ReplicaConfig,
        *,
        seed: int,
        rules: GovernanceRules,
        plans: dict[int, AgentPlan],
        wrap: WrapBehaviours,
        make_twins: MakeTwins,
    ) -> None:
        self.config = config
        self.quorums = QuorumMath.for_council(config.n)
        self.rules = rules
        self.plans = plans
        self._wrap = wrap
        self._make_twins = make_twins
        principals = [replica_principal(i) for i in range(config.n)]
        principals.extend(sorted(rules.secretariat))
        keys = {name: crypto.PrivateKey.derive(seed, name) for name in principals}
        backend = crypto.get_backend()
        self.roster = crypto.Roster(
            council_id=rules.council_id,
            members={name: key.public_key(backend) for name, key in keys.items()},
        )
        self.verifier = EnvelopeVerifier(crypto.Verifier(self.roster, backend))
        self.signers = {
            name: crypto.Signer(rules.council_id, name, key, backend) for name, key in keys.items()
        }
        self.storage = [ReplicaStorage() for _ in range(config.n)]
        self.nodes: dict[int, Node] = {}
        self.replicas: dict[int, Replica] = {}
        self.applications: dict[int, GovernanceApplication] = {}
        for i in range(config.n):
            plan = self.plans.get(i + 1, AgentPlan(i + 1))
            if not plan.colluding:
                self._install(i, plan, self._new_replica(i, now_ms=0), now_ms=0)
        self._make_coalition()
        self.client_sessions = [
            ClientSession(self.quorums, self.signers[name]) for name in principals
        ]

    def _new_replica(self, replica_id: int, now_ms: int) -> Replica:
        application = GovernanceApplication(self.rules)
        self.applications[replica_id] = application
        return Replica(
            self.config,
            replica_id,
            self.signers[replica_principal(replica_id)],
            self.verifier,
            application,
            now_ms=now_ms,
        )

    def _install(self, replica_id: int, plan: AgentPlan, replica: Replica, now_ms: int) -> None:
        node: Node = replica
        if plan.twins:
            twin = Replica(
                self.config,
                replica_id,
                self.signers[replica_principal(replica_id)],
                self.verifier,
                GovernanceApplication(self.rules),
                now_ms=now_ms,
            )
            node = self._make_twins(replica, twin, plan.seat)
        if plan.wrapped:
            node = self._wrap(replica, node, plan.seat)
        self.nodes[replica_id] = node
        if plan.checked:
            self.replicas[replica_id] = replica

    def _make_coalition(self) -> None:
        members = tuple(i - 1 for i, plan in sorted(self.plans.items()) if plan.colluding)
        if not members:
            return
        coalition = SplitBrainCoalition(
            members,
            {i: self.signers[replica_principal(i)] for i in members},
            self.quorums,
            self.config.batch_size_max,
        )
        for i in members:
            self.nodes[i] = CoalitionMember(coalition, i)

    def restart(self, replica_id: int, now_ms: int) -> Replica:
        """Bring a crashed agent back from its storage, with a fresh application."""
        storage = self.storage[replica_id]
        application = GovernanceApplication(self.rules)
        self.applications[replica_id] = application
        replica = Replica.recover(
            self.config,
            replica_id,
            self.signers[replica_principal(replica_id)],
            self.verifier,
            application,
            records=list(storage.records),
            checkpoint=storage.checkpoint,
            now_ms=now_ms,
        )
        plan = self.plans.get(replica_id + 1, AgentPlan(replica_id + 1))
        self._install(replica_id, plan, replica, now_ms)
        return replica


def behaviour_rng(seed: int, seat: int) -> random.Random:
    """The seeded randomness one seat's behaviours draw from."""
    return random.Random(f"byzantine-council/behaviour/{seed}/{seat}")

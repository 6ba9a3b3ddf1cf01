"""What a scenario asks of one live agent, written by ``council scenario run --live``.

The live runner resolves the scenario once (seats, partitions, motions) and hands each agent a
small JSON file: the scenario's time zero on the wall clock, the seat's behaviours, the network
model it applies to what it receives, and the motions' merits so its honest ballots are the very
ones the simulator would cast. Crashes are not in it: the runner kills the process.
"""

from __future__ import annotations

import dataclasses
import random
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from council.council_file import VotingPolicy
from council.scenario.links import LinkModel, NetworkPhase, PhasedNetwork
from council.scenario.schema import Behaviour
from council.sim.runner import derive_seed


class _Plan(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class LinkSpec(_Plan):
    distribution: str
    base_ms: float
    jitter_ms: float
    loss: float
    duplicate: float
    reorder: float


class PhaseSpec(_Plan):
    from_ms: int
    until_ms: int
    link: LinkSpec
    groups: tuple[tuple[int, ...], ...]  # replica ids


class AgentFaultPlan(_Plan):
    epoch_ms: Annotated[int, Field(ge=0)]
    seed: int
    behaviours: tuple[Behaviour, ...] = ()
    base_link: LinkSpec
    phases: tuple[PhaseSpec, ...] = ()
    merits: dict[str, float] = Field(default_factory=dict)
    voting: VotingPolicy

    @classmethod
    def load(cls, path: Path) -> AgentFaultPlan:
        return cls.model_validate_json(path.read_text(encoding="utf-8"))

    def save(self, path: Path) -> None:
        path.write_text(self.model_dump_json(indent=2) + "\n", encoding="utf-8")

    def network(self, seat: int) -> PhasedNetwork:
        """The seat's receiving side of the scenario network, seeded per seat."""
        phases = tuple(
            NetworkPhase(
                p.from_ms,
                p.until_ms,
                LinkModel(**p.link.model_dump()),
                tuple(frozenset(group) for group in p.groups),
            )
            for p in self.phases
        )
        rng = random.Random(derive_seed(self.seed, f"live-network/{seat}"))
        return PhasedNetwork(LinkModel(**self.base_link.model_dump()), phases, rng)


def link_spec(link: LinkModel) -> LinkSpec:
    return LinkSpec(**dataclasses.asdict(link))


def phase_specs(network: PhasedNetwork) -> tuple[PhaseSpec, ...]:
    return tuple(
        PhaseSpec(
            from_ms=p.from_ms,
            until_ms=p.until_ms,
            link=link_spec(p.link),
            groups=tuple(tuple(sorted(group)) for group in p.groups),
        )
        for p in network.phases
    )

"""A scenario's network over time: a base link model and phases that override it.

Every draw comes from one seeded ``random.Random``, so a seed replays the same network. A phase
changes latency, loss, duplication or reordering for its interval and may partition the council
into groups of seats; seats outside every group reach everyone. Clients (negative node ids) are
never partitioned: a partition cuts the council, not the secretariat's access to it.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

#: A reordered delivery waits up to this many jitters more, so later messages overtake it.
REORDER_SPREAD = 10.0


@dataclass(frozen=True, slots=True)
class LinkModel:
    """How one delivery behaves: its delay distribution and its fault probabilities."""

    distribution: str = "exponential"
    base_ms: float = 5.0
    jitter_ms: float = 3.0
    loss: float = 0.0
    duplicate: float = 0.0
    reorder: float = 0.0

    def delay_ms(self, rng: random.Random) -> int:
        base, jitter = self.base_ms, self.jitter_ms
        if self.distribution == "fixed" or jitter <= 0:
            extra = 0.0
        elif self.distribution == "uniform":
            extra = rng.uniform(0.0, jitter)
        elif self.distribution == "normal":
            extra = abs(rng.gauss(0.0, jitter))
        else:
            extra = rng.expovariate(1.0 / jitter)
        if self.reorder and rng.random() < self.reorder:
            extra += rng.uniform(0.0, REORDER_SPREAD * max(jitter, 1.0))
        return max(1, int(base + extra))


@dataclass(frozen=True, slots=True)
class NetworkPhase:
    """Between ``from_ms`` and ``until_ms`` links follow ``link``; replicas in different
    ``groups`` cannot reach each other."""

    from_ms: int
    until_ms: int
    link: LinkModel
    groups: tuple[frozenset[int], ...] = ()

    def separates(self, a: int, b: int) -> bool:
        group_of_a = next((i for i, g in enumerate(self.groups) if a in g), None)
        group_of_b = next((i for i, g in enumerate(self.groups) if b in g), None)
        return group_of_a is not None and group_of_b is not None and group_of_a != group_of_b


class PhasedNetwork:
    """Decides, for each message, whether it arrives, how often, and after how long."""

    def __init__(
        self, base: LinkModel, phases: tuple[NetworkPhase, ...], rng: random.Random
    ) -> None:
        self.base = base
        self.phases = phases
        self._rng = rng

    @property
    def healed_ms(self) -> int:
        """When the last phase ends and only the base model remains."""
        return max((phase.until_ms for phase in self.phases), default=0)

    def phase_at(self, now_ms: int) -> NetworkPhase | None:
        """The phase in force at ``now_ms``; a later phase in the file wins an overlap."""
        for phase in reversed(self.phases):
            if phase.from_ms <= now_ms < phase.until_ms:
                return phase
        return None

    def deliveries(self, source: int, target: int, now_ms: int) -> tuple[int, ...]:
        """Delays (ms) of the copies of one message that arrive; empty when it is lost."""
        phase = self.phase_at(now_ms) if self.phases else None
        link = self.base
        if phase is not None:
            if source >= 0 and target >= 0 and phase.separates(source, target):
                return ()
            link = phase.link
        rng = self._rng
        if link.loss and rng.random() < link.loss:
            return ()
        delay = link.delay_ms(rng)
        if link.duplicate and rng.random() < link.duplicate:
            return (delay, link.delay_ms(rng))
        return (delay,)

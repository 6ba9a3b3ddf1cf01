"""The simulated network: latency, loss, duplication, reordering and partitions that heal.

Every choice comes from one ``random.Random`` seeded by the simulation, so a seed replays the
same network. Faults (loss, duplication, partitions) apply until ``faults_until_ms``; after
that the network heals and only latency remains, which is when liveness is judged.
Reordering follows from latency jitter: two messages may overtake each other.
"""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class NetworkConditions:
    """What the network does; probabilities are per delivery, times in virtual milliseconds."""

    latency_ms: float = 5.0
    jitter_ms: float = 3.0
    loss: float = 0.0
    duplication: float = 0.0
    partition_every_ms: int = 0
    partition_length_ms: int = 0
    faults_until_ms: int = 0

    def __post_init__(self) -> None:
        for name in ("loss", "duplication"):
            value = getattr(self, name)
            if not 0.0 <= value < 1.0:
                raise ValueError(f"{name} must be in [0, 1), got {value}")
        if self.latency_ms < 0 or self.jitter_ms < 0:
            raise ValueError("latency_ms and jitter_ms must not be negative")


@dataclass(frozen=True, slots=True)
class Partition:
    """Between ``start_ms`` and ``end_ms``, nodes in ``side`` hear only each other."""

    start_ms: int
    end_ms: int
    side: frozenset[int]

    def separates(self, a: int, b: int, now_ms: int) -> bool:
        if not self.start_ms <= now_ms < self.end_ms:
            return False
        return (a in self.side) != (b in self.side)


class SeededNetwork:
    """Decides, for each message, whether it arrives, how often, and after how long."""

    def __init__(self, conditions: NetworkConditions, n: int, rng: random.Random) -> None:
        self.conditions = conditions
        self._rng = rng
        self.partitions = self._plan_partitions(n)

    def _plan_partitions(self, n: int) -> tuple[Partition, ...]:
        c = self.conditions
        if not c.partition_every_ms or not c.partition_length_ms:
            return ()
        partitions = []
        start = c.partition_every_ms
        while start < c.faults_until_ms:
            size = self._rng.randint(1, n // 2)
            side = frozenset(self._rng.sample(range(n), size))
            end = min(start + c.partition_length_ms, c.faults_until_ms)
            partitions.append(Partition(start, end, side))
            start += c.partition_every_ms
        return tuple(partitions)

    def deliveries(self, source: int, target: int, now_ms: int) -> tuple[int, ...]:
        """Delays (ms) of the copies of one message that arrive; empty when it is lost.

        Nodes that are not replicas (clients) use negative ids and are never partitioned.
        """
        c = self.conditions
        rng = self._rng
        faulty = now_ms < c.faults_until_ms
        if faulty:
            if source >= 0 and target >= 0:
                for partition in self.partitions:
                    if partition.separates(source, target, now_ms):
                        return ()
            if c.loss and rng.random() < c.loss:
                return ()
        delay = self._delay()
        if faulty and c.duplication and rng.random() < c.duplication:
            return (delay, self._delay())
        return (delay,)

    def _delay(self) -> int:
        c = self.conditions
        jitter = self._rng.expovariate(1.0 / c.jitter_ms) if c.jitter_ms else 0.0
        return max(1, int(c.latency_ms + jitter))

"""Quorum arithmetic for a council of ``n`` replicas (Castro & Liskov, OSDI'99 §4.1, generalised).

With ``f = ⌊(n − 1) / 3⌋`` faulty members tolerated, a quorum is ``Q = ⌈(n + f + 1) / 2⌉``:
the smallest size for which any two quorums intersect in at least ``f + 1`` members, so that
every pair of quorums shares an honest one. ``2f + 1`` is only a quorum when ``n = 3f + 1``;
at ``n = 33`` (``f = 10``) two sets of 21 overlap in 9 members, all of whom may be faulty.
``Q ≤ n − f`` keeps the council live when all ``f`` faulty members stay silent.
"""

from __future__ import annotations

from dataclasses import dataclass


def max_faulty(n: int) -> int:
    """The number of Byzantine members a council of ``n`` tolerates."""
    if n < 1:
        raise ValueError(f"a council needs at least one member, got n={n}")
    return (n - 1) // 3


def quorum_size(n: int, f: int | None = None) -> int:
    """``⌈(n + f + 1) / 2⌉``: two quorums always share at least ``f + 1`` members."""
    faulty = max_faulty(n) if f is None else f
    return (n + faulty + 2) // 2


@dataclass(frozen=True, slots=True)
class QuorumMath:
    """The certificate sizes of one council size."""

    n: int
    f: int
    quorum: int
    weak: int

    @classmethod
    def for_council(cls, n: int) -> QuorumMath:
        if n < 4:
            raise ValueError(f"a Byzantine council needs n >= 4 to tolerate one fault, got n={n}")
        f = max_faulty(n)
        return cls(n=n, f=f, quorum=quorum_size(n, f), weak=f + 1)

    def primary(self, view: int) -> int:
        """The replica that leads ``view``."""
        return view % self.n

"""Short human-readable numbers shared by the terminal and HTML renderings."""

from __future__ import annotations


def duration(ms: float | None) -> str:
    """Virtual milliseconds as ``850 ms``, ``12.3 s`` or ``4.1 min``; ``—`` for none."""
    if ms is None:
        return "—"
    if ms < 1_000:
        return f"{ms:.0f} ms"
    if ms < 120_000:
        return f"{ms / 1_000:.1f} s"
    return f"{ms / 60_000:.1f} min"


def quantity(value: float) -> str:
    """``950``, ``41.2k``, ``3.1M``."""
    for limit, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= limit:
            return f"{value / limit:.1f}{suffix}"
    return f"{value:.0f}"


def size(byte_count: float) -> str:
    """``512 B``, ``15.6 kB``, ``3.2 MB`` (decimal units, as network traffic is counted)."""
    for limit, suffix in ((1e9, "GB"), (1e6, "MB"), (1e3, "kB")):
        if byte_count >= limit:
            return f"{byte_count / limit:.1f} {suffix}"
    return f"{byte_count:.0f} B"


def share(fraction: float) -> str:
    """A 0..1 share as a whole percentage."""
    return f"{fraction * 100:.0f}%"

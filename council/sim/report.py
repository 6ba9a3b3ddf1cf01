"""What a simulation run yields: verdicts, throughput, latency and traffic, as one record."""

from __future__ import annotations

import statistics
from typing import Any

from consensus import QuorumMath
from council.sim.runner import SimulationOutcome


def _percentile(values: list[int], fraction: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return float(ordered[index])


def summarize(outcome: SimulationOutcome, wall_seconds: float) -> dict[str, Any]:
    """The run as a JSON-ready dict (the ``--json`` output of ``council simulate``)."""
    simulation = outcome.simulation
    settings = simulation.settings
    quorums = QuorumMath.for_council(settings.agents)
    violation = simulation.violation
    latencies = [c.completed_ms - c.submitted_ms for c in simulation.clients.completed]
    ordered = len(simulation.checker.ordered)
    invariants = {name: "ok" for name in ("agreement", "validity", "integrity")}
    if violation is not None:
        invariants[violation.invariant] = "violated"
    stats = simulation.stats
    return {
        "agents": settings.agents,
        "f": quorums.f,
        "quorum": quorums.quorum,
        "byzantine": settings.byzantine,
        "byzantine_replicas": list(simulation.byzantine),
        "attack": settings.attack,
        "seed": settings.seed,
        "requests": settings.requests,
        "ordered": ordered,
        "completed": len(simulation.clients.completed),
        "view_changes": stats.highest_view,
        "safety": "ok" if violation is None else "violated",
        "liveness": "ok" if outcome.live else "stalled",
        "invariants": invariants,
        "violation": None
        if violation is None
        else {
            "invariant": violation.invariant,
            "replica": violation.replica,
            "seq": violation.seq,
            "detail": violation.detail,
        },
        "latency_ms": {
            "p50": _percentile(latencies, 0.50),
            "p99": _percentile(latencies, 0.99),
            "mean": statistics.fmean(latencies) if latencies else None,
        },
        "virtual_ms": simulation.now_ms,
        "wall_seconds": round(wall_seconds, 4),
        "ordered_per_wall_second": round(ordered / wall_seconds, 1) if wall_seconds else None,
        "messages_by_kind": dict(sorted(stats.messages_by_kind.items())),
        "bytes_by_kind": dict(sorted(stats.bytes_by_kind.items())),
        "evidence_by_kind": dict(sorted(stats.evidence_by_kind.items())),
        "evidence_culprits": sorted(stats.evidence_culprits),
        "state_transfers": stats.state_transfers,
        "crashes": stats.crashes,
        "events": stats.events,
        "trace_digest": simulation.trace_digest,
    }

"""The throughput bound of a live council, from costs and counts measured in the same run.

Per PBFT instance (one ordered batch of ``b`` requests) the council pays, at least::

    C = P · publish_us + D · (deliver_us + broker_us) + V · verify_us + S · sign_us

where ``P`` is the MQTT publishes of the instance (agents and clients), ``D`` the deliveries
(every subscriber's copy counts), ``V`` the Ed25519 verifications and ``S`` the signatures.
The unit costs come from microbenchmarks (:mod:`bench.live_costs` for MQTT through the same
broker, :mod:`bench.crypto_bench` for Ed25519); the counts from the agents' and clients'
counters during the saturated run. With ``cores`` CPUs the council orders at most::

    bound_ordered_per_s = cores · 1e6 / C · b

Everything else an agent does — decoding JSON, the replica's handlers, SQLite, asyncio — is
left out, so the measured rate over this bound says how much of the machine goes to that.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class UnitCosts:
    """Microseconds of CPU per operation."""

    publish_us: float
    deliver_us: float
    broker_us: float
    verify_us: float
    sign_us: float


@dataclass(frozen=True)
class InstanceCounts:
    """Operations per PBFT instance, summed over every agent and client process."""

    batch_size: float
    publishes: float
    deliveries: float
    verifications: float
    signatures: float


@dataclass(frozen=True)
class Bound:
    instance_cost_us: float
    instances_per_s: float
    ordered_per_s: float
    shares: dict[str, float]  # of the instance cost: publish, deliver, broker, verify, sign

    def as_json(self) -> dict[str, object]:
        return asdict(self)


def signatures_per_instance(n: int, batch_size: float, checkpoint_interval: int) -> float:
    """Signatures one instance needs: a pre-prepare, ``n − 1`` prepares, ``n`` commits, ``n``
    replies (one per replica per batch), a checkpoint per replica every ``K`` instances, and
    the clients' ``b`` requests."""
    return 1 + (n - 1) + n + n + n / checkpoint_interval + batch_size


def bound(costs: UnitCosts, counts: InstanceCounts, cores: int) -> Bound:
    parts = {
        "publish": counts.publishes * costs.publish_us,
        "deliver": counts.deliveries * costs.deliver_us,
        "broker": counts.deliveries * costs.broker_us,
        "verify": counts.verifications * costs.verify_us,
        "sign": counts.signatures * costs.sign_us,
    }
    cost_us = sum(parts.values())
    instances_per_s = cores * 1e6 / cost_us
    return Bound(
        instance_cost_us=round(cost_us, 1),
        instances_per_s=round(instances_per_s, 3),
        ordered_per_s=round(instances_per_s * counts.batch_size, 1),
        shares={name: round(part / cost_us, 3) for name, part in parts.items()},
    )

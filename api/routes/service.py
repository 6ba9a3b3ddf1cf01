"""The service's own endpoints: liveness and Prometheus metrics (no token needed)."""

from __future__ import annotations

from fastapi import APIRouter, Response

from api.deps import GatewayDep
from api.schemas import Health

router = APIRouter(tags=["service"])


@router.get("/healthz", response_model=Health)
def healthz(gateway: GatewayDep) -> Health:
    """The API is up; how many seats it sees online."""
    online = sum(1 for seat in gateway.link.status().seats if seat.state == "online")
    gateway.metrics.seats_online.set(online)
    return Health(status="ok", mode=gateway.link.mode, seats_online=online)


@router.get(
    "/metrics",
    responses={200: {"content": {"text/plain": {}}, "description": "Prometheus text format."}},
)
def metrics(gateway: GatewayDep) -> Response:
    """Decisions, view changes, messages by kind, rejected messages by reason, latencies."""
    online = sum(1 for seat in gateway.link.status().seats if seat.state == "online")
    gateway.metrics.seats_online.set(online)
    return Response(
        gateway.metrics.exposition(), media_type="text/plain; version=0.0.4; charset=utf-8"
    )

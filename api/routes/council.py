"""The council: its seats and rules, its roster of public keys, and how it is doing now."""

from __future__ import annotations

from fastapi import APIRouter, Response

from api.deps import GatewayDep, HolderDep
from api.schemas import (
    CategoryOut,
    CouncilOut,
    CouncilStatusOut,
    EvidenceOut,
    SeatHealthOut,
    SeatOut,
)

router = APIRouter(prefix="/v1/council", tags=["council"])


@router.get("", response_model=CouncilOut)
def get_council(gateway: GatewayDep, holder: HolderDep) -> CouncilOut:
    """Seats, constituencies, motion categories and the quorums that follow from n."""
    council, quorums = gateway.council, gateway.link.quorums
    return CouncilOut(
        name=council.name,
        id=council.council_id,
        mode=gateway.link.mode,
        seats=council.n,
        faults_tolerated=quorums.f,
        quorum=quorums.quorum,
        weak_quorum=quorums.weak,
        constituencies={c: list(council.seat_numbers(c)) for c in council.constituencies()},
        categories={
            name: CategoryOut(rule=c.rule, window_ms=c.window_ms, turnout=c.turnout)
            for name, c in council.categories.items()
        },
        members=[
            SeatOut(seat=s.number, principal=s.principal, constituency=s.constituency)
            for s in council.seats()
        ],
    )


@router.get(
    "/roster",
    responses={200: {"description": "Every member's public key (roster.json)."}},
)
def get_roster(gateway: GatewayDep, holder: HolderDep) -> Response:
    """The roster `council verify DECISION --roster FILE` checks records against."""
    return Response(gateway.link.roster.to_json(), media_type="application/json")


@router.get("/status", response_model=CouncilStatusOut)
def get_status(gateway: GatewayDep, holder: HolderDep) -> CouncilStatusOut:
    """The current view and primary, and each seat's health and last message."""
    status = gateway.link.status()
    seats = [
        SeatHealthOut(
            seat=s.seat,
            principal=s.principal,
            constituency=s.constituency,
            state=s.state,
            role="primary" if s.seat == status.primary_seat else "backup",
            faulty=s.faulty,
            view=s.view,
            last_executed=s.last_executed,
            last_message_ms=s.last_message_ms,
            last_message_kind=s.last_message_kind,
        )
        for s in status.seats
    ]
    return CouncilStatusOut(
        view=status.view,
        primary_seat=status.primary_seat,
        now_ms=gateway.link.now_ms(),
        seats_online=sum(1 for s in seats if s.state == "online"),
        seats=seats,
    )


@router.get("/evidence", response_model=EvidenceOut)
def get_evidence(gateway: GatewayDep, holder: HolderDep) -> EvidenceOut:
    """Proofs of misbehaviour the council reported (the latest 200)."""
    return EvidenceOut(items=gateway.evidence)

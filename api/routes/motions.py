"""Motions: the secretariat submits them, members vote on them, anyone reads them."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, HTTPException, Path, Query, Response

from api.deps import GatewayDep, HolderDep, MemberDep, SecretariatDep
from api.schemas import BallotIn, BallotOut, MotionIn, MotionOut, MotionPage
from council.gateway import GatewayError, IdempotencyConflict, MotionDraft, MotionFilter
from council.gateway.store import MotionStatus

router = APIRouter(prefix="/v1/motions", tags=["motions"])

MotionId = Annotated[str, Path(min_length=1, max_length=64, description="The motion's id.")]
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=200,
        description="Send the same key when retrying: the retry returns the motion the first"
        " attempt created instead of a second one.",
    ),
]


@router.post(
    "",
    status_code=201,
    response_model=MotionOut,
    responses={
        200: {"model": MotionOut, "description": "An earlier request with this key made it."},
        409: {"description": "The Idempotency-Key came with a different motion."},
        422: {"description": "Unknown category or invalid fields."},
    },
)
async def submit_motion(
    body: MotionIn,
    gateway: GatewayDep,
    holder: SecretariatDep,
    response: Response,
    idempotency_key: IdempotencyKey = None,
) -> MotionOut:
    """Put a motion to the council. It is stored at once (``submitted``), becomes ``open``
    when f + 1 seats agree it was ordered, and ``decided`` with a verified decision record."""
    draft = MotionDraft(body.title, body.text, body.category, submitted_by=holder.name)
    try:
        row, created = gateway.submit_motion(draft, idempotency_key)
    except IdempotencyConflict as error:
        raise HTTPException(409, str(error)) from None
    except GatewayError as error:
        raise HTTPException(error.status, error.reason) from None
    response.headers["Location"] = f"/v1/motions/{row.id}"
    if not created:
        response.status_code = 200
    return MotionOut.of(row)


@router.get("", response_model=MotionPage)
def list_motions(
    gateway: GatewayDep,
    holder: HolderDep,
    status: MotionStatus | None = None,
    category: Annotated[str | None, Query(max_length=64)] = None,
    outcome: Annotated[str | None, Query(max_length=16)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> MotionPage:
    """Motions, newest first, filtered by status, category or outcome."""
    rows, total = gateway.store.motions(
        MotionFilter(status, category, outcome), limit=limit, offset=offset
    )
    return MotionPage(
        items=[MotionOut.of(row, gateway.stored_tally(row)) for row in rows],
        total=total,
        limit=limit,
        offset=offset,
    )


@router.get("/{motion_id}", response_model=MotionOut, responses={404: {}})
async def get_motion(motion_id: MotionId, gateway: GatewayDep, holder: HolderDep) -> MotionOut:
    """One motion with its status and tally (an open motion's tally is what f + 1 seats
    report for it now)."""
    row = gateway.store.motion(motion_id)
    if row is None:
        raise HTTPException(404, f"no motion {motion_id}")
    return MotionOut.of(row, await gateway.tally(row))


@router.get(
    "/{motion_id}/record",
    responses={
        200: {"description": "The decision record: check it with `council verify`."},
        404: {},
        409: {"description": "The motion is not decided yet."},
    },
)
def get_record(motion_id: MotionId, gateway: GatewayDep, holder: HolderDep) -> Response:
    """The motion's signed decision record, exactly as it verified: the motion, every ballot
    and the commit certificate of the closing sequence number."""
    row = gateway.store.motion(motion_id)
    if row is None:
        raise HTTPException(404, f"no motion {motion_id}")
    if row.record is None:
        raise HTTPException(409, f"motion {motion_id} is {row.status}, not decided")
    return Response(row.record, media_type="application/json")


@router.put(
    "/{motion_id}/ballots/{seat}",
    status_code=202,
    response_model=BallotOut,
    responses={
        403: {},
        404: {},
        409: {"description": "The motion is not open, or the council takes no member ballots."},
        503: {"description": "The council cannot be reached now; try again."},
    },
)
async def cast_ballot(
    motion_id: MotionId,
    seat: Annotated[int, Path(ge=1, le=10_000)],
    body: BallotIn,
    gateway: GatewayDep,
    holder: MemberDep,
) -> BallotOut:
    """Cast or change the seat's ballot while the motion is open (a member's token may vote
    for its own seat only). The seat's agent signs the ballot; the last one ordered counts."""
    if holder.seat != seat:
        raise HTTPException(403, f"this token votes for seat {holder.seat}, not seat {seat}")
    if seat > gateway.council.n:
        raise HTTPException(404, f"no seat {seat} in a council of {gateway.council.n}")
    try:
        await gateway.cast_ballot(seat, motion_id, body.vote)
    except GatewayError as error:
        raise HTTPException(error.status, error.reason) from None
    return BallotOut(motion=motion_id, seat=seat, vote=body.vote)

"""Request and response bodies of the HTTP API (separate models: what comes in is never what
goes out)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from council.gateway import MotionRow, Tally
from council.gateway.store import MotionStatus

Vote = Literal["yes", "no", "abstain"]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _Out(BaseModel):
    model_config = ConfigDict(frozen=True)


class MotionIn(_In):
    """A motion the secretariat puts to the council."""

    title: Annotated[str, Field(min_length=1, max_length=1_000)]
    text: Annotated[str, Field(max_length=32_000)] = ""
    category: Annotated[str, Field(min_length=1, max_length=64)]


class TallyOut(_Out):
    yes: int
    no: int
    abstain: int
    absent: int

    @classmethod
    def of(cls, tally: Tally) -> TallyOut:
        return cls(yes=tally.yes, no=tally.no, abstain=tally.abstain, absent=tally.absent)


class MotionOut(_Out):
    """A motion as the gateway knows it; ``decided`` ones carry a verified decision record."""

    id: str
    title: str
    text: str
    category: str
    status: MotionStatus
    outcome: str | None
    reason: str | None = Field(description="Why the council refused the motion, if it did.")
    submitted_by: str
    at_ms: int = Field(description="When it was submitted, on the council's clock.")
    window_ms: int
    closes_at_ms: int
    decided_ms: int | None
    tally: TallyOut | None = Field(
        description="f + 1 seats' count of the ballots (decided: from the record)."
    )
    record_url: str | None

    @classmethod
    def of(cls, row: MotionRow, tally: Tally | None = None) -> MotionOut:
        return cls(
            id=row.id,
            title=row.title,
            text=row.text,
            category=row.category,
            status=row.status,
            outcome=row.outcome,
            reason=row.reason,
            submitted_by=row.submitted_by,
            at_ms=row.at_ms,
            window_ms=row.window_ms,
            closes_at_ms=row.at_ms + row.window_ms,
            decided_ms=row.decided_ms,
            tally=None if tally is None else TallyOut.of(tally),
            record_url=f"/v1/motions/{row.id}/record" if row.status == "decided" else None,
        )


class MotionPage(_Out):
    items: list[MotionOut]
    total: int
    limit: int
    offset: int


class BallotIn(_In):
    vote: Vote


class BallotOut(_Out):
    motion: str
    seat: int
    vote: Vote
    status: Literal["instructed"] = Field(
        default="instructed",
        description="The seat's agent was told; it signs the ballot, and the council orders it.",
    )


class SeatOut(_Out):
    seat: int
    principal: str
    constituency: str


class CategoryOut(_Out):
    rule: str
    window_ms: int
    turnout: float


class CouncilOut(_Out):
    name: str
    id: str
    mode: Literal["simulated", "live"]
    seats: int
    faults_tolerated: int = Field(description="f = ⌊(n - 1) / 3⌋")
    quorum: int = Field(description="Q = ⌈(n + f + 1) / 2⌉")
    weak_quorum: int = Field(description="f + 1")
    constituencies: dict[str, list[int]]
    categories: dict[str, CategoryOut]
    members: list[SeatOut]


class SeatHealthOut(_Out):
    seat: int
    principal: str
    constituency: str
    state: Literal["online", "offline", "unknown"]
    role: Literal["primary", "backup"]
    faulty: bool
    view: int | None
    last_executed: int | None
    last_message_ms: int | None
    last_message_kind: str | None


class CouncilStatusOut(_Out):
    view: int
    primary_seat: int
    now_ms: int
    seats_online: int
    seats: list[SeatHealthOut]


class EvidenceOut(_Out):
    items: list[dict[str, Any]]


class Health(_Out):
    status: Literal["ok"]
    mode: Literal["simulated", "live"]
    seats_online: int

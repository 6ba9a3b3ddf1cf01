"""What the governance application returns for each ordered request (its result text).

Every result is canonical JSON, so equal states give byte-equal replies on every agent:

- ``{"event":"opened","motion":"M-1"}``
- ``{"event":"ballot","motion":"M-1","vote":"yes"}``
- ``{"changed_from":"no","event":"ballot","motion":"M-1","vote":"yes"}`` (the seat's ballot
  replaced its earlier ``no``; a seat's first ballot has no ``changed_from``)
- ``{"event":"closed","motion":"M-1","outcome":"adopted","yes":20,"no":5,"abstain":2}``
- ``{"event":"status","motion":"M-1",...}`` (the answer to a query)
- ``{"event":"rejected-request","reason":"..."}``
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from consensus.messages import canonical_json
from council.governance.operations import Vote
from council.governance.tally import Outcome

Count = Annotated[int, Field(ge=0)]


class _Event(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)

    def text(self) -> str:
        """The canonical JSON result text."""
        return canonical_json(self.model_dump())


class Opened(_Event):
    event: Literal["opened"] = "opened"
    motion: str


class BallotCast(_Event):
    """A counted ballot. ``changed_from`` is the seat's earlier vote it replaced (even when the
    same vote is cast again), ``None`` for the seat's first ballot on the motion."""

    event: Literal["ballot"] = "ballot"
    motion: str
    vote: Vote
    changed_from: Vote | None = None

    def text(self) -> str:
        # The field appears only on a change, so a first ballot's result reads as it always did.
        return canonical_json(self.model_dump(exclude_none=True))


class Closed(_Event):
    event: Literal["closed"] = "closed"
    motion: str
    outcome: Outcome
    yes: Count
    no: Count
    abstain: Count


class StatusReport(_Event):
    """The answer to a query: the motion's state when the query was ordered."""

    event: Literal["status"] = "status"
    motion: str
    title: str
    category: str
    rule: str
    status: Literal["open", "closed"]
    outcome: Outcome | None
    yes: Count
    no: Count
    abstain: Count
    absent: Count
    opened_seq: Count
    closed_seq: Count | None


class RejectedRequest(_Event):
    event: Literal["rejected-request"] = "rejected-request"
    reason: str


Event = Annotated[
    Opened | BallotCast | Closed | StatusReport | RejectedRequest, Field(discriminator="event")
]
_EVENT: TypeAdapter[Event] = TypeAdapter(Event)


_EVENT_KEY = '"event":"'


def event_kind(text: str) -> str | None:
    """The ``event`` name of a result text without parsing it (``None`` if it has none).

    Results are canonical JSON, where a quote inside a string is escaped, so the first
    ``"event":"`` is the key itself. Readers that want only some kinds skip the rest unparsed;
    what they keep still goes through :func:`parse_event`."""
    start = text.find(_EVENT_KEY)
    if start < 0:
        return None
    start += len(_EVENT_KEY)
    end = text.find('"', start)
    return text[start:end] if end > start else None


def parse_event(text: str) -> Event | None:
    """The event a result text encodes, or ``None`` when it is not a governance event."""
    try:
        return _EVENT.validate_json(text)
    except (ValidationError, RecursionError):
        return None

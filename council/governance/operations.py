"""The three governance operations a client request carries, and their one text form.

A request's ``operation`` is the canonical JSON (sorted keys, compact) of one of:

- ``{"op":"motion","id":"M-1","title":"...","text":"...","category":"budget","at_ms":1200}``
- ``{"op":"ballot","motion":"M-1","vote":"yes"}`` (``yes`` | ``no`` | ``abstain``)
- ``{"op":"close","motion":"M-1","at_ms":25000}``

Requests come from clients, some of them faulty, so :func:`parse_operation` accepts nothing
else: unknown fields, wrong types (``"1200"`` for an integer, ``true`` for an integer) and
unknown operations are all rejected with a reason that names the offending field.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from consensus.messages import canonical_json

Vote = Literal["yes", "no", "abstain"]
VOTES: Final = ("yes", "no", "abstain")

MotionId = Annotated[str, Field(min_length=1, max_length=64)]
Millis = Annotated[int, Field(ge=0)]

_OPERATION = ConfigDict(frozen=True, extra="forbid", strict=True)


class _Operation(BaseModel):
    model_config = _OPERATION

    def operation(self) -> str:
        """The canonical JSON text to put in ``Request.operation``."""
        return canonical_json(self.model_dump())


class MotionOp(_Operation):
    """The secretariat puts motion ``id`` to the council at (its) time ``at_ms``."""

    op: Literal["motion"] = "motion"
    id: MotionId
    title: Annotated[str, Field(max_length=1_000)]
    text: Annotated[str, Field(max_length=32_000)]
    category: Annotated[str, Field(min_length=1, max_length=64)]
    at_ms: Millis


class BallotOp(_Operation):
    """A seat's vote on ``motion``. While the motion is open a later ballot of the same seat
    replaces its earlier one: the seat's last ordered ballot is the one counted."""

    op: Literal["ballot"] = "ballot"
    motion: MotionId
    vote: Vote


class CloseOp(_Operation):
    """The secretariat asks to close ``motion``, stating the time ``at_ms`` it asks at."""

    op: Literal["close"] = "close"
    motion: MotionId
    at_ms: Millis


class QueryOp(_Operation):
    """Anyone asks where ``motion`` stands; ordered like any request, so ``f + 1`` matching
    replies are an answer the council agrees on. It changes nothing."""

    op: Literal["query"] = "query"
    motion: MotionId


Operation = MotionOp | BallotOp | CloseOp | QueryOp
_BY_NAME: Final[dict[str, type[Operation]]] = {
    "motion": MotionOp,
    "ballot": BallotOp,
    "close": CloseOp,
    "query": QueryOp,
}


def parse_operation(text: str) -> Operation:
    """The operation ``text`` encodes; ``ValueError`` with a one-line reason otherwise."""
    try:
        document: Any = json.loads(text)
    except (json.JSONDecodeError, RecursionError) as error:
        raise ValueError(f"operation is not JSON: {error}") from None
    if not isinstance(document, dict):
        raise ValueError("operation is not a JSON object")
    name = document.get("op")
    model = _BY_NAME.get(name) if isinstance(name, str) else None
    if model is None:
        raise ValueError(f"unknown operation {name!r} (expected motion, ballot, close or query)")
    try:
        return model.model_validate(document)
    except ValidationError as error:
        raise ValueError(f"{name}: {_first_problem(error)}") from None


def _first_problem(error: ValidationError) -> str:
    problem = error.errors()[0]
    where = ".".join(str(part) for part in problem["loc"]) or "operation"
    return f"{where}: {problem['msg']}"


def motion_operation(id: str, title: str, text: str, category: str, at_ms: int) -> str:
    """The operation text of a motion (``ValueError`` when a field is out of bounds)."""
    return _build(MotionOp, id=id, title=title, text=text, category=category, at_ms=at_ms)


def ballot_operation(motion: str, vote: str) -> str:
    """The operation text of a ballot (``ValueError`` unless ``vote`` is yes, no or abstain)."""
    return _build(BallotOp, motion=motion, vote=vote)


def close_operation(motion: str, at_ms: int) -> str:
    """The operation text of a close request."""
    return _build(CloseOp, motion=motion, at_ms=at_ms)


def query_operation(motion: str) -> str:
    """The operation text of a status query."""
    return _build(QueryOp, motion=motion)


def _build(model: type[_Operation], **fields: Any) -> str:
    try:
        return model.model_validate(fields).operation()
    except ValidationError as error:
        raise ValueError(_first_problem(error)) from None

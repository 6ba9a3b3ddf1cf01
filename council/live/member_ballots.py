"""Member ballot instructions: how the gateway tells a seat's agent how its member votes.

A member votes at the HTTP front door, but a seat's ballot is a request signed with the seat's
own key, and only the seat's agent holds that key. So the gateway sends the agent a signed
*instruction*, and the agent casts the ballot itself through its own ballot session.

Wire form: one envelope of kind ``member-ballot`` in an ordinary bundle
(:mod:`council.live.wire`), published on ``direct/r{k-1}/gateway``. The ACL lets a client write
``direct/+/<itself>`` and lets only seat ``k``'s agent read ``direct/r{k-1}/+``, so no other
seat sees the instruction. Its body is the canonical JSON of :class:`MemberBallot`::

    {"issued_us":1767225600000000,"kind":"member-ballot","motion":"M-1","seat":3,"vote":"yes"}

signed as principal ``gateway`` with the project's domain-separated signing
(:mod:`crypto.signing`: the council id, the signer and the kind are signed with the body), so an
instruction cannot be taken to another council, passed off as a request or protocol message,
or issued by anyone but the gateway.

The agent takes an instruction only when its signature verifies against the roster (checked at
the edge, :mod:`council.live.inbound`, like every envelope), it is signed by ``gateway``, it
names the agent's own seat, and it was issued later than the last instruction the seat took
for the same motion. The last rule stops a replay: an instruction delivered again, or an older
one delivered late, must not flip a changed vote back. The agent keeps the last issue time per
motion in a file beside its store, so a restart does not reopen that window. Whatever fails is
dropped and counted with the agent's other drops (:class:`~council.live.wire.DropReason`).

Instructions travel at most once (QoS 0), so the gateway repeats each one for a while
(:data:`council.gateway.live.INSTRUCTION_RESEND_FOR_S`): an agent that was reconnecting when it
was first sent still gets it. A repeat of the instruction the seat took last for a motion (the
same issue time) is :class:`AlreadyTaken` — expected, not bad input, and it casts nothing.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Annotated, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

import crypto
from consensus import Envelope
from consensus.messages import canonical_json
from council.governance.operations import MotionId, Vote
from council.live.credentials import GATEWAY
from council.live.wire import Dropped, DropReason

#: The envelope kind of an instruction; signed with the body, so it is never a protocol kind.
MEMBER_BALLOT: Final = "member-ballot"
#: Where an agent keeps the last issue time it took per motion, beside its store.
ISSUED_FILE: Final = "member-ballots.json"


class MemberBallot(BaseModel):
    """Seat ``seat``'s member votes ``vote`` on ``motion``; ``issued_us`` orders the gateway's
    instructions (microseconds of its wall clock, strictly increasing)."""

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)

    issued_us: Annotated[int, Field(ge=1)]
    kind: Literal["member-ballot"] = MEMBER_BALLOT
    motion: MotionId
    seat: Annotated[int, Field(ge=1)]
    vote: Vote


def sign_member_ballot(signer: crypto.Signer, instruction: MemberBallot) -> Envelope:
    """The envelope carrying ``instruction`` signed by ``signer``."""
    body = canonical_json(instruction.model_dump())
    signature = signer.sign(MEMBER_BALLOT, body.encode())
    return Envelope(
        body=body, kind=MEMBER_BALLOT, sender=signer.principal, signature=signature.hex()
    )


class MemberBallotIssuer:
    """The gateway's side: signs instructions whose issue times only ever grow."""

    def __init__(self, signer: crypto.Signer) -> None:
        self.signer = signer
        self._last_us = 0

    def issue(self, seat: int, motion_id: str, vote: str) -> Envelope:
        """A signed instruction, issued later than every one before it from this issuer (and,
        by the wall clock, from an earlier run); ``ValueError`` for a field out of bounds."""
        self._last_us = max(time.time_ns() // 1_000, self._last_us + 1)
        try:
            instruction = MemberBallot.model_validate(
                {"issued_us": self._last_us, "motion": motion_id, "seat": seat, "vote": vote}
            )
        except ValidationError as error:
            problem = error.errors()[0]
            raise ValueError(f"{'.'.join(map(str, problem['loc']))}: {problem['msg']}") from None
        return sign_member_ballot(self.signer, instruction)


class AlreadyTaken(Exception):
    """The instruction is the one the seat took last for its motion, sent again."""


class MemberBallots:
    """The agent's side: which instructions seat ``seat`` takes (module docstring).

    ``path``, when given, keeps the last issue time per motion across restarts.
    """

    def __init__(self, seat: int, path: Path | None = None) -> None:
        self.seat = seat
        self.path = path
        self.taken = 0
        self.repeats = 0
        self._last_issued_us: dict[str, int] = _load(path) if path is not None else {}

    def accept(self, envelope: Envelope) -> MemberBallot:
        """The instruction in ``envelope``, whose signature the edge verified; raises
        :class:`~council.live.wire.Dropped` saying why the seat does not take it."""
        if envelope.sender != GATEWAY:
            raise Dropped(DropReason.NOT_THE_GATEWAY, envelope.sender)
        try:
            instruction = MemberBallot.model_validate_json(envelope.body)
        except ValidationError as error:
            raise Dropped(DropReason.MALFORMED, error.errors()[0]["msg"]) from None
        if instruction.seat != self.seat:
            raise Dropped(DropReason.WRONG_SEAT, f"seat {instruction.seat}")
        last_us = self._last_issued_us.get(instruction.motion, 0)
        if instruction.issued_us == last_us:
            self.repeats += 1
            raise AlreadyTaken(instruction.motion)
        if instruction.issued_us < last_us:
            raise Dropped(DropReason.STALE_INSTRUCTION, f"issued {instruction.issued_us} µs")
        self._last_issued_us[instruction.motion] = instruction.issued_us
        if self.path is not None:
            _save(self.path, self._last_issued_us)  # before the ballot is cast: see the docstring
        self.taken += 1
        return instruction


def _load(path: Path) -> dict[str, int]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    try:
        document = json.loads(text)
        if isinstance(document, dict) and all(
            isinstance(motion, str) and type(issued) is int for motion, issued in document.items()
        ):
            return dict(document)
    except ValueError:
        pass
    # Written by rename only, so this is not a torn write: refuse to guess what was taken.
    raise ValueError(f"{path} is not a file of member ballot issue times")


def _save(path: Path, last_issued_us: dict[str, int]) -> None:
    """Replace ``path`` atomically and durably: a kill leaves the old file or the new one."""
    temporary = path.with_name(f".{path.name}.tmp")
    with temporary.open("w", encoding="utf-8") as stream:
        stream.write(json.dumps(last_issued_us, sort_keys=True))
        stream.flush()
        os.fsync(stream.fileno())
    os.replace(temporary, path)

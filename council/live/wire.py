"""What one MQTT publish carries: a bundle of signed envelopes from one step of one agent.

An agent's step often emits several messages for the same topic (a prepare and a commit, a
checkpoint, replies); one publish per topic per step cuts the broker's deliveries, which are the
service's main cost. Each envelope keeps its own signature, so certificates built from them
stay transferable. The bundle names its council in clear: a message for another council is
dropped by name before any signature is checked.

Payload: ``{"council": "<id>", "envelopes": [<envelope>, ...]}`` (UTF-8 JSON).
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from typing import Annotated, Final

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from consensus import Envelope

#: The largest payload an agent reads. The largest honest message is a NEW-VIEW: Q view-changes,
#: each with a prepared certificate (Q signed messages) per slot above the stable checkpoint —
#: about 1.7 MB for 7 slots at n = 33, so up to some 15 MB with the full window of 64 slots.
PAYLOAD_BYTES_MAX: Final = 48 * 1024 * 1024
BUNDLE_ENVELOPES_MAX: Final = 4096


class DropReason(enum.StrEnum):
    """Why an agent dropped a payload or an envelope; each is counted."""

    GARBAGE = "garbage"  # not JSON, or JSON of the wrong shape
    TRUNCATED = "truncated"  # JSON cut short
    OVERSIZED = "oversized"
    OTHER_COUNCIL = "other-council"
    UNKNOWN_KIND = "unknown-kind"
    MALFORMED = "malformed"  # a known kind whose body does not decode
    NOT_A_MEMBER = "not-a-member"  # signer not in the roster
    BAD_SIGNATURE = "bad-signature"
    AFTER_BAD_SIGNATURE = "after-bad-signature"  # the rest of a bundle that held a forgery
    RATE_LIMITED = "rate-limited"  # the sender exceeded its share
    QUEUE_FULL = "queue-full"  # the agent is behind; the protocol will retransmit
    WRONG_TOPIC = "wrong-topic"
    # Member ballot instructions (council/live/member_ballots.py) the seat does not take:
    NOT_THE_GATEWAY = "not-the-gateway"  # signed by another principal
    WRONG_SEAT = "wrong-seat"  # names another seat
    STALE_INSTRUCTION = "stale-instruction"  # not newer than the last taken for its motion


class Dropped(Exception):
    """A payload or envelope was refused for ``reason``."""

    def __init__(self, reason: DropReason, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else str(reason))
        self.reason = reason


class Bundle(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    council: str
    envelopes: Annotated[tuple[Envelope, ...], Field(min_length=1, max_length=BUNDLE_ENVELOPES_MAX)]


def encode_bundle(council_id: str, envelopes: Sequence[Envelope]) -> bytes:
    return Bundle(council=council_id, envelopes=tuple(envelopes)).model_dump_json().encode()


def decode_bundle(
    payload: bytes, council_id: str, bytes_max: int = PAYLOAD_BYTES_MAX
) -> tuple[Envelope, ...]:
    """The envelopes of ``payload``; raise :class:`Dropped` saying why it cannot be read."""
    if len(payload) > bytes_max:
        raise Dropped(DropReason.OVERSIZED, f"{len(payload)} bytes")
    try:
        bundle = Bundle.model_validate_json(payload)
    except ValidationError as error:
        first = error.errors()[0]
        if first["type"] == "json_invalid" and "EOF" in str(first.get("ctx", {}).get("error")):
            raise Dropped(DropReason.TRUNCATED) from error
        raise Dropped(DropReason.GARBAGE, first["msg"]) from error
    if bundle.council != council_id:
        raise Dropped(DropReason.OTHER_COUNCIL, bundle.council)
    return bundle.envelopes

"""Protocol messages and the signed envelope they travel in.

Every message is a frozen pydantic model, discriminated on ``kind``, that forbids unknown fields.
What is signed is the message's canonical JSON text (sorted keys, compact separators), wrapped by
``crypto.signing_bytes`` with the council id, the signer and the kind. The :class:`Envelope`
keeps that exact text: a receiver verifies and decodes the bytes that travelled and never
re-serialises a decoded object to check it. Certificates are tuples of envelopes, so they can be
shown to anyone who holds the roster.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Annotated, Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from crypto import Signer

NonNegative = Annotated[int, Field(ge=0)]
Positive = Annotated[int, Field(ge=1)]
Digest = Annotated[str, Field(min_length=64, max_length=64, pattern=r"^[0-9a-f]{64}$")]
Principal = Annotated[str, Field(min_length=1, max_length=64)]

#: Bounds on what a peer can make us hold; anything larger is rejected at decode time.
BATCH_SIZE_LIMIT: Final = 4096
PROOF_SIZE_LIMIT: Final = 65536
OPERATION_SIZE_LIMIT: Final = 65536

_FROZEN = ConfigDict(frozen=True, extra="forbid", strict=True)

#: Digest of the null request that fills a sequence-number gap after a view change.
NULL_DIGEST: Final = hashlib.sha256(b"byzantine-council/null-batch").hexdigest()


def replica_principal(replica: int) -> str:
    """The roster name under which replica ``replica`` signs."""
    return f"r{replica}"


def canonical_json(value: Any) -> str:
    """The one text form of a JSON value that is signed: sorted keys, no spaces, UTF-8."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


class MalformedMessage(Exception):
    """A peer sent an envelope whose body does not decode to a valid message of its kind."""


class Envelope(BaseModel):
    """A signed message as it travels: the signer, the kind, the exact body text, the signature.

    ``attachment`` carries envelopes the body names only by digest — the requests of a
    pre-prepare, the batches behind a view-change's prepared certificates. It is not signed:
    the signed body binds it through those digests, and receivers check them. Proofs keep
    envelopes :meth:`detached`, so a certificate never drags a batch along.
    """

    model_config = _FROZEN

    attachment: Annotated[tuple[Envelope, ...], Field(max_length=BATCH_SIZE_LIMIT)] = ()
    body: Annotated[str, Field(max_length=16 * 1024 * 1024)]
    kind: Annotated[str, Field(min_length=1, max_length=32)]
    sender: Principal
    signature: Annotated[str, Field(min_length=128, max_length=128)]

    def __eq__(self, other: object) -> bool:
        # Equal content is equal envelopes, whatever either has memoised (pydantic's own
        # equality would compare the memo too).
        if not isinstance(other, Envelope):
            return NotImplemented
        return (
            self.signature == other.signature
            and self.body == other.body
            and self.sender == other.sender
            and self.kind == other.kind
            and self.attachment == other.attachment
        )

    def __hash__(self) -> int:
        return hash(self.signature)

    @property
    def memo(self) -> dict[str, Any]:
        """What this object has worked out about its own bytes: the decoded message, digests,
        a verifier's verdict. It lives in pydantic's private slot, made on first use: declared
        as a private attribute, pydantic built one for every envelope it parsed, which was most
        of the cost of reading a NEW-VIEW's thousands of nested envelopes."""
        private = self.__pydantic_private__
        if private is None:
            private = {"memo": {}}
            object.__setattr__(self, "__pydantic_private__", private)
        memo: dict[str, Any] = private["memo"]
        return memo

    def model_copy(
        self, *, update: Mapping[str, Any] | None = None, deep: bool = False
    ) -> Envelope:
        """A copy that remembers nothing: with ``update`` its bytes differ, and a verdict or a
        decoded message about the original must not pass for one about the copy."""
        copied = super().model_copy(update=update, deep=deep)
        object.__setattr__(copied, "__pydantic_private__", None)
        return copied

    @property
    def wire_size(self) -> int:
        """Bytes this envelope occupies in transit (body, signature, attachment, framing)."""
        memo = self.memo
        size: int | None = memo.get("wire_size")
        if size is None:
            size = len(self.body) + len(self.signature) + len(self.sender) + len(self.kind) + 64
            size += sum(attached.wire_size for attached in self.attachment)
            memo["wire_size"] = size
        return size

    def request_digest(self) -> str:
        """Content digest of the signed body (Ed25519 signatures are deterministic)."""
        memo = self.memo
        digest: str | None = memo.get("digest")
        if digest is None:
            digest = hashlib.sha256(self.body.encode()).hexdigest()
            memo["digest"] = digest
        return digest

    def attachment_digest(self) -> str:
        """:func:`batch_digest` of the attachment, memoised."""
        memo = self.memo
        digest: str | None = memo.get("attachment_digest")
        if digest is None:
            digest = batch_digest(self.attachment)
            memo["attachment_digest"] = digest
        return digest

    def same_signed(self, other: Envelope) -> bool:
        """Whether ``other`` carries the same signed message, byte for byte (attachments are
        not signed, so they may differ)."""
        return (self.sender, self.kind, self.body, self.signature) == (
            other.sender,
            other.kind,
            other.body,
            other.signature,
        )

    def detached(self) -> Envelope:
        """The same signed message without its attachment (what certificates hold)."""
        if not self.attachment:
            return self
        bare = Envelope(
            body=self.body, kind=self.kind, sender=self.sender, signature=self.signature
        )
        # What is memoised depends only on the signed part, so the two can share it.
        object.__setattr__(bare, "__pydantic_private__", {"memo": self.memo})
        return bare


class _Message(BaseModel):
    """Fields are declared in sorted order, so pydantic's JSON is the canonical text."""

    model_config = _FROZEN

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        names = list(cls.model_fields)
        if names != sorted(names):
            raise TypeError(f"{cls.__name__} must declare its fields in sorted order: {names}")


class Request(_Message):
    """A client's operation; ``timestamp`` orders a client's requests for exactly-once execution."""

    client: Principal
    kind: Literal["request"] = "request"
    operation: Annotated[str, Field(max_length=OPERATION_SIZE_LIMIT)]
    timestamp: Positive


class PrePrepare(_Message):
    """The primary assigns ``seq`` in ``view`` to the batch whose digest is ``digest``.

    The batch's request envelopes travel as the envelope's attachment.
    """

    digest: Digest
    kind: Literal["pre-prepare"] = "pre-prepare"
    seq: Positive
    view: NonNegative


class Prepare(_Message):
    digest: Digest
    kind: Literal["prepare"] = "prepare"
    replica: NonNegative
    seq: Positive
    view: NonNegative


class Commit(_Message):
    digest: Digest
    kind: Literal["commit"] = "commit"
    replica: NonNegative
    seq: Positive
    view: NonNegative


#: One request's result: (client, timestamp, result). A plain tuple, not a model, because a
#: reply holds a whole batch of them and every client decodes every reply.
ReplyEntry = tuple[Principal, Positive, Annotated[str, Field(max_length=OPERATION_SIZE_LIMIT)]]


class Reply(_Message):
    """One replica's results for every request it executed at ``seq``, signed once per batch."""

    kind: Literal["reply"] = "reply"
    replica: NonNegative
    results: Annotated[tuple[ReplyEntry, ...], Field(max_length=BATCH_SIZE_LIMIT)]
    seq: Positive
    view: NonNegative


class Checkpoint(_Message):
    kind: Literal["checkpoint"] = "checkpoint"
    replica: NonNegative
    seq: Positive
    state_digest: Digest


class PreparedProof(_Message):
    """A prepared certificate: the pre-prepare and ``Q − 1`` matching prepares from backups."""

    pre_prepare: Envelope
    prepares: Annotated[tuple[Envelope, ...], Field(max_length=PROOF_SIZE_LIMIT)]


class ViewChange(_Message):
    """``P``: prepared certificates above the stable checkpoint; ``C``: that checkpoint's proof.

    The envelope's attachment holds, for each entry of ``P``, the pre-prepare with its batch,
    so the new primary can re-propose it.
    """

    checkpoint_proof: Annotated[tuple[Envelope, ...], Field(max_length=PROOF_SIZE_LIMIT)]
    kind: Literal["view-change"] = "view-change"
    new_view: Positive
    prepared: Annotated[tuple[PreparedProof, ...], Field(max_length=PROOF_SIZE_LIMIT)]
    replica: NonNegative
    stable_seq: NonNegative


class NewView(_Message):
    """``V``: a quorum of view-changes; ``O``: the pre-prepares the new primary derived."""

    kind: Literal["new-view"] = "new-view"
    pre_prepares: Annotated[tuple[Envelope, ...], Field(max_length=PROOF_SIZE_LIMIT)]
    view: Positive
    view_changes: Annotated[tuple[Envelope, ...], Field(max_length=PROOF_SIZE_LIMIT)]


class Heartbeat(_Message):
    """The primary is alive in ``view``; sent when it has had nothing else to say."""

    kind: Literal["heartbeat"] = "heartbeat"
    last_seq: NonNegative
    replica: NonNegative
    view: NonNegative


class Suspect(_Message):
    """``replica`` timed out waiting on the primary of ``view``. It stays in the view; the
    council leaves it when ``f + 1`` replicas suspect its primary (one of them correct)."""

    kind: Literal["suspect"] = "suspect"
    replica: NonNegative
    view: NonNegative


class Status(_Message):
    """What a replica has; peers answer with what it lacks (retransmission, PBFT TOCS §5.2)."""

    active: bool
    kind: Literal["status"] = "status"
    last_executed: NonNegative
    replica: NonNegative
    round: NonNegative
    stable_seq: NonNegative
    view: NonNegative


class FetchState(_Message):
    kind: Literal["fetch-state"] = "fetch-state"
    replica: NonNegative
    seq: Positive


class StateSnapshot(_Message):
    """Application and client-table state at ``seq``; checked against a stable checkpoint."""

    certificate: Annotated[tuple[Envelope, ...], Field(max_length=PROOF_SIZE_LIMIT)]
    kind: Literal["state-snapshot"] = "state-snapshot"
    replica: NonNegative
    seq: Positive
    snapshot: Annotated[str, Field(max_length=64 * 1024 * 1024)]


Message = Annotated[
    Request
    | PrePrepare
    | Prepare
    | Commit
    | Reply
    | Checkpoint
    | ViewChange
    | NewView
    | Heartbeat
    | Suspect
    | Status
    | FetchState
    | StateSnapshot,
    Field(discriminator="kind"),
]
_MESSAGE_ADAPTER: TypeAdapter[Message] = TypeAdapter(Message)
MESSAGE_KINDS: Final = frozenset(
    {
        "request",
        "pre-prepare",
        "prepare",
        "commit",
        "reply",
        "checkpoint",
        "view-change",
        "new-view",
        "heartbeat",
        "suspect",
        "status",
        "fetch-state",
        "state-snapshot",
    }
)


def encode(message: _Message) -> str:
    """The canonical body text of ``message``: sorted keys (fields are declared sorted),
    compact separators, UTF-8 — what ``canonical_json`` gives for the same value."""
    return message.model_dump_json()


def seal(signer: Signer, message: _Message, attachment: tuple[Envelope, ...] = ()) -> Envelope:
    """Sign ``message`` and wrap it with the exact text that was signed."""
    kind: str = message.kind  # type: ignore[attr-defined]
    body = encode(message)
    signature = signer.sign(kind, body.encode())
    # The decoded form is not memoised here: receivers always decode the text that travelled.
    return Envelope(
        attachment=attachment,
        body=body,
        kind=kind,
        sender=signer.principal,
        signature=signature.hex(),
    )


def decode(envelope: Envelope) -> Message:
    """Decode the body of ``envelope``; raise :class:`MalformedMessage` if it is not valid.

    The result is memoised on the envelope, so a broadcast is decoded once however many
    replicas receive it in one process.
    """
    memo = envelope.memo
    message: Message | None = memo.get("message")
    if message is not None:
        return message
    if envelope.kind not in MESSAGE_KINDS:
        raise MalformedMessage(f"unknown message kind {envelope.kind!r}")
    try:
        message = _MESSAGE_ADAPTER.validate_json(envelope.body)
    except ValidationError as error:
        raise MalformedMessage(f"{envelope.kind} from {envelope.sender}: {error}") from error
    if message.kind != envelope.kind:
        raise MalformedMessage(f"envelope says {envelope.kind!r} but body is {message.kind!r}")
    memo["message"] = message
    return message


def batch_digest(requests: tuple[Envelope, ...]) -> str:
    """The digest a pre-prepare commits to: its requests' digests in order."""
    if not requests:
        return NULL_DIGEST
    hasher = hashlib.sha256(b"byzantine-council/batch")
    for request in requests:
        hasher.update(bytes.fromhex(request.request_digest()))
    return hasher.hexdigest()

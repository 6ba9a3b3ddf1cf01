"""What a replica asks its shell to do. The shell performs effects in order.

``Persist`` always precedes the ``Send``/``Broadcast`` of what it records, so a shell that
performs effects in order never sends a signed message that a restart could contradict.
"""

from __future__ import annotations

from dataclasses import dataclass

from consensus.messages import Envelope


@dataclass(frozen=True, slots=True)
class Send:
    """Deliver ``envelope`` to one principal (a replica or a client)."""

    to: str
    envelope: Envelope


@dataclass(frozen=True, slots=True)
class Broadcast:
    """Deliver ``envelope`` to every other replica."""

    envelope: Envelope


@dataclass(frozen=True, slots=True)
class Respond:
    """Deliver a reply envelope to the clients whose results it carries."""

    clients: tuple[str, ...]
    envelope: Envelope


@dataclass(frozen=True, slots=True)
class Execute:
    """Sequence number ``seq`` committed with this batch of request envelopes, in order.

    ``executed`` are the requests the application actually ran (stale duplicates are skipped)
    and ``results`` what it returned for each. ``certificate`` is the commit certificate: the
    ``Q`` or more matching signed COMMITs that made ``seq`` committed, ordered by sender — with
    the batch it proves to anyone holding the roster that the council ordered these requests.
    """

    seq: int
    view: int
    digest: str
    requests: tuple[Envelope, ...]
    executed: tuple[Envelope, ...]
    results: tuple[str, ...] = ()
    certificate: tuple[Envelope, ...] = ()


@dataclass(frozen=True, slots=True)
class Evidence:
    """Signed messages that prove ``culprit`` misbehaved; verifiable by anyone with the roster."""

    kind: str
    culprit: int
    proof: tuple[Envelope, ...]


@dataclass(frozen=True, slots=True)
class Persist:
    """Write ``record`` to durable storage before performing the effects that follow."""

    record: Envelope


@dataclass(frozen=True, slots=True)
class PersistCheckpoint:
    """A stable checkpoint, its certificate and the snapshot to restart from."""

    seq: int
    certificate: tuple[Envelope, ...]
    snapshot: str


@dataclass(frozen=True, slots=True)
class ViewEntered:
    """The replica started normal operation in ``view`` (observability only)."""

    view: int


@dataclass(frozen=True, slots=True)
class StateTransferred:
    """The replica jumped to the stable checkpoint ``seq`` by state transfer."""

    seq: int


Effect = (
    Send
    | Broadcast
    | Respond
    | Execute
    | Evidence
    | Persist
    | PersistCheckpoint
    | ViewEntered
    | StateTransferred
)

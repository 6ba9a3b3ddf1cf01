"""The replicated state machine a replica executes, and the state it checkpoints.

The replica owns the client table (the last timestamp executed per client, for exactly-once
execution, PBFT §4.1); the application owns everything else. Both are deterministic functions of
the ordered log, so every correct replica computes the same checkpoint digest.
"""

from __future__ import annotations

import hashlib
import json
from typing import Protocol

from consensus.messages import Request, canonical_json


class Application(Protocol):
    """A deterministic state machine over ordered requests."""

    def execute(self, request: Request, seq: int) -> str:
        """Apply ``request`` (ordered at ``seq``) and return its result text."""
        ...

    def snapshot(self) -> str:
        """The whole state as text; equal states give equal text."""
        ...

    def restore(self, snapshot: str) -> None:
        """Replace the state by one taken with :meth:`snapshot`."""
        ...


class LedgerApplication:
    """A minimal application: an append-only ledger summarised by a running hash.

    It is what the protocol tests and the simulator order when no governance is involved; its
    result for a request is the ledger position and the running hash after it.
    """

    def __init__(self) -> None:
        self.length = 0
        self.head = hashlib.sha256(b"byzantine-council/ledger").digest()

    def execute(self, request: Request, seq: int) -> str:
        entry = f"|{seq}|{request.client}|{request.timestamp}|{request.operation}".encode()
        self.head = hashlib.sha256(self.head + entry).digest()
        self.length += 1
        return f"{self.length}:{self.head[:8].hex()}"

    def snapshot(self) -> str:
        return canonical_json({"head": self.head.hex(), "length": self.length})

    def restore(self, snapshot: str) -> None:
        state = json.loads(snapshot)
        self.head = bytes.fromhex(str(state["head"]))
        self.length = int(state["length"])


def checkpoint_snapshot(seq: int, application_state: str, client_table: dict[str, int]) -> str:
    """The text a checkpoint certifies: application state plus the client table."""
    clients = {client: client_table[client] for client in sorted(client_table)}
    return canonical_json({"app": application_state, "clients": clients, "seq": seq})


def snapshot_digest(snapshot: str) -> str:
    return hashlib.sha256(snapshot.encode()).hexdigest()


def parse_snapshot(snapshot: str) -> tuple[int, str, dict[str, int]]:
    """Inverse of :func:`checkpoint_snapshot`; raises ``ValueError`` on malformed text."""
    try:
        state = json.loads(snapshot)
        clients = {str(client): int(ts) for client, ts in dict(state["clients"]).items()}
        return int(state["seq"]), str(state["app"]), clients
    except (KeyError, TypeError, json.JSONDecodeError) as error:
        raise ValueError(f"malformed snapshot: {error}") from error

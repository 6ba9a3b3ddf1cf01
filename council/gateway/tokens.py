"""Bearer tokens of the HTTP front door, stored hashed beside the gateway's motions.

A token is shown once, when it is created (``council token create``); the store keeps only its
SHA-256. Tokens are 32 random bytes, so a plain hash suffices: there is nothing to brute-force
that a slow password hash would protect.

Roles: ``secretariat`` submits motions; ``member`` casts its own seat's ballot; ``designer``
uploads and runs scenarios; ``observer`` reads. Every role may read.
"""

from __future__ import annotations

import enum
import hashlib
import secrets
import time
from dataclasses import dataclass
from typing import Final

from council.gateway.store import GatewayStore

TOKEN_PREFIX: Final = "bct_"

_SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS tokens (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    role TEXT NOT NULL,
    seat INTEGER,
    digest TEXT NOT NULL UNIQUE,
    created_s INTEGER NOT NULL,
    revoked INTEGER NOT NULL DEFAULT 0
);
"""


class Role(enum.StrEnum):
    SECRETARIAT = "secretariat"
    MEMBER = "member"
    DESIGNER = "designer"
    OBSERVER = "observer"


@dataclass(frozen=True, slots=True)
class TokenHolder:
    """Who a valid token speaks for."""

    id: str
    name: str
    role: Role
    seat: int | None


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class TokenStore:
    """Create, check and revoke tokens in the gateway's SQLite file."""

    def __init__(self, store: GatewayStore) -> None:
        self._store = store
        with store.transaction() as db:
            db.execute(_SCHEMA)

    def create(self, role: Role, name: str, seat: int | None = None) -> tuple[TokenHolder, str]:
        """A new token for ``role`` (a member's names its ``seat``); the holder and the token,
        which is not stored and cannot be shown again."""
        if (role is Role.MEMBER) != (seat is not None):
            raise ValueError("a member token names exactly one seat; other roles name none")
        if seat is not None and seat < 1:
            raise ValueError(f"seats are numbered from 1, not {seat}")
        if not name.strip():
            raise ValueError("a token needs a name saying whose it is")
        token_id = secrets.token_hex(4)
        token = f"{TOKEN_PREFIX}{secrets.token_urlsafe(32)}"
        with self._store.transaction() as db:
            db.execute(
                "INSERT INTO tokens (id, name, role, seat, digest, created_s) VALUES (?,?,?,?,?,?)",
                (token_id, name, role.value, seat, _digest(token), int(time.time())),
            )
        return TokenHolder(token_id, name, role, seat), token

    def holder(self, token: str) -> TokenHolder | None:
        """The holder of ``token``, or ``None`` when it is unknown or revoked."""
        rows = self._store.query(
            "SELECT id, name, role, seat FROM tokens WHERE digest = ? AND revoked = 0",
            (_digest(token),),
        )
        if not rows:
            return None
        row = rows[0]
        return TokenHolder(row["id"], row["name"], Role(row["role"]), row["seat"])

    def revoke(self, token_id: str) -> bool:
        with self._store.transaction() as db:
            cursor = db.execute(
                "UPDATE tokens SET revoked = 1 WHERE id = ? AND revoked = 0", (token_id,)
            )
            return cursor.rowcount == 1

    def holders(self) -> list[TokenHolder]:
        rows = self._store.query(
            "SELECT id, name, role, seat FROM tokens WHERE revoked = 0 ORDER BY created_s, id"
        )
        return [TokenHolder(r["id"], r["name"], Role(r["role"]), r["seat"]) for r in rows]

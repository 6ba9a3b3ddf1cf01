"""The gateway's durable state in SQLite: motions it was asked to submit, and members' ballots.

A motion is written here *before* the gateway signs anything, with the ``Idempotency-Key`` the
client sent, so a retried HTTP request finds the motion it already created, and a restarted
gateway finds every motion still waiting for the council and resumes it (:mod:`.gateway`).

Statuses move one way: ``submitted`` (stored, not yet ordered) → ``open`` (``f + 1`` seats
agree it was ordered) → ``decided`` (a verified decision record is stored), or ``refused``
(``f + 1`` seats agree the council rejected it, with the reason).
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Literal

MotionStatus = Literal["submitted", "open", "decided", "refused"]
MOTION_STATUSES: Final = ("submitted", "open", "decided", "refused")
#: Statuses the gateway keeps working on after a restart.
PENDING_STATUSES: Final = ("submitted", "open")

_SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS motions (
    number INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    title TEXT NOT NULL,
    text TEXT NOT NULL,
    category TEXT NOT NULL,
    submitted_by TEXT NOT NULL,
    at_ms INTEGER NOT NULL,
    window_ms INTEGER NOT NULL,
    status TEXT NOT NULL,
    reason TEXT,
    outcome TEXT,
    yes INTEGER,
    no INTEGER,
    abstain INTEGER,
    decided_ms INTEGER,
    record TEXT,
    idempotency_key TEXT UNIQUE,
    request_hash TEXT
);
CREATE TABLE IF NOT EXISTS ballots (
    motion TEXT NOT NULL,
    seat INTEGER NOT NULL,
    vote TEXT NOT NULL,
    instructed_ms INTEGER NOT NULL,
    PRIMARY KEY (motion, seat)
);
"""


@dataclass(frozen=True, slots=True)
class MotionRow:
    """One motion as the gateway stored it."""

    number: int
    id: str
    title: str
    text: str
    category: str
    submitted_by: str
    at_ms: int
    window_ms: int
    status: MotionStatus
    reason: str | None
    outcome: str | None
    yes: int | None
    no: int | None
    abstain: int | None
    decided_ms: int | None
    record: str | None
    idempotency_key: str | None
    request_hash: str | None


@dataclass(frozen=True, slots=True)
class MotionDraft:
    """What a secretariat asks the gateway to put to the council."""

    title: str
    text: str
    category: str
    submitted_by: str


@dataclass(frozen=True, slots=True)
class MotionFilter:
    status: MotionStatus | None = None
    category: str | None = None
    outcome: str | None = None


class IdempotencyConflict(Exception):
    """The ``Idempotency-Key`` was used before for a different request."""


class GatewayStore:
    """One SQLite file (WAL); safe to share between the event loop and worker threads."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path) if path != ":memory:" else None
        self._db = sqlite3.connect(
            str(path), check_same_thread=False, isolation_level=None, timeout=10
        )
        self._db.row_factory = sqlite3.Row
        self._lock = threading.Lock()
        with self._lock:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.executescript(_SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction; other modules keep their tables in the same file."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def query(self, sql: str, parameters: tuple[object, ...] = ()) -> list[sqlite3.Row]:
        with self._lock:
            return self._db.execute(sql, parameters).fetchall()

    # -- motions -----------------------------------------------------------------------------

    def create_motion(
        self,
        motion_id: str,
        draft: MotionDraft,
        at_ms: int,
        window_ms: int,
        idempotency_key: str | None,
        request_hash: str,
    ) -> tuple[MotionRow, bool]:
        """Store a new motion, or return the one ``idempotency_key`` made before; the flag says
        whether it is new. ``IdempotencyConflict`` when the key came with another request."""
        with self.transaction() as db:
            if idempotency_key is not None:
                found = db.execute(
                    "SELECT * FROM motions WHERE idempotency_key = ?", (idempotency_key,)
                ).fetchone()
                if found is not None:
                    if found["request_hash"] != request_hash:
                        raise IdempotencyConflict(
                            f"Idempotency-Key {idempotency_key!r} was used for another request"
                            f" (motion {found['id']})"
                        )
                    return _motion(found), False
            _insert_motion(
                db, motion_id, draft, at_ms, window_ms, "submitted", idempotency_key, request_hash
            )
            row = db.execute("SELECT * FROM motions WHERE id = ?", (motion_id,)).fetchone()
        return _motion(row), True

    def record_foreign_decision(
        self, motion_id: str, draft: MotionDraft, at_ms: int, window_ms: int
    ) -> None:
        """Make room for a motion another client put to the council, so its verified decision
        can be stored and shown beside the gateway's own (no-op when it is known)."""
        with self.transaction() as db:
            if db.execute("SELECT 1 FROM motions WHERE id = ?", (motion_id,)).fetchone() is None:
                _insert_motion(db, motion_id, draft, at_ms, window_ms, "open", None, None)

    def next_motion_number(self) -> int:
        rows = self.query("SELECT COALESCE(MAX(number), 0) + 1 AS next FROM motions")
        return int(rows[0]["next"])

    def motion(self, motion_id: str) -> MotionRow | None:
        rows = self.query("SELECT * FROM motions WHERE id = ?", (motion_id,))
        return _motion(rows[0]) if rows else None

    def motions(
        self, where: MotionFilter = MotionFilter(), *, limit: int = 50, offset: int = 0
    ) -> tuple[list[MotionRow], int]:
        """A page of motions, newest first, and how many match in all."""
        clauses, parameters = _filter(where)
        sql_where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
        total = self.query(f"SELECT COUNT(*) AS total FROM motions{sql_where}", parameters)
        rows = self.query(
            f"SELECT * FROM motions{sql_where} ORDER BY number DESC LIMIT ? OFFSET ?",
            (*parameters, limit, offset),
        )
        return [_motion(row) for row in rows], int(total[0]["total"])

    def pending(self) -> list[MotionRow]:
        """Motions still waiting for the council, oldest first (resumed after a restart)."""
        rows = self.query(
            "SELECT * FROM motions WHERE status IN (?, ?) ORDER BY number", PENDING_STATUSES
        )
        return [_motion(row) for row in rows]

    def mark_open(self, motion_id: str) -> None:
        with self.transaction() as db:
            db.execute(
                "UPDATE motions SET status = 'open' WHERE id = ? AND status = 'submitted'",
                (motion_id,),
            )

    def mark_refused(self, motion_id: str, reason: str) -> None:
        with self.transaction() as db:
            db.execute(
                "UPDATE motions SET status = 'refused', reason = ? WHERE id = ?"
                " AND status IN ('submitted', 'open')",
                (reason, motion_id),
            )

    def mark_decided(
        self,
        motion_id: str,
        outcome: str,
        tally: tuple[int, int, int],
        decided_ms: int,
        record: str,
    ) -> bool:
        """Store the verified decision; false when it was stored already."""
        yes, no, abstain = tally
        with self.transaction() as db:
            cursor = db.execute(
                "UPDATE motions SET status = 'decided', outcome = ?, yes = ?, no = ?, abstain = ?,"
                " decided_ms = ?, record = ? WHERE id = ? AND status != 'decided'",
                (outcome, yes, no, abstain, decided_ms, record, motion_id),
            )
            return cursor.rowcount == 1

    # -- ballots -----------------------------------------------------------------------------

    def record_ballot(self, motion_id: str, seat: int, vote: str, instructed_ms: int) -> None:
        with self.transaction() as db:
            db.execute(
                "INSERT INTO ballots (motion, seat, vote, instructed_ms) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (motion, seat) DO UPDATE SET vote = excluded.vote,"
                " instructed_ms = excluded.instructed_ms",
                (motion_id, seat, vote, instructed_ms),
            )

    def ballots(self, motion_id: str) -> dict[int, str]:
        """The votes members instructed through the gateway, by seat."""
        rows = self.query("SELECT seat, vote FROM ballots WHERE motion = ?", (motion_id,))
        return {int(row["seat"]): str(row["vote"]) for row in rows}


def _insert_motion(
    db: sqlite3.Connection,
    motion_id: str,
    draft: MotionDraft,
    at_ms: int,
    window_ms: int,
    status: MotionStatus,
    idempotency_key: str | None,
    request_hash: str | None,
) -> None:
    db.execute(
        "INSERT INTO motions (id, title, text, category, submitted_by, at_ms, window_ms,"
        " status, idempotency_key, request_hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            motion_id,
            draft.title,
            draft.text,
            draft.category,
            draft.submitted_by,
            at_ms,
            window_ms,
            status,
            idempotency_key,
            request_hash,
        ),
    )


def _filter(where: MotionFilter) -> tuple[list[str], tuple[object, ...]]:
    clauses: list[str] = []
    parameters: list[object] = []
    for column, value in (
        ("status", where.status),
        ("category", where.category),
        ("outcome", where.outcome),
    ):
        if value is not None:
            clauses.append(f"{column} = ?")
            parameters.append(value)
    return clauses, tuple(parameters)


def _motion(row: sqlite3.Row) -> MotionRow:
    return MotionRow(**{key: row[key] for key in row.keys()})  # noqa: SIM118 (Row is not a dict)

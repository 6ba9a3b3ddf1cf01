"""The durable log of one agent: what its replica persisted, its stable checkpoint, its decisions.

An agent is an OS process that may be killed at any instant, so this store is what stands
between a restart and a contradicting signature. The runtime performs a replica step's
effects in order; :meth:`AgentStore.persist_many` writes every ``Persist`` record of the step
in one transaction *before* the step's ``Send``/``Broadcast`` effects go out, and
:meth:`AgentStore.load` hands them back, in persist order, to ``Replica.recover``.

Durability choices, and why:

- WAL journal, ``synchronous=FULL``: every commit fsyncs the write-ahead log before it
  returns, so a record persisted before a send survives power loss, not only a process kill
  (``NORMAL`` would only survive the kill). ``synchronous`` is per connection, so decisions
  and checkpoints get the same guarantee; they are rare, so it costs nothing measurable.
- One commit per replica step, not per record: the fsync is the cost, and one step of an
  n = 33 council persists a pre-prepare, ``Q − 1`` prepares and the agent's own votes (about
  thirty records), so batching makes a step cost about as much as a single record.
- An exclusive lock held for the store's lifetime: a second process opening the same store
  (a supervisor restarting an agent that is still alive) is refused instead of signing
  beside it. The kernel releases the lock when the holder dies, even by SIGKILL.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Final, Self

from pydantic import TypeAdapter

from consensus import Envelope, PersistCheckpoint, decode
from consensus.messages import NewView, ViewChange

#: Bumped whenever the tables change; a store of another version is refused, never guessed at.
SCHEMA_VERSION: Final = 1
#: Marks a SQLite file as an agent store ("BCag"), so a stray database is not mistaken for one.
APPLICATION_ID: Final = int.from_bytes(b"BCag", "big")
#: How long to wait for a lock; the holder is normally another live agent, so keep it short.
LOCK_WAIT_MS: Final = 250
#: View-change and new-view records kept per kind: the newest view and the one before it,
#: as the replica itself keeps its own view-changes (``own_view_changes``).
VIEW_RECORDS_VIEWS_KEPT: Final = 2

_VIEW_KINDS: Final = ("view-change", "new-view")
_CERTIFICATE: Final = TypeAdapter(tuple[Envelope, ...])

_SCHEMA: Final = (
    """CREATE TABLE signed_record (
        position INTEGER PRIMARY KEY,  -- persist order: recovery replays records in it
        kind TEXT NOT NULL,
        seq INTEGER,                   -- NULL for records about a view, not a slot
        view INTEGER,                  -- the view a view-change asks for, else the message's
        envelope TEXT NOT NULL
    )""",
    "CREATE INDEX signed_record_by_seq ON signed_record (seq)",
    """CREATE TABLE stable_checkpoint (
        singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
        seq INTEGER NOT NULL,
        certificate TEXT NOT NULL,
        snapshot TEXT NOT NULL
    )""",
    "CREATE TABLE decision (motion_id TEXT PRIMARY KEY, record TEXT NOT NULL)",
)


class AgentStoreError(Exception):
    """The store cannot be opened; the message says why and names the file."""


class IncompatibleStoreError(AgentStoreError):
    """The file is not an agent store, or one of another schema version."""


class StoreInUseError(AgentStoreError):
    """Another live process (or another open store in this one) holds the file."""


@dataclass(frozen=True, slots=True)
class StoreCounts:
    """What the store holds, for observability."""

    records: int
    checkpoints: int
    checkpoint_seq: int | None
    decisions: int
    database_bytes: int
    wal_bytes: int


class AgentStore:
    """One agent's durable log in a SQLite file. One caller at a time; not thread-safe."""

    def __init__(self, path: Path, connection: sqlite3.Connection) -> None:
        """Use :meth:`open`; this takes a connection that is already configured."""
        self.path = path
        self._connection = connection

    @classmethod
    def open(cls, path: Path) -> AgentStore:
        """Open the store at ``path``, creating it if missing, and hold it exclusively.

        Raises :class:`IncompatibleStoreError` for a file that is not an agent store of this
        schema version and :class:`StoreInUseError` when another process holds it.
        """
        created = not path.exists()
        # isolation_level=None: transactions are begun and committed here, explicitly.
        connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        try:
            _configure(connection)
            _ensure_schema(connection, path)
        except sqlite3.Error as error:
            connection.close()
            if getattr(error, "sqlite_errorname", "") in ("SQLITE_BUSY", "SQLITE_LOCKED"):
                raise StoreInUseError(f"{path} is held by another open agent store") from error
            raise IncompatibleStoreError(f"{path} is not an agent store: {error}") from error
        except AgentStoreError:
            connection.close()
            raise
        if created:
            _sync_directory(path.parent)  # the new file's name must survive power loss too
        return cls(path, connection)

    # -- the replica's records ---------------------------------------------------------------

    def persist_many(self, records: Sequence[Envelope]) -> None:
        """Durably append the ``Persist`` records of one replica step, in one commit.

        When this returns, every record is on disk as far as the OS allows; a kill before
        that leaves none of them, never a part.
        """
        rows = [_record_row(envelope) for envelope in records]
        if not rows:
            return
        with self._transaction() as cursor:
            cursor.executemany(
                "INSERT INTO signed_record (kind, seq, view, envelope) VALUES (?, ?, ?, ?)", rows
            )
            if any(kind in _VIEW_KINDS for kind, *_ in rows):
                _drop_superseded_view_records(cursor)

    def persist_checkpoint(self, checkpoint: PersistCheckpoint) -> None:
        """Keep ``checkpoint`` if it is newer than the stored one, and drop the records it
        makes useless, in the same commit.

        Records about sequence numbers up to the checkpoint go: the replica never signs
        below its low watermark again, and the checkpoint's certificate proves the state.
        View-change and new-view records are not about one seq and stay (bounded by view).
        """
        certificate = _CERTIFICATE.dump_json(checkpoint.certificate).decode()
        with self._transaction() as cursor:
            row = cursor.execute("SELECT seq FROM stable_checkpoint").fetchone()
            if row is not None and row[0] >= checkpoint.seq:
                return
            cursor.execute(
                "INSERT OR REPLACE INTO stable_checkpoint (singleton, seq, certificate, snapshot)"
                " VALUES (1, ?, ?, ?)",
                (checkpoint.seq, certificate, checkpoint.snapshot),
            )
            cursor.execute("DELETE FROM signed_record WHERE seq <= ?", (checkpoint.seq,))

    def load(self) -> tuple[list[Envelope], PersistCheckpoint | None]:
        """Every persisted record in persist order and the stable checkpoint, as
        ``Replica.recover(records=..., checkpoint=...)`` takes them."""
        rows = self._connection.execute("SELECT envelope FROM signed_record ORDER BY position")
        records = [Envelope.model_validate_json(text) for (text,) in rows]
        row = self._connection.execute(
            "SELECT seq, certificate, snapshot FROM stable_checkpoint"
        ).fetchone()
        if row is None:
            return records, None
        seq, certificate, snapshot = row
        return records, PersistCheckpoint(seq, _CERTIFICATE.validate_json(certificate), snapshot)

    # -- the governance layer's decisions ----------------------------------------------------

    def save_decision(self, motion_id: str, record_json: str) -> None:
        """Durably keep the decision record of ``motion_id``.

        A decision is final: the first record saved for a motion stays. Replaying the log
        after a restart decides the motion again, possibly with another (equally valid)
        commit certificate, and must not rewrite what was already published.
        """
        with self._transaction() as cursor:
            cursor.execute(
                "INSERT OR IGNORE INTO decision (motion_id, record) VALUES (?, ?)",
                (motion_id, record_json),
            )

    def decision(self, motion_id: str) -> str | None:
        row = self._connection.execute(
            "SELECT record FROM decision WHERE motion_id = ?", (motion_id,)
        ).fetchone()
        return None if row is None else str(row[0])

    def decisions(self) -> list[tuple[str, str]]:
        """Every (motion id, decision record), in the order they were saved."""
        rows = self._connection.execute("SELECT motion_id, record FROM decision ORDER BY rowid")
        return [(str(motion_id), str(record)) for motion_id, record in rows]

    # -- observability and lifetime ----------------------------------------------------------

    def counts(self) -> StoreCounts:
        connection = self._connection
        records = connection.execute("SELECT count(*) FROM signed_record").fetchone()[0]
        checkpoint = connection.execute("SELECT seq FROM stable_checkpoint").fetchone()
        decisions = connection.execute("SELECT count(*) FROM decision").fetchone()[0]
        page_count = connection.execute("PRAGMA page_count").fetchone()[0]
        page_size = connection.execute("PRAGMA page_size").fetchone()[0]
        wal = self.path.with_name(self.path.name + "-wal")
        return StoreCounts(
            records=records,
            checkpoints=0 if checkpoint is None else 1,
            checkpoint_seq=None if checkpoint is None else checkpoint[0],
            decisions=decisions,
            database_bytes=page_count * page_size,
            wal_bytes=wal.stat().st_size if wal.exists() else 0,
        )

    def close(self) -> None:
        """Checkpoint the WAL into the database file and release the lock; idempotent."""
        self._connection.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Cursor]:
        cursor = self._connection.cursor()
        cursor.execute("BEGIN IMMEDIATE")
        try:
            yield cursor
        except BaseException:
            cursor.execute("ROLLBACK")
            raise
        cursor.execute("COMMIT")


def _configure(connection: sqlite3.Connection) -> None:
    connection.execute(f"PRAGMA busy_timeout = {LOCK_WAIT_MS}")
    # Set before the first WAL access: the lock is then held until close and the WAL index
    # lives in this process's memory (no -shm file that a dead process could leave behind).
    connection.execute("PRAGMA locking_mode = EXCLUSIVE")
    (mode,) = connection.execute("PRAGMA journal_mode = WAL").fetchone()
    if mode != "wal":
        raise IncompatibleStoreError(f"SQLite refused WAL mode (journal_mode is {mode!r})")
    connection.execute("PRAGMA synchronous = FULL")


def _ensure_schema(connection: sqlite3.Connection, path: Path) -> None:
    """Create the schema in an empty file, or check that the file holds this schema.

    Creation and its version number commit together, so a kill during creation leaves an
    empty file that the next open creates again, never a half-made store.
    """
    connection.execute("BEGIN EXCLUSIVE")  # also takes the lock held for the store's life
    try:
        (application_id,) = connection.execute("PRAGMA application_id").fetchone()
        (version,) = connection.execute("PRAGMA user_version").fetchone()
        (tables,) = connection.execute("SELECT count(*) FROM sqlite_schema").fetchone()
        if application_id == 0 and version == 0 and tables == 0:
            for statement in _SCHEMA:
                connection.execute(statement)
            connection.execute(f"PRAGMA application_id = {APPLICATION_ID}")
            connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        elif application_id != APPLICATION_ID:
            raise IncompatibleStoreError(f"{path} is a SQLite file but not an agent store")
        elif version != SCHEMA_VERSION:
            raise IncompatibleStoreError(
                f"{path} is an agent store of schema version {version}; "
                f"this version of the council reads version {SCHEMA_VERSION} only"
            )
    except BaseException:
        connection.execute("ROLLBACK")
        raise
    connection.execute("COMMIT")


def _record_row(envelope: Envelope) -> tuple[str, int | None, int | None, str]:
    """(kind, seq, view, envelope JSON): the columns garbage collection selects on."""
    message = decode(envelope)
    seq = getattr(message, "seq", None)
    if isinstance(message, ViewChange):
        view: int | None = message.new_view
    elif isinstance(message, NewView):
        view = message.view
    else:
        view = getattr(message, "view", None)
    return envelope.kind, seq, view, envelope.model_dump_json()


def _drop_superseded_view_records(cursor: sqlite3.Cursor) -> None:
    """Keep view-change and new-view records of the newest views only.

    A replica never returns to a lower view, so it is never asked to sign in one again, and
    recovery reads only the highest view from these records; the older ones would otherwise
    pile up forever, since no checkpoint collects them.
    """
    for kind in _VIEW_KINDS:
        cursor.execute(
            "DELETE FROM signed_record WHERE kind = ?1 AND view <= "
            "(SELECT max(view) FROM signed_record WHERE kind = ?1) - ?2",
            (kind, VIEW_RECORDS_VIEWS_KEPT),
        )


def _sync_directory(directory: Path) -> None:
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)

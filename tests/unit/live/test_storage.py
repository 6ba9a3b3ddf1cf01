"""The agent store keeps what a replica persisted across a close, a kill and a restart, in
persist order, and forgets only what a stable checkpoint makes useless."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
from collections.abc import Iterable
from contextlib import closing
from pathlib import Path

import pytest

from consensus import (
    Effect,
    Envelope,
    LedgerApplication,
    MalformedMessage,
    Persist,
    PersistCheckpoint,
    Replica,
    decode,
)
from consensus.messages import Checkpoint, Commit, NewView, Prepare, ViewChange, batch_digest
from council.live.storage import (
    AgentStore,
    IncompatibleStoreError,
    StoreInUseError,
)
from tests.regressions.harness import Council
from tests.unit.live import crash_writer

REPO_ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
def council() -> Council:
    """Real keys for four members and three clients; the tests sign for them by hand."""
    return Council(4, faulty={0, 1, 2, 3})


@pytest.fixture
def store_path(tmp_path: Path) -> Path:
    return tmp_path / "agent-1.sqlite"


def slot_records(council: Council, seq: int, operation: str = "op") -> list[Envelope]:
    """What a backup persists when ``seq`` prepares: the pre-prepare with its batch, the
    prepares of the certificate and its own commit."""
    batch = (council.request("alice", seq, operation),)
    digest = batch_digest(batch)
    return [
        council.pre_prepare(0, seq, batch),
        *(council.prepare(i, 0, seq, digest) for i in (1, 2)),
        council.commit(1, 0, seq, digest),
    ]


def checkpoint(council: Council, seq: int) -> PersistCheckpoint:
    certificate = tuple(
        council.sign(i, Checkpoint(replica=i, seq=seq, state_digest=f"{seq:064x}"))
        for i in (0, 1, 2)
    )
    return PersistCheckpoint(seq, certificate, snapshot=f'{{"seq":{seq}}}')


def record_seqs(records: Iterable[Envelope]) -> list[int]:
    return [getattr(decode(envelope), "seq", 0) for envelope in records]


# -- records ------------------------------------------------------------------------------------


def test_records_come_back_after_reopening_in_persist_order_with_their_batches(
    council: Council, store_path: Path
) -> None:
    first, second = slot_records(council, 1), slot_records(council, 2)
    with AgentStore.open(store_path) as store:
        store.persist_many(first)
        store.persist_many(second)
        store.persist_many([])  # a step that persisted nothing

    with AgentStore.open(store_path) as store:
        records, stable = store.load()
    assert records == first + second
    assert stable is None
    assert records[0].attachment == first[0].attachment != ()
    assert [decode(record) for record in records] == [decode(record) for record in first + second]
    assert all(council.verifier.verify(record) for record in records)


def test_a_step_with_a_record_that_does_not_decode_persists_none_of_the_step(
    council: Council, store_path: Path
) -> None:
    good = slot_records(council, 1)
    garbled = good[1].model_copy(update={"body": "{}"})
    with AgentStore.open(store_path) as store:
        with pytest.raises(MalformedMessage):
            store.persist_many([good[0], garbled])
        assert store.load() == ([], None)


# -- checkpoints and garbage collection ---------------------------------------------------------


def test_a_checkpoint_drops_records_up_to_its_seq_and_keeps_view_records(
    council: Council, store_path: Path
) -> None:
    view_change = council.view_change(1, new_view=1)
    new_view = council.new_view(1, [view_change], [])
    with AgentStore.open(store_path) as store:
        for seq in range(1, 5):
            store.persist_many(slot_records(council, seq))
        store.persist_many([view_change, new_view])
        store.persist_many(slot_records(council, 5))
        stable = checkpoint(council, 4)
        store.persist_checkpoint(stable)

        records, loaded = store.load()
        counts = store.counts()
    assert loaded == stable
    assert [record.kind for record in records[:2]] == ["view-change", "new-view"]
    assert record_seqs(records[2:]) == [5, 5, 5, 5]
    assert (counts.records, counts.checkpoints, counts.checkpoint_seq) == (6, 1, 4)


def test_an_older_checkpoint_never_replaces_a_newer_one(council: Council, store_path: Path) -> None:
    with AgentStore.open(store_path) as store:
        for seq in range(1, 7):
            store.persist_many(slot_records(council, seq))
        store.persist_checkpoint(checkpoint(council, 4))
        store.persist_checkpoint(checkpoint(council, 2))  # a late, stale state transfer
        records, loaded = store.load()
    assert loaded == checkpoint(council, 4)
    assert set(record_seqs(records)) == {5, 6}


def test_only_the_two_newest_views_of_view_change_and_new_view_records_are_kept(
    council: Council, store_path: Path
) -> None:
    with AgentStore.open(store_path) as store:
        for view in range(1, 6):
            view_change = council.view_change(1, new_view=view)
            store.persist_many([view_change, council.new_view(view, [view_change], [])])
        records, _ = store.load()

    kept = [decode(record) for record in records]
    assert [m.new_view for m in kept if isinstance(m, ViewChange)] == [4, 5]
    assert [m.view for m in kept if isinstance(m, NewView)] == [4, 5]


# -- opening ------------------------------------------------------------------------------------


def test_a_store_held_open_elsewhere_is_refused_until_closed(store_path: Path) -> None:
    first = AgentStore.open(store_path)
    with pytest.raises(StoreInUseError, match="held by another"):
        AgentStore.open(store_path)
    first.close()
    AgentStore.open(store_path).close()


def test_a_store_of_another_schema_version_is_refused(store_path: Path) -> None:
    AgentStore.open(store_path).close()
    with closing(sqlite3.connect(store_path)) as raw:
        raw.execute("PRAGMA user_version = 2")
    with pytest.raises(IncompatibleStoreError, match="schema version 2"):
        AgentStore.open(store_path)


def test_files_that_are_not_agent_stores_are_refused(tmp_path: Path) -> None:
    foreign = tmp_path / "foreign.sqlite"
    with closing(sqlite3.connect(foreign)) as raw:
        raw.execute("CREATE TABLE motions (id TEXT)")
    garbage = tmp_path / "garbage.sqlite"
    garbage.write_bytes(b"not a database at all" * 100)

    with pytest.raises(IncompatibleStoreError, match="not an agent store"):
        AgentStore.open(foreign)
    with pytest.raises(IncompatibleStoreError, match="not an agent store"):
        AgentStore.open(garbage)


# -- decisions ----------------------------------------------------------------------------------


def test_decisions_survive_reopening_and_the_first_record_of_a_motion_stays(
    store_path: Path,
) -> None:
    with AgentStore.open(store_path) as store:
        store.save_decision("motion-2", '{"outcome":"adopted"}')
        store.save_decision("motion-1", '{"outcome":"rejected"}')
        store.save_decision("motion-2", '{"outcome":"adopted","certificate":"another"}')

    with AgentStore.open(store_path) as store:
        assert store.decision("motion-2") == '{"outcome":"adopted"}'
        assert store.decision("motion-3") is None
        assert store.decisions() == [
            ("motion-2", '{"outcome":"adopted"}'),
            ("motion-1", '{"outcome":"rejected"}'),
        ]
        assert store.counts().decisions == 2


def test_counts_report_what_the_store_holds(council: Council, store_path: Path) -> None:
    with AgentStore.open(store_path) as store:
        empty = store.counts()
        store.persist_many(slot_records(council, 1))
        store.save_decision("motion-1", "{}")
        counts = store.counts()
    assert (empty.records, empty.checkpoints, empty.checkpoint_seq, empty.decisions) == (
        0,
        0,
        None,
        0,
    )
    assert (counts.records, counts.decisions) == (4, 1)
    assert counts.database_bytes > 0 and counts.wal_bytes > 0


# -- a real kill --------------------------------------------------------------------------------


@pytest.mark.parametrize("steps_before_kill", [3, 60])
def test_every_step_acknowledged_before_a_sigkill_is_in_the_store(
    store_path: Path, steps_before_kill: int
) -> None:
    writer = subprocess.Popen(
        [sys.executable, "-m", "tests.unit.live.crash_writer", str(store_path)],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert writer.stdout is not None
    promised: list[str] = []
    while sum(line.startswith("records") for line in promised) < steps_before_kill:
        line = writer.stdout.readline()
        assert line, "the writer stopped before it was killed"
        promised.append(line)
    writer.send_signal(signal.SIGKILL)
    promised += writer.stdout.readlines()  # what it printed before the kill landed
    assert writer.wait() == -signal.SIGKILL

    with closing(sqlite3.connect(store_path)) as raw:
        assert raw.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    with AgentStore.open(store_path) as store:
        records, stable = store.load()

    promises = [line.split() for line in promised if line.strip()]
    steps = [int(seq) for what, seq in promises if what == "records"]
    checkpoints = [int(seq) for what, seq in promises if what == "checkpoint"]
    assert len(steps) >= steps_before_kill
    stable_seq = 0 if stable is None else stable.seq
    assert stable_seq >= max(checkpoints, default=0)
    # Whole steps only, contiguous above the checkpoint, each one intact and signed.
    last = max(record_seqs(records), default=stable_seq)
    assert last >= steps[-1]
    expected: list[Envelope] = []
    signer = crash_writer.writer_signer()
    for seq in range(stable_seq + 1, last + 1):
        expected += crash_writer.step_records(signer, seq)
    assert records == expected


# -- a replica recovered from its store ---------------------------------------------------------


class DurableCouncil(Council):
    """A harness council whose member ``durable`` persists through an :class:`AgentStore`,
    one commit per replica step, as the live runtime does; a crash closes the store."""

    def __init__(self, store_path: Path, durable: int, **options: object) -> None:
        self.store_path, self.durable = store_path, durable
        self.store: AgentStore | None = AgentStore.open(store_path)
        super().__init__(4, **options)  # type: ignore[arg-type]

    def _collect(self, i: int) -> None:
        first_new = len(self.effects[i])
        super()._collect(i)
        if i == self.durable:
            assert self.store is not None
            persist_step(self.store, self.effects[i][first_new:])

    def crash_durable(self) -> None:
        assert self.store is not None
        self.crash(self.durable)
        self.store.close()
        self.store = None

    def recover_durable(self) -> Replica:
        """Reopen the store and rebuild the replica from nothing but what it holds."""
        self.store = AgentStore.open(self.store_path)
        records, stable = self.store.load()
        replica = Replica.recover(
            self.config,
            self.durable,
            self.signer(self.durable),
            self.verifier,
            LedgerApplication(),
            records=records,
            checkpoint=stable,
            now_ms=self.now_ms,
        )
        self.replicas[self.durable] = replica
        self._collect(self.durable)
        return replica


def persist_step(store: AgentStore, effects: list[Effect]) -> None:
    store.persist_many([effect.record for effect in effects if isinstance(effect, Persist)])
    for effect in effects:
        if isinstance(effect, PersistCheckpoint):
            store.persist_checkpoint(effect)


def votes(council: Council, replica: int) -> dict[tuple[str, int, int], set[str]]:
    """(kind, view, seq) → digests of every prepare and commit ``replica`` ever sent."""
    signed: dict[tuple[str, int, int], set[str]] = {}
    sent: list[Prepare | Commit] = [m for _, m in council.sent(replica, Prepare)]
    sent += [m for _, m in council.sent(replica, Commit)]
    for vote in sent:
        signed.setdefault((vote.kind, vote.view, vote.seq), set()).add(vote.digest)
    return signed


def test_a_replica_recovered_from_its_store_never_contradicts_a_vote_it_signed(
    tmp_path: Path,
) -> None:
    council = DurableCouncil(tmp_path / "r1.sqlite", durable=1, faulty={0, 2, 3})
    a, b = (council.request("alice", 1),), (council.request("bob", 1),)
    digest_a, digest_b = batch_digest(a), batch_digest(b)
    council.deliver(council.pre_prepare(0, 1, a), to=1)
    council.deliver_all([council.prepare(i, 0, 1, digest_a) for i in (2, 3)], to=1)
    assert votes(council, 1) == {("prepare", 0, 1): {digest_a}, ("commit", 0, 1): {digest_a}}

    council.crash_durable()
    council.recover_durable()
    # An equivocating primary shows the recovered replica a complete certificate for b.
    council.deliver(council.pre_prepare(0, 1, b), to=1)
    council.deliver_all([council.prepare(i, 0, 1, digest_b) for i in (2, 3)], to=1)
    council.deliver_all([council.commit(i, 0, 1, digest_b) for i in (0, 2, 3)], to=1)

    assert votes(council, 1) == {("prepare", 0, 1): {digest_a}, ("commit", 0, 1): {digest_a}}


def test_a_replica_recovered_from_its_store_catches_up_with_the_council(tmp_path: Path) -> None:
    council = DurableCouncil(tmp_path / "r1.sqlite", durable=1)
    for timestamp in range(1, 4):
        council.submit(council.request("alice", timestamp))
        council.flush()
    assert council.store is not None
    records, stable = council.store.load()
    assert stable is not None and stable.seq == 2  # K = 2: the store was collected
    assert all(seq > 2 for seq in record_seqs(records) if seq)

    council.crash_durable()
    for timestamp in range(4, 10):  # r0, r2 and r3 are a quorum without r1
        council.submit(council.request("alice", timestamp))
        council.flush()
    recovered = council.recover_durable()
    council.submit(council.request("bob", 1))
    council.run(until_ms=5_000)

    reference = council.replicas[0]
    assert recovered.last_executed == reference.last_executed == 10
    assert recovered.application.snapshot() == reference.application.snapshot()
    assert set(council.log(1)) <= set(council.log(0))
    assert all(len(digests) == 1 for digests in votes(council, 1).values())
    records, stable = council.store.load()
    assert stable is not None and stable.seq >= 8
    assert all(seq > stable.seq for seq in record_seqs(records) if seq)

"""A replica whose votes are still on their way when the others' checkpoints arrive finishes
executing instead of fetching the state it is about to compute; one that never got the batch
fetches it."""

from __future__ import annotations

from typing import Any

from consensus import decode
from consensus.messages import Checkpoint, Commit, PrePrepare
from council.sim.manual import ManualCluster

CONFIG: dict[str, Any] = {"checkpoint_interval": 2, "watermark_window": 8, "batch_size_max": 1}
LATE = 3  # the replica the network holds back


def two_batches(cluster: ManualCluster) -> None:
    cluster.submit(0, "motion-1")
    cluster.submit(1, "motion-2")


def run_holding_back(cluster: ManualCluster, held: type[Commit | PrePrepare]) -> list[int]:
    """Deliver everything in order, except ``held`` messages for the late replica, until the
    council is quiet; the held messages' indices stay in transit."""
    for _ in range(4):
        index = 0
        while index < len(cluster.in_transit):
            message = cluster.in_transit[index]
            if message.target == LATE and isinstance(decode(message.envelope), held):
                index += 1
            else:
                cluster.deliver(index)
        cluster.advance(5)
    return [i for i, m in enumerate(cluster.in_transit) if m.target == LATE]


def test_a_replica_overtaken_by_checkpoints_executes_rather_than_fetching_state() -> None:
    cluster = ManualCluster(4, seed=2, clients=2, relay_votes=True, **CONFIG)
    two_batches(cluster)
    held = run_holding_back(cluster, Commit)
    late = cluster.replica(LATE)
    assert held and late.last_executed < 2
    assert cluster.replica(0).stable_seq == 2  # the others reached the checkpoint ...
    checkpoints = [m for m in cluster.observed if isinstance(decode(m), Checkpoint)]
    assert len({m.sender for m in checkpoints}) >= cluster.config.quorums.quorum
    assert late.fetch is None and late.stable_seq == 0  # ... and the late one waits
    cluster.deliver_all()  # its commits arrive
    assert late.last_executed == 2 and late.stable_seq == 2
    assert cluster.state_transfers == 0


def test_a_replica_that_never_got_the_batch_fetches_the_state() -> None:
    cluster = ManualCluster(4, seed=2, clients=2, relay_votes=True, **CONFIG)
    two_batches(cluster)
    for index in reversed(run_holding_back(cluster, PrePrepare)):
        cluster.drop(index)  # lost for good
    cluster.settle(time_limit_ms=30_000)
    late = cluster.replica(LATE)
    assert late.stable_seq >= 2 and late.last_executed >= 2
    assert cluster.state_transfers >= 1


def test_a_replica_whose_votes_never_come_fetches_the_state_after_a_status_interval() -> None:
    cluster = ManualCluster(4, seed=2, clients=2, relay_votes=True, **CONFIG)
    two_batches(cluster)
    for index in reversed(run_holding_back(cluster, Commit)):
        cluster.drop(index)
    late = cluster.replica(LATE)
    assert late.fetch is None
    cluster.advance(cluster.config.status_interval_ms)
    assert late.fetch is not None or cluster.state_transfers >= 1
    cluster.settle(time_limit_ms=30_000)
    assert late.last_executed >= 2 and late.stable_seq >= 2

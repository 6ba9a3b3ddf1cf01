"""The live benchmark's arithmetic: the bound, per-instance counts and the status window."""

from __future__ import annotations

import json

import pytest

from bench.live_bound import InstanceCounts, UnitCosts, bound, signatures_per_instance
from bench.live_council import StatusLog
from bench.live_load import LoadReport
from bench.live_run import LoadRun, instance_counts, percentile


def test_the_bound_divides_the_cores_by_the_cost_of_one_instance() -> None:
    costs = UnitCosts(publish_us=80, deliver_us=40, broker_us=5, verify_us=50, sign_us=20)
    counts = InstanceCounts(
        batch_size=100, publishes=200, deliveries=2000, verifications=6000, signatures=200
    )
    limit = bound(costs, counts, cores=2)
    # 200·80 + 2000·(40+5) + 6000·50 + 200·20 = 16,000 + 90,000 + 300,000 + 4,000 µs
    assert limit.instance_cost_us == 410_000
    assert limit.instances_per_s == pytest.approx(2e6 / 410_000, abs=1e-3)
    assert limit.ordered_per_s == pytest.approx(100 * 2e6 / 410_000, abs=0.1)
    assert limit.shares["verify"] == pytest.approx(300 / 410, abs=1e-3)


def test_an_instance_signs_once_per_phase_per_replica_and_once_per_request() -> None:
    # pre-prepare, 32 prepares, 33 commits, 33 replies, 33/16 checkpoints, 100 requests
    assert signatures_per_instance(33, 100, 16) == pytest.approx(1 + 32 + 33 + 33 + 33 / 16 + 100)


def status(seat: int, executed: int, received: int) -> bytes:
    counters = {"seat": seat, "executed": executed, "publishes_received": received}
    return json.dumps({"status": {**counters, "dropped": {}}}).encode()


def test_counters_grow_between_the_first_and_last_status_inside_the_window() -> None:
    log = StatusLog()
    for at_s, executed in ((0.0, 1), (5.0, 11), (10.0, 31), (15.0, 41)):
        log.by_seat.setdefault(1, []).append(
            (at_s, json.loads(status(1, executed, 70 * executed))["status"])
        )
    grown = log.between(4.0, 12.0)
    assert grown == {1: ({"executed": 20, "publishes_received": 1400}, 5.0)}


def test_presence_and_other_events_are_told_apart() -> None:
    log = StatusLog()
    log.note("council/c/presence/r0", b"online")
    log.note("council/c/events/r0", b'{"decision": {}}')
    log.note("council/c/events/r0", status(1, 3, 9))
    assert log.online == {"r0"}
    assert list(log.by_seat) == [1]
    log.note("council/c/presence/r0", b"offline")
    assert log.online == set()


def test_per_instance_counts_add_every_seat_and_the_clients() -> None:
    seat_growth = {"executed": 10, "publishes_received": 700, "publishes_sent": 30}
    seat_growth["signatures_verified"] = 1000
    client = LoadReport(completed=1000, deliveries=660, publishes=1000, verifications=660)
    run = LoadRun([client], window_s=10.0, cpu_s={}, grown={1: (seat_growth, 5.0)})
    counts, instances_per_s = instance_counts(run, n=4, checkpoint_interval=16)
    assert instances_per_s == 2.0  # 10 instances in 5 s; 20 in the 10-s window
    assert counts.batch_size == 50.0
    assert counts.deliveries == 4 * 70 + 660 / 20
    assert counts.publishes == 4 * 3 + 1000 / 20
    assert counts.verifications == 4 * 100 + 660 / 20


def test_percentiles_use_the_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 0.5) == 51.0
    assert percentile(values, 0.99) == 100.0
    assert percentile([], 0.5) != percentile([], 0.5)  # nan


def test_the_longest_silence_after_a_kill_counts_up_to_the_windows_end() -> None:
    report = LoadReport(completed=4, completed_at_s=[9.0, 10.5, 18.0, 19.0])
    run = LoadRun([report], window_s=20, cpu_s={}, grown={}, end_s=20.0)
    assert run.longest_silence_s(after_s=10.0) == pytest.approx(7.5)  # 10.5 → 18.0
    assert run.longest_silence_s(after_s=19.5) == pytest.approx(0.5)  # nothing after: to the end

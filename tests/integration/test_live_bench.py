"""The live benchmark's load clients against a small council: what ``make bench`` relies on."""

from __future__ import annotations

import asyncio
from pathlib import Path

from bench.live_council import bench_council, load_principals, start_agents
from bench.live_load import report_path
from bench.live_run import LoadRun, run_load

SEATS = 4
SESSIONS = 6


def test_closed_loop_clients_report_their_window_through_files(tmp_path: Path) -> None:
    async def scenario() -> LoadRun:
        async with bench_council(tmp_path / "council", seats=SEATS, clients=SESSIONS) as council:
            await start_agents(council)
            return await run_load(
                council,
                tmp_path,
                principals=load_principals(SESSIONS),
                processes=2,
                mode="closed",
                warmup_s=1.0,
                window_s=2.0,
            )

    run = asyncio.run(scenario())
    assert len(run.reports) == 2
    assert run.completed > 0
    # Closed loop: each completion in the window was a request that f + 1 seats answered.
    assert all(report.completed == len(report.completed_at_s) for report in run.reports)
    assert all(latency > 0 for latency in run.latencies_ms)
    assert run.cpu_s["agents"] > 0 and run.cpu_s["clients"] > 0
    # Each client process left a whole report next to its settings, nothing on stdout.
    for index in range(2):
        assert report_path(tmp_path / f"load-closed-{index}.json").is_file()

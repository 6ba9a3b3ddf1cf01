"""One load run against a live council: client processes, and what the window saw.

The clients (:mod:`bench.live_load`) and this process share the machine's monotonic clock, so
they agree on the measurement window. At its two edges this process reads the CPU time of the
agents, the broker and the clients from ``/proc``; the agents' status events supply their
counters, from which :func:`instance_counts` derives the operations of one PBFT instance.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import statistics
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from bench.live_bound import InstanceCounts, signatures_per_instance
from bench.live_costs import process_cpu_s
from bench.live_council import BenchCouncil
from bench.live_load import RETRANSMIT_MS, LoadReport, LoadSettings, report_path

#: After the window, how long the clients keep their load on before they stop.
TAIL_S = 0.5


@dataclass
class LoadRun:
    reports: list[LoadReport]
    window_s: float
    cpu_s: dict[str, float]  # agents, broker, clients: CPU seconds inside the window
    grown: dict[int, tuple[dict[str, int], float]]  # per seat: counter growth, seconds
    end_s: float = 0.0  # the window's end, on the monotonic clock

    @property
    def completed(self) -> int:
        return sum(report.completed for report in self.reports)

    @property
    def ordered_per_s(self) -> float:
        return self.completed / self.window_s

    @property
    def latencies_ms(self) -> list[float]:
        return sorted(latency for report in self.reports for latency in report.latencies_ms)

    @property
    def first_reply_ms(self) -> list[float]:
        return sorted(latency for report in self.reports for latency in report.first_reply_ms)

    @property
    def completed_at_s(self) -> list[float]:
        return sorted(at for report in self.reports for at in report.completed_at_s)

    def longest_silence_s(self, after_s: float) -> float:
        """The longest stretch between ``after_s`` and the window's end in which no request
        completed (a council that never recovers shows the whole rest of the window)."""
        times = [after_s, *(at for at in self.completed_at_s if at > after_s), self.end_s]
        return max(later - earlier for earlier, later in itertools.pairwise(times))

    def total(self, name: str) -> int:
        values: list[int] = [getattr(report, name) for report in self.reports]
        return sum(values)


async def run_load(
    council: BenchCouncil,
    work: Path,
    *,
    principals: tuple[str, ...],
    processes: int,
    mode: str,
    warmup_s: float,
    window_s: float,
    rate_per_s: float = 0.0,
    retransmit_ms: int = RETRANSMIT_MS,
) -> LoadRun:
    """Client processes that offer load; counters and CPU are read at the window's edges."""
    start_s = time.monotonic() + warmup_s
    end_s = start_s + window_s
    children = []
    for index in range(processes):
        settings = LoadSettings(
            council_dir=str(council.directory.path),
            broker=council.broker.url().render(),
            credentials=str(council.credentials_file),
            principals=principals[index::processes],
            mode=mode,
            window_start_s=start_s,
            window_end_s=end_s,
            stop_s=end_s + TAIL_S,
            rate_per_s=rate_per_s / processes,
            retransmit_ms=retransmit_ms,
        )
        path = work / f"load-{mode}-{index}.json"
        path.write_text(json.dumps(asdict(settings)))
        command = (sys.executable, "-m", "bench.live_load", str(path))
        children.append((path, await asyncio.create_subprocess_exec(*command)))
    groups = {
        "agents": council.agent_pids(),
        "broker": [council.broker.pid or 0],
        "clients": [child.pid for _, child in children],
    }
    await asyncio.sleep(max(0.0, start_s - time.monotonic()))
    before = {name: sum(map(process_cpu_s, pids)) for name, pids in groups.items()}
    await asyncio.sleep(max(0.0, end_s - time.monotonic()))
    cpu_s = {
        name: round(sum(map(process_cpu_s, pids)) - before[name], 2)
        for name, pids in groups.items()
    }
    reports = []
    for path, child in children:
        code = await child.wait()
        report = report_path(path)
        if code != 0 or not report.is_file():
            raise RuntimeError(f"load client {path.name} exited with code {code} and no report")
        reports.append(LoadReport(**json.loads(report.read_text())))
    # A status published just after the window still describes it; one a period later does not.
    grown = council.statuses.between(start_s, end_s + 1)
    return LoadRun(reports, window_s, cpu_s, grown, end_s)


def instance_counts(run: LoadRun, n: int, checkpoint_interval: int) -> tuple[InstanceCounts, float]:
    """Operations per instance over agents and clients, and the instances ordered per second.

    Each seat's counters grow over its own status interval inside the window; dividing by its
    own executed instances makes the seats comparable, and their mean times ``n`` is the
    council's. Clients count inside the window itself.
    """
    per_seat = [(grown, seconds) for grown, seconds in run.grown.values() if grown["executed"]]
    if not per_seat:
        raise RuntimeError("no agent reported progress during the window; see agent.log files")
    instances_per_s = statistics.median(g["executed"] / s for g, s in per_seat)
    instances = instances_per_s * run.window_s

    def per_instance(agents_counter: str, clients_counter: str) -> float:
        agents = statistics.mean(g.get(agents_counter, 0) / g["executed"] for g, _ in per_seat)
        return round(agents * n + run.total(clients_counter) / instances, 1)

    batch_size = run.completed / instances
    counts = InstanceCounts(
        batch_size=round(batch_size, 1),
        publishes=per_instance("publishes_sent", "publishes"),
        deliveries=per_instance("publishes_received", "deliveries"),
        verifications=per_instance("signatures_verified", "verifications"),
        signatures=round(signatures_per_instance(n, batch_size, checkpoint_interval), 1),
    )
    return counts, instances_per_s


def percentile(sorted_values: list[float], share: float) -> float:
    """The value below which ``share`` of ``sorted_values`` lie (nearest rank)."""
    if not sorted_values:
        return float("nan")
    return sorted_values[min(len(sorted_values) - 1, int(share * len(sorted_values)))]

"""The live council's figures: 33 agent processes over Mosquitto, measured in one run.

1. MQTT costs through the council's broker, before the agents start (:mod:`bench.live_costs`).
2. Saturation: client processes keep one request outstanding per session (closed loop); the
   ordered rate is measured over a window after a warm-up, with the agents' counters and
   every process's CPU time (:mod:`bench.live_run`).
3. Latency: requests offered at a fixed rate (open loop); submit → ``f + 1`` matching replies.
4. The bound (:mod:`bench.live_bound`) from the costs of 1 and the counts of 2.

``python -m bench.live [--quick]`` runs this alone and prints the figures. ``--profile-seats
1,2`` writes those agents' CPU profiles to ``bench/profiles/`` (they then run slower, so the
figures are not the benchmark's). ``--compare-replies`` and ``--compare-relay`` measure
saturation and latency twice in one run: first with the agents as they were before a change
(batch replies sent to each client on its own topic, as before ``results/``; votes broadcast to
every seat, as before the primary relayed them), then as the runtime is. ``--compare-runtime``
does the same for :mod:`council.live.runtime` (asyncio's loop and the default collector, then
uvloop and the tuned collector).
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from bench.live_bound import UnitCosts, bound
from bench.live_costs import measure_delivery_costs
from bench.live_council import BenchCouncil, bench_council, load_principals, start_agents
from bench.live_run import LoadRun, instance_counts, percentile, run_load
from council.live.profiling import DIRECTORY_VARIABLE, SEATS_VARIABLE

SEATS = 33
PROFILES = Path(__file__).with_name("profiles")
#: Load sessions retransmit later than interactive clients (2 s). Requests here take about a
#: second (sessions / throughput at saturation); with a timer near that, retransmissions
#: (each a broadcast: 33 deliveries, 32 verifications, and the replies sent again) feed on
#: themselves and the run measures the storm instead of the council (docs/performance.md).
LOAD_RETRANSMIT_MS = 6_000
#: An agent receives about this many publishes a second under load; the delivery cost is also
#: measured at this pace, where every message wakes its process up.
AGENT_DELIVERIES_PER_S = 200


@dataclass(frozen=True)
class LivePlan:
    sessions: int  # closed-loop client sessions, one principal each
    load_processes: int
    warmup_s: float
    window_s: float
    offered_per_s: float
    paced_sessions: int
    paced_warmup_s: float
    paced_window_s: float
    cost_messages: int
    paced_cost_messages: int  # 0: skip the delivery cost at an agent's pace
    failover_window_s: float  # saturated, with the primary killed a third of the way in

    @classmethod
    def for_mode(cls, quick: bool) -> LivePlan:
        if quick:
            return cls(320, 2, 10, 10, 100, 320, 4, 8, 5_000, 0, 24)
        return cls(320, 2, 15, 30, 100, 320, 5, 20, 20_000, 1_500, 45)


async def measure(plan: LivePlan, verify_us: float, sign_us: float, work: Path) -> dict[str, Any]:
    principals = load_principals(plan.sessions)
    async with bench_council(work / "council", seats=SEATS, clients=plan.sessions) as council:
        broker, credentials = council.broker, council.credentials_file
        qos0 = await measure_delivery_costs(broker, credentials, qos=0, count=plan.cost_messages)
        qos1 = await measure_delivery_costs(broker, credentials, qos=1, count=plan.cost_messages)
        paced_cost = None
        if plan.paced_cost_messages:
            paced_cost = await measure_delivery_costs(
                broker,
                credentials,
                qos=0,
                count=plan.paced_cost_messages,
                rate_per_s=AGENT_DELIVERIES_PER_S,
            )
        start_s = await start_agents(council)
        saturated = await saturate(council, work, principals, plan)
        load_average = os.getloadavg()
        paced = await offer_paced(council, work, principals, plan)
        interval = council.directory.replica_config().checkpoint_interval
        failover = await measure_failover(council, work, principals, plan)
    costs = UnitCosts(qos0.publish_us, qos0.deliver_us, qos0.broker_us, verify_us, sign_us)
    paced_costs = None
    if paced_cost is not None:
        # Only delivery changes with the pace: an agent publishes while it is awake anyway,
        # and the broker, serving all 33, stays busy (its CPU per delivery in the saturated
        # window matches the full-speed figure).
        paced_costs = replace(costs, deliver_us=paced_cost.deliver_us)
    results = figures(plan, costs, saturated, paced, interval, paced_costs)
    details = results["live_details"]
    results["live_failover_silence_s"] = failover["longest_silence_s"]
    details["failover"] = failover
    details["load_average_at_saturation"] = [round(x, 2) for x in load_average]
    details["agents_start_s"] = round(start_s, 1)
    details["qos0_us"], details["qos1_us"] = qos0.as_json(), qos1.as_json()
    if paced_cost is not None:
        details[f"qos0_at_{AGENT_DELIVERIES_PER_S}_per_s_us"] = paced_cost.as_json()
    return results


async def saturate(
    council: BenchCouncil,
    work: Path,
    principals: tuple[str, ...],
    plan: LivePlan,
    warmup_s: float | None = None,
    window_s: float | None = None,
) -> LoadRun:
    """Closed loop: every session keeps one request outstanding."""
    return await run_load(
        council,
        work,
        principals=principals,
        processes=plan.load_processes,
        mode="closed",
        warmup_s=plan.warmup_s if warmup_s is None else warmup_s,
        window_s=plan.window_s if window_s is None else window_s,
        retransmit_ms=LOAD_RETRANSMIT_MS,
    )


async def offer_paced(
    council: BenchCouncil, work: Path, principals: tuple[str, ...], plan: LivePlan
) -> LoadRun:
    """Open loop: ``plan.offered_per_s`` requests a second, handed to idle sessions."""
    return await run_load(
        council,
        work,
        principals=principals[: plan.paced_sessions],
        processes=plan.load_processes,
        mode="open",
        warmup_s=plan.paced_warmup_s,
        window_s=plan.paced_window_s,
        rate_per_s=plan.offered_per_s,
        retransmit_ms=LOAD_RETRANSMIT_MS,
    )


async def measure_failover(
    council: BenchCouncil, work: Path, principals: tuple[str, ...], plan: LivePlan
) -> dict[str, Any]:
    """Saturate the council, ``kill -9`` its primary a third of the way into the window, and
    report the longest stretch in which no request completed: detection, the view change and
    the new primary's first batches. Run last: the killed seat stays down."""
    views = [
        status["view"]
        for entries in council.statuses.by_seat.values()
        for _, status in entries[-1:]
    ]
    view = max((v for v in views if isinstance(v, int)), default=0)
    seat = view % SEATS + 1
    warmup_s = 5.0
    window_s = plan.failover_window_s
    load = asyncio.create_task(saturate(council, work, principals, plan, warmup_s, window_s))
    await asyncio.sleep(warmup_s + plan.failover_window_s / 3)
    killed_s = time.monotonic()
    council.supervisor.kill(seat)
    run = await load
    after = [at for at in run.completed_at_s if at > killed_s]
    latest = [entries[-1][1] for entries in council.statuses.by_seat.values() if entries]
    views_after = sorted({status["view"] for status in latest if isinstance(status["view"], int)})
    return {
        "killed_seat": seat,
        "longest_silence_s": round(run.longest_silence_s(killed_s), 2),
        "completed_per_s_before_kill": round(
            sum(1 for at in run.completed_at_s if at <= killed_s) / (plan.failover_window_s / 3), 1
        ),
        "completed_per_s_in_last_third": round(
            sum(1 for at in after if at > run.end_s - plan.failover_window_s / 3)
            / (plan.failover_window_s / 3),
            1,
        ),
        "window_s": plan.failover_window_s,
        "views_at_the_end": views_after,
    }


def saturation_figures(
    run: LoadRun,
    costs: UnitCosts,
    checkpoint_interval: int,
    paced_costs: UnitCosts | None = None,
) -> dict[str, Any]:
    """Throughput, what one instance took, and the bound those counts give."""
    counts, instances_per_s = instance_counts(run, SEATS, checkpoint_interval)
    cores = len(os.sched_getaffinity(0))
    limit = bound(costs, counts, cores)
    extra: dict[str, Any] = {}
    if paced_costs is not None:
        # The same bound with MQTT costs measured at an agent's pace, where each message wakes
        # its process: nearer what the agents pay, so a lower bound and a higher ratio.
        paced = bound(paced_costs, counts, cores)
        extra["bound_at_agent_pace"] = paced.as_json()
        extra["ratio_to_bound_at_agent_pace"] = round(run.ordered_per_s / paced.ordered_per_s, 3)
    cpu_total_s = sum(run.cpu_s.values())
    instances = instances_per_s * run.window_s
    cpu_ms_per_instance = 1000 * cpu_total_s / instances
    return {
        "ordered_per_s": round(run.ordered_per_s, 1),
        "bound_ordered_per_s": limit.ordered_per_s,
        "ratio_to_bound": round(run.ordered_per_s / limit.ordered_per_s, 3),
        "cores": cores,
        "instances_per_s": round(instances_per_s, 2),
        "per_instance": asdict(counts),
        "bound": limit.as_json(),
        "cpu_s_in_window": run.cpu_s,
        # How busy the council kept the machine, and how much of the CPU it used went to what
        # the bound counts (the rest: Python around each message, waking up for it, JSON).
        "cpu_share_of_cores": round(cpu_total_s / (run.window_s * cores), 3),
        "cpu_ms_per_instance": round(cpu_ms_per_instance, 1),
        "bound_share_of_cpu": round(limit.instance_cost_us / 1000 / cpu_ms_per_instance, 3),
        "cpu_ms_per_ordered": round(1000 * cpu_total_s / max(1, run.completed), 2),
        "latency_ms_p50": finite(percentile(run.latencies_ms, 0.5)),
        "retransmissions": run.total("retransmissions"),
        **extra,
    }


def finite(value: float) -> float | None:
    """``value`` rounded, or ``None`` when nothing was measured (JSON has no NaN)."""
    return None if math.isnan(value) else round(value, 1)


def figures(
    plan: LivePlan,
    costs: UnitCosts,
    saturated: LoadRun,
    paced: LoadRun,
    checkpoint_interval: int,
    paced_costs: UnitCosts | None = None,
) -> dict[str, Any]:
    saturation = saturation_figures(saturated, costs, checkpoint_interval, paced_costs)
    latencies = paced.latencies_ms
    return {
        "live_ordered_per_s": saturation.pop("ordered_per_s"),
        "live_bound_ordered_per_s": saturation.pop("bound_ordered_per_s"),
        "live_ratio_to_bound": saturation.pop("ratio_to_bound"),
        "live_commit_latency_ms_p50": finite(percentile(latencies, 0.50)),
        "live_commit_latency_ms_p99": finite(percentile(latencies, 0.99)),
        "live_details": {
            "load_average_1_5_15": [round(x, 2) for x in os.getloadavg()],
            "sessions": plan.sessions,
            "window_s": plan.window_s,
            "unit_costs_us": asdict(costs),
            "saturation": saturation,
            "paced": {
                "offered_per_s": plan.offered_per_s,
                "first_reply_ms_p50": finite(percentile(paced.first_reply_ms, 0.5)),
                "retransmissions": paced.total("retransmissions"),
                "sessions": plan.paced_sessions,
                "completed_per_s": round(paced.ordered_per_s, 1),
                "requests": len(latencies),
                "behind": paced.total("behind"),
                "unfinished": paced.total("unfinished"),
            },
        },
    }


#: ``--compare-replies``, ``--compare-relay`` and ``--compare-runtime``: the runtime before a
#: change (an agent module that undoes it), then as it is, each on a council of its own, in one
#: run.
COMPARISONS = {
    "--compare-replies": (
        ("per_client_replies", "bench.per_client_replies"),
        ("results", "council"),
    ),
    "--compare-relay": (
        ("all_to_all_votes", "bench.all_to_all_votes"),
        ("relayed_votes", "council"),
    ),
    "--compare-runtime": (
        ("stock_runtime", "bench.stock_runtime"),
        ("tuned_runtime", "council"),
    ),
}


async def compare(
    plan: LivePlan,
    verify_us: float,
    sign_us: float,
    work: Path,
    variants: tuple[tuple[str, str], ...],
) -> dict[str, dict[str, Any]]:
    """Saturation, then latency at ``plan.offered_per_s``, for each variant's agents."""
    compared = {}
    costs: UnitCosts | None = None
    for name, module in variants:
        root = work / name
        root.mkdir()
        async with bench_council(
            root / "council", seats=SEATS, clients=plan.sessions, agent_module=module
        ) as council:
            if costs is None:
                args = (council.broker, council.credentials_file)
                qos0 = await measure_delivery_costs(*args, qos=0, count=plan.cost_messages)
                mqtt = (qos0.publish_us, qos0.deliver_us, qos0.broker_us)
                costs = UnitCosts(*mqtt, verify_us, sign_us)
            await start_agents(council)
            principals = load_principals(plan.sessions)
            run = await saturate(council, root, principals, plan)
            paced = await offer_paced(council, root, principals, plan)
            interval = council.directory.replica_config().checkpoint_interval
        figures = saturation_figures(run, costs, interval)
        figures["commit_latency_ms_p50"] = finite(percentile(paced.latencies_ms, 0.50))
        figures["commit_latency_ms_p99"] = finite(percentile(paced.latencies_ms, 0.99))
        figures["paced_completed_per_s"] = round(paced.ordered_per_s, 1)
        figures["load_average_1_5_15"] = [round(x, 2) for x in os.getloadavg()]
        compared[name] = figures
    return compared


def measure_live(
    quick: bool, verify_us: float, sign_us: float, profile_seats: str = ""
) -> dict[str, Any]:
    """The ``live_*`` figures for ``bench/results.json``; ``profile_seats`` (``"1,2"``) names
    agents to run under cProfile (the agents inherit this process's environment)."""
    if profile_seats:
        os.environ[SEATS_VARIABLE] = profile_seats
        os.environ[DIRECTORY_VARIABLE] = str(PROFILES)
    with tempfile.TemporaryDirectory(prefix="council-bench-") as work:
        return asyncio.run(measure(LivePlan.for_mode(quick), verify_us, sign_us, Path(work)))


def main() -> None:
    from bench.crypto_bench import measure_crypto

    arguments = sys.argv[1:]
    crypto_figures: dict[str, Any] = measure_crypto(repeats=3)
    verify_us = 1e6 / crypto_figures["verify_per_s"]["pynacl"]
    sign_us = 1e6 / crypto_figures["sign_per_s"]["pynacl"]
    plan = LivePlan.for_mode("--quick" in arguments)
    chosen = [option for option in COMPARISONS if option in arguments]
    if chosen:
        with tempfile.TemporaryDirectory(prefix="council-bench-") as work:
            comparison = compare(plan, verify_us, sign_us, Path(work), COMPARISONS[chosen[0]])
            results: dict[str, Any] = asyncio.run(comparison)
    else:
        seats = ""
        if "--profile-seats" in arguments:
            seats = arguments[arguments.index("--profile-seats") + 1]
        results = measure_live("--quick" in arguments, verify_us, sign_us, seats)
    print(json.dumps(results, indent=2, sort_keys=True))


if __name__ == "__main__":
    main()

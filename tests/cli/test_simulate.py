"""``council simulate``: verdicts, JSON output, exit codes and option errors."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from council.cli import app
from council.sim import NetworkConditions, SimulationSettings
from council.sim.sweep import SeedResult, mixed_scenario, replay_arguments, run_one

REQUIRED_KEYS = {
    "agents",
    "f",
    "quorum",
    "ordered",
    "view_changes",
    "safety",
    "liveness",
    "trace_digest",
}
SPLIT_BRAIN_11 = [
    "simulate",
    *("--agents", "33", "--byzantine", "11", "--attack", "split-brain"),
    *("--requests", "20", "--clients", "8", "--seed", "4"),
]


def invoke(*arguments: str) -> Result:
    return CliRunner().invoke(app, list(arguments))


def parse(result: Result) -> dict[str, Any]:
    summary: dict[str, Any] = json.loads(result.stdout)
    return summary


def test_33_agents_with_10_byzantine_order_500_requests_safely() -> None:
    result = invoke(
        *("simulate", "--agents", "33", "--byzantine", "10", "--requests", "500"),
        *("--seed", "1", "--json"),
    )
    assert result.exit_code == 0, result.output
    summary = parse(result)
    assert summary.keys() >= REQUIRED_KEYS
    assert summary["safety"] == "ok"
    assert summary["liveness"] == "ok"
    assert summary["ordered"] == 500
    assert (summary["agents"], summary["f"], summary["quorum"]) == (33, 10, 22)
    assert summary["invariants"] == {"agreement": "ok", "validity": "ok", "integrity": "ok"}
    assert summary["view_changes"] >= 1  # the first primary is Byzantine
    assert re.fullmatch(r"[0-9a-f]{64}", summary["trace_digest"])


def test_eleven_split_brain_colluders_exit_1_and_still_print_the_json_report() -> None:
    result = invoke(*SPLIT_BRAIN_11, "--json")
    assert result.exit_code == 1, result.output
    summary = parse(result)
    assert summary.keys() >= REQUIRED_KEYS
    assert summary["safety"] == "violated"
    assert summary["invariants"]["agreement"] == "violated"
    assert summary["violation"]["invariant"] == "agreement"
    assert "safety violated" in result.stderr
    assert "--seed 4" in result.stderr


def test_a_broken_council_is_reported_by_a_real_process() -> None:
    executable = Path(sys.executable).parent / "council"
    completed = subprocess.run(
        [str(executable), *SPLIT_BRAIN_11, "--json"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 1, completed.stderr
    summary = json.loads(completed.stdout)
    assert summary["safety"] == "violated"
    assert summary["seed"] == 4
    assert "replay with --seed 4" in completed.stderr
    # The signed messages about the broken sequence number are listed.
    seq = summary["violation"]["seq"]
    assert seq >= 1
    assert re.search(
        r"deliver \d+->\d+ (pre-prepare|commit) [0-9a-f]{16} digest=", completed.stderr
    )


def test_the_human_summary_names_each_invariants_verdict() -> None:
    result = invoke("simulate", "--agents", "7", "--requests", "10", "--clients", "4")
    assert result.exit_code == 0, result.output
    for invariant in ("agreement", "validity", "integrity"):
        assert re.search(rf"invariant: {invariant}\W+ok\b", result.stdout), result.stdout
    assert re.search(r"liveness\W+ok\b", result.stdout), result.stdout


def test_the_human_summary_names_the_broken_invariant() -> None:
    result = invoke(*SPLIT_BRAIN_11)
    assert result.exit_code == 1, result.output
    assert re.search(r"invariant: agreement\W+violated\b", result.stdout), result.stdout
    assert re.search(r"invariant: validity\W+ok\b", result.stdout), result.stdout


def test_a_run_that_does_not_finish_exits_2_and_names_its_seed() -> None:
    result = invoke(
        *("simulate", "--agents", "7", "--requests", "50", "--clients", "4"),
        *("--seed", "3", "--time-limit-ms", "20", "--json"),
    )
    assert result.exit_code == 2, result.output
    summary = parse(result)
    assert summary["safety"] == "ok"
    assert summary["liveness"] == "stalled"
    assert summary["ordered"] < 50
    assert "liveness not reached" in result.stderr
    assert "--seed 3" in result.stderr


def test_trace_digest_prints_only_the_digest() -> None:
    result = invoke("simulate", "--agents", "4", "--requests", "5", "--seed", "7", "--trace-digest")
    assert result.exit_code == 0, result.output
    assert re.fullmatch(r"[0-9a-f]{64}\n", result.stdout)


@pytest.mark.parametrize(
    ("arguments", "complaint"),
    [
        (("--attack", "bribery"), r"--attack.*mixed, silent, split-brain"),
        (("--byzantine", "34"), r"--byzantine.*cannot exceed --agents \(33\)"),
        (("--agents", "5", "--byzantine", "6"), r"--byzantine.*cannot exceed --agents \(5\)"),
        (("--agents", "3"), r"--agents"),
        (("--loss", "1.5"), r"--loss"),
        (("--requests", "0"), r"--requests"),
    ],
    ids=[
        "unknown-attack",
        "too-many-byzantine",
        "too-many-byzantine-small",
        "agents-3",
        "loss",
        "requests",
    ],
)
def test_bad_options_get_a_clear_error(arguments: tuple[str, ...], complaint: str) -> None:
    result = invoke("simulate", "--requests", "5", *arguments)
    assert result.exit_code == 2, result.output
    assert re.search(complaint, " ".join(result.output.split())), result.output
    assert "Traceback" not in result.output


def exit_code_of(result: SeedResult) -> int:
    """What ``council simulate`` exits with for this outcome."""
    return 1 if not result.safe else 2 if not result.live else 0


@pytest.mark.parametrize("seed", [2, 15, 16, 17])
def test_the_replay_command_of_a_sweep_run_replays_it(seed: int) -> None:
    settings = mixed_scenario(seed, agents=7, byzantine=2, requests=12)
    expected = run_one(settings)
    result = invoke(*replay_arguments(settings), "--trace-digest")
    assert result.exit_code == exit_code_of(expected), result.output
    assert result.stdout.strip() == expected.trace_digest


def test_the_replay_command_of_a_broken_run_replays_the_break() -> None:
    settings = SimulationSettings(
        agents=7, byzantine=3, attack="split-brain", requests=10, clients=4, seed=5
    )
    expected = run_one(settings)
    assert not expected.safe
    result = invoke(*replay_arguments(settings), "--trace-digest")
    assert result.exit_code == 1, result.output
    assert result.stdout.strip() == expected.trace_digest


def test_the_replay_command_carries_every_network_option() -> None:
    settings = SimulationSettings(
        agents=7,
        byzantine=1,
        requests=15,
        clients=4,
        seed=8,
        crashes=1,
        network=NetworkConditions(
            latency_ms=4.5,
            jitter_ms=2.0,
            loss=0.05,
            duplication=0.1,
            partition_every_ms=150,
            partition_length_ms=100,
            faults_until_ms=800,
        ),
    )
    result = invoke(*replay_arguments(settings), "--trace-digest")
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == run_one(settings).trace_digest

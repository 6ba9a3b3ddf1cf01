"""``council scenario run --live``: a scenario file played on real processes and a real broker."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from typer.testing import CliRunner

from council.cli import app
from council.live.scenario_run import LiveScenarioError, run_live
from council.scenario import load_scenario

COUNCIL = """
name: Live Test Council
seats:
  - {constituency: north, count: 4}
  - {constituency: south, count: 3}
categories:
  budget: {rule: majority, window_ms: 4000}
  charter: {rule: two-thirds, window_ms: 4000}
"""

SCENARIO = """
name: live-small
council: council.yaml
seed: 5
duration_ms: 40000
network:
  latency: {distribution: exponential, base_ms: 3, jitter_ms: 2}
  phases:
    - {from_ms: 6000, until_ms: 9000, loss: 0.2}
faulty:
  - seats: [1]
    behaviours: [{kind: crash, at_ms: 3000, restart_at_ms: 9000}]
  - seats: [5]
    behaviours: [{kind: equivocate}, {kind: bloc-vote, vote: "no"}]
motions:
  - {id: M-1, title: "Fund the library", category: budget, at_ms: 500, merit: 1.0}
  - {id: M-2, title: "Amend the charter", category: charter, at_ms: 4000, merit: 1.0}
  - {id: M-3, title: "Fund the park", category: budget, at_ms: 8000, merit: 1.0}
expect:
  safety: holds
  decided_within_ms: 30000
  outcomes: {M-1: adopted, M-3: adopted}
"""


def write(tmp_path: Path, scenario: str = SCENARIO) -> Path:
    (tmp_path / "council.yaml").write_text(COUNCIL)
    path = tmp_path / "scenario.yaml"
    path.write_text(scenario)
    return path


def test_a_scenario_runs_live_with_a_real_crash_and_a_lying_seat(tmp_path: Path) -> None:
    loaded = load_scenario(write(tmp_path))
    report = asyncio.run(asyncio.wait_for(run_live(loaded, work_dir=tmp_path / "w"), 150))
    failed = [e for e in report.expectations if not e.passed]
    assert report.passed, failed
    assert report.verdicts.agreement == "ok" and report.verdicts.liveness == "ok"
    seat1 = next(a for a in report.timeline.agents if a.seat == 1)
    assert seat1.down and seat1.down[0][1] > seat1.down[0][0], "killed, then restarted"
    assert report.view_changes >= 1, "the primary's crash replaced it"
    # Seat 5 votes no as instructed; the six others vote on merit 1.0: yes.
    m1 = next(m for m in report.motions if m.id == "M-1")
    assert (m1.yes, m1.no) in ((6, 1), (5, 1))  # seat 1 may be down when M-1 closes
    assert report.messages.count_by_kind["commit"] > 0
    assert (tmp_path / "w" / "council" / "agents" / "seat-05" / "agent.log").is_file()


def test_twins_and_split_brain_say_they_need_the_simulator(tmp_path: Path) -> None:
    scenario = SCENARIO.replace("{kind: equivocate}", "{kind: twins}")
    path = write(tmp_path, scenario)
    with pytest.raises(LiveScenarioError, match="twins cannot run live"):
        asyncio.run(run_live(load_scenario(path), work_dir=tmp_path / "w"))
    result = CliRunner().invoke(app, ["scenario", "run", str(path), "--live"])
    assert result.exit_code == 2 and "need the simulator" in result.output

"""An agent reports how far behind it is: its slowest step and its backlog, and a log line for
a step slow enough to matter (what it read and published says flooded or flooding)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from council.commands.init import write_council
from council.live.agent import SLOW_STEP_S, Agent, AgentSettings
from council.live.connection import BrokerUrl
from tests.integration.live_support import council_file

NO_BROKER = BrokerUrl.parse("mqtt://127.0.0.1:9")  # never dialled: the agent is not run


@pytest.fixture
def agent(tmp_path: Path) -> Agent:
    write_council(council_file(4, window_ms=3_000), tmp_path / "council")
    return Agent(AgentSettings(2, tmp_path / "council", NO_BROKER))


def status(agent: Agent) -> dict[str, object]:
    document = json.loads(agent.status_json())
    return dict(document["status"])


def test_the_status_carries_the_slowest_step_and_the_backlog(agent: Agent) -> None:
    assert status(agent)["slowest_step_ms"] == 0 and status(agent)["inbox"] == 0
    agent._note_step(0.25, read=3, published_bytes=900)
    agent._note_step(0.125, read=1, published_bytes=300)
    agent._enqueue("council/x/broadcast/r0", b"{}")
    assert status(agent)["slowest_step_ms"] == 250
    assert status(agent)["inbox"] == 1


def test_a_slow_step_is_logged_with_what_it_read_and_published(
    agent: Agent, capsys: pytest.CaptureFixture[str]
) -> None:
    agent._note_step(SLOW_STEP_S / 2, read=5, published_bytes=1_000)
    assert "a step took" not in capsys.readouterr().err
    agent._note_step(SLOW_STEP_S + 7.3, read=180, published_bytes=124_119_244)
    logged = capsys.readouterr().err
    assert f"seat 2: a step took {SLOW_STEP_S + 7.3:.1f} s" in logged
    assert "read 180 publishes, published 124.1 MB, 0 waiting" in logged

"""An agent casts its seat's ballot once: after a restart it does not vote again on a motion
the council already counts its ballot on, since a second ballot would replace the first."""

from __future__ import annotations

from pathlib import Path

import pytest

from consensus import Envelope, Request, StateTransferred, decode
from council.commands.init import write_council
from council.governance import ballot_operation, motion_operation
from council.live.agent import Agent, AgentSettings
from council.live.connection import BrokerUrl
from tests.integration.live_support import council_file

NO_BROKER = BrokerUrl.parse("mqtt://127.0.0.1:9")  # never dialled: the agent is not run
SEAT = 2


@pytest.fixture
def agent(tmp_path: Path) -> Agent:
    write_council(council_file(4, window_ms=3_000), tmp_path / "council")
    return Agent(AgentSettings(SEAT, tmp_path / "council", NO_BROKER))


def test_after_a_state_transfer_a_seat_votes_only_on_the_motions_it_has_not_voted_on(
    agent: Agent, monkeypatch: pytest.MonkeyPatch
) -> None:
    core = agent.core
    secretariat = sorted(core.rules.secretariat)[0]
    ordered = [
        (secretariat, motion_operation("M-1", "Voted", "Voted on.", "budget", 0)),
        (secretariat, motion_operation("M-2", "New", "Not voted on.", "budget", 0)),
        (core.principal, ballot_operation("M-1", "yes")),
    ]
    # The state the transfer brought: this seat's ballot on M-1 was ordered before it restarted.
    for seq, (client, operation) in enumerate(ordered, start=1):
        core.application.execute(Request(client=client, timestamp=seq, operation=operation), seq)
    monkeypatch.setattr(core.node, "take_effects", lambda: [StateTransferred(seq=3)])
    outbox = core.drain(now_ms=0)
    # Ballots go out one at a time, the motions in opening order: M-1's would come first.
    sent = outbox.bundles[core.topics.request(core.principal)]
    assert [operation_of(envelope) for envelope in sent] == [
        ballot_operation("M-2", core.policy("M-2", "budget") or "")
    ]


def operation_of(envelope: Envelope) -> str:
    request = decode(envelope)
    assert isinstance(request, Request)
    return request.operation

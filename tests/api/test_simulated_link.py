"""The simulated link the API runs over in tests and demos: a scenario's council, live."""

from __future__ import annotations

import asyncio
from pathlib import Path

from council.gateway import Observation, SimulatedLink
from council.governance.events import Opened, parse_event
from council.governance.operations import motion_operation
from council.governance.records import DecisionRecord
from council.scenario.loader import load_scenario

SCENARIOS = Path(__file__).parents[2] / "scenarios"


class Recorder:
    def __init__(self) -> None:
        self.decisions: list[DecisionRecord] = []
        self.observations: list[Observation] = []

    def decision(self, record: DecisionRecord) -> None:
        self.decisions.append(record)

    def observe(self, observation: Observation) -> None:
        self.observations.append(observation)


def test_a_scenarios_faulty_seats_and_crashes_show_in_the_links_status() -> None:
    loaded = load_scenario(SCENARIOS / "primary-crash-restart.yaml")
    crashed = {
        seat
        for seat, behaviours in loaded.faulty_seats.items()
        if any(b.kind == "crash" for b in behaviours)
    }
    assert crashed, "the scenario crashes a seat"

    async def scenario() -> tuple[Recorder, set[int]]:
        link = SimulatedLink(loaded, speed=50.0)
        sink = Recorder()
        await link.start(sink)
        offline: set[int] = set()
        for _ in range(200):
            await asyncio.sleep(0.02)
            offline |= {s.seat for s in link.status().seats if s.state == "offline"}
        status = link.status()
        await link.stop()
        assert {s.seat for s in status.seats if s.faulty} == set(loaded.faulty_seats)
        return sink, offline

    sink, offline = asyncio.run(scenario())
    assert crashed <= offline
    seat_events = [o.data for o in sink.observations if o.kind == "seat"]
    assert {"seat": min(crashed), "state": "offline"} in seat_events
    assert any(o.kind == "traffic" for o in sink.observations)


def test_a_motion_request_is_answered_by_f_plus_one_and_decided_with_a_record() -> None:
    loaded = load_scenario(SCENARIOS / "baseline.yaml")

    async def scenario() -> tuple[str, Recorder]:
        link = SimulatedLink(loaded, speed=20.0)
        sink = Recorder()
        await link.start(sink)
        result = await link.request(
            motion_operation("M-7", "Plant trees", "", "environment", link.now_ms()), 10
        )
        for _ in range(500):
            if sink.decisions:
                break
            await asyncio.sleep(0.02)
        await link.stop()
        return result, sink

    result, sink = asyncio.run(scenario())
    assert parse_event(result) == Opened(motion="M-7")
    assert [record.motion_id for record in sink.decisions] == ["M-7"]


def test_the_gateway_shows_a_verified_decision_of_a_motion_another_client_submitted() -> None:
    from council.gateway import Gateway, GatewayStore

    loaded = load_scenario(SCENARIOS / "baseline.yaml")

    async def scenario() -> None:
        link = SimulatedLink(loaded, speed=20.0)
        gateway = Gateway(link, GatewayStore(":memory:"))
        await gateway.start()
        # As `council motion submit` would: straight to the council, not through the gateway.
        await link.request(motion_operation("CLI-1", "From the shell", "", "budget", 0), 10)
        for _ in range(500):
            row = gateway.store.motion("CLI-1")
            if row is not None and row.status == "decided":
                break
            await asyncio.sleep(0.02)
        await gateway.stop()
        assert row is not None and row.status == "decided"
        assert (row.title, row.category, row.submitted_by) == (
            "From the shell",
            "budget",
            link.principal,
        )
        assert row.record is not None and row.outcome is not None

    asyncio.run(scenario())

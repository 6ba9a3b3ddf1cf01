"""A live council: real broker, one OS process per seat, decisions over MQTT.

These are the service's acceptance tests: 33 agent processes with 10 faulty decide motions;
``kill -9`` of three agents including the primary loses no decided motion and the council goes
on; the same council runs over the embedded broker.
"""

from __future__ import annotations

import asyncio
import json
import signal
import sys
from pathlib import Path

from council.governance.operations import query_operation
from council.live.secretariat import Secretariat
from council.live.storage import AgentStore
from tests.integration.live_support import LiveCouncil, live_council, run

#: Ten faulty seats of 33, none of them the first primary, each lying in its own way.
FAULTY = {
    3: ("silent",),
    6: ("corrupt",),
    9: ("forge",),
    12: ("replay",),
    15: ("equivocate",),
    18: ("bogus-view-change",),
    21: ("out-of-watermarks",),
    24: ("slow:delay_ms=300",),
    27: ("silent",),
    30: ("forge", "replay"),
}


async def status(council: LiveCouncil, motion_id: str) -> dict[str, object]:
    result: dict[str, object] = json.loads(
        await council.clerk.request(query_operation(motion_id), timeout_s=60)
    )
    return result


def test_thirty_three_processes_with_ten_faulty_decide_motions(tmp_path: Path) -> None:
    async def scenario() -> list[str]:
        async with live_council(tmp_path / "council", seats=33, faulty=FAULTY) as council:
            outcomes = [await council.decide(f"M-{i}") for i in range(3)]
            assert len(council.supervisor.alive()) == 33
            return outcomes

    outcomes = run(scenario(), timeout_s=240)
    assert all(outcome in ("adopted", "rejected", "lapsed") for outcome in outcomes)


def test_kill_9_of_three_agents_including_the_primary_loses_no_decision(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with live_council(tmp_path / "council", seats=33, restart=True) as council:
            before = {f"A-{i}": await council.decide(f"A-{i}") for i in range(2)}
            supervisor = council.supervisor
            supervisor.restart = False
            for seat in (1, 2, 3):  # seat 1 is the primary of view 0
                supervisor.kill(seat, signal.SIGKILL)
            await asyncio.sleep(0.5)
            assert 1 not in supervisor.alive()
            # The council goes on without them (30 of 33 ≥ Q = 22): a view change, then more.
            after = {f"B-{i}": await council.decide(f"B-{i}") for i in range(2)}
            supervisor.restart = True
            supervisor.check()  # the three come back from their SQLite logs
            for motion_id, outcome in {**before, **after}.items():
                answer = await status(council, motion_id)
                assert answer["status"] == "closed" and answer["outcome"] == outcome, answer
            assert await council.decide("C-0") in ("adopted", "rejected", "lapsed")
            await asyncio.sleep(1)
        # Decision records are durable: a seat that ran throughout holds every one, and the
        # restarted primary reopens its log (it may have caught up past some by state transfer).
        with AgentStore.open(council.directory.agent_dir(4) / "agent.sqlite3") as store:
            assert {"A-0", "A-1", "B-0", "B-1", "C-0"} <= {m for m, _ in store.decisions()}
        with AgentStore.open(council.directory.agent_dir(1) / "agent.sqlite3") as store:
            assert "A-0" in {m for m, _ in store.decisions()}

    run(scenario(), timeout_s=300)


def test_a_small_council_decides_over_the_embedded_broker(tmp_path: Path) -> None:
    async def scenario() -> str:
        async with live_council(tmp_path / "council", seats=4, prefer="amqtt") as council:
            assert council.broker.kind == "amqtt"
            return await council.decide("M-1")

    assert run(scenario(), timeout_s=120) in ("adopted", "rejected", "lapsed")


async def council_command(*arguments: str) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "council",
        *arguments,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await process.communicate()
    assert process.returncode is not None
    return process.returncode, output.decode()


def test_motion_submit_and_show_from_the_command_line(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with live_council(tmp_path / "council", seats=4) as council:
            where = ("--council", str(council.directory.path))
            record = tmp_path / "decision.json"
            code, output = await council_command(
                *("motion", "submit", "--title", "Fund the library", "--category", "budget"),
                *("--id", "LIB-1", "--record", str(record), *where),
            )
            assert code == 0, output
            assert "opened LIB-1: 2 seats agree" in output
            assert "decided LIB-1:" in output and "certified by 3 signed commits" in output
            code, output = await council_command(
                "verify", str(record), "--roster", str(council.directory.path / "roster.json")
            )
            assert code == 0 and output.startswith("valid: motion LIB-1"), output
            code, output = await council_command("motion", "show", "LIB-1", *where)
            assert code == 0, output
            assert "LIB-1: Fund the library [budget, majority] closed" in output
            code, output = await council_command("motion", "show", "NOPE", *where)
            assert code == 1 and "unknown motion NOPE" in output
            code, output = await council_command(
                "motion", "submit", "--title", "x", "--category", "weather", *where
            )
            assert code == 2 and "unknown category 'weather'" in output

    run(scenario(), timeout_s=180)


def test_commands_without_a_council_say_what_to_do(tmp_path: Path) -> None:
    async def scenario() -> None:
        code, output = await council_command("motion", "show", "M-1", "--council", str(tmp_path))
        assert code == 2 and "council init" in output
        code, output = await council_command("agent", "--seat", "1", "--council", str(tmp_path))
        assert code == 2 and "council init" in output

    run(scenario(), timeout_s=60)


def test_decisions_survive_a_restart_of_every_process(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with live_council(tmp_path / "council", seats=4) as council:
            outcome = await council.decide("M-1")
            await council.supervisor.stop()  # every agent goes down
            assert council.supervisor.alive() == []
            council.supervisor.start_all()  # and comes back from its SQLite log
            del council.clerk.decisions["M-1"]  # forget the record announced before
            answer = await status(council, "M-1")
            assert answer["status"] == "closed" and answer["outcome"] == outcome, answer
            # A seat re-announces the decided motion's record when asked, and it verifies.
            deadline = asyncio.get_running_loop().time() + 10
            while "M-1" not in council.clerk.decisions:
                assert asyncio.get_running_loop().time() < deadline, "no record announced"
                await asyncio.sleep(0.05)
            assert council.clerk.decisions["M-1"].outcome == outcome
            assert await council.decide("M-2") in ("adopted", "rejected", "lapsed")

    run(scenario(), timeout_s=180)


def test_agents_ride_out_a_broker_restart_and_the_council_goes_on(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with live_council(tmp_path / "council", seats=4) as council:
            first = await council.decide("M-1")
            pids = {seat: agent.process.pid for seat, agent in council.supervisor.agents.items()}
            port = council.broker.port
            await council.broker.restart()  # every connection drops; the port stays
            assert council.broker.port == port
            # The secretariat is an ordinary client: it connects again on its own.
            password = council.broker.credentials.password("secretariat")
            url = council.broker.url().with_credentials("secretariat", password)
            async with Secretariat(council.directory, url) as clerk:
                council.clerk = clerk
                assert await council.decide("M-2") in ("adopted", "rejected", "lapsed")
                answer = await status(council, "M-1")
                assert answer["status"] == "closed" and answer["outcome"] == first, answer
            # The same processes served before and after: none exited, none was restarted.
            assert council.supervisor.alive() == sorted(pids)
            now = {seat: agent.process.pid for seat, agent in council.supervisor.agents.items()}
            assert now == pids
            for seat in pids:
                log = (council.directory.agent_dir(seat) / "agent.log").read_text()
                assert "broker connection lost" in log, f"seat {seat} never lost its broker"

    run(scenario(), timeout_s=180)


def test_an_agent_refused_by_the_broker_says_so_and_exits(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with live_council(tmp_path / "council", seats=4, started=(2,)) as council:
            url = (
                council.broker.url()
                .with_credentials("r0", "not-the-password")
                .render(reveal_password=True)
            )
            arguments = ("agent", "--seat", "1", "--council", str(tmp_path / "council"))
            code, output = await asyncio.wait_for(
                council_command(*arguments, "--broker", url), timeout=30
            )
            assert code == 2, output
            assert "refused this agent" in output and "credentials" in output, output
            assert "not-the-password" not in output  # the URL is shown without its password

    run(scenario(), timeout_s=60)

"""``council up`` as an operator runs it: a subprocess that starts a broker and the agents,
submits demo motions, restarts a killed agent, and stops everything cleanly on Ctrl-C."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path

import aiomqtt

from council.commands.init import write_council
from council.council_file import CouncilFile
from council.governance.records import DecisionRecord
from council.governance.verify import verify_decision
from council.live.broker import start_broker
from council.live.connection import MQTT_PORT, BrokerUrl
from council.live.council_dir import CouncilDir
from council.live.credentials import Credentials
from council.live.secretariat import Secretariat
from council.live.storage import AgentStore
from council.live.supervisor import STOP_GRACE_S
from council.live.topics import CouncilTopics
from tests.integration.live_support import run

SEATS = 4
QUORUM = 3  # ⌈(4 + 1 + 1) / 2⌉
NAME = "Up Council"
BROKER_LINE = re.compile(
    r"(mosquitto|amqtt) broker on mqtt://127\.0\.0\.1:(\d+) \(credentials: (.+)\)"
)
#: Starting a broker and four Python processes on a loaded two-core machine.
START_TIMEOUT_S = 60.0


def write_demo_council(path: Path) -> CouncilDir:
    """Four seats and the two categories the first two demo motions use, with short windows."""
    council = CouncilFile.model_validate(
        {
            "name": NAME,
            "seats": [{"constituency": "north", "count": 2}, {"constituency": "south", "count": 2}],
            "categories": {
                "budget": {"rule": "majority", "window_ms": 2_000},
                "anti-corruption": {"rule": "two-thirds", "window_ms": 2_000},
            },
        }
    )
    write_council(council, path)
    return CouncilDir.load(path)


def agent_pids(council: Path) -> dict[int, list[int]]:
    """The live ``council agent`` processes of ``council``, by seat (read from /proc)."""
    found: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            arguments = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue  # gone meanwhile
        words = [word.decode(errors="replace") for word in arguments]
        if "council" not in words or "agent" not in words or "--seat" not in words:
            continue
        if "--council" not in words or words[words.index("--council") + 1] != str(council):
            continue
        found.setdefault(int(words[words.index("--seat") + 1]), []).append(int(entry.name))
    return found


def alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie nobody reaped yet counts as gone)."""
    try:
        status = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return status.rpartition(")")[2].split()[0] != "Z"


async def refuses_connections(port: int) -> bool:
    try:
        _, writer = await asyncio.open_connection("127.0.0.1", port)
    except OSError:
        return True
    writer.close()
    return False


class CouncilUp:
    """``python -m council up ...`` running, its output collected line by line."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.lines: list[str] = []
        self._reader = asyncio.create_task(self._read())

    @classmethod
    async def start(cls, cwd: Path, *arguments: str) -> CouncilUp:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "council",
            "up",
            *arguments,
            cwd=cwd,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        return cls(process)

    async def _read(self) -> None:
        assert self.process.stdout is not None
        async for line in self.process.stdout:
            self.lines.append(line.decode(errors="replace").rstrip("\n"))

    @property
    def output(self) -> str:
        return "\n".join(self.lines)

    async def line(self, pattern: str, timeout_s: float, after: int = 0) -> re.Match[str]:
        """The first line from index ``after`` on that matches ``pattern``; wait for it."""
        deadline = time.monotonic() + timeout_s
        expression = re.compile(pattern)
        while True:
            for line in self.lines[after:]:
                if match := expression.search(line):
                    return match
            if self.process.returncode is not None and self._reader.done():
                raise AssertionError(f"exited without {pattern!r}:\n{self.output}")
            if time.monotonic() > deadline:
                raise AssertionError(f"no {pattern!r} within {timeout_s:.0f} s:\n{self.output}")
            await asyncio.sleep(0.05)

    async def wait(self, timeout_s: float) -> int:
        code = await asyncio.wait_for(self.process.wait(), timeout_s)
        await asyncio.wait_for(self._reader, 10)
        return code

    def kill_everything(self, council: Path) -> None:
        """After a failure: end the supervisor and the agents it started, by pid."""
        if self.process.returncode is None:
            self.process.kill()
        for pids in agent_pids(council).values():
            for pid in pids:
                os.kill(pid, signal.SIGKILL)


def assert_nothing_left(council: Path, pids: list[int]) -> None:
    assert agent_pids(council) == {}, f"agents left running: {agent_pids(council)}"
    assert not [pid for pid in pids if alive(pid)], "an agent process outlived the supervisor"


def test_up_runs_the_demo_and_stops_cleanly(tmp_path: Path) -> None:
    path = (tmp_path / "council").resolve()
    directory = write_demo_council(path)

    seen: set[int] = set()  # every agent process noticed while the council ran

    async def scenario() -> tuple[int, str, float]:
        started = time.monotonic()
        up = await CouncilUp.start(
            tmp_path, "--council", str(path), "--init", "--demo", "2", "--exit-after-demo"
        )
        try:
            while up.process.returncode is None and time.monotonic() - started < 150:
                seen.update(pid for pids in agent_pids(path).values() for pid in pids)
                await asyncio.sleep(0.1)
            code = await up.wait(timeout_s=10)
        finally:
            up.kill_everything(path)
        return code, up.output, time.monotonic() - started

    code, output, took_s = run(scenario(), timeout_s=180)
    assert code == 0, output
    assert "created a" not in output, "--init replaced an existing council"
    broker = BROKER_LINE.search(output)
    assert broker is not None, output
    port = int(broker.group(2))
    assert port != MQTT_PORT and broker.group(3) == str(path / "run" / "credentials.json")
    assert f"started {SEATS} agents of {NAME}; logs in {path}/agents/seat-NN/agent.log" in output
    submitted = re.findall(r"^submitted (D\d{8}-\d{6}-\d): (.+) \((.+)\)$", output, re.MULTILINE)
    assert submitted == [
        (submitted[0][0], "Adopt the annual budget", "budget"),
        (submitted[1][0], "Audit the procurement office", "anti-corruption"),
    ], output
    motions = [motion_id for motion_id, _, _ in submitted]
    decided = dict(
        re.findall(
            r"^decided (D\d{8}-\d{6}-\d): (?:ADOPTED|REJECTED|LAPSED) "
            r"\(yes \d+, no \d+, abstain \d+ of 4; [a-z-]+\) at seq \d+, "
            r"certified by (\d+) signed commits$",
            output,
            re.MULTILINE,
        )
    )
    assert sorted(decided) == sorted(motions), output
    assert all(int(commits) >= QUORUM for commits in decided.values()), output
    assert output.rstrip().endswith("council stopped"), output
    # A log per seat. The seats' durable stores hold the decision records, and each verifies
    # (a seat that was still behind when the demo ended may lack one, not all of them can).
    recorded: dict[str, int] = dict.fromkeys(motions, 0)
    for seat in range(1, SEATS + 1):
        log = directory.agent_dir(seat) / "agent.log"
        joined = re.search(rf"seat {seat} \(r{seat - 1}\) joining \S+ on (\w+)", log.read_text())
        assert joined is not None, seat
        assert joined[1] == "uvloop", f"seat {seat} runs on {joined[1]}, not the pinned uvloop"
        with AgentStore.open(directory.agent_dir(seat) / "agent.sqlite3") as store:
            records = dict(store.decisions())
        for motion_id in motions:
            if motion_id in records:
                record = DecisionRecord.model_validate_json(records[motion_id])
                assert verify_decision(record, directory.roster) == [], (seat, motion_id)
                recorded[motion_id] += 1
    assert all(recorded.values()), recorded
    assert len(seen) >= SEATS, f"saw only agent processes {seen}"
    assert_nothing_left(path, sorted(seen))
    assert run(refuses_connections(port), timeout_s=10), "the broker outlived the council"
    print(f"council up --demo 2: {took_s:.1f} s\n{output}")


async def presence(
    client: aiomqtt.Client, topics: CouncilTopics, board: dict[str, list[str]]
) -> None:
    """Record every presence payload, by principal (retained ones first)."""
    await client.subscribe(topics.presences(), 1)
    async for message in client.messages:
        principal = message.topic.value.rpartition("/")[2]
        payload = message.payload
        assert isinstance(payload, bytes)
        board.setdefault(principal, []).append(payload.decode())


async def until(what: str, condition: Callable[[], bool], timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout_s:.0f} s: {what}")
        await asyncio.sleep(0.05)


def test_up_restarts_a_killed_agent_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    path = (tmp_path / "council").resolve()
    directory = write_demo_council(path)
    topics = CouncilTopics(directory.council_id)
    seats = range(1, SEATS + 1)
    victim = 2

    async def scenario() -> dict[str, float]:
        timings: dict[str, float] = {"started": time.monotonic()}
        up = await CouncilUp.start(tmp_path, "--council", str(path))
        try:
            broker = await up.line(BROKER_LINE.pattern, START_TIMEOUT_S)
            port = int(broker.group(2))
            assert port != MQTT_PORT  # its own broker, never a system one
            await up.line(rf"^started {SEATS} agents of {NAME}", START_TIMEOUT_S)
            password = Credentials.load(Path(broker.group(3))).password("gateway")
            board: dict[str, list[str]] = {}
            observer = aiomqtt.Client(
                "127.0.0.1", port, username="gateway", password=password, identifier=None
            )
            async with observer:
                watcher = asyncio.create_task(presence(observer, topics, board))

                def online(seat: int) -> bool:
                    return board.get(f"r{seat - 1}", ["?"])[-1] == "online"

                await until("every agent online", lambda: all(map(online, seats)), 60)
                timings["all online"] = time.monotonic()
                pids = agent_pids(path)
                assert sorted(pids) == list(seats) and all(len(p) == 1 for p in pids.values()), pids
                old = pids[victim][0]

                heard = len(board[f"r{victim - 1}"])
                os.kill(old, signal.SIGKILL)
                timings["killed"] = time.monotonic()
                mark = len(up.lines)
                await up.line(rf"^seat {victim} exited with code -9; restarting$", 30, mark)
                timings["restart announced"] = time.monotonic()

                def replaced() -> bool:
                    now = agent_pids(path).get(victim, [])
                    return len(now) == 1 and now[0] != old

                await until(f"a new process for seat {victim}", replaced, 30)
                assert not alive(old)
                # The broker marked the killed agent offline (its last will), then the new one
                # came online.
                await until(
                    f"seat {victim} offline, then online again",
                    lambda: board[f"r{victim - 1}"][heard:][-2:] == ["offline", "online"],
                    60,
                )
                timings["back online"] = time.monotonic()
                pids = agent_pids(path)
                assert sorted(pids) == list(seats), pids
                everyone = [pid for seat_pids in pids.values() for pid in seat_pids] + [old]
                assert all(alive(pid) for seat in seats for pid in pids[seat])
                watcher.cancel()
            # Ctrl-C: the supervisor stops every agent (SIGTERM, SIGKILL only after the
            # grace period), then the broker, and exits 0.
            up.process.send_signal(signal.SIGINT)
            interrupted = time.monotonic()
            code = await up.wait(timeout_s=STOP_GRACE_S + 30)
            timings["stopped"] = time.monotonic()
            assert code == 0, up.output
            stopped_s = timings["stopped"] - interrupted
            assert up.lines[-1] == "council stopped", up.output
            # No agent needed SIGKILL: the grace period alone is longer than this.
            assert stopped_s < STOP_GRACE_S, f"stopping took {stopped_s:.1f} s:\n{up.output}"
            assert_nothing_left(path, everyone)
            assert await refuses_connections(port), "the broker outlived the council"
            assert up.output.count("restarting") == 1, up.output
            timings["interrupted"] = interrupted
            return timings
        finally:
            up.kill_everything(path)

    timings = run(scenario(), timeout_s=200)
    killed, stopped = timings["killed"], timings["stopped"] - timings["interrupted"]
    print(
        f"all online {timings['all online'] - timings['started']:.1f} s after start; after kill -9,"
        f" restart announced in {timings['restart announced'] - killed:.1f} s, back online in"
        f" {timings['back online'] - killed:.1f} s; stopped {stopped:.1f} s after SIGINT"
    )


def test_up_joins_an_external_broker_by_url(tmp_path: Path) -> None:
    # How a council spreads over machines: every process reaches a broker someone else runs.
    path = (tmp_path / "council").resolve()
    directory = write_demo_council(path)
    credentials = Credentials.generate(SEATS)
    credentials_file = tmp_path / "broker-credentials.json"
    credentials.save(credentials_file)

    async def scenario() -> None:
        broker = await start_broker(directory.council_id, credentials)
        try:
            up = await CouncilUp.start(
                *(tmp_path, "--council", str(path), "--broker", broker.url().render()),
                *("--credentials", str(credentials_file), "--demo", "1", "--exit-after-demo"),
            )
            try:
                code = await up.wait(START_TIMEOUT_S + 60)
            finally:
                up.kill_everything(path)
            assert code == 0, up.output
            assert BROKER_LINE.search(up.output) is None, "no broker of its own"
            assert re.search(r"^decided D[\d-]+: ", up.output, re.MULTILINE), up.output
            assert broker.running, "the external broker is left alone"
        finally:
            await broker.stop()

    run(scenario(), timeout_s=START_TIMEOUT_S + 90)


def child_brokers(parent: int) -> list[int]:
    """The broker processes ``parent`` started: Mosquitto or the embedded one (from /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            words = (entry / "cmdline").read_bytes().decode(errors="replace")
        except OSError:
            continue
        # "pid (comm) state ppid ...": comm may hold spaces, so split after its parenthesis.
        ppid = int(stat[stat.rindex(")") + 2 :].split()[1])
        if ppid == parent and ("mosquitto" in words or "broker_amqtt_server" in words):
            found.append(int(entry.name))
    return found


def test_up_restarts_its_broker_and_the_agents_reconnect(tmp_path: Path) -> None:
    path = (tmp_path / "council").resolve()
    directory = write_demo_council(path)

    async def scenario() -> None:
        up = await CouncilUp.start(tmp_path, "--council", str(path))
        try:
            broker = await up.line(BROKER_LINE.pattern, START_TIMEOUT_S)
            kind, port = broker.group(1), int(broker.group(2))
            await up.line(rf"^started {SEATS} agents of {NAME}", START_TIMEOUT_S)
            brokers = child_brokers(up.process.pid)
            assert len(brokers) == 1, brokers
            pids = agent_pids(path)
            mark = len(up.lines)
            os.kill(brokers[0], signal.SIGKILL)
            await up.line(rf"^the {kind} broker exited; restarting it on port {port}$", 30, mark)
            await up.line(rf"^the {kind} broker is back on port {port}$", 30, mark)
            # The same agents decide a motion through the restarted broker.
            password = Credentials.load(path / "run" / "credentials.json").password("secretariat")
            url = BrokerUrl("127.0.0.1", port, "secretariat", password)
            async with Secretariat(directory, url) as clerk:
                await clerk.submit_motion("M-1", "After the restart", "budget", timeout_s=60)
                window_ms = directory.council.categories["budget"].window_ms
                record = await clerk.decision("M-1", window_ms, timeout_s=90)
                assert record.outcome in ("adopted", "rejected", "lapsed")
            assert agent_pids(path) == pids, "an agent was replaced instead of reconnecting"
            assert "exited with code" not in up.output, up.output
            up.process.send_signal(signal.SIGINT)
            assert await up.wait(timeout_s=STOP_GRACE_S + 30) == 0, up.output
        finally:
            up.kill_everything(path)

    run(scenario(), timeout_s=200)

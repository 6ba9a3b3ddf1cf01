"""A council of agent processes for the live benchmark, and what it reports while it runs.

The council has ``n`` seats and, besides its secretariat, one client principal per load session
(``load-000`` …), each with a key in the roster and a broker password: the load is made of
ordinary clients of the council. The broker is a private Mosquitto on a free port.
:class:`StatusLog` listens to the agents' status events, which carry their counters of
publishes, deliveries and signature checks.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

import aiomqtt

from council.commands.init import write_council
from council.council_file import CouncilFile
from council.live.broker import BrokerProcess, start_broker
from council.live.council_dir import CouncilDir
from council.live.credentials import Credentials
from council.live.supervisor import Supervisor, credentials_path, run_dir
from council.live.topics import PRESENCE_ONLINE, CouncilTopics

READY_TIMEOUT_S = 120.0


def load_principals(count: int) -> tuple[str, ...]:
    return tuple(f"load-{index:03d}" for index in range(count))


def bench_council_file(seats: int, clients: int) -> CouncilFile:
    return CouncilFile.model_validate(
        {
            "name": "Benchmark Council",
            "seats": [{"constituency": "members", "count": seats}],
            "categories": {"budget": {"rule": "majority"}},
            "secretariat": ["secretariat", *load_principals(clients)],
        }
    )


@dataclass
class StatusLog:
    """Every status event of every seat, with the monotonic time it arrived."""

    by_seat: dict[int, list[tuple[float, dict[str, object]]]] = field(default_factory=dict)
    online: set[str] = field(default_factory=set)

    def note(self, topic: str, payload: bytes) -> None:
        if "/presence/" in topic:
            principal = topic.rsplit("/", 1)[1]
            if payload == PRESENCE_ONLINE:
                self.online.add(principal)
            else:
                self.online.discard(principal)
            return
        try:
            status = json.loads(payload)["status"]
        except (ValueError, KeyError, TypeError):
            return  # decisions and other events
        self.by_seat.setdefault(int(status["seat"]), []).append((time.monotonic(), status))

    def between(self, start_s: float, end_s: float) -> dict[int, tuple[dict[str, int], float]]:
        """Per seat: how its counters grew between its first and last status in the window,
        and the seconds between those two statuses."""
        grown: dict[int, tuple[dict[str, int], float]] = {}
        for seat, entries in self.by_seat.items():
            inside = [(at, status) for at, status in entries if start_s <= at <= end_s]
            if len(inside) < 2:
                continue
            (first_s, first), (last_s, last) = inside[0], inside[-1]
            counters = {
                name: int(value) - int(first[name])  # type: ignore[call-overload]
                for name, value in last.items()
                if name != "seat" and isinstance(value, int) and isinstance(first.get(name), int)
            }
            grown[seat] = (counters, last_s - first_s)
        return grown


@dataclass
class BenchCouncil:
    directory: CouncilDir
    broker: BrokerProcess
    supervisor: Supervisor
    credentials_file: Path
    statuses: StatusLog

    def agent_pids(self) -> list[int]:
        return [agent.process.pid for agent in self.supervisor.agents.values()]


async def _watch(council_id: str, client: aiomqtt.Client, statuses: StatusLog) -> None:
    topics = CouncilTopics(council_id)
    async with client:
        await client.subscribe([(topics.events(), 0), (topics.presences(), 1)])
        async for message in client.messages:
            payload = message.payload
            if isinstance(payload, bytes):
                statuses.note(message.topic.value, payload)


class VariantSupervisor(Supervisor):
    """Runs each agent as ``python -m <agent_module> agent …`` instead of ``-m council``."""

    agent_module = "council"

    def command(self, seat: int) -> list[str]:
        command = super().command(seat)
        assert command[1:3] == ["-m", "council"]
        return [command[0], "-m", self.agent_module, *command[3:]]


@asynccontextmanager
async def bench_council(
    root: Path, *, seats: int, clients: int, agent_module: str = "council"
) -> AsyncIterator[BenchCouncil]:
    """Write the council, start Mosquitto; agents start with :func:`start_agents`."""
    write_council(bench_council_file(seats, clients), root)
    directory = CouncilDir.load(root)
    credentials = Credentials.generate(seats, clients=load_principals(clients))
    run_dir(directory).mkdir(parents=True, exist_ok=True)
    path = credentials_path(directory)
    credentials.save(path)
    broker = await start_broker(directory.council_id, credentials, "mosquitto")
    supervisor = VariantSupervisor(directory, broker.url(), path, restart=False)
    supervisor.agent_module = agent_module
    statuses = StatusLog()
    watcher_url = broker.url().with_credentials("gateway", credentials.password("gateway"))
    watcher = asyncio.create_task(
        _watch(directory.council_id, watcher_url.client(identifier="bench-watch"), statuses)
    )
    try:
        yield BenchCouncil(directory, broker, supervisor, path, statuses)
    finally:
        watcher.cancel()
        with suppress(asyncio.CancelledError, aiomqtt.MqttError):
            await watcher
        await supervisor.stop()
        await broker.stop()


async def start_agents(council: BenchCouncil) -> float:
    """Start every agent and wait until all are online; returns the seconds it took."""
    started = time.monotonic()
    council.supervisor.start_all()
    seats = {f"r{seat}" for seat in range(council.directory.council.n)}
    while not seats <= council.statuses.online:
        if time.monotonic() - started > READY_TIMEOUT_S:
            missing = sorted(seats - council.statuses.online)
            raise RuntimeError(f"agents not online after {READY_TIMEOUT_S:.0f} s: {missing}")
        if len(council.supervisor.alive()) < len(seats):
            raise RuntimeError("an agent exited during start-up; see its agent.log")
        await asyncio.sleep(0.2)
    return time.monotonic() - started

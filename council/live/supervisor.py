"""``council up``: a broker if none is given, one OS process per seat, and their supervision.

Each agent runs as ``python -m council agent --seat K ...`` with its output appended to
``<council>/agents/seat-KK/agent.log``. The supervisor restarts an agent that dies (when asked),
and on Ctrl-C stops every agent with SIGTERM (SIGKILL after a grace period), then the broker.
What a second terminal needs to reach the running council — the broker's address and the
credentials — is written under ``<council>/run/`` (the credentials 0600).
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from council.live.broker import BrokerProcess, start_broker
from council.live.connection import BrokerUrl
from council.live.council_dir import CouncilDir
from council.live.credentials import Credentials

STOP_GRACE_S = 5.0
#: Restarts of one seat within a minute before the supervisor gives up on it.
RESTARTS_PER_MINUTE_MAX = 5


def run_dir(directory: CouncilDir) -> Path:
    return directory.path / "run"


def credentials_path(directory: CouncilDir) -> Path:
    return run_dir(directory) / "credentials.json"


def broker_path(directory: CouncilDir) -> Path:
    return run_dir(directory) / "broker.json"


def save_broker_address(directory: CouncilDir, url: BrokerUrl) -> None:
    run_dir(directory).mkdir(parents=True, exist_ok=True)
    broker_path(directory).write_text(json.dumps({"url": url.render()}) + "\n")


def load_broker_address(directory: CouncilDir) -> BrokerUrl | None:
    """The broker a running ``council up`` announced, without credentials."""
    try:
        document = json.loads(broker_path(directory).read_text())
        return BrokerUrl.parse(str(document["url"]))
    except (OSError, ValueError, KeyError):
        return None


@dataclass
class AgentProcess:
    seat: int
    process: subprocess.Popen[bytes]
    started_s: float
    restarts: list[float] = field(default_factory=list)


class Supervisor:
    """Starts, watches and stops the agent processes of one council."""

    def __init__(
        self,
        directory: CouncilDir,
        broker: BrokerUrl,
        credentials_file: Path,
        *,
        restart: bool = True,
        behaviours: Mapping[int, tuple[str, ...]] | None = None,
        seats: tuple[int, ...] | None = None,
        fault_plans: Mapping[int, Path] | None = None,
        member_ballots: bool = False,
    ) -> None:
        self.directory = directory
        self.broker = broker
        self.credentials_file = credentials_file
        self.restart = restart
        self.behaviours = dict(behaviours or {})
        self.seats = seats or tuple(range(1, directory.council.n + 1))
        self.fault_plans = dict(fault_plans or {})
        #: Seats vote as their members instruct through the gateway, not by policy.
        self.member_ballots = member_ballots
        self.agents: dict[int, AgentProcess] = {}
        self.events: list[str] = []

    def command(self, seat: int) -> list[str]:
        command = [sys.executable, "-m", "council", "agent", "--seat", str(seat)]
        command += ["--council", str(self.directory.path), "--broker", self.broker.render()]
        command += ["--credentials", str(self.credentials_file)]
        for kind in self.behaviours.get(seat, ()):
            command += ["--behaviour", kind]
        if seat in self.fault_plans:
            command += ["--fault-plan", str(self.fault_plans[seat])]
        if self.member_ballots:
            command.append("--member-ballots")
        return command

    def start(self, seat: int) -> AgentProcess:
        log_dir = self.directory.agent_dir(seat)
        log_dir.mkdir(parents=True, exist_ok=True)
        with (log_dir / "agent.log").open("ab") as log:
            # A session of its own: Ctrl-C in the terminal reaches the supervisor, which stops
            # the agents in order, rather than every process at once.
            process = subprocess.Popen(
                self.command(seat),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        previous = self.agents.get(seat)
        agent = AgentProcess(seat, process, time.monotonic())
        if previous is not None:
            agent.restarts = previous.restarts
        self.agents[seat] = agent
        return agent

    def start_all(self) -> None:
        for seat in self.seats:
            self.start(seat)

    def kill(self, seat: int, sig: int = signal.SIGKILL) -> None:
        """Send ``sig`` to an agent (tests and scenarios crash agents this way)."""
        agent = self.agents[seat]
        if agent.process.poll() is None:
            os.kill(agent.process.pid, sig)

    def check(self) -> list[str]:
        """Notice agents that died; restart them when asked. Returns what happened."""
        happened = []
        now = time.monotonic()
        for seat, agent in sorted(self.agents.items()):
            code = agent.process.poll()
            if code is None:
                continue
            if not self.restart:
                continue
            recent = [t for t in agent.restarts if now - t < 60]
            if len(recent) >= RESTARTS_PER_MINUTE_MAX:
                continue
            agent.restarts = [*recent, now]
            happened.append(f"seat {seat} exited with code {code}; restarting")
            self.start(seat)
        self.events.extend(happened)
        return happened

    def alive(self) -> list[int]:
        return [seat for seat, a in sorted(self.agents.items()) if a.process.poll() is None]

    async def stop(self) -> None:
        for agent in self.agents.values():
            if agent.process.poll() is None:
                agent.process.terminate()
        deadline = time.monotonic() + STOP_GRACE_S
        while time.monotonic() < deadline and self.alive():
            await asyncio.sleep(0.05)
        for agent in self.agents.values():
            if agent.process.poll() is None:
                agent.process.kill()
                agent.process.wait()


async def local_broker(directory: CouncilDir, prefer: str = "auto") -> tuple[BrokerProcess, Path]:
    """Start a broker for the council with fresh credentials, saved 0600 under ``run/``."""
    credentials = Credentials.generate(directory.council.n, clients=directory.council.secretariat)
    run_dir(directory).mkdir(parents=True, exist_ok=True)
    path = credentials_path(directory)
    credentials.save(path)
    broker = await start_broker(directory.council_id, credentials, prefer)
    save_broker_address(directory, broker.url())
    return broker, path

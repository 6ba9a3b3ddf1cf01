"""A real council for tests: its own broker on a free port, one OS process per seat."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Coroutine, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from council.commands.init import write_council
from council.council_file import CouncilFile
from council.live.broker_process import BrokerProcess
from council.live.council_dir import CouncilDir
from council.live.credentials import Credentials
from council.live.secretariat import Secretariat
from council.live.supervisor import Supervisor, local_broker

T = TypeVar("T")


def council_file(seats: int, window_ms: int) -> CouncilFile:
    half = seats // 2
    return CouncilFile.model_validate(
        {
            "name": "Integration Council",
            "seats": [
                {"constituency": "north", "count": half},
                {"constituency": "south", "count": seats - half},
            ],
            "categories": {
                "budget": {"rule": "majority", "window_ms": window_ms},
                "charter": {"rule": "two-thirds", "window_ms": window_ms},
            },
            # As `council init` writes it: the gateway is a secretariat principal of its own.
            "secretariat": ["secretariat", "gateway"],
        }
    )


@dataclass
class LiveCouncil:
    directory: CouncilDir
    broker: BrokerProcess
    supervisor: Supervisor
    clerk: Secretariat

    def window_ms(self, category: str = "budget") -> int:
        return self.directory.council.categories[category].window_ms

    async def decide(self, motion_id: str, category: str = "budget", timeout_s: float = 90) -> str:
        """Submit a motion and wait for its verified decision; returns the outcome."""
        await self.clerk.submit_motion(motion_id, f"Motion {motion_id}", category, timeout_s=60)
        record = await self.clerk.decision(motion_id, self.window_ms(category), timeout_s)
        return record.outcome


@asynccontextmanager
async def live_council(
    path: Path,
    *,
    seats: int,
    faulty: Mapping[int, tuple[str, ...]] | None = None,
    window_ms: int = 3_000,
    prefer: str = "mosquitto",
    restart: bool = False,
    started: tuple[int, ...] | None = None,
    member_ballots: bool = False,
) -> AsyncIterator[LiveCouncil]:
    """``started``: the seats to run (default: all of them); the others are left to the test.
    ``member_ballots``: seats vote only as the gateway instructs them."""
    write_council(council_file(seats, window_ms), path)
    directory = CouncilDir.load(path)
    broker, credentials_file = await local_broker(directory, prefer)
    supervisor = Supervisor(
        directory,
        broker.url(),
        credentials_file,
        restart=restart,
        behaviours=faulty,
        seats=started,
        member_ballots=member_ballots,
    )
    try:
        supervisor.start_all()
        password = Credentials.load(credentials_file).password("secretariat")
        url = broker.url().with_credentials("secretariat", password)
        async with Secretariat(directory, url) as clerk:
            yield LiveCouncil(directory, broker, supervisor, clerk)
    finally:
        await supervisor.stop()
        await broker.stop()


def run(scenario: Coroutine[Any, Any, T], timeout_s: float) -> T:
    """Run ``scenario`` on a fresh event loop; a hung council fails the test, not the suite."""
    return asyncio.run(asyncio.wait_for(scenario, timeout_s))

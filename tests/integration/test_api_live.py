"""The HTTP API over a live council: real broker, one process per seat, uvicorn on a free port.

What a secretariat does with curl, done by a test: submit a motion, follow it, fetch the
decision record and the roster, check the record offline. Members vote through the API and
their seats' agents sign the ballots. A restarted API resumes the motion it was waiting for.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx2

import crypto
from api.server import free_port, serve
from council.gateway import Gateway, GatewayStore
from council.gateway.live import LiveLink
from council.governance.records import DecisionRecord
from council.governance.verify import verify_decision
from council.live.credentials import Credentials
from council.live.supervisor import credentials_path
from tests.api.support import issue_tokens
from tests.integration.live_support import LiveCouncil, live_council, run

SEATS = 4


@asynccontextmanager
async def api_over(council: LiveCouncil, store_path: Path) -> AsyncIterator[httpx2.AsyncClient]:
    """The API served for ``council``, and a client of it with every role's token."""
    directory = council.directory
    password = Credentials.load(credentials_path(directory)).password("gateway")
    link = LiveLink(directory, council.broker.url().with_credentials("gateway", password))
    store = GatewayStore(store_path)
    gateway = Gateway(link, store)
    tokens = issue_tokens(store, seats=tuple(range(1, SEATS + 1)))
    port = free_port()
    started = asyncio.Event()
    server = asyncio.create_task(serve(gateway, "127.0.0.1", port, started=started))
    await asyncio.wait_for(started.wait(), 30)
    async with httpx2.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
        client.headers["Authorization"] = f"Bearer {tokens['secretariat']}"
        client.tokens = tokens  # type: ignore[attr-defined]
        try:
            yield client
        finally:
            server.cancel()
            await asyncio.gather(server, return_exceptions=True)


async def until(client: httpx2.AsyncClient, motion_id: str, status: str, timeout_s: float) -> Any:
    deadline = time.monotonic() + timeout_s
    body: Any = None
    while time.monotonic() < deadline:
        body = (await client.get(f"/v1/motions/{motion_id}")).json()
        if body["status"] == status:
            return body
        await asyncio.sleep(0.2)
    raise AssertionError(f"{motion_id} still {body and body['status']} after {timeout_s} s")


def test_a_motion_submitted_over_http_is_decided_with_a_record_that_verifies(
    tmp_path: Path,
) -> None:
    async def scenario() -> None:
        async with (
            live_council(tmp_path / "council", seats=SEATS) as council,
            api_over(council, tmp_path / "gateway.sqlite") as client,
        ):
            created = await client.post(
                "/v1/motions",
                json={"title": "Fund the library", "category": "budget"},
                headers={"Idempotency-Key": "library-1"},
            )
            assert created.status_code == 201, created.text
            decided = await until(client, created.json()["id"], "decided", timeout_s=60)
            record = DecisionRecord.model_validate_json(
                (await client.get(decided["record_url"])).content
            )
            roster_path = tmp_path / "roster.json"
            roster_path.write_bytes((await client.get("/v1/council/roster")).content)
            assert verify_decision(record, crypto.Roster.load(roster_path)) == []
            assert record.outcome == decided["outcome"]
            status = (await client.get("/v1/council/status")).json()
            assert status["seats_online"] == SEATS
            assert status["primary_seat"] == status["view"] % SEATS + 1

    run(scenario(), timeout_s=150)


def test_members_vote_through_the_api_and_their_agents_sign_the_ballots(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with (
            live_council(
                tmp_path / "council", seats=SEATS, member_ballots=True, window_ms=30_000
            ) as council,
            api_over(council, tmp_path / "gateway.sqlite") as client,
        ):
            created = await client.post(
                "/v1/motions", json={"title": "Open the archive", "category": "budget"}
            )
            motion_id = created.json()["id"]
            await until(client, motion_id, "open", timeout_s=60)
            tokens: dict[str, str] = client.tokens  # type: ignore[attr-defined]
            for seat, vote in ((1, "yes"), (2, "yes"), (3, "no"), (4, "yes")):
                cast = await client.put(
                    f"/v1/motions/{motion_id}/ballots/{seat}",
                    json={"vote": vote},
                    headers={"Authorization": f"Bearer {tokens[f'member-{seat}']}"},
                )
                assert cast.status_code == 202, cast.text
            decided = await until(client, motion_id, "decided", timeout_s=60)
            assert decided["tally"] == {"yes": 3, "no": 1, "abstain": 0, "absent": 0}
            assert decided["outcome"] == "adopted"
            record = DecisionRecord.model_validate_json(
                (await client.get(decided["record_url"])).content
            )
            assert sorted(ballot.sender for ballot in record.ballots) == ["r0", "r1", "r2", "r3"]

    run(scenario(), timeout_s=150)


def test_a_restarted_api_resumes_the_motions_it_was_waiting_for(tmp_path: Path) -> None:
    async def scenario() -> None:
        store_path = tmp_path / "gateway.sqlite"
        async with live_council(
            tmp_path / "council", seats=SEATS, member_ballots=True, window_ms=10_000
        ) as council:
            async with api_over(council, store_path) as client:
                created = await client.post(
                    "/v1/motions", json={"title": "Outlive the API", "category": "budget"}
                )
                motion_id = created.json()["id"]
                await until(client, motion_id, "open", timeout_s=60)
            # Nobody votes; the window passes while no API runs. A new one closes the motion.
            await asyncio.sleep(council.window_ms() / 1000)
            async with api_over(council, store_path) as client:
                decided = await until(client, motion_id, "decided", timeout_s=60)
                assert decided["outcome"] == "lapsed"
                assert (await client.get("/v1/motions")).json()["total"] == 1

    run(scenario(), timeout_s=200)

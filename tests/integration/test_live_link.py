"""The gateway's live link against a real broker and real agent processes (four seats).

The link opens motions as the gateway principal, hands decision records to its sink, tells
seats' agents how their members vote, and reports presence, views, traffic and drops.
"""

from __future__ import annotations

import asyncio
import signal
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from consensus import Envelope
from council.gateway.link import CouncilLink, Observation
from council.gateway.live import LiveLink
from council.governance.events import BallotCast, Opened, StatusReport, parse_event
from council.governance.operations import motion_operation, query_operation
from council.governance.records import DecisionRecord
from council.governance.verify import verify_decision
from council.live.member_ballots import MemberBallot, MemberBallotIssuer, sign_member_ballot
from council.live.wire import encode_bundle
from tests.integration.live_support import LiveCouncil, live_council, run

#: Whether the governance application lets a later ballot of a seat replace its earlier one.
BALLOTS_REPLACE = "changed_from" in BallotCast.model_fields


@dataclass
class Recorder:
    """A sink that keeps everything the link delivers."""

    decisions: list[DecisionRecord] = field(default_factory=list)
    observations: list[Observation] = field(default_factory=list)

    def decision(self, record: DecisionRecord) -> None:
        self.decisions.append(record)

    def observe(self, observation: Observation) -> None:
        self.observations.append(observation)

    def of(self, kind: str) -> list[dict[str, object]]:
        return [dict(o.data) for o in self.observations if o.kind == kind]

    def dropped_at(self, seat: int) -> Counter[str]:
        total: Counter[str] = Counter()
        for data in self.of("rejected"):
            reasons = data["reasons"]
            if data["seat"] == seat and isinstance(reasons, dict):
                total.update(reasons)
        return total


@dataclass
class Linked:
    council: LiveCouncil
    link: LiveLink
    sink: Recorder

    async def open(self, motion_id: str) -> None:
        operation = motion_operation(motion_id, f"Motion {motion_id}", "", "budget", now_ms())
        assert isinstance(parse_event(await self.link.request(operation, 30)), Opened)

    async def tally(self, motion_id: str) -> StatusReport:
        report = parse_event(await self.link.request(query_operation(motion_id), 30))
        assert isinstance(report, StatusReport), report
        return report

    async def decision(self, motion_id: str) -> DecisionRecord:
        await eventually(lambda: any(r.motion_id == motion_id for r in self.sink.decisions))
        return next(r for r in self.sink.decisions if r.motion_id == motion_id)

    async def publish_as_gateway(self, seat: int, envelope: Envelope) -> None:
        """Publish ``envelope`` on seat ``seat``'s direct topic over a connection of our own."""
        broker = self.council.broker
        url = broker.url().with_credentials("gateway", broker.credentials.password("gateway"))
        topic = self.link._topics.direct(f"r{seat - 1}", "gateway")
        async with url.client() as client:
            payload = encode_bundle(self.council.directory.council_id, [envelope])
            await client.publish(topic, payload, qos=1)


def now_ms() -> int:
    return time.time_ns() // 1_000_000


async def eventually(condition: Callable[[], bool], timeout_s: float = 20) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.05)


async def eventually_async(condition: Callable[[], Awaitable[bool]], timeout_s: float = 20) -> None:
    deadline = time.monotonic() + timeout_s
    while not await condition():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.2)


@asynccontextmanager
async def linked(path: Path, *, member_ballots: bool = False) -> AsyncIterator[Linked]:
    async with live_council(path, seats=4, member_ballots=member_ballots) as council:
        broker = council.broker
        url = broker.url().with_credentials("gateway", broker.credentials.password("gateway"))
        link = LiveLink(council.directory, url)
        as_protocol: CouncilLink = link  # the gateway holds it as any other link
        sink = Recorder()
        await as_protocol.start(sink)
        try:
            yield Linked(council, link, sink)
        finally:
            await link.stop()


def test_the_link_opens_a_motion_and_its_decision_reaches_the_sink(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with linked(tmp_path / "council") as linked_council:
            link = linked_council.link
            assert (link.mode, link.principal) == ("live", "gateway")
            await linked_council.open("L-1")  # the seats vote by policy and close it
            record = await linked_council.decision("L-1")
            assert verify_decision(record, link.roster) == []
            assert record.submitter == "gateway"
            assert record.yes + record.no + record.abstain == 4

    run(scenario(), timeout_s=60)


def test_status_shows_seats_online_the_primary_and_a_killed_one_offline(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with linked(tmp_path / "council") as linked_council:
            link, sink = linked_council.link, linked_council.sink
            await eventually(lambda: all(s.state == "online" for s in link.status().seats))
            assert link.status().primary_seat == 1
            assert {data["seat"] for data in sink.of("seat")} == {1, 2, 3, 4}
            # Status events (every 5 s) carry each seat's view; broadcasts become traffic.
            await eventually(lambda: all(s.view == 0 for s in link.status().seats))
            third = link.status().seats[2]
            assert (third.seat, third.principal, third.constituency) == (3, "r2", "south")
            assert third.last_executed is not None
            assert any(data["from_seat"] == 1 for data in sink.of("traffic"))
            linked_council.council.supervisor.kill(1, signal.SIGKILL)  # the primary of view 0
            await eventually(lambda: link.status().seats[0].state == "offline", timeout_s=5)
            assert {"seat": 1, "state": "offline"} in sink.of("seat")
            # The other three notice its silence, change view, and report it.
            await eventually(lambda: link.status().view >= 1, timeout_s=25)
            view = link.status().view
            assert link.status().primary_seat == view % 4 + 1
            assert {"view": view, "primary_seat": view % 4 + 1} in sink.of("view")

    run(scenario(), timeout_s=60)


def test_member_ballots_through_the_link_decide_the_motion(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with linked(tmp_path / "council", member_ballots=True) as linked_council:
            link = linked_council.link
            await linked_council.open("B-1")
            await asyncio.sleep(1)
            assert (await linked_council.tally("B-1")).absent == 4  # no seat votes by policy
            for seat, vote in ((1, "yes"), (2, "yes"), (3, "no"), (4, "yes")):
                await link.instruct_ballot(seat, "B-1", vote)
            record = await linked_council.decision("B-1")  # the last ballot closed it
            assert verify_decision(record, link.roster) == []
            assert (record.yes, record.no, record.abstain, record.outcome) == (3, 1, 0, "adopted")

    run(scenario(), timeout_s=60)


@pytest.mark.skipif(
    not BALLOTS_REPLACE,
    reason="needs the governance application to let a seat's later ballot replace its earlier",
)
def test_a_changed_instruction_replaces_the_seats_vote(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with linked(tmp_path / "council", member_ballots=True) as linked_council:
            link = linked_council.link
            await linked_council.open("C-1")
            await link.instruct_ballot(2, "C-1", "yes")

            async def counted(yes: int, no: int) -> bool:
                report = await linked_council.tally("C-1")
                return (report.yes, report.no, report.absent) == (yes, no, 3)

            await eventually_async(lambda: counted(1, 0))
            await link.instruct_ballot(2, "C-1", "no")
            await eventually_async(lambda: counted(0, 1))

    run(scenario(), timeout_s=60)


def test_forged_replayed_and_misaddressed_instructions_are_dropped_and_counted(
    tmp_path: Path,
) -> None:
    async def scenario() -> None:
        async with linked(tmp_path / "council", member_ballots=True) as linked_council:
            directory = linked_council.council.directory
            await linked_council.open("D-1")
            issuer = MemberBallotIssuer(directory.signer("gateway"))
            taken = issuer.issue(2, "D-1", "yes")
            await linked_council.publish_as_gateway(2, taken)

            async def counted() -> bool:
                return (await linked_council.tally("D-1")).yes == 1

            await eventually_async(counted)
            later = MemberBallot(issued_us=time.time_ns() // 1000, motion="D-1", seat=2, vote="no")
            forged = sign_member_ballot(directory.signer("r1"), later).model_copy(
                update={"sender": "gateway"}
            )
            taken_us = MemberBallot.model_validate_json(taken.body).issued_us
            older = MemberBallot(issued_us=taken_us - 1, motion="D-1", seat=2, vote="no")
            for envelope in (
                taken,  # repeated, as the gateway repeats: taken already, casts nothing
                sign_member_ballot(directory.signer("gateway"), older),  # a replay of an older one
                forged,  # seat 2's own key is not the gateway's
                sign_member_ballot(directory.signer("secretariat"), later),
                issuer.issue(3, "D-1", "no"),  # for seat 3, on seat 2's topic
            ):
                await linked_council.publish_as_gateway(2, envelope)
            expected = {
                "stale-instruction": 1,
                "bad-signature": 1,
                "not-the-gateway": 1,
                "wrong-seat": 1,
            }
            sink = linked_council.sink
            await eventually(lambda: sink.dropped_at(2) >= Counter(expected), timeout_s=15)
            report = await linked_council.tally("D-1")
            assert (report.yes, report.no, report.absent) == (1, 0, 3)

    run(scenario(), timeout_s=60)


def test_the_link_reconnects_after_the_broker_restarts(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with linked(tmp_path / "council") as linked_council:
            await linked_council.open("R-1")
            await linked_council.council.broker.restart()
            # The agents reconnect too; the link's next request waits for its own connection.
            await linked_council.open("R-2")
            record = await linked_council.decision("R-2")
            assert verify_decision(record, linked_council.link.roster) == []
            seats = linked_council.link.status
            await eventually(lambda: all(s.state == "online" for s in seats().seats), 10)

    run(scenario(), timeout_s=90)


def test_an_instruction_sent_while_the_seat_was_down_still_reaches_it(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with linked(tmp_path / "council", member_ballots=True) as linked_council:
            link, supervisor = linked_council.link, linked_council.council.supervisor
            await linked_council.open("R-1")
            supervisor.kill(3, signal.SIGKILL)
            await eventually(lambda: link.status().seats[2].state == "offline", timeout_s=5)
            await link.instruct_ballot(3, "R-1", "yes")  # nobody reads seat 3's topic now
            supervisor.start(3)

            async def counted() -> bool:
                return (await linked_council.tally("R-1")).yes == 1

            # The link repeats the instruction; the restarted agent takes the first it reads.
            await eventually_async(counted, timeout_s=25)

    run(scenario(), timeout_s=60)

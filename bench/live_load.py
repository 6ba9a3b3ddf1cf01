"""Load for a live council: many PBFT client sessions in one process, each its own principal.

Every session is an ordinary client (``consensus.client.ClientSession``) with its own key and
its own broker connection, because exactly-once execution allows one outstanding request per
client: throughput needs many clients. Sessions submit governance ``query`` operations, which
the council orders and executes like any request but which open no motion (so they trigger no
ballots). Two ways to offer load:

- ``closed``: every session keeps one request outstanding (PBFT's closed loop), saturating the
  council;
- ``open``: requests are scheduled at a fixed rate and handed to idle sessions; a request's
  latency runs from its scheduled time, so a council that falls behind is charged for it.

As a PBFT client does, a session sends its request to the primary alone
(``direct/<primary>/<client>``) and broadcasts it only when it retransmits. Replies to many
clients come once per replica on ``results/``, to which one connection of the process
subscribes on behalf of all its sessions; a reply is verified once per process.

Run by :mod:`bench.live` as ``python -m bench.live_load SETTINGS.json``; prints one JSON line
with what completed inside the measurement window, the latencies and this process's CPU time.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
import time
from collections import OrderedDict
from dataclasses import asdict, dataclass, field
from pathlib import Path

import aiomqtt

import crypto
from consensus import Broadcast, EnvelopeVerifier, Reply, Send, replica_principal
from consensus.client import ClientSession
from consensus.messages import ReplyEntry
from council.governance.operations import query_operation
from council.live import runtime
from council.live.connection import BrokerUrl
from council.live.council_dir import CouncilDir
from council.live.credentials import Credentials
from council.live.topics import CouncilTopics
from council.live.wire import Dropped, decode_bundle, encode_bundle

#: A motion nobody opens: every query is ordered and executed, and answered "unknown motion".
QUERIED_MOTION = "bench-none"
TICK_S = 0.1
REPLY_CACHE_MAX = 4096
UNFINISHED_GRACE_S = 5.0
#: A session broadcasts its request when no answer came within this; doubled each time.
RETRANSMIT_MS = 2_000


@dataclass(frozen=True)
class LoadSettings:
    council_dir: str
    broker: str  # the broker URL without credentials
    credentials: str
    principals: tuple[str, ...]
    mode: str  # "closed" or "open"
    window_start_s: float  # time.monotonic() values, shared by every process of the machine
    window_end_s: float
    stop_s: float
    rate_per_s: float = 0.0  # open loop only
    retransmit_ms: int = RETRANSMIT_MS


@dataclass
class LoadReport:
    completed: int = 0  # completions inside the window
    latencies_ms: list[float] = field(default_factory=list)  # requests submitted in the window
    # Of the same requests: submit → the first replica's reply (the rest of the latency is
    # waiting for f + 1 matching ones).
    first_reply_ms: list[float] = field(default_factory=list)
    deliveries: int = 0  # MQTT messages received inside the window
    publishes: int = 0  # MQTT messages sent inside the window
    verifications: int = 0  # Ed25519 checks inside the window
    cpu_s: float = 0.0  # this process's CPU time inside the window
    behind: int = 0  # open loop: requests that found no idle session when due
    retransmissions: int = 0
    unfinished: int = 0  # open loop: requests still unanswered a while after the load stopped
    completed_at_s: list[float] = field(default_factory=list)  # monotonic, inside the window


@dataclass(frozen=True)
class VerifiedReply:
    replica: int
    view: int
    entries: dict[str, ReplyEntry]  # by client principal


class Replies:
    """Verified replies by payload: replicas send one signed REPLY per batch, so every session
    in the batch receives the same bytes; decode and verify them once per process."""

    def __init__(self, directory: CouncilDir) -> None:
        self.signatures = crypto.Verifier(directory.roster, crypto.get_backend())
        self.verifier = EnvelopeVerifier(self.signatures)
        self.council_id = directory.council_id
        self._cache: OrderedDict[bytes, tuple[VerifiedReply, ...]] = OrderedDict()

    def read(self, payload: bytes) -> tuple[VerifiedReply, ...]:
        replies = self._cache.get(payload)
        if replies is None:
            replies = self._verify(payload)
            self._cache[payload] = replies
            if len(self._cache) > REPLY_CACHE_MAX:
                self._cache.popitem(last=False)
        return replies

    def _verify(self, payload: bytes) -> tuple[VerifiedReply, ...]:
        try:
            envelopes = decode_bundle(payload, self.council_id)
        except Dropped:
            return ()
        verified = []
        for envelope in envelopes:
            reply = self.verifier.open_as(envelope, Reply)
            if reply is None or envelope.sender != replica_principal(reply.replica):
                continue
            entries = {entry[0]: entry for entry in reply.results}
            verified.append(VerifiedReply(reply.replica, reply.view, entries))
        return tuple(verified)


class Session:
    """One client principal: its connection, its PBFT session, its one outstanding request."""

    def __init__(self, principal: str, load: Load) -> None:
        self.principal = principal
        self.load = load
        directory = load.directory
        self.pbft = ClientSession(
            directory.quorums,
            directory.signer(principal),
            retransmit_timeout_ms=load.settings.retransmit_ms,
        )
        self.pbft.timestamp = time.time_ns() // 1_000
        password = load.credentials.password(principal)
        self.client = load.broker.with_credentials(principal, password).client(
            identifier=f"{directory.council_id}-{principal}"
        )
        self.completed = asyncio.Event()
        self.first_reply_s = 0.0
        self._reader: asyncio.Task[None] | None = None

    async def start(self, *, results: bool) -> None:
        """Connect; the process's first session also listens to every replica's results."""
        await self.client.__aenter__()
        topics = self.load.topics
        await self.client.subscribe(topics.replies_to(self.principal), qos=0)
        if results:
            await self.client.subscribe(topics.results(), qos=0)
        self._reader = asyncio.create_task(self._read())

    async def close(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
        with contextlib.suppress(aiomqtt.MqttError, asyncio.CancelledError):
            await self.client.__aexit__(None, None, None)

    async def _read(self) -> None:
        load = self.load
        async for message in self.client.messages:
            load.deliveries += 1
            payload = message.payload
            assert isinstance(payload, bytes)
            shared = "/results/" in message.topic.value
            for reply in load.replies.read(payload):
                if not shared:
                    entry = reply.entries.get(self.principal)
                    if entry is not None:
                        self.on_reply(reply, entry)
                    continue
                for principal, entry in reply.entries.items():
                    session = load.by_principal.get(principal)
                    if session is not None:
                        session.on_reply(reply, entry)

    def on_reply(self, reply: VerifiedReply, entry: ReplyEntry) -> None:
        if entry[1] == self.pbft.timestamp and not self.first_reply_s:
            self.first_reply_s = time.monotonic()
        if self.pbft.on_reply(reply.replica, reply.view, entry, self.load.now_ms()) is not None:
            self.completed.set()

    async def request(self) -> None:
        """Submit one query and return once ``f + 1`` replicas agree on its result."""
        load = self.load
        self.completed.clear()
        submitted_s, self.first_reply_s = time.monotonic(), 0.0
        self.pbft.submit(query_operation(QUERIED_MOTION), load.now_ms())
        await self._send()
        while not self.completed.is_set():
            try:
                await asyncio.wait_for(self.completed.wait(), TICK_S)
            except TimeoutError:
                self.pbft.tick(load.now_ms())
                await self._send()
        if load.in_window(submitted_s):
            waited_ms = (self.first_reply_s - submitted_s) * 1000
            load.report.first_reply_ms.append(round(waited_ms, 2))

    async def _send(self) -> None:
        topics, me = self.load.topics, self.principal
        for effect in self.pbft.take_effects():
            if isinstance(effect, Send):
                # PBFT's first try goes to the primary only; backups see the request in the
                # pre-prepare's batch, or on retransmission (a broadcast).
                topic = topics.direct(effect.to, me)
            elif isinstance(effect, Broadcast):
                topic = topics.request(me)
                self.load.retransmissions += 1
            else:
                continue
            payload = encode_bundle(self.load.directory.council_id, [effect.envelope])
            await self.client.publish(topic, payload, qos=0)
            self.load.publishes += 1


class Load:
    """The sessions of this process and what they measured."""

    def __init__(self, settings: LoadSettings) -> None:
        self.settings = settings
        self.directory = CouncilDir.load(Path(settings.council_dir))
        self.broker = BrokerUrl.parse(settings.broker)
        self.credentials = Credentials.load(Path(settings.credentials))
        self.topics = CouncilTopics(self.directory.council_id)
        self.replies = Replies(self.directory)
        self.sessions = [Session(principal, self) for principal in settings.principals]
        self.by_principal = {session.principal: session for session in self.sessions}
        self.report = LoadReport()
        self.deliveries = self.publishes = self.retransmissions = 0
        self._started_s = time.monotonic()

    def now_ms(self) -> int:
        return int((time.monotonic() - self._started_s) * 1000)

    def in_window(self, at_s: float) -> bool:
        return self.settings.window_start_s <= at_s < self.settings.window_end_s

    def record(self, scheduled_s: float, completed_s: float) -> None:
        if self.in_window(completed_s):
            self.report.completed += 1
            self.report.completed_at_s.append(round(completed_s, 4))
        if self.in_window(scheduled_s):
            self.report.latencies_ms.append(round((completed_s - scheduled_s) * 1000, 2))

    async def run(self) -> LoadReport:
        for index, session in enumerate(self.sessions):
            await session.start(results=index == 0)
        meter = asyncio.create_task(self._meter())
        if self.settings.mode == "closed":
            loops = [asyncio.create_task(self._closed(session)) for session in self.sessions]
            wait_s = self.settings.stop_s + UNFINISHED_GRACE_S - time.monotonic()
            _, unfinished = await asyncio.wait(loops, timeout=max(0.0, wait_s))
            for task in unfinished:
                task.cancel()
        else:
            await self._open()
        await meter
        self.report.retransmissions = self.retransmissions
        return self.report

    async def _closed(self, session: Session) -> None:
        while time.monotonic() < self.settings.stop_s:
            submitted_s = time.monotonic()
            await session.request()
            self.record(submitted_s, time.monotonic())

    async def _open(self) -> None:
        idle: asyncio.Queue[Session] = asyncio.Queue()
        for session in self.sessions:
            idle.put_nowait(session)
        interval_s = 1 / self.settings.rate_per_s
        due_s = time.monotonic()
        tasks = set()
        while due_s < self.settings.stop_s and time.monotonic() < self.settings.stop_s:
            due_s += interval_s
            await asyncio.sleep(max(0.0, due_s - time.monotonic()))
            if idle.empty():
                self.report.behind += 1
            session = await idle.get()
            task = asyncio.create_task(self._one(session, due_s, idle))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
        _, unfinished = await asyncio.wait(tasks, timeout=UNFINISHED_GRACE_S) if tasks else ((), ())
        # A request still unanswered counts with the time it has waited so far: a lower bound.
        for task in unfinished:
            task.cancel()
        self.report.unfinished = len(unfinished)

    async def _one(self, session: Session, due_s: float, idle: asyncio.Queue[Session]) -> None:
        try:
            await session.request()
        finally:
            self.record(due_s, time.monotonic())
        idle.put_nowait(session)

    async def _meter(self) -> None:
        """Count deliveries, publishes and CPU time between the window's two edges."""
        settings = self.settings
        await asyncio.sleep(max(0.0, settings.window_start_s - time.monotonic()))
        cpu_s, deliveries, publishes = time.process_time(), self.deliveries, self.publishes
        verifications = self.replies.signatures.stats.misses
        await asyncio.sleep(max(0.0, settings.window_end_s - time.monotonic()))
        self.report.cpu_s = round(time.process_time() - cpu_s, 3)
        self.report.deliveries = self.deliveries - deliveries
        self.report.publishes = self.publishes - publishes
        self.report.verifications = self.replies.signatures.stats.misses - verifications


def report_path(settings_path: Path) -> Path:
    """Where the client process started with ``settings_path`` leaves its report.

    A file, not stdout: a report runs to hundreds of kilobytes, and with ``PYTHONUNBUFFERED``
    set, ``print`` makes a single ``write`` after uvloop has run, which a pipe may take only
    part of — the rest was lost without an error."""
    return settings_path.with_suffix(".report.json")


def main() -> None:
    settings_path = Path(sys.argv[1])
    document = json.loads(settings_path.read_text())
    document["principals"] = tuple(document["principals"])
    settings = LoadSettings(**document)

    async def run() -> LoadReport:
        load = Load(settings)
        runtime.settle_heap()
        try:
            return await load.run()
        finally:
            await asyncio.gather(*(session.close() for session in load.sessions))

    report = runtime.run(run())
    written = report_path(settings_path).with_suffix(".partial")
    written.write_text(json.dumps(asdict(report)))
    written.replace(report_path(settings_path))  # whole or absent, never a part


if __name__ == "__main__":
    main()

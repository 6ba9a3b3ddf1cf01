"""One live agent: the pure core behind a thin asyncio shell around one MQTT connection.

The loop is aioquic's ``transmit()`` pattern: wait for a publish or for the core's one
deadline; check what arrived (:mod:`council.live.inbound`); hand the envelopes and the time to
the core; persist and publish what the step produced; re-arm the one timer. Wall-clock time
enters the agent here and nowhere else.

Publishes are QoS 0: the protocol retransmits what matters (client requests, STATUS, view
changes), so paying the broker's acknowledgements on every vote buys nothing. Presence and
decision announcements are QoS 1 and retained or rare.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import signal
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import aiomqtt

import crypto
from consensus import Envelope, EnvelopeVerifier, PersistCheckpoint, Replica, replica_principal
from consensus.client import ClientSession
from council.behaviours import ALWAYS, KINDS, BehaviourContext, parameters, wrap
from council.behaviours.base import Node
from council.governance.app import GovernanceApplication
from council.live.agent_core import AgentCore, BallotPolicy
from council.live.connection import BrokerUrl, presence_will
from council.live.council_dir import CouncilDir
from council.live.inbound import Inbound
from council.live.storage import AgentStore
from council.live.topics import PRESENCE_ONLINE, CouncilTopics
from council.live.wire import DropReason
from council.scenario.voting import HonestPolicy, PlannedMotion, honest_ballot

#: Publishes waiting for the agent; beyond this the agent is behind and drops (counted).
INBOX_MAX = 20_000
#: Publishes handled per step at most, so timers still fire under a flood.
STEP_MESSAGES_MAX = 2_000
STATUS_EVERY_S = 5.0


@dataclass(frozen=True)
class BehaviourSpec:
    """A fault to play, as ``council agent --behaviour slow:delay_ms=300`` names it."""

    kind: str
    params: dict[str, int | str] = field(default_factory=dict)

    @classmethod
    def parse(cls, text: str) -> BehaviourSpec:
        """``KIND`` or ``KIND:NAME=VALUE[,NAME=VALUE]``; ``ValueError`` saying what is wrong."""
        kind, _, rest = text.partition(":")
        params: dict[str, int | str] = {}
        for item in filter(None, rest.split(",")):
            name, equals, value = item.partition("=")
            if not equals or not name:
                raise ValueError(f"behaviour {text!r}: expected NAME=VALUE, got {item!r}")
            params[name] = int(value) if value.lstrip("-").isdigit() else value
        if kind not in KINDS or kind == "twins":
            choices = ", ".join(k for k in KINDS if k != "twins")
            raise ValueError(f"unknown behaviour {kind!r}; expected one of {choices}")
        accepted = parameters(kind)
        unknown = sorted(set(params) - set(accepted))
        missing = sorted(
            name for name, required in accepted.items() if required and name not in params
        )
        if unknown or missing:
            raise ValueError(
                f"behaviour {kind!r} takes {', '.join(accepted) or 'no parameters'}"
                + (f"; unknown: {', '.join(unknown)}" if unknown else "")
                + (f"; missing: {', '.join(missing)}" if missing else "")
            )
        return cls(kind, params)


@dataclass(frozen=True)
class AgentSettings:
    seat: int
    council_dir: Path
    broker: BrokerUrl
    data_dir: Path | None = None
    behaviours: tuple[BehaviourSpec, ...] = ()
    seed: int = 0


@dataclass
class AgentClock:
    """Milliseconds since the agent started (monotonic): the core's only notion of time."""

    started_s: float = field(default_factory=time.monotonic)

    def now_ms(self) -> int:
        return int((time.monotonic() - self.started_s) * 1000)


def seat_policy(directory: CouncilDir, seat: int, seed: int) -> BallotPolicy:
    """How an unattended seat votes: its council file policy, seeded per seat and motion."""
    voting = directory.council.voting
    policy = HonestPolicy(
        policy=voting.policy,
        stances=tuple(
            (who, what, stance)
            for who, by_category in sorted(voting.stances.items())
            for what, stance in sorted(by_category.items())
        ),
        abstain=voting.abstain,
        think_ms=voting.think_ms,
    )
    constituency = directory.council.seats()[seat - 1].constituency

    def vote(motion_id: str, category: str) -> str | None:
        motion = PlannedMotion(motion_id, "", "", category, at_ms=0, merit=0.5)
        return honest_ballot(policy, seed, seat, constituency, motion).vote

    return vote


def open_core(
    settings: AgentSettings, directory: CouncilDir, store: AgentStore, verifier: EnvelopeVerifier
) -> AgentCore:
    """The seat's core, resumed from ``store``."""
    principal = replica_principal(settings.seat - 1)
    signer = directory.signer(principal)
    config = directory.replica_config()

    def make_replica(
        application: GovernanceApplication,
        records: list[Envelope],
        checkpoint: PersistCheckpoint | None,
    ) -> Replica:
        if records or checkpoint is not None:
            return Replica.recover(
                config,
                settings.seat - 1,
                signer,
                verifier,
                application,
                records=records,
                checkpoint=checkpoint,
                now_ms=0,
            )
        return Replica(config, settings.seat - 1, signer, verifier, application, now_ms=0)

    def wrapped(replica: Replica) -> Node:
        context = BehaviourContext(replica.id, signer, config, random.Random(settings.seed))
        node: Node = replica
        for behaviour in settings.behaviours:
            node = wrap(behaviour.kind, node, context, ALWAYS, **behaviour.params)
        return node

    ballots = ClientSession(directory.quorums, signer)
    # Client timestamps must grow across restarts (exactly-once per timestamp): start from
    # the wall clock in microseconds, which a restart only ever moves forward.
    ballots.timestamp = time.time_ns() // 1_000
    return AgentCore.open(
        seat=settings.seat,
        config=config,
        rules=directory.rules(),
        make_replica=make_replica,
        store=store,
        ballots=ballots,
        policy=seat_policy(directory, settings.seat, settings.seed),
        wrap=wrapped if settings.behaviours else None,
    )


class Agent:
    """A running agent: its core, its checks at the edge and its connection."""

    def __init__(self, settings: AgentSettings) -> None:
        self.settings = settings
        self.directory = CouncilDir.load(settings.council_dir)
        self.principal = replica_principal(settings.seat - 1)
        self.topics = CouncilTopics(self.directory.council_id)
        data_dir = settings.data_dir or self.directory.agent_dir(settings.seat)
        data_dir.mkdir(parents=True, exist_ok=True)
        self.store = AgentStore.open(data_dir / "agent.sqlite3")
        verifier = EnvelopeVerifier(crypto.Verifier(self.directory.roster, crypto.get_backend()))
        self.core = open_core(settings, self.directory, self.store, verifier)
        members = frozenset(self.directory.roster)
        self.inbound = Inbound(
            council_id=self.directory.council_id,
            topics=self.topics,
            verifier=verifier,
            members=members,
            seats=frozenset(replica_principal(i) for i in range(self.directory.council.n)),
        )
        self.clock = AgentClock()
        self.stop = asyncio.Event()

    async def run(self) -> None:
        topics, me = self.topics, self.principal
        client = self.settings.broker.client(
            identifier=f"{self.directory.council_id}-{me}",
            will=presence_will(topics, me),
            max_queued_incoming_messages=INBOX_MAX,
        )
        async with client:
            await client.subscribe(
                [
                    (topics.broadcasts(), 0),
                    (topics.directs_to(me), 0),
                    (topics.requests(), 0),
                    (topics.replies_to(me), 0),
                ]
            )
            await client.publish(topics.presence(me), PRESENCE_ONLINE, qos=1, retain=True)
            inbox: asyncio.Queue[tuple[str, bytes]] = asyncio.Queue(maxsize=INBOX_MAX)
            reader = asyncio.create_task(self._read(client, inbox))
            try:
                await self._loop(client, inbox)
            finally:
                reader.cancel()
                await client.publish(topics.presence(me), b"offline", qos=1, retain=True)
        self.store.close()

    async def _read(self, client: aiomqtt.Client, inbox: asyncio.Queue[tuple[str, bytes]]) -> None:
        own = f"/{self.principal}"
        async for message in client.messages:
            topic = message.topic.value
            if topic.endswith(own) and "/broadcast/" in topic:
                continue  # our own broadcast, echoed by the broker
            payload = message.payload
            data = payload if isinstance(payload, bytes) else str(payload).encode()
            try:
                inbox.put_nowait((topic, data))
            except asyncio.QueueFull:
                self.inbound.drop(DropReason.QUEUE_FULL)

    async def _loop(self, client: aiomqtt.Client, inbox: asyncio.Queue[tuple[str, bytes]]) -> None:
        core, clock = self.core, self.clock
        next_status_s = time.monotonic() + STATUS_EVERY_S
        while not self.stop.is_set():
            deadline = core.next_deadline_ms()
            timeout_s = 0.5 if deadline is None else max(0, deadline - clock.now_ms()) / 1000
            items: list[tuple[str, bytes]] = []
            with contextlib.suppress(TimeoutError):
                items.append(await asyncio.wait_for(inbox.get(), min(timeout_s, 0.5)))
            while items and len(items) < STEP_MESSAGES_MAX and not inbox.empty():
                items.append(inbox.get_nowait())
            now_ms = clock.now_ms()
            for topic, payload in items:
                for envelope in self.inbound.accept(topic, payload):
                    core.receive(envelope, now_ms)
            core.tick(now_ms)
            outbox = core.drain(now_ms)
            for topic, payload in outbox.payloads(self.directory.council_id):
                await client.publish(topic, payload, qos=0)
            for record in outbox.decisions:
                event = {"decision": json.loads(record.model_dump_json())}
                await client.publish(self.topics.event(self.principal), json.dumps(event), qos=1)
            if time.monotonic() >= next_status_s:
                next_status_s += STATUS_EVERY_S
                status = self.status_json()
                print(status, file=sys.stderr, flush=True)
                await client.publish(self.topics.event(self.principal), status, qos=0)

    def status_json(self) -> str:
        stats = self.core.stats
        return json.dumps(
            {
                "status": {
                    "seat": self.settings.seat,
                    "executed": stats.executed,
                    "last_executed": self.core.replica.last_executed,
                    "view": self.core.replica.view,
                    "decisions": stats.decisions,
                    "accepted": self.inbound.accepted,
                    "replayed": self.inbound.replayed,
                    "dropped": dict(sorted(self.inbound.dropped.items())),
                }
            }
        )


def run_agent(settings: AgentSettings, argv: Sequence[str] = ()) -> int:
    """Run an agent until SIGTERM or SIGINT; the exit code for ``council agent``."""

    async def main() -> None:
        agent = Agent(settings)
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, agent.stop.set)
        print(
            f"seat {settings.seat} ({agent.principal}) joining {settings.broker}", file=sys.stderr
        )
        await agent.run()

    asyncio.run(main())
    return 0

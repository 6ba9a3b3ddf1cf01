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
import os
import random
import signal
import ssl
import sys
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

import aiomqtt
import paho.mqtt.client as mqtt
from aiomqtt.exceptions import MqttConnectError

import crypto
from consensus import Envelope, EnvelopeVerifier, PersistCheckpoint, Replica, replica_principal
from consensus.client import ClientSession
from council.behaviours import ALWAYS, KINDS, BehaviourContext, parameters, wrap
from council.behaviours.base import Node, replica_of
from council.governance.app import GovernanceApplication
from council.live import runtime
from council.live.agent_core import AgentCore, AgentHistory, BallotPolicy
from council.live.connection import BrokerUrl, presence_will
from council.live.council_dir import CouncilDir
from council.live.fault_plan import AgentFaultPlan
from council.live.inbound import Inbound
from council.live.member_ballots import (
    ISSUED_FILE,
    MEMBER_BALLOT,
    AlreadyTaken,
    MemberBallots,
)
from council.live.profiling import profiled
from council.live.storage import AgentStore
from council.live.topics import PRESENCE_ONLINE, CouncilTopics
from council.live.wire import Dropped, DropReason
from council.scenario.links import PhasedNetwork
from council.scenario.voting import PlannedMotion, captured_voting, honest_policy, seat_ballot
from council.scenario.wiring import wrapper_for

#: Publishes waiting for the agent; beyond this the agent is behind and drops (counted).
INBOX_MAX = 20_000
#: Publishes handled per step at most, so timers still fire under a flood.
STEP_MESSAGES_MAX = 2_000
STATUS_EVERY_S = 5.0
#: A step (read what waits, run the core, publish) this long is logged: the seat is behind.
SLOW_STEP_S = 2.0
#: Waits before reconnecting to a lost broker: doubling from the first to the last.
RECONNECT_FIRST_S = 0.5
RECONNECT_MAX_S = 8.0


def intake(arrived: Callable[[aiomqtt.Message], None]) -> type[asyncio.Queue[aiomqtt.Message]]:
    """aiomqtt's incoming-message queue, replaced by a hand-off: each message goes to the agent
    as paho reads it. aiomqtt's own consumer would cost a task per message, and its bounded
    queue dropped messages uncounted under a flood; the agent's inbox counts what it sheds."""

    class Intake(asyncio.Queue[aiomqtt.Message]):
        def put_nowait(self, item: aiomqtt.Message) -> None:
            arrived(item)

    return Intake


#: Packets read per wake-up at most, so one flooding peer cannot hold the loop.
READ_BURST_MAX = 256


def read_in_bursts(client: aiomqtt.Client) -> None:
    """Read every packet waiting on the socket when it becomes readable, not one per wake-up.

    paho reads one packet per call (aiomqtt calls it once per wake-up), so an agent that was
    descheduled while 60 votes arrived needed 60 trips through the event loop to read them.
    """
    paho = client._client
    sock = paho.socket()
    if sock is None:
        return
    loop = asyncio.get_running_loop()
    fd = sock.fileno()

    def burst() -> None:
        try:
            for _ in range(READ_BURST_MAX):
                rc = paho._packet_read()
                if rc == mqtt.MQTT_ERR_AGAIN:
                    break
                if rc != mqtt.MQTT_ERR_SUCCESS:
                    paho._loop_rc_handle(rc)
                    break
        except Exception as error:
            disconnected = client._disconnected
            if not disconnected.done():
                disconnected.set_exception(error)

    loop.remove_reader(fd)
    loop.add_reader(fd, burst)


#: CONNACK codes that no retry can change: MQTT 3.1.1 "bad username or password", "not
#: authorised", and their MQTT 5 reason codes.
_REFUSED_FOR_GOOD: Final = frozenset({4, 5, 134, 135})


def untrusted_broker(error: aiomqtt.MqttError) -> bool:
    """Whether the broker's certificate failed verification (aiomqtt raises "from None": the
    TLS error stays as the context)."""
    return isinstance(error.__context__, ssl.SSLCertVerificationError)


def refused_for_good(error: aiomqtt.MqttError) -> bool:
    """Whether reconnecting cannot help: the broker refused this agent's credentials, or its
    certificate did not verify against the URL's TLS settings."""
    if untrusted_broker(error):
        return True
    if not isinstance(error, MqttConnectError):
        return False
    code = error.rc if isinstance(error.rc, int) else getattr(error.rc, "value", None)
    return code in _REFUSED_FOR_GOOD


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
    fault_plan: Path | None = None  # a scenario's faults for this seat (scenario run --live)
    #: The seat's member votes through the gateway (council/live/member_ballots.py); the
    #: council file's voting policy casts no ballot.
    member_ballots: bool = False


@dataclass
class AgentClock:
    """Milliseconds since the agent started (monotonic): the core's only notion of time.

    In a scenario run every agent counts from the scenario's time zero instead, so behaviour
    windows and network phases line up across processes (and across a restart)."""

    started_s: float = field(default_factory=time.monotonic)

    @classmethod
    def from_epoch(cls, epoch_ms: int) -> AgentClock:
        elapsed_s = time.time() - epoch_ms / 1000
        return cls(started_s=time.monotonic() - elapsed_s)

    def now_ms(self) -> int:
        return int((time.monotonic() - self.started_s) * 1000)


def seat_policy(
    directory: CouncilDir, seat: int, seed: int, plan: AgentFaultPlan | None = None
) -> BallotPolicy:
    """How an unattended seat votes: its council file's policy, seeded per seat and motion; in
    a scenario run the scenario's policy, motion merits and capture instructions instead, so
    its ballots are the ones the simulator casts."""
    voting = plan.voting if plan is not None else directory.council.voting
    policy = honest_policy(voting)
    captured = captured_voting(plan.behaviours) if plan is not None else ()
    merits = plan.merits if plan is not None else {}
    epoch_ms = plan.epoch_ms if plan is not None else 0
    constituency = directory.council.seats()[seat - 1].constituency

    def vote(motion_id: str, category: str) -> str | None:
        motion = PlannedMotion(motion_id, "", "", category, 0, merits.get(motion_id, 0.5))
        now_ms = time.time_ns() // 1_000_000 - epoch_ms
        ballot = seat_ballot(policy, captured, seed, seat, constituency, motion, now_ms)
        return None if ballot is None else ballot.vote

    return vote


def members_vote(motion_id: str, category: str) -> str | None:
    """The policy of a seat whose member votes: none, the seat waits for instructions."""
    return None


def open_core(
    settings: AgentSettings,
    directory: CouncilDir,
    store: AgentStore,
    verifier: EnvelopeVerifier,
    plan: AgentFaultPlan | None = None,
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
        rng = random.Random(settings.seed)
        node: Node = replica
        if plan is not None:
            # Selectors were resolved to seat numbers when the plan was written.
            node = wrapper_for(replica, plan.behaviours, config, rng, lambda s: s.seats or ())
        context = BehaviourContext(replica.id, signer, config, rng)
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
        rules=directory.council.governance_rules(),
        make_replica=make_replica,
        store=store,
        ballots=ballots,
        policy=(
            members_vote
            if settings.member_ballots
            else seat_policy(directory, settings.seat, plan.seed if plan else settings.seed, plan)
        ),
        wrap=wrapped if settings.behaviours or plan is not None else None,
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
        self.signatures = crypto.Verifier(self.directory.roster, crypto.get_backend())
        verifier = EnvelopeVerifier(self.signatures)
        self.plan = AgentFaultPlan.load(settings.fault_plan) if settings.fault_plan else None
        self.core = open_core(settings, self.directory, self.store, verifier, self.plan)
        self.network: PhasedNetwork | None = None
        self.history_path: Path | None = None
        if self.plan is not None:
            self.core.history = AgentHistory()
            self.network = self.plan.network(settings.seat)
            self.history_path = data_dir / "history" / f"{os.getpid()}.json"
            self.history_path.parent.mkdir(exist_ok=True)
        members = frozenset(self.directory.roster)
        self.inbound = Inbound(
            council_id=self.directory.council_id,
            topics=self.topics,
            verifier=verifier,
            members=members,
            seats=frozenset(replica_principal(i) for i in range(self.directory.council.n)),
            own_kinds=frozenset({MEMBER_BALLOT}),
        )
        self.member_ballots = MemberBallots(settings.seat, data_dir / ISSUED_FILE)
        self.clock = AgentClock.from_epoch(self.plan.epoch_ms) if self.plan else AgentClock()
        self.network_dropped = 0
        # MQTT publishes handled, for the status line (a benchmark divides them by instances).
        self.publishes_received = 0
        self.publishes_sent = 0
        self.slowest_step_s = 0.0  # since the last status event
        self.reconnects = 0
        self._view_state = (self.core.replica.view, self.core.replica.active)
        self._inbox: deque[tuple[str, bytes]] = deque()
        self._arrival = asyncio.Event()
        self._own_suffix = f"/{self.principal}"
        self.stop = asyncio.Event()

    async def run(self) -> None:
        """Serve the council until :attr:`stop` is set, reconnecting whenever the broker goes.

        The core lives on across connections: what the agent signed is in its store, what it
        missed while away comes back through the protocol (client retransmissions, STATUS,
        state transfer), so a broker restart or a network blip costs a pause, not a process.
        """
        delay_s = RECONNECT_FIRST_S
        while not self.stop.is_set():
            try:
                await self._connected()
                delay_s = RECONNECT_FIRST_S
            except aiomqtt.MqttError as error:
                if refused_for_good(error):
                    raise  # wrong credentials or ACL: waiting will not mend them
                self.reconnects += 1
                print(
                    f"seat {self.settings.seat}: broker connection lost ({error}); "
                    f"reconnecting in {delay_s:.1f} s",
                    file=sys.stderr,
                    flush=True,
                )
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.stop.wait(), delay_s)
                delay_s = min(2 * delay_s, RECONNECT_MAX_S)
        self.write_history()
        self.store.close()

    async def _connected(self) -> None:
        """One connection's life: subscribe, announce presence, run steps until stopped; raise
        ``MqttError`` as soon as the connection is lost."""
        topics, me = self.topics, self.principal
        client = self.settings.broker.client(
            identifier=f"{self.directory.council_id}-{me}",
            will=presence_will(topics, me),
            queue_type=intake(self._arrived),
        )
        async with client:
            read_in_bursts(client)
            await client.subscribe(
                [
                    (topics.broadcasts(), 0),
                    (topics.directs_to(me), 0),
                    (topics.requests(), 0),
                    (topics.replies_to(me), 0),
                ]
            )
            await client.publish(topics.presence(me), PRESENCE_ONLINE, qos=1, retain=True)
            steps = asyncio.ensure_future(self._loop(client))
            # The loop may be waiting for input when the connection drops: watch both.
            disconnected = client._disconnected
            try:
                await asyncio.wait({steps, disconnected}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                if not steps.done():
                    steps.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await steps
            if disconnected.done():
                error = disconnected.exception()
                raise (
                    error
                    if isinstance(error, aiomqtt.MqttError)
                    else aiomqtt.MqttError(f"disconnected: {error}")
                )
            steps.result()  # the loop ended: stopped, or failed on a publish
            await client.publish(topics.presence(me), b"offline", qos=1, retain=True)

    def _arrived(self, message: aiomqtt.Message) -> None:
        """aiomqtt hands every message here, in the event loop, as it is read."""
        self.publishes_received += 1
        topic = message.topic.value
        if topic.endswith(self._own_suffix) and "/broadcast/" in topic:
            return  # our own broadcast, echoed by the broker
        payload = message.payload
        data = payload if isinstance(payload, bytes) else str(payload).encode()
        if self.network is None:
            self._enqueue(topic, data)
            return
        # A scenario's network acts where this agent receives: loss, delay, duplicates,
        # and partitions between seats (clients are never cut off).
        address = self.topics.address(topic)
        sender = replica_of(address.sender) if address is not None else None
        source = -1 if sender is None else sender
        delays = self.network.deliveries(source, self.settings.seat - 1, self.clock.now_ms())
        if not delays:
            self.network_dropped += 1
        loop = asyncio.get_running_loop()
        for delay_ms in delays:
            loop.call_later(delay_ms / 1000, self._enqueue, topic, data)

    def _enqueue(self, topic: str, data: bytes) -> None:
        if len(self._inbox) >= INBOX_MAX:
            self.inbound.drop(DropReason.QUEUE_FULL)
            return
        self._inbox.append((topic, data))
        self._arrival.set()

    async def _loop(self, client: aiomqtt.Client) -> None:
        core, clock = self.core, self.clock
        next_status_s = time.monotonic() + STATUS_EVERY_S
        while not self.stop.is_set():
            deadline = core.next_deadline_ms()
            timeout_s = 0.5 if deadline is None else max(0, deadline - clock.now_ms()) / 1000
            inbox = self._inbox
            if not inbox:
                self._arrival.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._arrival.wait(), min(timeout_s, 0.5))
            items = [inbox.popleft() for _ in range(min(len(inbox), STEP_MESSAGES_MAX))]
            started_s = time.monotonic()
            now_ms = clock.now_ms()
            for topic, payload in items:
                for envelope in self.inbound.accept(topic, payload):
                    if envelope.kind == MEMBER_BALLOT:
                        self._instructed(envelope, now_ms)
                    else:
                        core.receive(envelope, now_ms)
            core.tick(now_ms)
            outbox = core.drain(now_ms)
            self._log_view_change()
            published_bytes = 0
            for topic, payload in outbox.payloads(self.directory.council_id):
                await client.publish(topic, payload, qos=0)
                self.publishes_sent += 1
                published_bytes += len(payload)
            for record in outbox.decisions:
                event = {"decision": json.loads(record.model_dump_json())}
                await client.publish(self.topics.event(self.principal), json.dumps(event), qos=1)
            self._note_step(time.monotonic() - started_s, len(items), published_bytes)
            if time.monotonic() >= next_status_s:
                next_status_s += STATUS_EVERY_S
                status = self.status_json()
                self.slowest_step_s = 0.0
                print(status, file=sys.stderr, flush=True)
                self.write_history()
                await client.publish(self.topics.event(self.principal), status, qos=0)

    def _instructed(self, envelope: Envelope, now_ms: int) -> None:
        """A member ballot instruction passed the edge: cast it if the seat takes it."""
        try:
            instruction = self.member_ballots.accept(envelope)
        except AlreadyTaken:
            return  # the gateway repeats instructions; this one was cast already
        except Dropped as dropped:
            self.inbound.drop(dropped.reason)
            return
        self.core.cast(instruction.motion, instruction.vote, now_ms)

    def _note_step(self, took_s: float, read: int, published_bytes: int) -> None:
        """Keep the slowest step for the status event, and log one that shows the seat behind:
        what it read and published says whether it was flooded or flooding."""
        self.slowest_step_s = max(self.slowest_step_s, took_s)
        if took_s >= SLOW_STEP_S:
            print(
                f"{_stamp()} seat {self.settings.seat}: a step took {took_s:.1f} s: read"
                f" {read} publishes, published {published_bytes / 1e6:.1f} MB,"
                f" {len(self._inbox)} waiting",
                file=sys.stderr,
                flush=True,
            )

    def _log_view_change(self) -> None:
        """One log line whenever this seat starts a view change or a view becomes active."""
        replica = self.core.replica
        now = (replica.view, replica.active)
        if now == self._view_state:
            return
        self._view_state = now
        view, active = now
        primary = replica.quorums.primary(view) + 1
        state = (
            f"view {view} active (primary seat {primary})" if active else f"changing to view {view}"
        )
        print(f"{_stamp()} seat {self.settings.seat}: {state}", file=sys.stderr, flush=True)

    def write_history(self) -> None:
        """Save what a scenario report needs; a kill loses at most one status interval."""
        if self.history_path is None or self.core.history is None:
            return
        document = {"seat": self.settings.seat, **self.core.history.to_json()}
        document["network_dropped"] = self.network_dropped
        temporary = self.history_path.with_suffix(".tmp")
        temporary.write_text(json.dumps(document))
        temporary.replace(self.history_path)

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
                    "member_ballots": self.member_ballots.taken,
                    "dropped": dict(sorted(self.inbound.dropped.items())),
                    # Messages that passed the edge but the replica refused, by reason.
                    "refused": dict(sorted(self.core.replica.rejected.items())),
                    "publishes_received": self.publishes_received,
                    "publishes_sent": self.publishes_sent,
                    "reconnects": self.reconnects,
                    # Publishes waiting, and the longest step since the last status: a seat
                    # that falls behind shows here before its view does.
                    "inbox": len(self._inbox),
                    "slowest_step_ms": round(self.slowest_step_s * 1000),
                    "signatures_verified": self.signatures.stats.misses,
                    "evidence": dict(sorted(stats.evidence_against.items())),
                }
            }
        )


def _stamp() -> str:
    """Wall-clock time with milliseconds, for log lines an operator lines up across seats."""
    return time.strftime("%H:%M:%S") + f".{int(time.time() * 1000) % 1000:03d}"


def run_agent(settings: AgentSettings, argv: Sequence[str] = ()) -> int:
    """Run an agent until SIGTERM or SIGINT; the exit code for ``council agent``."""

    async def main() -> None:
        agent = Agent(settings)
        runtime.settle_heap()  # the store is open and the state recovered: start-up is over
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, agent.stop.set)
        print(
            f"seat {settings.seat} ({agent.principal}) joining {settings.broker}"
            f" on {runtime.loop_name(loop)}",
            file=sys.stderr,
        )
        await agent.run()

    try:
        profiled(settings.seat, lambda: runtime.run(main()))
    except aiomqtt.MqttError as error:  # only a refusal for good gets out of Agent.run
        if untrusted_broker(error):
            problem = "presented a certificate this agent cannot trust"
            advice = "check the URL's ca= (or insecure=true for a test broker)"
        else:
            problem, advice = "refused this agent", "check its credentials"
        print(
            f"seat {settings.seat}: the broker at {settings.broker} {problem} ({error}); {advice}",
            file=sys.stderr,
        )
        return 2
    return 0

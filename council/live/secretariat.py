"""The secretariat as an ordinary PBFT client of a live council.

It signs a motion with its own key, publishes it, retransmits until ``f + 1`` seats answer with
the same result, and then waits for the decision: a decision record announced by a seat counts
only once it verifies against the roster (its commit certificate carries ``Q`` signatures), so
no single seat can announce a false outcome. When the voting window ends before every seat has
voted, the secretariat asks the council to close the motion, again as a signed request.

A process that reads more of the council than replies and decisions (the gateway's link,
:mod:`council.gateway.live`) hands the secretariat *listeners* by topic kind: they receive
those topics' publishes over the same connection, and an ``events`` listener replaces the
secretariat's own reading of decisions.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Final

import aiomqtt

import crypto
from consensus import EnvelopeVerifier
from consensus.client import ClientSession, Completed, reply_of
from council.governance.events import Opened, RejectedRequest, parse_event
from council.governance.operations import close_operation, motion_operation
from council.governance.records import DecisionRecord
from council.governance.verify import verify_decision
from council.live.connection import BrokerUrl
from council.live.council_dir import CouncilDir
from council.live.topics import CouncilTopics, TopicKind
from council.live.wire import Dropped, decode_bundle, encode_bundle


def wall_ms() -> int:
    """A motion's times are the secretariat's wall clock: its window outlives any process."""
    return time.time_ns() // 1_000_000


#: Receives one publish on a topic the secretariat was asked to listen to: (topic, payload).
Listener = Callable[[str, bytes], None]
#: The topic kinds a listener may be given, and the QoS they are read at: events and the
#: retained presence at 1 (rare, and a lost decision is not resent), the rest at 0.
LISTENED_QOS: Final = {
    TopicKind.REPLIES: 0,
    TopicKind.RESULTS: 0,
    TopicKind.EVENTS: 1,
    TopicKind.PRESENCE: 1,
    TopicKind.BROADCAST: 0,
}


class MotionRefused(Exception):
    """The council answered the motion with a rejected request (``f + 1`` seats agree why)."""


@dataclass(frozen=True)
class Decided:
    record: DecisionRecord
    submitted_s: float
    decided_s: float


class Secretariat:
    """A connected secretariat client: submit requests, collect replies and decisions.

    ``listeners`` maps topic kinds of :data:`LISTENED_QOS` to what reads their publishes."""

    def __init__(
        self,
        directory: CouncilDir,
        broker: BrokerUrl,
        principal: str = "secretariat",
        listeners: Mapping[TopicKind, Listener] | None = None,
    ):
        self.directory = directory
        self.broker = broker
        self.principal = principal
        self.topics = CouncilTopics(directory.council_id)
        self.session = ClientSession(directory.quorums, directory.signer(principal))
        # Timestamps must grow across invocations of the command: start from the wall clock.
        self.session.timestamp = time.time_ns() // 1_000
        self._name = principal.encode()
        self.verifier = EnvelopeVerifier(crypto.Verifier(directory.roster, crypto.get_backend()))
        self.completed: dict[int, Completed] = {}
        self.decisions: dict[str, DecisionRecord] = {}
        self.on_decision: Callable[[DecisionRecord], None] | None = None
        self._client: aiomqtt.Client | None = None
        self._started_s = time.monotonic()
        self._one_at_a_time = asyncio.Lock()
        own: dict[TopicKind, Listener] = {
            TopicKind.REPLIES: self._replies,
            TopicKind.RESULTS: self._replies,
            TopicKind.EVENTS: self._event,
        }
        self._listeners = own | dict(listeners or {})
        unknown = set(self._listeners) - set(LISTENED_QOS)
        if unknown:
            raise ValueError(f"cannot listen to {', '.join(sorted(unknown))} topics")

    def now_ms(self) -> int:
        return int((time.monotonic() - self._started_s) * 1000)

    async def __aenter__(self) -> Secretariat:
        self._client = self.broker.client(identifier=None)
        await self._client.__aenter__()
        await self._client.subscribe(
            [(self._filter(kind), LISTENED_QOS[kind]) for kind in self._listeners]
        )
        self._reader = asyncio.create_task(self._read())
        return self

    def _filter(self, kind: TopicKind) -> str:
        topics = self.topics
        return {
            TopicKind.REPLIES: topics.replies_to(self.principal),
            # A reply that answers other clients too comes once, on the results topics.
            TopicKind.RESULTS: topics.results(),
            TopicKind.EVENTS: topics.events(),
            TopicKind.PRESENCE: topics.presences(),
            TopicKind.BROADCAST: topics.broadcasts(),
        }[kind]

    @property
    def reading(self) -> asyncio.Task[None]:
        """The task reading the connection: done once the connection is lost (or closed)."""
        return self._reader

    async def publish(self, topic: str, payload: bytes, qos: int = 1) -> None:
        """Publish ``payload`` on ``topic`` over the secretariat's connection."""
        assert self._client is not None
        await self._client.publish(topic, payload, qos=qos)

    async def __aexit__(self, *exc: object) -> None:
        self._reader.cancel()
        assert self._client is not None
        await self._client.__aexit__(None, None, None)

    async def _read(self) -> None:
        assert self._client is not None
        listeners = {kind.value: listener for kind, listener in self._listeners.items()}
        async for message in self._client.messages:
            topic = message.topic.value
            levels = topic.split("/", 3)  # council/<id>/<kind>/...
            listener = listeners.get(levels[2]) if len(levels) == 4 else None
            if listener is None:
                continue
            payload = message.payload
            # A listener never raises on what a seat published: one that did would end this
            # task, and with it every reply and decision.
            listener(topic, payload if isinstance(payload, bytes) else str(payload).encode())

    def _replies(self, topic: str, data: bytes) -> None:
        # A batch's reply on results/ answers many clients: one that cannot name ours is not
        # worth a decode and a signature check.
        if not self.session.outstanding or self._name not in data:
            return
        try:
            envelopes = decode_bundle(data, self.directory.council_id)
        except Dropped:
            return
        for envelope in envelopes:
            if not self.verifier.verify(envelope):
                continue
            reply = reply_of(envelope)
            if reply is None:
                continue
            for entry in reply.results:
                done = self.session.on_reply(reply.replica, reply.view, entry, self.now_ms())
                if done is not None:
                    self.completed[done.timestamp] = done

    def _event(self, topic: str, data: bytes) -> None:
        try:
            document = json.loads(data)
            record = DecisionRecord.model_validate_json(json.dumps(document["decision"]))
        except (ValueError, KeyError, TypeError):
            return  # status and other events
        if record.motion_id in self.decisions:
            return
        if verify_decision(record, self.directory.roster):
            return  # a record that does not verify proves nothing
        self.decisions[record.motion_id] = record
        if self.on_decision is not None:
            self.on_decision(record)

    async def request(self, operation: str, timeout_s: float) -> str:
        """Submit ``operation``; the result ``f + 1`` seats agree on.

        One request at a time: a later timestamp ordered first would make this one stale."""
        async with self._one_at_a_time:
            return await self._request(operation, timeout_s)

    async def _request(self, operation: str, timeout_s: float) -> str:
        assert self._client is not None
        envelope = self.session.submit(operation, self.now_ms())
        timestamp = self.session.timestamp
        self.session.take_effects()
        topic = self.topics.request(self.principal)
        payload = encode_bundle(self.directory.council_id, [envelope])
        await self._client.publish(topic, payload, qos=1)
        deadline = time.monotonic() + timeout_s
        while timestamp not in self.completed:
            if time.monotonic() > deadline:
                raise TimeoutError(f"no f+1 matching replies within {timeout_s:.0f} s")
            await asyncio.sleep(0.02)
            self.session.tick(self.now_ms())
            if self.session.take_effects():  # retransmission: publish again
                await self._client.publish(topic, payload, qos=1)
        return self.completed.pop(timestamp).result

    async def submit_motion(
        self, motion_id: str, title: str, category: str, text: str = "", timeout_s: float = 60
    ) -> float:
        """Open a motion; returns the monotonic time it was accepted."""
        operation = motion_operation(motion_id, title, text, category, wall_ms())
        result = parse_event(await self.request(operation, timeout_s))
        if isinstance(result, RejectedRequest):
            raise MotionRefused(result.reason)
        if not isinstance(result, Opened):
            raise MotionRefused(f"unexpected result {result}")
        return time.monotonic()

    async def decision(
        self, motion_id: str, window_ms: int, timeout_s: float, opened_s: float | None = None
    ) -> DecisionRecord:
        """Wait for ``motion_id``'s verified decision, closing it when its window ends (counted
        from ``opened_s``, the monotonic time it was opened, or from now)."""
        deadline = time.monotonic() + timeout_s
        close_at = (time.monotonic() if opened_s is None else opened_s) + window_ms / 1000
        closed = False
        while motion_id not in self.decisions:
            if time.monotonic() > deadline:
                raise TimeoutError(f"motion {motion_id} not decided within {timeout_s:.0f} s")
            if not closed and time.monotonic() >= close_at:
                closed = True
                operation = close_operation(motion_id, wall_ms())
                await self.request(operation, timeout_s=max(1.0, deadline - time.monotonic()))
            await asyncio.sleep(0.02)
        return self.decisions[motion_id]

"""The gateway's link to a live council: one more MQTT client of the running service.

Requests go through a :class:`~council.live.secretariat.Secretariat` over the link's one broker
connection: signed as the link's principal, published, retransmitted, and answered once
``f + 1`` seats sent the same signed reply. The same connection reads what the seats announce:
decision records on ``events/+`` go to the sink as they arrive (the gateway verifies them, so
the link does not), and presence, status events and broadcasts become observations
(:mod:`council.gateway.live_watch`).

Which principal the link signs as: ``gateway``, when the council names it in its secretariat
and its key is in ``keys/`` (as in every council ``council init`` writes); otherwise, for a
council made before the gateway had a principal, the first secretariat principal with a key.
That principal's request timestamps are then shared with any other process signing as it
(``council motion submit`` signs as ``secretariat``), so only one of them should run at a time.
The ACL ties request and reply topics to the broker user, so the link connects as the
principal it signs as: given a URL with another user's credentials, it takes that principal's
password from ``<council>/run/credentials.json`` (written by ``council up``).

Member ballots (:meth:`LiveLink.instruct_ballot`) are instructions signed with the
``gateway`` key whatever principal requests are signed as (:mod:`council.live.member_ballots`);
a council without a gateway key cannot take them.

A lost broker connection is re-established in the background, with waits doubling from
0.5 s to 8 s; meanwhile requests wait for it within their own timeout.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import time
from collections import OrderedDict
from typing import Final

import aiomqtt
from pydantic import BaseModel, ConfigDict, ValidationError

from consensus import QuorumMath, replica_principal
from council.gateway.link import (
    CouncilSink,
    CouncilStatus,
    LinkError,
    LinkMode,
    Observation,
)
from council.gateway.live_watch import CouncilWatch
from council.governance.records import DecisionRecord
from council.live.connection import BrokerUrl
from council.live.council_dir import CouncilDir
from council.live.credentials import GATEWAY, Credentials, CredentialsError
from council.live.member_ballots import MemberBallotIssuer
from council.live.secretariat import Secretariat, wall_ms
from council.live.supervisor import credentials_path
from council.live.topics import CouncilTopics, TopicKind
from council.live.wire import encode_bundle

log = logging.getLogger(__name__)

#: How often each seat's broadcasts are reported as a ``traffic`` observation.
TRAFFIC_EVERY_S: Final = 0.25
#: Waits before reconnecting to a lost broker: doubling from the first to the last.
RECONNECT_FIRST_S: Final = 0.5
RECONNECT_MAX_S: Final = 8.0
#: How long a member ballot instruction may wait for a lost connection to come back.
INSTRUCT_TIMEOUT_S: Final = 10.0
#: Instructions go at most once (QoS 0): each is repeated this often, for this long, so a seat
#: whose agent was reconnecting still gets it (a repeat it took already casts nothing).
INSTRUCTION_RESEND_EVERY_S: Final = 3.0
INSTRUCTION_RESEND_FOR_S: Final = 30.0
#: Instructions being repeated at most (the oldest stop first).
INSTRUCTIONS_REPEATED_MAX: Final = 4096
#: Announcements remembered to skip a byte-identical one (a record re-announced on a query).
ANNOUNCED_MAX: Final = 4096


class _DecisionEvent(BaseModel):
    """An agent's decision announcement: ``{"decision": <record>}``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    decision: DecisionRecord


def link_principal(directory: CouncilDir) -> str:
    """``gateway`` if it is a secretariat principal with a key, else the first one that has a
    key; :class:`LinkError` when none has."""
    secretariat = directory.council.secretariat
    for principal in sorted(secretariat, key=lambda name: name != GATEWAY):
        if _has_key(directory, principal):
            return principal
    raise LinkError(
        f"no secretariat principal of {directory.council_id} ({', '.join(secretariat)}) has a"
        f" key in {directory.path / 'keys'}"
    )


def broker_as(directory: CouncilDir, broker: BrokerUrl, principal: str) -> BrokerUrl:
    """``broker`` with ``principal``'s credentials: as given when they are its already (or the
    URL names no user), else from the credentials ``council up`` wrote."""
    if broker.username is None or broker.username == principal:
        return broker
    try:
        password = Credentials.load(credentials_path(directory)).password(principal)
    except CredentialsError as error:
        raise LinkError(
            f"the link signs as {principal}, so it must connect as {principal}, not as"
            f" {broker.username}: {error}"
        ) from error
    return broker.with_credentials(principal, password)


def _has_key(directory: CouncilDir, principal: str) -> bool:
    return principal in directory.roster and directory.key_path(principal).is_file()


class LiveLink:
    """A running live council, as the gateway's :class:`~council.gateway.link.CouncilLink`."""

    mode: LinkMode = "live"

    def __init__(self, directory: CouncilDir, broker: BrokerUrl) -> None:
        self.directory = directory
        self.council = directory.council
        self.roster = directory.roster
        self.principal = link_principal(directory)
        if self.principal != GATEWAY:
            council_id = directory.council_id
            log.warning(
                "council %s has no gateway principal: signing as %s", council_id, self.principal
            )
        self._broker = broker_as(directory, broker, self.principal)
        self._quorums = directory.quorums
        self._topics = CouncilTopics(directory.council_id)
        self._issuer = (
            MemberBallotIssuer(directory.signer(GATEWAY)) if _has_key(directory, GATEWAY) else None
        )
        self._watch = CouncilWatch(self.council, self._observe, self.now_ms)
        self._sink: CouncilSink | None = None
        self._clerk: Secretariat | None = None
        self._connected = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._announced: OrderedDict[bytes, None] = OrderedDict()
        # (motion, seat) → (topic, payload, repeat until): the latest instruction for each.
        self._repeating: OrderedDict[tuple[str, int], tuple[str, bytes, float]] = OrderedDict()

    @property
    def quorums(self) -> QuorumMath:
        return self._quorums

    def now_ms(self) -> int:
        """Wall-clock ms: a motion's window outlives any process."""
        return wall_ms()

    # -- lifetime ----------------------------------------------------------------------------

    async def start(self, sink: CouncilSink) -> None:
        """Connect; a first connection that fails raises (``aiomqtt.MqttError``), later losses
        are mended in the background."""
        self._sink = sink
        clerk = self._secretariat()
        await clerk.__aenter__()
        self._tasks = [
            asyncio.create_task(self._stay_connected(clerk)),
            asyncio.create_task(self._report_traffic()),
            asyncio.create_task(self._repeat_instructions()),
        ]

    async def stop(self) -> None:
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def _secretariat(self) -> Secretariat:
        listeners = {
            TopicKind.EVENTS: self._event,
            TopicKind.PRESENCE: self._watch.presence,
            TopicKind.BROADCAST: self._watch.broadcast,
        }
        return Secretariat(self.directory, self._broker, self.principal, listeners)

    async def _stay_connected(self, clerk: Secretariat) -> None:
        while True:
            self._clerk = clerk
            self._connected.set()
            try:
                await clerk.reading  # ends only when the connection does
            except aiomqtt.MqttError as error:
                log.warning("lost the broker at %s: %s", self._broker, error)
            except Exception:
                log.exception("reading the council failed; reconnecting")
            finally:
                self._connected.clear()
                self._clerk = None
                with contextlib.suppress(aiomqtt.MqttError):
                    await clerk.__aexit__(None, None, None)
            self._watch.connection_lost()
            clerk = await self._reconnect()

    async def _reconnect(self) -> Secretariat:
        delay_s = RECONNECT_FIRST_S
        while True:
            await asyncio.sleep(delay_s)
            clerk = self._secretariat()
            try:
                await clerk.__aenter__()
            except aiomqtt.MqttError as error:
                log.warning("cannot reach the broker at %s: %s", self._broker, error)
                delay_s = min(2 * delay_s, RECONNECT_MAX_S)
                continue
            log.info("connected to the broker at %s again", self._broker)
            return clerk

    async def _connection(self, timeout_s: float) -> Secretariat:
        """The connected secretariat, waiting up to ``timeout_s`` for a lost one to return."""
        if self._clerk is None:
            try:
                await asyncio.wait_for(self._connected.wait(), timeout_s)
            except TimeoutError:
                raise TimeoutError(f"no broker connection within {timeout_s:.0f} s") from None
        if self._clerk is None:
            raise TimeoutError("the broker connection was lost")
        return self._clerk

    # -- requests and ballots ----------------------------------------------------------------

    async def request(self, operation: str, timeout_s: float) -> str:
        """Sign and submit ``operation``; the result ``f + 1`` seats agree on.

        Raises ``TimeoutError`` when no ``f + 1`` matching replies arrive in ``timeout_s``,
        the broker connection being lost meanwhile included."""
        deadline = time.monotonic() + timeout_s
        clerk = await self._connection(timeout_s)
        try:
            return await clerk.request(operation, max(0.0, deadline - time.monotonic()))
        except aiomqtt.MqttError as error:
            raise TimeoutError(f"the broker connection was lost: {error}") from error

    async def instruct_ballot(self, seat: int, motion_id: str, vote: str) -> None:
        """Publish the signed instruction that seat ``seat`` votes ``vote`` on ``motion_id``
        (:mod:`council.live.member_ballots`); its agent casts the ballot.

        Raises ``ValueError`` for a seat or vote that does not exist, :class:`LinkError` when
        the council has no gateway key, ``TimeoutError`` when the broker cannot be reached."""
        if self._issuer is None:
            raise LinkError(
                f"council {self.directory.council_id} has no gateway key: its seats take member"
                " ballots from the gateway principal only (run council init again)"
            )
        if not 1 <= seat <= self.council.n:
            raise ValueError(f"seat {seat} does not exist: the council has {self.council.n}")
        envelope = self._issuer.issue(seat, motion_id, vote)
        clerk = await self._connection(INSTRUCT_TIMEOUT_S)
        sender = self._broker.username or self.principal  # the ACL: direct/+/<broker user>
        topic = self._topics.direct(replica_principal(seat - 1), sender)
        payload = encode_bundle(self.directory.council_id, [envelope])
        try:
            await clerk.publish(topic, payload)
        except aiomqtt.MqttError as error:
            raise TimeoutError(f"the broker connection was lost: {error}") from error
        key = (motion_id, seat)
        self._repeating.pop(key, None)  # a changed vote replaces the one being repeated
        self._repeating[key] = (topic, payload, time.monotonic() + INSTRUCTION_RESEND_FOR_S)
        while len(self._repeating) > INSTRUCTIONS_REPEATED_MAX:
            self._repeating.popitem(last=False)

    async def _repeat_instructions(self) -> None:
        while True:
            await asyncio.sleep(INSTRUCTION_RESEND_EVERY_S)
            now_s = time.monotonic()
            for key, (_, _, until_s) in list(self._repeating.items()):
                if until_s < now_s:
                    del self._repeating[key]
            clerk = self._clerk
            if clerk is None:
                continue  # reconnecting: the next round sends them
            for topic, payload, _ in list(self._repeating.values()):
                with contextlib.suppress(aiomqtt.MqttError):
                    await clerk.publish(topic, payload)

    # -- what the council announces ----------------------------------------------------------

    def status(self) -> CouncilStatus:
        """The view ``f + 1`` seats report (0 until they have), its primary, and each seat."""
        view = self._watch.view or 0
        primary_seat = self._quorums.primary(view) + 1
        return CouncilStatus(view=view, primary_seat=primary_seat, seats=self._watch.seats())

    def _event(self, topic: str, data: bytes) -> None:
        if data.startswith(b'{"decision"'):
            self._decision(data)
        elif data.startswith(b'{"status"'):
            self._watch.status_event(topic, data)

    def _decision(self, data: bytes) -> None:
        digest = hashlib.sha256(data).digest()
        if digest in self._announced:
            return
        self._announced[digest] = None
        if len(self._announced) > ANNOUNCED_MAX:
            self._announced.popitem(last=False)
        try:
            record = _DecisionEvent.model_validate_json(data).decision
        except ValidationError:
            return  # not a record: nothing to verify
        if self._sink is not None:
            try:
                self._sink.decision(record)
            except Exception:  # the sink's fault must not stop the link reading
                log.exception("the gateway failed on a decision record for %s", record.motion_id)

    def _observe(self, observation: Observation) -> None:
        if self._sink is not None:
            try:
                self._sink.observe(observation)
            except Exception:
                log.exception("the gateway failed on a %s observation", observation.kind)

    async def _report_traffic(self) -> None:
        while True:
            await asyncio.sleep(TRAFFIC_EVERY_S)
            self._watch.report_traffic()

"""One live agent without its network: replica, governance, ballots, durable log.

The MQTT shell (:mod:`council.live.agent`) feeds it verified envelopes and the time, and
publishes what it returns. Everything here runs the same code as the simulator; the only
differences are the store (SQLite instead of memory) and where ballots come from: the seat's
voting policy in the council file, or its member's instructions from the front door
(:meth:`AgentCore.cast`, see :mod:`council.live.member_ballots`).

A step's effects are performed in order, with one rule that makes a kill -9 safe: every
``Persist`` record of the step is committed in one transaction before any message of the
step is handed out.
"""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field

from consensus import (
    Broadcast,
    Envelope,
    Evidence,
    Execute,
    Persist,
    PersistCheckpoint,
    Replica,
    ReplicaConfig,
    Respond,
    Send,
    StateTransferred,
    ViewEntered,
    replica_principal,
)
from consensus.client import ClientSession, reply_of
from council.behaviours.base import Node
from council.governance.app import GovernanceApplication, GovernanceRules
from council.governance.events import Closed, Opened, StatusReport, event_kind, parse_event
from council.governance.operations import ballot_operation
from council.governance.records import DecisionRecord, DecisionRecorder
from council.live.storage import AgentStore
from council.live.topics import CouncilTopics
from council.live.wire import encode_bundle

#: Builds the seat's replica around its application, from what its store held.
MakeReplica = Callable[[GovernanceApplication, list[Envelope], PersistCheckpoint | None], Replica]
#: The ballot a seat casts on an opened motion: (motion id, category) → vote, or None.
BallotPolicy = Callable[[str, str], str | None]


@dataclass(slots=True)
class Outbox:
    """What one step publishes: envelopes bundled per topic, decisions announced."""

    bundles: dict[str, list[Envelope]] = field(default_factory=dict)
    decisions: list[DecisionRecord] = field(default_factory=list)

    def add(self, topic: str, envelope: Envelope) -> None:
        self.bundles.setdefault(topic, []).append(envelope)

    def payloads(self, council_id: str) -> list[tuple[str, bytes]]:
        return [(t, encode_bundle(council_id, envs)) for t, envs in self.bundles.items()]


@dataclass(slots=True)
class AgentStats:
    executed: int = 0
    views_entered: int = 0
    highest_view: int = 0
    evidence: int = 0
    decisions: int = 0
    #: Proofs of misbehaviour this seat holds, by "culprit-seat/kind" (in its status events).
    evidence_against: Counter[str] = field(default_factory=Counter)


@dataclass(slots=True)
class AgentHistory:
    """What a scenario report needs from one agent: its views and commits over time, the
    batch digest it executed at each sequence number (agreement is checked across agents),
    what it sent by kind, and the evidence it holds against each seat."""

    views: list[tuple[int, int]] = field(default_factory=list)
    commits: list[tuple[int, int]] = field(default_factory=list)
    executed: dict[int, str] = field(default_factory=dict)
    sent_by_kind: Counter[str] = field(default_factory=Counter)
    bytes_by_kind: Counter[str] = field(default_factory=Counter)
    evidence: Counter[str] = field(default_factory=Counter)  # "seat/kind"

    def to_json(self) -> dict[str, object]:
        return {
            "views": self.views,
            "commits": self.commits,
            "executed": {str(seq): digest for seq, digest in self.executed.items()},
            "sent_by_kind": dict(self.sent_by_kind),
            "bytes_by_kind": dict(self.bytes_by_kind),
            "evidence": dict(self.evidence),
        }


class AgentCore:
    """A seat's replica, its ballot box and its durable log, driven step by step."""

    def __init__(
        self,
        *,
        seat: int,
        config: ReplicaConfig,
        rules: GovernanceRules,
        replica: Replica,
        application: GovernanceApplication,
        store: AgentStore,
        ballots: ClientSession,
        policy: BallotPolicy,
        wrap: Callable[[Replica], Node] | None = None,
    ) -> None:
        self.seat = seat
        self.id = seat - 1
        self.principal = replica_principal(self.id)
        self.config = config
        self.rules = rules
        self.topics = CouncilTopics(rules.council_id)
        self.replica = replica
        self.application = application
        self.node: Node = wrap(replica) if wrap is not None else replica
        self.store = store
        self.ballots = ballots
        self.policy = policy
        self.recorder = DecisionRecorder(rules)
        self.stats = AgentStats()
        # Kept only for scenario runs: a long-lived agent would grow it without bound.
        self.history: AgentHistory | None = None
        self._voted: set[str] = set()
        self._queued_ballots: deque[tuple[str, str]] = deque()  # (motion id, operation)

    @classmethod
    def open(
        cls,
        *,
        seat: int,
        config: ReplicaConfig,
        rules: GovernanceRules,
        make_replica: MakeReplica,
        store: AgentStore,
        ballots: ClientSession,
        policy: BallotPolicy,
        wrap: Callable[[Replica], Node] | None = None,
    ) -> AgentCore:
        """An agent resumed from whatever ``store`` holds (nothing, for a new agent)."""
        records, checkpoint = store.load()
        application = GovernanceApplication(rules)
        replica = make_replica(application, records, checkpoint)
        return cls(
            seat=seat,
            config=config,
            rules=rules,
            replica=replica,
            application=application,
            store=store,
            ballots=ballots,
            policy=policy,
            wrap=wrap,
        )

    # -- inputs ------------------------------------------------------------------------------

    def receive(self, envelope: Envelope, now_ms: int) -> None:
        """A verified envelope from the council: a protocol message, a request, or a reply to
        this seat's ballots (replies reach an agent only on its own replies topic)."""
        if envelope.kind != "reply":
            self.node.receive(envelope, now_ms)
            return
        reply = reply_of(envelope)
        if reply is not None:
            for entry in reply.results:
                self.ballots.on_reply(reply.replica, reply.view, entry, now_ms)
        self._cast_next(now_ms)

    def cast(self, motion_id: str, vote: str, now_ms: int) -> None:
        """Cast this seat's ballot on ``motion_id`` as its member instructed, even when the
        seat voted on it already: a later ordered ballot replaces the earlier one while the
        motion is open. A ballot still waiting in the queue for the motion is replaced here."""
        self._voted.add(motion_id)  # the member decides this motion, not the policy
        queued = [entry for entry in self._queued_ballots if entry[0] != motion_id]
        self._queued_ballots = deque(queued)
        self._queued_ballots.append((motion_id, ballot_operation(motion_id, vote)))
        self._cast_next(now_ms)

    def tick(self, now_ms: int) -> None:
        self.node.tick(now_ms)
        self.ballots.tick(now_ms)
        self._cast_next(now_ms)

    def _cast_next(self, now_ms: int) -> None:
        # One ballot outstanding at a time: a later timestamp executed first would make an
        # earlier ballot stale (exactly-once by client timestamp).
        if self._queued_ballots and not self.ballots.outstanding:
            _motion_id, operation = self._queued_ballots.popleft()
            self.ballots.submit(operation, now_ms)

    def next_deadline_ms(self) -> int | None:
        deadlines = [self.node.next_deadline_ms(), self.ballots.next_deadline_ms()]
        return min((d for d in deadlines if d is not None), default=None)

    # -- outputs -----------------------------------------------------------------------------

    def drain(self, now_ms: int) -> Outbox:
        """Perform the step's effects: persist first, then hand out what to publish."""
        effects = self.node.take_effects()
        records = [e.record for e in effects if isinstance(e, Persist)]
        if records:
            self.store.persist_many(records)
        outbox = Outbox()
        topics = self.topics
        for effect in effects:
            if isinstance(effect, Broadcast):
                outbox.add(topics.broadcast(self.principal), effect.envelope)
            elif isinstance(effect, Send):
                outbox.add(self._topic_for(effect.to), effect.envelope)
            elif isinstance(effect, Respond):
                for topic in topics.reply_topics(self.principal, effect.clients):
                    outbox.add(topic, effect.envelope)
            elif isinstance(effect, PersistCheckpoint):
                self.store.persist_checkpoint(effect)
            elif isinstance(effect, Execute):
                self._executed(effect, now_ms, outbox)
            elif isinstance(effect, ViewEntered):
                self.stats.views_entered += 1
                self.stats.highest_view = max(self.stats.highest_view, effect.view)
                if self.history is not None:
                    self.history.views.append((now_ms, effect.view))
            elif isinstance(effect, StateTransferred):
                # Motions opened in the stretch the state transfer skipped still get a ballot.
                for motion in self.application.motions():
                    if motion.status == "open":
                        self._consider(motion.id, now_ms)
            elif isinstance(effect, Evidence):
                self.stats.evidence += 1
                self.stats.evidence_against[f"{effect.culprit + 1}/{effect.kind}"] += 1
                if self.history is not None:
                    self.history.evidence[f"{effect.culprit + 1}/{effect.kind}"] += 1
        for effect in self.ballots.take_effects():
            if isinstance(effect, Send | Broadcast):
                outbox.add(topics.request(self.principal), effect.envelope)
        if self.history is not None:
            self._count_sent(outbox, self.history)
        return outbox

    def _count_sent(self, outbox: Outbox, history: AgentHistory) -> None:
        for topic, envelopes in outbox.bundles.items():
            copies = self.config.n - 1 if "/broadcast/" in topic else 1
            for envelope in envelopes:
                history.sent_by_kind[envelope.kind] += copies
                history.bytes_by_kind[envelope.kind] += copies * envelope.wire_size

    def _topic_for(self, principal: str) -> str:
        if principal.startswith("r") and principal[1:].isdigit():
            return self.topics.direct(principal, self.principal)
        return self.topics.reply(principal, self.principal)

    def _executed(self, effect: Execute, now_ms: int, outbox: Outbox) -> None:
        self.stats.executed += 1
        if self.history is not None:
            self.history.commits.append((now_ms, effect.seq))
            self.history.executed[effect.seq] = effect.digest
        for record in self.recorder.observe(effect):
            self.store.save_decision(record.motion_id, record.model_dump_json())
            self.stats.decisions += 1
            outbox.decisions.append(record)
        for result in effect.results:
            if event_kind(result) not in ("opened", "closed", "status"):
                continue  # ballots, refusals: nothing for this seat to do
            event = parse_event(result)
            if isinstance(event, Opened):
                self._consider(event.motion, now_ms)
            elif isinstance(event, Closed):
                self._voted.add(event.motion)
            elif isinstance(event, StatusReport) and event.status == "closed":
                # Someone asked about a decided motion: announce its record again.
                stored = self.store.decision(event.motion)
                if stored is not None:
                    outbox.decisions.append(DecisionRecord.model_validate_json(stored))

    def _consider(self, motion_id: str, now_ms: int) -> None:
        if motion_id in self._voted:
            return
        self._voted.add(motion_id)
        motion = self.application.motion(motion_id)
        if motion is not None and self.seat in motion.ballots:
            # Voted before it restarted: a second ballot would replace that vote, not be refused.
            return
        vote = self.policy(motion_id, motion.category if motion else "")
        if vote is not None:
            self._queued_ballots.append((motion_id, ballot_operation(motion_id, vote)))
            self._cast_next(now_ms)

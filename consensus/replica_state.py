"""The state every part of a replica shares, and the helpers they use to act on it.

A replica never performs I/O: it appends effects to ``self.effects`` and the shell performs them
in order. It never reads a clock: every input carries ``now_ms``.
"""

from __future__ import annotations

from dataclasses import dataclass

from consensus.application import Application
from consensus.config import ReplicaConfig
from consensus.effects import Broadcast, Effect, Evidence, Persist, Send
from consensus.log import Slot, Votes
from consensus.messages import Envelope, PrePrepare, replica_principal, seal
from consensus.verification import EnvelopeVerifier
from consensus.view_change import ViewChangeSummary
from crypto import Signer

#: Normal-case messages held for a view this replica has not entered yet (bounds memory).
DEFERRED_MESSAGES_MAX = 8192
DEFERRED_VIEWS_AHEAD_MAX = 2

#: PBFT phases whose signatures a replica must never contradict (keys of ``ReplicaState.signed``).
PHASES = ("pre-prepare", "prepare", "commit")


@dataclass(slots=True)
class StateFetch:
    """An ongoing state transfer towards a certified checkpoint; the answer carries its own
    certificate and is checked against it."""

    seq: int
    sources: tuple[int, ...]
    attempt: int = 0


class ReplicaState:
    """Fields and shared helpers of a :class:`consensus.replica.Replica`."""

    def __init__(
        self,
        config: ReplicaConfig,
        replica_id: int,
        signer: Signer,
        verifier: EnvelopeVerifier,
        application: Application,
    ) -> None:
        if not 0 <= replica_id < config.n:
            raise ValueError(f"replica id {replica_id} is not in 0..{config.n - 1}")
        if signer.principal != replica_principal(replica_id):
            raise ValueError(f"signer {signer.principal!r} does not sign for replica {replica_id}")
        self.config = config
        self.quorums = config.quorums
        self.id = replica_id
        self.principal = signer.principal
        self.principals = tuple(replica_principal(i) for i in range(config.n))
        self.signer = signer
        self.verifier = verifier
        self.application = application
        self.now_ms = 0
        self.effects: list[Effect] = []
        self.timers: dict[str, int] = {}
        self.rejected: dict[str, int] = {}
        # Views.
        self.view = 0
        self.active = True
        self.new_view_envelope: Envelope | None = None
        # When this view became active here, and when this replica last sent each peer its
        # VIEW-CHANGE or the NEW-VIEW, by (kind, view, peer): see ``may_resend``.
        self.view_entered_ms = 0
        self.view_messages_sent_ms: dict[tuple[str, int, int], int] = {}
        self.view_changes: dict[int, tuple[int, Envelope, ViewChangeSummary]] = {}
        self.view_change_attempts = 0
        # Whether the wait for this view's NEW-VIEW has begun (Q replicas want the view).
        self.new_view_awaited = False
        self.last_primary_contact_ms = 0
        # When this replica, as primary, last sent what backups count as a sign of life.
        self.last_leader_message_ms = 0
        # The log and execution.
        self.slots: dict[int, Slot] = {}
        self.stable_seq = 0
        self.stable_digest = ""
        self.stable_certificate: tuple[Envelope, ...] = ()
        self.last_executed = 0
        self.highest_seen_seq = 0
        # Replicas seen speaking in views above ours: f + 1 of them in one view mean we were
        # left behind (a restart, a partition) and should ask for that view's NEW-VIEW.
        self.higher_views: dict[int, set[int]] = {}
        # Replicas that suspect this view's primary, and when we say so again ourselves.
        self.suspicions: set[int] = set()
        self.suspect_again_ms = 0
        self.highest_accepted_seq = 0
        self.last_progress_ms = 0
        self.next_seq = 1
        self.client_table: dict[str, int] = {}
        self.last_reply: dict[str, Envelope] = {}
        # Requests known and not yet executed (a primary proposes from these) ...
        self.pending: dict[str, Envelope] = {}
        # ... and those a client sent this replica itself, which it waits for (PBFT §4.4).
        self.awaited: set[str] = set()
        self.unassigned: dict[str, Envelope] = {}
        self.in_flight: set[str] = set()
        # Checkpoints and state transfer.
        self.snapshots: dict[int, str] = {}
        self.checkpoint_votes: dict[int, Votes] = {}
        self.fetch: StateFetch | None = None
        # A checkpoint Q replicas reached while this one was still executing up to it.
        self.deferred_stable: int | None = None
        self.status_round = 0
        # What this replica signed, so that it never signs a conflicting message.
        self.signed: dict[tuple[str, int, int], str] = {}
        self.own_view_changes: dict[int, Envelope] = {}
        self.evidence_seen: set[tuple[str, int, str]] = set()
        # Messages of a view that starts here after they arrived (NEW-VIEW overtaken).
        self.deferred: dict[int, list[Envelope]] = {}
        self.deferred_count = 0

    # -- derived facts -----------------------------------------------------------------------

    @property
    def is_primary(self) -> bool:
        return self.quorums.primary(self.view) == self.id

    @property
    def primary(self) -> int:
        return self.quorums.primary(self.view)

    @property
    def high_watermark(self) -> int:
        return self.stable_seq + self.config.watermark_window

    def in_watermarks(self, seq: int) -> bool:
        return self.stable_seq < seq <= self.high_watermark

    def slot(self, seq: int) -> Slot:
        slot = self.slots.get(seq)
        if slot is None:
            slot = Slot(seq=seq, view=self.view)
            self.slots[seq] = slot
        return slot

    # -- acting ------------------------------------------------------------------------------

    def reject(self, reason: str) -> None:
        """Count a message dropped because of the peer (never our own mistake)."""
        self.rejected[reason] = self.rejected.get(reason, 0) + 1

    def may_sign(self, phase: str, view: int, seq: int, digest: str) -> bool:
        """Claim the right to sign ``digest`` for (phase, view, seq); false if that would
        contradict an earlier signature (including one from before a restart)."""
        key = (phase, view, seq)
        earlier = self.signed.get(key)
        if earlier is None:
            self.signed[key] = digest
            return True
        return earlier == digest

    def broadcast(self, envelope: Envelope, *, durable: bool = True) -> None:
        """Persist (when it is a protocol vote) then send to every other replica."""
        if durable:
            self.effects.append(Persist(envelope))
        self.effects.append(Broadcast(envelope))

    def send(self, replica: int, envelope: Envelope) -> None:
        self.effects.append(Send(replica_principal(replica), envelope))

    def may_resend(self, kind: str, view: int, peer: int) -> bool:
        """Whether to send ``peer`` this replica's ``kind`` message of ``view`` again now, and
        if so, note that it is sent.

        A VIEW-CHANGE or NEW-VIEW carries certificates, megabytes of them under load, and a
        peer still working through its backlog keeps asking (STATUS) for one that is already
        on its way. Answering every ask — ``f + 1`` responders a round — once flooded the
        broker with copies that every lagging peer then had to read, and the view never
        settled. So one copy per ``view_message_resend_ms``, counting the first sending."""
        key = (kind, view, peer)
        last_ms = self.view_messages_sent_ms.get(key)
        if last_ms is not None and self.now_ms - last_ms < self.config.view_message_resend_ms:
            return False
        self.view_messages_sent_ms[key] = self.now_ms
        return True

    def note_sent_to_all(self, kind: str, view: int) -> None:
        """``kind`` of ``view`` just went to every peer (see ``may_resend``)."""
        for peer in range(self.config.n):
            self.view_messages_sent_ms[(kind, view, peer)] = self.now_ms

    def resend_new_view(self, peer: int) -> None:
        """Send this view's NEW-VIEW to ``peer``, which seems to lack it. The view's primary
        does; the other replicas join in only once the view has been active for a view-change
        timeout, in case the primary withholds it from some."""
        if self.new_view_envelope is None or not self.active:
            return
        if not self.is_primary and (
            self.now_ms - self.view_entered_ms < self.config.view_change_timeout_ms
        ):
            return
        if self.may_resend("new-view", self.view, peer):
            self.send(peer, self.new_view_envelope)

    def evidence(self, kind: str, culprit: int, proof: tuple[Envelope, ...]) -> None:
        """Report provable misbehaviour once per (kind, culprit, proof)."""
        key = (kind, culprit, "|".join(envelope.signature[:32] for envelope in proof))
        if key in self.evidence_seen:
            return
        self.evidence_seen.add(key)
        self.effects.append(Evidence(kind=kind, culprit=culprit, proof=proof))

    def seal_pre_prepare(self, message: PrePrepare, requests: tuple[Envelope, ...]) -> Envelope:
        claimed = self.may_sign("pre-prepare", message.view, message.seq, message.digest)
        assert claimed, f"primary {self.id} would equivocate at ({message.view}, {message.seq})"
        return seal(self.signer, message, attachment=requests)

    def defer_if_ahead(self, envelope: Envelope, view: int) -> bool:
        """Keep a normal-case message for a view not yet entered; true if kept."""
        waiting_for = self.view if not self.active else self.view + 1
        if not waiting_for <= view <= self.view + DEFERRED_VIEWS_AHEAD_MAX:
            return False
        if self.deferred_count >= DEFERRED_MESSAGES_MAX:
            self.reject("deferred-messages-full")
            return False
        self.deferred.setdefault(view, []).append(envelope)
        self.deferred_count += 1
        return True

    def take_deferred(self) -> list[Envelope]:
        """The messages kept for the view just entered; older ones are dropped."""
        ready = self.deferred.pop(self.view, [])
        self.deferred = {v: kept for v, kept in self.deferred.items() if v > self.view}
        self.deferred_count = sum(len(kept) for kept in self.deferred.values())
        return ready

    def set_timer(self, name: str, delay_ms: int) -> None:
        self.timers[name] = self.now_ms + delay_ms

    def view_change_timeout_ms(self, attempts: int | None = None) -> int:
        """Exponential back-off: each unsuccessful view change doubles the wait."""
        attempts = self.view_change_attempts if attempts is None else attempts
        timeout = self.config.view_change_timeout_ms << min(max(attempts, 0), 16)
        return min(timeout, self.config.view_change_timeout_max_ms)

    # -- cross-part hooks (defined by the parts of Replica) -----------------------------------

    def start_view_change(self, new_view: int) -> None:
        raise NotImplementedError

    def execute_ready(self) -> None:
        raise NotImplementedError

    def stabilize(self, seq: int, state_digest: str, certificate: tuple[Envelope, ...]) -> None:
        raise NotImplementedError

    def maybe_propose(self, *, waited: bool = False) -> None:
        raise NotImplementedError

    def dispatch(self, envelope: Envelope) -> None:
        raise NotImplementedError

    def take_checkpoint(self, seq: int) -> None:
        raise NotImplementedError

    def accept_pre_prepare(self, envelope: Envelope, message: PrePrepare) -> None:
        raise NotImplementedError

    def invalid_batch(self, envelope: Envelope, message: PrePrepare) -> str | None:
        raise NotImplementedError

"""The PBFT replica as a pure, deterministic state machine (Castro & Liskov, OSDI'99 §4).

Theory of operation. A replica is driven by three inputs and produces effects; it never calls
out, reads a clock or draws randomness::

    replica.receive(envelope, now_ms)   # a verified message from a peer or a client
    replica.submit(envelope, now_ms)    # a client request reached this replica
    replica.tick(now_ms)                # time passed; due timers fire
    effects = replica.take_effects()    # Send, Broadcast, Respond, Execute, Persist, Evidence...
    replica.next_deadline_ms()          # when to call tick next (one timer to re-arm)

Each message kind has one handler (the table in :data:`Replica._HANDLERS` is the whole
dispatch); an unknown kind is rejected. The parts live in their own modules: normal case
(``normal_case``), checkpoints, state transfer and retransmission (``checkpointing``), view
changes (``view_changing``). A Byzantine peer's bad message is expected: it is dropped, counted
in ``rejected`` by reason, and reported as ``Evidence`` when the signatures prove misbehaviour.

Timers (name → what firing means):
- ``view``: a request or a view change waited too long → move to the next view;
- ``silence``: a backup heard nothing from the primary → move to the next view;
- ``heartbeat``: the primary has been quiet → it broadcasts a HEARTBEAT;
- ``status``: the replica is behind → it broadcasts a STATUS;
- ``fetch``: a state transfer got no answer → ask the next signer;
- ``batch``: the primary's partial batch has waited long enough → propose it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, ClassVar

from consensus.application import Application, parse_snapshot
from consensus.checkpointing import Checkpointing
from consensus.config import ReplicaConfig
from consensus.effects import Effect, PersistCheckpoint
from consensus.messages import (
    Checkpoint,
    Commit,
    Envelope,
    FetchState,
    Heartbeat,
    MalformedMessage,
    NewView,
    Prepare,
    PreparedProof,
    PrePrepare,
    Request,
    StateSnapshot,
    Status,
    Suspect,
    ViewChange,
    decode,
)
from consensus.normal_case import NormalCase
from consensus.verification import EnvelopeVerifier
from consensus.view_changing import ViewChanging
from crypto import Signer


class Replica(NormalCase, Checkpointing, ViewChanging):
    """One council member's PBFT replica."""

    _HANDLERS: ClassVar[dict[type[Any], Callable[[Any, Envelope, Any], None]]] = {
        Request: NormalCase.on_request,
        PrePrepare: NormalCase.on_pre_prepare,
        Prepare: NormalCase.on_prepare,
        Commit: NormalCase.on_commit,
        Heartbeat: NormalCase.on_heartbeat,
        Suspect: ViewChanging.on_suspect,
        Checkpoint: Checkpointing.on_checkpoint,
        FetchState: Checkpointing.on_fetch_state,
        StateSnapshot: Checkpointing.on_state_snapshot,
        Status: Checkpointing.on_status,
        ViewChange: ViewChanging.on_view_change,
        NewView: ViewChanging.on_new_view,
    }

    def __init__(
        self,
        config: ReplicaConfig,
        replica_id: int,
        signer: Signer,
        verifier: EnvelopeVerifier,
        application: Application,
        *,
        now_ms: int = 0,
    ) -> None:
        super().__init__(config, replica_id, signer, verifier, application)
        self.now_ms = now_ms
        self.last_primary_contact_ms = now_ms
        self._update_timers()

    # -- inputs ------------------------------------------------------------------------------

    def receive(self, envelope: Envelope, now_ms: int) -> None:
        """Handle a message whose signature the shell has verified."""
        self.now_ms = max(self.now_ms, now_ms)
        self.dispatch(envelope)
        self._update_timers()

    def dispatch(self, envelope: Envelope) -> None:
        """Route one message to its handler (the whole transition table is ``_HANDLERS``)."""
        try:
            message = decode(envelope)
        except MalformedMessage:
            self.reject("malformed")
            return
        handler = self._HANDLERS.get(type(message))
        if handler is None:
            self.reject(f"unexpected-{message.kind}")
            return
        sender_replica = getattr(message, "replica", None)
        if sender_replica is not None and (
            sender_replica >= self.config.n or envelope.sender != self.principals[sender_replica]
        ):
            self.reject("sender-mismatch")
            return
        view = getattr(message, "view", None)
        if sender_replica is not None and isinstance(view, int) and view > self.view:
            self.note_higher_view(view, sender_replica)
        handler(self, envelope, message)

    def submit(self, envelope: Envelope, now_ms: int) -> None:
        """A client request reached this replica (same as receiving it)."""
        self.receive(envelope, now_ms)

    def tick(self, now_ms: int) -> None:
        """Fire every timer due at ``now_ms``, earliest first."""
        self.now_ms = max(self.now_ms, now_ms)
        for name in sorted(self.timers, key=lambda timer: (self.timers[timer], timer)):
            if name in self.timers and self.timers[name] <= self.now_ms:
                del self.timers[name]
                self._fire(name)
        self._update_timers()

    def take_effects(self) -> list[Effect]:
        effects, self.effects = self.effects, []
        return effects

    def next_deadline_ms(self) -> int | None:
        return min(self.timers.values(), default=None)

    # -- timers ------------------------------------------------------------------------------

    def _fire(self, timer: str) -> None:
        if timer == "view" and not self.active and not self._view_change_quorum_reached():
            self._retransmit_view_change()
        elif timer == "view" and not self.active:
            self.start_view_change(self.view + 1)
        elif timer in ("view", "silence"):
            self.suspect_primary()
        elif timer == "heartbeat":
            quiet_ms = self.now_ms - self.last_leader_message_ms
            if self.active and self.is_primary and quiet_ms >= self.config.heartbeat_interval_ms:
                self.send_heartbeat()
        elif timer == "status":
            # Only a replica that is behind *and* made no progress for a while asks peers.
            stalled_ms = self.now_ms - self.last_progress_ms
            if self.is_behind() and stalled_ms >= self.config.status_interval_ms:
                self.send_status()
        elif timer == "fetch":
            self.on_fetch_timer()
        elif timer == "catch-up":
            self.on_catch_up_timer()
        elif timer == "batch":
            self.maybe_propose(waited=True)

    def _retransmit_view_change(self) -> None:
        """Send our VIEW-CHANGE for this view again (it may have been lost) and wait again."""
        own = self.own_view_changes.get(self.view)
        if own is not None:
            self._record_view_change(own)
            self.send_view_change(own, self.view)  # persisted when it was first signed
        self.timers["view"] = self.now_ms + self.view_change_timeout_ms()

    def _update_timers(self) -> None:
        """Arm or disarm timers to match the state; called after every input."""
        timers = self.timers
        if self.active:
            waiting = bool(self.awaited) or self.highest_accepted_seq > self.last_executed
            if waiting and "view" not in timers:
                timers["view"] = max(
                    self.now_ms + self.view_change_timeout_ms(), self.suspect_again_ms
                )
            elif not waiting:
                timers.pop("view", None)
            if self.is_primary:
                timers.pop("silence", None)
                if "heartbeat" not in timers:
                    timers["heartbeat"] = self.now_ms + self.config.heartbeat_interval_ms
            else:
                timers.pop("heartbeat", None)
                timers["silence"] = max(
                    self.last_primary_contact_ms + self.config.primary_silence_timeout_ms,
                    self.suspect_again_ms,
                )
        if "status" not in timers and self.is_behind():
            timers["status"] = self.now_ms + self.config.status_interval_ms

    # -- recovery ----------------------------------------------------------------------------

    @classmethod
    def recover(
        cls,
        config: ReplicaConfig,
        replica_id: int,
        signer: Signer,
        verifier: EnvelopeVerifier,
        application: Application,
        *,
        records: Iterable[Envelope],
        checkpoint: PersistCheckpoint | None,
        now_ms: int,
    ) -> Replica:
        """Rebuild a replica after a crash from what it persisted.

        It resumes from its last stable checkpoint, remembers every vote it signed so it never
        contradicts one, restores the prepared certificates it held so its next VIEW-CHANGE
        still carries them, and catches up through retransmission or state transfer.
        """
        replica = cls(config, replica_id, signer, verifier, application, now_ms=now_ms)
        if checkpoint is not None:
            seq, application_state, client_table = parse_snapshot(checkpoint.snapshot)
            application.restore(application_state)
            replica.client_table = client_table
            replica.last_executed = replica.stable_seq = seq
            replica.stable_certificate = checkpoint.certificate
            replica.snapshots[seq] = checkpoint.snapshot
            replica.next_seq = seq + 1
        records = list(records)
        highest_view, waiting_for_new_view = 0, False
        for envelope in records:
            if envelope.sender != replica.principal:
                continue  # a certificate's part, restored below
            view, is_view_change = replica._replay_own(envelope)
            if view > highest_view or (view == highest_view and not is_view_change):
                highest_view, waiting_for_new_view = view, is_view_change
        replica._restore_prepared_certificates(records)
        replica.view = highest_view
        replica.active = not waiting_for_new_view
        if waiting_for_new_view:
            replica.timers["view"] = now_ms + replica.view_change_timeout_ms()
        replica.timers.pop("silence", None)
        replica._update_timers()
        return replica

    def _restore_prepared_certificates(self, records: list[Envelope]) -> None:
        """Rebuild, per seq, the highest-view prepared certificate that was persisted, so the
        next VIEW-CHANGE carries it as if the replica had never stopped."""
        pre_prepares: list[tuple[PrePrepare, Envelope]] = []
        prepares: dict[tuple[int, int, str], dict[int, Envelope]] = {}
        for envelope in records:
            message = decode(envelope)
            if isinstance(message, PrePrepare) and message.seq > self.stable_seq:
                pre_prepares.append((message, envelope))
            elif isinstance(message, Prepare):
                key = (message.view, message.seq, message.digest)
                prepares.setdefault(key, {})[message.replica] = envelope
        for pre_prepare, envelope in pre_prepares:
            votes = prepares.get((pre_prepare.view, pre_prepare.seq, pre_prepare.digest), {})
            backups = sorted(set(votes) - {self.quorums.primary(pre_prepare.view)})
            if len(backups) < self.quorums.quorum - 1:
                continue
            slot = self.slot(pre_prepare.seq)
            if pre_prepare.view > slot.prepared_view:
                slot.prepared_proof = PreparedProof(
                    pre_prepare=envelope.detached(),
                    prepares=tuple(votes[backup] for backup in backups),
                )
                slot.prepared_pre_prepare = envelope
                slot.prepared_view = pre_prepare.view

    def _replay_own(self, envelope: Envelope) -> tuple[int, bool]:
        """Re-learn one of our signed messages; its view and whether it is a VIEW-CHANGE."""
        message = decode(envelope)
        if isinstance(message, PrePrepare | Prepare | Commit):
            if message.seq > self.stable_seq:
                self.signed[(message.kind, message.view, message.seq)] = message.digest
            if isinstance(message, PrePrepare) and message.view >= self.view:
                self.next_seq = max(self.next_seq, message.seq + 1)
            return message.view, False
        if isinstance(message, ViewChange):
            self.own_view_changes[message.new_view] = envelope
            return message.new_view, True
        if isinstance(message, NewView):
            self.new_view_envelope = envelope
            for pre_prepare_envelope in message.pre_prepares:
                self._replay_own(pre_prepare_envelope)
            return message.view, False
        return 0, False

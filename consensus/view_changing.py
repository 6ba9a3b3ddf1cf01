"""View changes: timers, VIEW-CHANGE, NEW-VIEW, and joining a view change
(Castro & Liskov, OSDI'99 §4.4–4.5.2).

A backup that waits too long for a request to execute, or hears nothing from the primary,
moves to the next view and broadcasts a VIEW-CHANGE with its stable checkpoint proof (C) and
its prepared certificates (P). Each failed attempt doubles the timeout. A replica that sees
``f + 1`` VIEW-CHANGEs for higher views joins the smallest of them, so a faulty minority can
neither start nor stall a view change. The new primary sends NEW-VIEW with ``Q`` VIEW-CHANGEs
(V) and the pre-prepares it derived from them (O); backups recompute O and reject a mismatch.
"""

from __future__ import annotations

from consensus.effects import Persist, ViewEntered
from consensus.messages import Envelope, NewView, PrePrepare, Suspect, ViewChange, decode, seal
from consensus.replica_state import ReplicaState
from consensus.view_change import (
    NewViewPlan,
    check_checkpoint_certificate,
    check_new_view,
    check_view_change,
    plan_new_view,
)


class ViewChanging(ReplicaState):
    def start_view_change(self, new_view: int) -> None:
        """Leave the current view and vote for ``new_view``."""
        if new_view <= self.view:
            return
        self._move_to_view(new_view)
        self.active = False
        envelope = self.own_view_changes.get(new_view)
        if envelope is None:
            slots = [
                slot
                for seq, slot in sorted(self.slots.items())
                if seq > self.stable_seq and slot.prepared_proof is not None
            ]
            message = ViewChange(
                new_view=new_view,
                replica=self.id,
                stable_seq=self.stable_seq,
                checkpoint_proof=self.stable_certificate,
                prepared=tuple(slot.prepared_proof for slot in slots if slot.prepared_proof),
            )
            batches = tuple(s.prepared_pre_prepare for s in slots if s.prepared_pre_prepare)
            envelope = seal(self.signer, message, attachment=batches)
            self.own_view_changes = {
                view: own for view, own in self.own_view_changes.items() if view > self.view - 2
            }
            self.own_view_changes[new_view] = envelope
        self.effects.append(Persist(envelope))
        self.send_view_change(envelope, new_view)
        self._record_view_change(envelope)
        self.timers["view"] = self.now_ms + self.view_change_timeout_ms()
        self.view_change_attempts += 1
        self._await_new_view()
        self._try_new_view()

    def suspect_primary(self) -> None:
        """A timer says this view's primary failed. Say so, and keep working in the view:
        leaving it alone would strand a replica that was merely cut off, in a view change the
        others never join and that it could not come back from (its VIEW-CHANGE is signed)."""
        suspect = seal(self.signer, Suspect(view=self.view, replica=self.id))
        self.broadcast(suspect, durable=False)
        self.suspect_again_ms = self.now_ms + self.config.primary_silence_timeout_ms
        self._count_suspicion(self.id)

    def on_suspect(self, envelope: Envelope, message: Suspect) -> None:
        if message.view == self.view and self.active:
            self._count_suspicion(message.replica)

    def _count_suspicion(self, replica: int) -> None:
        self.suspicions.add(replica)
        if len(self.suspicions) >= self.quorums.weak:
            self.start_view_change(self.view + 1)

    def _move_to_view(self, view: int) -> None:
        self.view = view
        self.new_view_awaited = False
        self.suspicions = set()
        self.suspect_again_ms = 0
        self.new_view_envelope = None
        for slot in self.slots.values():
            slot.reset_for_view(view)
        self.in_flight.clear()
        self.unassigned.clear()
        self.highest_accepted_seq = 0
        for name in ("silence", "heartbeat"):
            self.timers.pop(name, None)

    def send_view_change(self, envelope: Envelope, new_view: int) -> None:
        """Only the new primary gets the batches of our prepared slots: it re-proposes them,
        and its NEW-VIEW carries them to everyone. The others get the signed message alone,
        which is all they check — under load the batches were most of a VIEW-CHANGE's bytes,
        and every replica read every one of them."""
        primary = self.quorums.primary(new_view)
        bare = envelope.detached()
        for replica in range(self.config.n):
            if replica != self.id:
                self.send(replica, envelope if replica == primary else bare)
        self.note_sent_to_all("view-change", new_view)

    def _record_view_change(self, envelope: Envelope) -> bool:
        message = decode(envelope)
        assert isinstance(message, ViewChange)
        earlier = self.view_changes.get(message.replica)
        if earlier is not None and earlier[0] >= message.new_view:
            return False
        leads = self.quorums.primary(message.new_view) == self.id
        summary = check_view_change(
            self.verifier, self.config, envelope, message, require_batches=leads
        )
        if summary is None:
            if leads and check_view_change(self.verifier, self.config, envelope, message):
                # Only the batches were bad, and the attachment is unsigned: not evidence.
                self.reject("view-change-batches-mismatch")
                return False
            self.reject("view-change-invalid")
            self.evidence("invalid-view-change", message.replica, (envelope,))
            return False
        self.view_changes[message.replica] = (message.new_view, envelope, summary)
        return True

    def on_view_change(self, envelope: Envelope, message: ViewChange) -> None:
        if message.replica == self.id:
            return
        if message.new_view < self.view or (message.new_view == self.view and self.active):
            # The sender is behind: the primary shows it how this view began.
            if self.is_primary:
                self.resend_new_view(message.replica)
            return
        if not self._record_view_change(envelope):
            return
        self._join_higher_view_change()
        self._await_new_view()
        self._try_new_view()

    def _view_change_quorum_reached(self) -> bool:
        """Whether ``Q`` replicas have voted for this view or a later one. Only then may a
        view change that got no NEW-VIEW time out into the next view (OSDI'99 §4.5.2): a
        replica cut off from the others, or restarted with a short back-off, must not race
        ahead alone, or the council ends up spread over views that never meet again."""
        voted = sum(1 for view, _, _ in self.view_changes.values() if view >= self.view)
        return voted >= self.quorums.quorum

    def _await_new_view(self) -> None:
        """Once ``Q`` replicas want this view, give its primary a full timeout to send NEW-VIEW
        (OSDI'99 §4.5.2). Counting from our own VIEW-CHANGE instead would blame the primary for
        the time the others took to join, and under load, where reading everyone's
        VIEW-CHANGE takes seconds, replicas would give up on each view just as it came."""
        if self.active or self.new_view_awaited or not self._view_change_quorum_reached():
            return
        self.new_view_awaited = True
        # The back-off of the view change under way (``attempts`` already counts it).
        self.timers["view"] = self.now_ms + self.view_change_timeout_ms(
            self.view_change_attempts - 1
        )

    def _join_higher_view_change(self) -> None:
        """``f + 1`` replicas want views above ours: at least one is correct, so join the
        smallest view of the best such set."""
        higher = sorted(
            (view for replica, (view, _, _) in self.view_changes.items() if replica != self.id),
            reverse=True,
        )
        higher = [view for view in higher if view > self.view]
        if len(higher) >= self.quorums.weak:
            self.start_view_change(higher[self.quorums.weak - 1])

    def _try_new_view(self) -> None:
        """The new primary sends NEW-VIEW once it holds ``Q`` valid VIEW-CHANGEs."""
        if self.active or not self.is_primary:
            return
        votes = sorted(
            (replica, envelope, summary)
            for replica, (view, envelope, summary) in self.view_changes.items()
            if view == self.view
        )
        if len(votes) < self.quorums.quorum:
            return
        votes = votes[: self.quorums.quorum]
        plan = plan_new_view(self.view, [summary for _, _, summary in votes])
        pre_prepares = tuple(
            self.seal_pre_prepare(
                PrePrepare(view=self.view, seq=assignment.seq, digest=assignment.digest),
                assignment.requests,
            )
            for assignment in plan.assignments
        )
        new_view = seal(
            self.signer,
            NewView(
                view=self.view,
                view_changes=tuple(envelope.detached() for _, envelope, _ in votes),
                pre_prepares=pre_prepares,
            ),
        )
        self.broadcast(new_view)
        self._enter_view(plan, pre_prepares, new_view)
        self.note_sent_to_all("new-view", self.view)

    def on_new_view(self, envelope: Envelope, message: NewView) -> None:
        if message.view < self.view or (message.view == self.view and self.active):
            return
        if envelope.sender != self.principals[self.quorums.primary(message.view)]:
            # Signed by someone else, it proves nothing against the view's primary and must
            # not make us give up on a view whose real NEW-VIEW may still come.
            self.reject("new-view-not-from-primary")
            return
        # The view-changes this replica received itself were checked on arrival.
        known = {
            own.signature: (own, summary)
            for view, own, summary in self.view_changes.values()
            if view == message.view
        }
        checked = check_new_view(self.verifier, self.config, envelope, message, known)
        if isinstance(checked, str):
            self.reject("new-view-invalid")
            self.evidence("invalid-new-view", self.quorums.primary(message.view), (envelope,))
            if message.view == self.view:
                self.start_view_change(self.view + 1)
            return
        plan, pre_prepares = checked
        self._enter_view(plan, pre_prepares, envelope)

    def _enter_view(
        self, plan: NewViewPlan, pre_prepares: tuple[Envelope, ...], new_view: Envelope
    ) -> None:
        if plan.view != self.view:
            self._move_to_view(plan.view)
        self.active = True
        self.new_view_envelope = new_view
        self.view_entered_ms = self.now_ms
        self.view_messages_sent_ms = {
            key: at for key, at in self.view_messages_sent_ms.items() if key[1] >= self.view
        }
        self.view_changes = {r: v for r, v in self.view_changes.items() if v[0] > self.view}
        self.timers.pop("view", None)
        self.last_primary_contact_ms = self.last_progress_ms = self.now_ms
        self.effects.append(ViewEntered(self.view))
        if plan.stable_seq > self.stable_seq:
            digest = check_checkpoint_certificate(
                self.verifier, self.config, plan.stable_seq, plan.checkpoint_proof
            )
            assert digest, "NEW-VIEW's checkpoint proof was checked with its view-change"
            self.stabilize(plan.stable_seq, digest, plan.checkpoint_proof)
        last_assigned = plan.assignments[-1].seq if plan.assignments else plan.stable_seq
        self.next_seq = max(last_assigned, self.stable_seq, self.last_executed) + 1
        for envelope in pre_prepares:
            pre_prepare = decode(envelope)
            assert isinstance(pre_prepare, PrePrepare)
            if not self.in_watermarks(pre_prepare.seq):
                continue
            if not self.is_primary and self.invalid_batch(envelope, pre_prepare):
                self.start_view_change(self.view + 1)
                return
            self.accept_pre_prepare(envelope, pre_prepare)
        self.unassigned = {d: e for d, e in self.pending.items() if d not in self.in_flight}
        for deferred in self.take_deferred():
            self.dispatch(deferred)
        self.maybe_propose()

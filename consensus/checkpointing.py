"""Checkpoints, garbage collection, state transfer and retransmission
(OSDI'99 §4.3; TOCS 2002 §5.2–5.3 for status messages and state transfer).

Every ``checkpoint_interval`` sequence numbers a replica signs a CHECKPOINT with the digest of
its state. ``Q`` matching CHECKPOINTs make a stable checkpoint certificate: the low watermark
moves up and the log below it is discarded. A replica that learns of a stable checkpoint above
what it executed fetches the state from a signer of the certificate and checks it against the
certified digest before adopting it. A replica that is waiting for something broadcasts a
STATUS; ``f + 1`` peers (rotating each round) answer with what it lacks.
"""

from __future__ import annotations

from consensus.application import checkpoint_snapshot, parse_snapshot, snapshot_digest
from consensus.effects import PersistCheckpoint, StateTransferred
from consensus.log import Votes
from consensus.messages import (
    Checkpoint,
    Envelope,
    FetchState,
    Request,
    StateSnapshot,
    Status,
    decode,
    seal,
)
from consensus.replica_state import ReplicaState, StateFetch
from consensus.view_change import check_checkpoint_certificate

#: Distinct future checkpoint sequence numbers tracked at once; bounds what peers can make us hold.
CHECKPOINT_SEQS_MAX = 16


#: Distinct higher views remembered; a faulty replica cannot grow this without bound.
HIGHER_VIEWS_MAX = 64


class Checkpointing(ReplicaState):
    # -- checkpoints -------------------------------------------------------------------------

    def take_checkpoint(self, seq: int) -> None:
        snapshot = checkpoint_snapshot(seq, self.application.snapshot(), self.client_table)
        self.snapshots[seq] = snapshot
        checkpoint = Checkpoint(seq=seq, state_digest=snapshot_digest(snapshot), replica=self.id)
        envelope = seal(self.signer, checkpoint)
        self.broadcast(envelope)
        self._count_checkpoint(envelope, checkpoint)

    def on_checkpoint(self, envelope: Envelope, message: Checkpoint) -> None:
        if message.seq <= self.stable_seq:
            return
        if message.seq % self.config.checkpoint_interval:
            self.reject("checkpoint-off-interval")
            return
        self.highest_seen_seq = max(self.highest_seen_seq, message.seq)
        self._count_checkpoint(envelope, message)

    def _count_checkpoint(self, envelope: Envelope, message: Checkpoint) -> None:
        votes = self.checkpoint_votes.get(message.seq)
        if votes is None:
            if len(self.checkpoint_votes) >= CHECKPOINT_SEQS_MAX:
                # Evict the highest: bogus far-future checkpoints never crowd out real ones.
                highest = max(self.checkpoint_votes)
                if highest < message.seq:
                    return
                del self.checkpoint_votes[highest]
            votes = self.checkpoint_votes[message.seq] = Votes()
        earlier = votes.add(message.replica, message.state_digest, envelope)
        if earlier is not None:
            self.evidence("equivocation", message.replica, (earlier, envelope))
            return
        if votes.count(message.state_digest) >= self.quorums.quorum:
            certificate = votes.certificate(message.state_digest)
            self.stabilize(message.seq, message.state_digest, certificate)

    def stabilize(
        self, seq: int, state_digest: str, certificate: tuple[Envelope, ...], *, wait: bool = True
    ) -> None:
        """Make ``seq`` the stable checkpoint: move the low watermark and collect garbage.

        A replica that holds every batch up to ``seq`` but still waits for some of their votes
        was merely overtaken by the others' checkpoints (relayed votes take two hops, a
        checkpoint one): it waits a status interval to execute up to ``seq`` itself rather than
        drop those slots and fetch the state it is about to compute (``wait``)."""
        if seq <= self.stable_seq:
            return
        if wait and self.last_executed < seq and self._holds_batches_up_to(seq):
            if self.deferred_stable is None or self.deferred_stable < seq:
                self.deferred_stable = seq
                self.set_timer("catch-up", self.config.status_interval_ms)
            return  # our own checkpoint at seq completes the quorum again when we get there
        if self.deferred_stable is not None and self.deferred_stable <= seq:
            self.deferred_stable = None
            self.timers.pop("catch-up", None)
        self.stable_seq = seq
        self.stable_digest = state_digest
        self.stable_certificate = certificate
        self._collect_garbage(seq)
        if self.last_executed < seq:
            self._begin_state_transfer(seq, certificate)
        else:
            snapshot = self.snapshots.get(seq)
            if snapshot is not None and snapshot_digest(snapshot) == state_digest:
                self.effects.append(PersistCheckpoint(seq, certificate, snapshot))
            else:
                self.reject("own-checkpoint-differs-from-certificate")
        self.maybe_propose()

    def _holds_batches_up_to(self, seq: int) -> bool:
        return all(
            (slot := self.slots.get(s)) is not None and slot.pre_prepare is not None
            for s in range(self.last_executed + 1, seq + 1)
        )

    def on_catch_up_timer(self) -> None:
        """Still short of the checkpoint the others reached: fetch its state after all."""
        seq, self.deferred_stable = self.deferred_stable, None
        votes = self.checkpoint_votes.get(seq) if seq is not None else None
        if seq is None or votes is None or seq <= self.stable_seq:
            return
        for digest in votes.by_digest:
            if votes.count(digest) >= self.quorums.quorum:
                self.stabilize(seq, digest, votes.certificate(digest), wait=False)
                return

    def _collect_garbage(self, seq: int) -> None:
        self.slots = {s: slot for s, slot in self.slots.items() if s > seq}
        self.checkpoint_votes = {s: v for s, v in self.checkpoint_votes.items() if s > seq}
        self.snapshots = {s: snap for s, snap in self.snapshots.items() if s >= seq}
        self.signed = {key: digest for key, digest in self.signed.items() if key[2] > seq}

    # -- state transfer ----------------------------------------------------------------------

    def _begin_state_transfer(self, seq: int, certificate: tuple[Envelope, ...]) -> None:
        """Fetch the state at ``seq`` from the signers of its certificate, one at a time."""
        if self.fetch is not None and self.fetch.seq >= seq:
            return
        signers = {self._checkpoint_signer(checkpoint) for checkpoint in certificate}
        sources = tuple(sorted(signers - {self.id}))
        self.fetch = StateFetch(seq, sources)
        self._request_state()

    @staticmethod
    def _checkpoint_signer(envelope: Envelope) -> int:
        checkpoint = decode(envelope)
        assert isinstance(checkpoint, Checkpoint)  # certificates are checked before use
        return checkpoint.replica

    def _request_state(self) -> None:
        assert self.fetch is not None
        source = self.fetch.sources[self.fetch.attempt % len(self.fetch.sources)]
        self.fetch.attempt += 1
        self.send(source, seal(self.signer, FetchState(replica=self.id, seq=self.fetch.seq)))
        self.set_timer("fetch", 2 * self.config.status_interval_ms)

    def on_fetch_timer(self) -> None:
        if self.fetch is not None:
            self._request_state()

    def on_fetch_state(self, envelope: Envelope, message: FetchState) -> None:
        snapshot = self.snapshots.get(self.stable_seq)
        if self.stable_seq < message.seq or snapshot is None:
            return  # cannot help; the fetcher asks another signer
        answer = StateSnapshot(
            replica=self.id,
            seq=self.stable_seq,
            snapshot=snapshot,
            certificate=self.stable_certificate,
        )
        self.send(message.replica, seal(self.signer, answer))

    def on_state_snapshot(self, envelope: Envelope, message: StateSnapshot) -> None:
        if message.seq <= self.last_executed:
            return
        certified = check_checkpoint_certificate(
            self.verifier, self.config, message.seq, message.certificate
        )
        if not certified:
            self.reject("state-snapshot-uncertified")
            return
        if snapshot_digest(message.snapshot) != certified:
            self.evidence("state-snapshot-mismatch", message.replica, (envelope,))
            return
        try:
            seq, application_state, client_table = parse_snapshot(message.snapshot)
        except ValueError:
            self.reject("state-snapshot-malformed")
            return
        if seq != message.seq:
            self.reject("state-snapshot-malformed")
            return
        self.application.restore(application_state)
        self.client_table = client_table
        self.last_executed = seq
        self.snapshots[seq] = message.snapshot
        self.pending = {d: e for d, e in self.pending.items() if self._still_pending(e)}
        self.unassigned = {d: e for d, e in self.unassigned.items() if d in self.pending}
        self.awaited = {d for d in self.awaited if d in self.pending}
        if seq > self.stable_seq:
            self.stable_seq = seq
            self.stable_digest = certified
            self.stable_certificate = message.certificate
            self._collect_garbage(seq)
        self.effects.append(PersistCheckpoint(seq, message.certificate, message.snapshot))
        self.effects.append(StateTransferred(seq))
        self.last_progress_ms = self.now_ms
        if self.fetch is not None and self.fetch.seq <= seq:
            self.fetch = None
            self.timers.pop("fetch", None)
        self.execute_ready()

    def _still_pending(self, envelope: Envelope) -> bool:
        request = decode(envelope)
        assert isinstance(request, Request)
        return request.timestamp > self.client_table.get(request.client, 0)

    # -- status and retransmission -----------------------------------------------------------

    def is_behind(self) -> bool:
        """Whether this replica waits on peers and should ask them with STATUS."""
        return (
            not self.active
            or self.fetch is not None
            or bool(self.awaited)
            or self.highest_seen_seq > self.last_executed
            or self.left_behind_view() is not None
        )

    def note_higher_view(self, view: int, replica: int) -> None:
        """``replica`` spoke in ``view``, above ours. A STATUS from us then fetches that view's
        NEW-VIEW (peers resend it to a replica in a lower view), which we check and enter."""
        self.higher_views.setdefault(view, set()).add(replica)
        if len(self.higher_views) > HIGHER_VIEWS_MAX:
            del self.higher_views[max(self.higher_views)]  # far-off claims go first

    def left_behind_view(self) -> int | None:
        """The highest view above ours that ``f + 1`` replicas (one of them correct) are in."""
        self.higher_views = {v: r for v, r in self.higher_views.items() if v > self.view}
        views = [
            v for v, replicas in self.higher_views.items() if len(replicas) >= self.quorums.weak
        ]
        return max(views, default=None)

    def send_status(self) -> None:
        status = Status(
            view=self.view,
            replica=self.id,
            active=self.active,
            last_executed=self.last_executed,
            stable_seq=self.stable_seq,
            round=self.status_round,
        )
        self.status_round += 1
        self.broadcast(seal(self.signer, status), durable=False)

    def _answers_status(self, message: Status) -> bool:
        """``f + 1`` responders per round, rotating so a faulty set cannot starve anyone."""
        helpers = self.quorums.f + 1
        offset = (self.id - message.replica - 1 - message.round * helpers) % self.config.n
        return offset < helpers

    def on_status(self, envelope: Envelope, message: Status) -> None:
        if message.replica == self.id or not self._answers_status(message):
            return
        peer = message.replica
        if message.view > self.view or (message.view == self.view and not message.active):
            own = self.own_view_changes.get(message.view)
            if own is not None and self.may_resend("view-change", message.view, peer):
                # Retransmit the view change the peer is collecting; as at first, only the new
                # primary needs the batches.
                leads = self.quorums.primary(message.view) == peer
                self.send(peer, own if leads else own.detached())
        if not self.active:
            return
        behind_view = message.view < self.view or not message.active
        if behind_view and message.view <= self.view:
            self.resend_new_view(peer)
        if message.last_executed < self.stable_seq and self.stable_certificate:
            for checkpoint in self.stable_certificate:
                self.send(peer, checkpoint)
        if message.view == self.view and message.active:
            self._retransmit_log(peer, message.last_executed)

    def _retransmit_log(self, peer: int, peer_last_executed: int) -> None:
        # A committed slot travels with its certificates so the peer commits too; for one
        # still in progress the pre-prepare and our own votes let the peer take part.
        first = max(peer_last_executed, self.stable_seq) + 1
        for seq in range(first, first + self.config.retransmit_seq_max):
            slot = self.slots.get(seq)
            if slot is None or slot.pre_prepare is None or slot.digest is None:
                break
            self.send(peer, slot.pre_prepare)
            prepares = slot.prepares.certificate(slot.digest)
            commits = slot.commits.certificate(slot.digest)
            if not slot.committed:
                prepares = tuple(p for p in prepares if p.sender == self.principal)
                commits = tuple(c for c in commits if c.sender == self.principal)
            for vote in prepares + commits:
                self.send(peer, vote)

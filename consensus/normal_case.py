"""Normal-case operation: requests, batching, PRE-PREPARE, PREPARE, COMMIT, execution
(Castro & Liskov, OSDI'99 §4.1–4.3; batching and the sliding window of TOCS 2002 §5.1).

Every handler starts with guards that ignore or reject the message; only a message that passes
all of them changes state. The primary keeps up to ``in_flight_max`` full batches in flight
inside the watermarks, but only one partial batch: requests that arrive meanwhile wait and form
the next batch, so batches grow with the load and an idle council still answers at once.
"""

from __future__ import annotations

from typing import cast

from consensus.effects import Broadcast, Execute, Persist, Respond
from consensus.log import Slot
from consensus.messages import (
    Commit,
    Envelope,
    Heartbeat,
    Prepare,
    PreparedProof,
    PrePrepare,
    Reply,
    ReplyEntry,
    Request,
    batch_digest,
    decode,
    replica_principal,
    seal,
)
from consensus.replica_state import ReplicaState

#: Requests a replica holds before it has ordered them; beyond this new ones are refused.
PENDING_REQUESTS_MAX = 65_536


class NormalCase(ReplicaState):
    # -- requests ----------------------------------------------------------------------------

    def on_request(self, envelope: Envelope, request: Request) -> None:
        if envelope.sender != request.client:
            self.reject("request-not-signed-by-client")
            return
        last_timestamp = self.client_table.get(request.client, 0)
        if request.timestamp <= last_timestamp:
            # A retransmission of the last request gets the reply again (exactly-once).
            reply = self.last_reply.get(request.client)
            if reply is not None and request.timestamp == last_timestamp:
                self.effects.append(Respond((request.client,), reply))
            return
        digest = envelope.request_digest()
        if digest in self.pending:
            self.awaited.add(digest)
            return
        if len(self.pending) >= PENDING_REQUESTS_MAX:
            self.reject("pending-requests-full")
            return
        self.pending[digest] = envelope
        self.awaited.add(digest)
        if digest not in self.in_flight:
            self.unassigned[digest] = envelope
        self.maybe_propose()

    def maybe_propose(self, *, waited: bool = False) -> None:
        """The primary fills free sequence numbers inside the window with batches.

        Full batches go out while fewer than ``in_flight_max`` are in flight. A partial batch
        waits until the pipeline is empty and then ``batch_wait_ms`` more (``waited``), so
        that requests arriving together are ordered together.
        """
        if not (self.active and self.is_primary):
            return
        while self.unassigned and self.next_seq <= self.high_watermark:
            in_flight = self.next_seq - 1 - self.last_executed
            if in_flight >= self.config.in_flight_max:
                return
            if len(self.unassigned) < self.config.batch_size_max:
                if in_flight:
                    return
                if not waited:
                    self.timers.setdefault("batch", self.now_ms + self.config.batch_wait_ms)
                    return
            batch = self._take_batch()
            if not batch:
                return
            self._propose(batch)

    def _take_batch(self) -> tuple[Envelope, ...]:
        batch: list[Envelope] = []
        clients_in_batch: dict[str, int] = {}
        for digest in list(self.unassigned):
            if len(batch) >= self.config.batch_size_max:
                break
            envelope = self.unassigned.pop(digest)
            request = decode(envelope)
            assert isinstance(request, Request)
            if request.timestamp <= self.client_table.get(request.client, 0):
                self.pending.pop(digest, None)  # executed meanwhile
                self.awaited.discard(digest)
                continue
            if clients_in_batch.get(request.client, 0) >= request.timestamp:
                self.unassigned[digest] = envelope  # keep a client's requests in order
                continue
            clients_in_batch[request.client] = request.timestamp
            batch.append(envelope)
        return tuple(batch)

    def _propose(self, requests: tuple[Envelope, ...]) -> None:
        message = PrePrepare(view=self.view, seq=self.next_seq, digest=batch_digest(requests))
        self.next_seq += 1
        envelope = self.seal_pre_prepare(message, requests)
        self.broadcast(envelope)
        self.last_leader_message_ms = self.now_ms
        self.accept_pre_prepare(envelope, message)

    # -- pre-prepare -------------------------------------------------------------------------

    def on_pre_prepare(self, envelope: Envelope, message: PrePrepare) -> None:
        if not self.active or message.view != self.view:
            self.defer_if_ahead(envelope, message.view)
            return
        if envelope.sender != replica_principal(self.primary):
            self.reject("pre-prepare-not-from-primary")
            return
        self.last_primary_contact_ms = self.now_ms
        if not self.in_watermarks(message.seq):
            # Not a sign that we are behind: one faulty primary's far-off number would keep
            # every correct replica asking for STATUS. Checkpoints tell a replica it lags.
            self.reject("pre-prepare-outside-watermarks")
            return
        self.highest_seen_seq = max(self.highest_seen_seq, message.seq)
        slot = self.slot(message.seq)
        if slot.pre_prepare is not None:
            if slot.digest != message.digest:
                self.evidence("equivocation", self.primary, (slot.pre_prepare, envelope))
                self.start_view_change(self.view + 1)
            return
        problem = self.invalid_batch(envelope, message)
        if problem == "pre-prepare-digest-mismatch":
            self.reject(problem)  # the attachment is unsigned: ask again rather than accuse
            return
        if problem is not None:
            self.reject(problem)
            self.evidence(problem, self.primary, (envelope,))
            self.start_view_change(self.view + 1)
            return
        self.accept_pre_prepare(envelope, message)

    def invalid_batch(self, envelope: Envelope, message: PrePrepare) -> str | None:
        """Why the batch attached to a pre-prepare is unacceptable, or ``None``.

        A batch that does not match the signed digest may have been damaged in transit; a batch
        that matches it but holds bad requests was signed off by the primary: evidence."""
        memo = envelope.memo
        checked = memo.get("batch_check")
        if checked is not None and checked[0] is self.verifier and checked[1] is self.config:
            return cast("str | None", checked[2])
        problem = self._check_batch(message, envelope.attachment)
        # The verdict depends only on the bytes, the roster and the config: reuse it.
        memo["batch_check"] = (self.verifier, self.config, problem)
        return problem

    def _check_batch(self, message: PrePrepare, requests: tuple[Envelope, ...]) -> str | None:
        if message.digest != batch_digest(requests):
            return "pre-prepare-digest-mismatch"
        if len(requests) > self.config.batch_size_max:
            return "pre-prepare-batch-too-large"
        seen: set[tuple[str, int]] = set()
        for request_envelope in requests:
            request = self.verifier.open_as(request_envelope, Request)
            if request is None or request_envelope.sender != request.client:
                return "pre-prepare-bad-request"
            if (request.client, request.timestamp) in seen:
                return "pre-prepare-duplicate-request"
            seen.add((request.client, request.timestamp))
        return None

    def accept_pre_prepare(self, envelope: Envelope, message: PrePrepare) -> None:
        """Log a checked pre-prepare; a backup then signs and broadcasts its PREPARE."""
        slot = self.slot(message.seq)
        slot.pre_prepare = envelope
        slot.digest = message.digest
        slot.requests = envelope.attachment
        self.highest_accepted_seq = max(self.highest_accepted_seq, message.seq)
        already_executed = message.seq <= self.last_executed  # re-proposed by a NEW-VIEW
        for request in () if already_executed else envelope.attachment:
            # Known requests wait for execution: the next primary re-proposes them if this
            # batch never commits, without waiting for clients to retransmit.
            digest = request.request_digest()
            if digest not in self.pending and len(self.pending) < PENDING_REQUESTS_MAX:
                self.pending[digest] = request
            self.in_flight.add(digest)
        if not self.is_primary and self.may_sign("prepare", self.view, message.seq, message.digest):
            prepare = seal(
                self.signer,
                Prepare(view=self.view, seq=message.seq, digest=message.digest, replica=self.id),
            )
            self._vote(prepare)
            slot.prepares.add(self.id, message.digest, prepare)
        self._check_prepared(slot)

    # -- prepare and commit ------------------------------------------------------------------

    def on_prepare(self, envelope: Envelope, message: Prepare) -> None:
        if not self.active or message.view != self.view:
            self.defer_if_ahead(envelope, message.view)
            return
        if message.replica == self.primary:
            self.reject("prepare-from-primary")  # the primary's word is its pre-prepare
            return
        if not self.in_watermarks(message.seq):
            self.reject("prepare-outside-watermarks")
            return
        self.highest_seen_seq = max(self.highest_seen_seq, message.seq)
        slot = self.slot(message.seq)
        earlier = slot.prepares.add(message.replica, message.digest, envelope)
        if earlier is not None:
            self.evidence("equivocation", message.replica, (earlier, envelope))
            return
        self._check_prepared(slot)

    def _check_prepared(self, slot: Slot) -> None:
        if slot.prepared or slot.digest is None:
            return
        if slot.prepares.count(slot.digest) < self.quorums.quorum - 1:
            return
        assert slot.pre_prepare is not None
        slot.prepared = True
        if slot.prepared_view < self.view:
            slot.prepared_proof = PreparedProof(
                pre_prepare=slot.pre_prepare.detached(),
                prepares=slot.prepares.certificate(slot.digest),
            )
            slot.prepared_pre_prepare = slot.pre_prepare
            slot.prepared_view = self.view
            # A VIEW-CHANGE after a restart must still carry this certificate, or a batch
            # committed elsewhere could lose its seq (OSDI'99 §4.4): persist it first.
            for record in (slot.pre_prepare, *slot.prepared_proof.prepares):
                self.effects.append(Persist(record))
        if self.relaying:
            self._relay(slot.prepares.certificate(slot.digest))
        if self.may_sign("commit", self.view, slot.seq, slot.digest):
            commit = seal(
                self.signer,
                Commit(view=self.view, seq=slot.seq, digest=slot.digest, replica=self.id),
            )
            self._vote(commit)
            slot.commits.add(self.id, slot.digest, commit)
        self._check_committed(slot)

    def on_commit(self, envelope: Envelope, message: Commit) -> None:
        if not self.active or message.view != self.view:
            self.defer_if_ahead(envelope, message.view)
            return
        if not self.in_watermarks(message.seq):
            self.reject("commit-outside-watermarks")
            return
        self.highest_seen_seq = max(self.highest_seen_seq, message.seq)
        slot = self.slot(message.seq)
        earlier = slot.commits.add(message.replica, message.digest, envelope)
        if earlier is not None:
            self.evidence("equivocation", message.replica, (earlier, envelope))
            return
        self._check_committed(slot)

    def _check_committed(self, slot: Slot) -> None:
        if slot.committed or not slot.prepared or slot.digest is None:
            return
        if slot.commits.count(slot.digest) < self.quorums.quorum:
            return
        slot.committed = True
        if self.relaying:
            self._relay(slot.commits.certificate(slot.digest))
        self.execute_ready()

    # -- relayed votes (ReplicaConfig.relay_votes) -------------------------------------------

    @property
    def relaying(self) -> bool:
        """This replica passes on the quorums it gathers: it is the primary of a council that
        relays votes."""
        return self.config.relay_votes and self.is_primary

    def _vote(self, envelope: Envelope) -> None:
        """Persist and send this replica's PREPARE or COMMIT: to every replica, or only to a
        relaying primary."""
        if self.config.relay_votes and not self.is_primary:
            self.effects.append(Persist(envelope))
            self.send(self.primary, envelope)
        else:
            self.broadcast(envelope)

    def _relay(self, votes: tuple[Envelope, ...]) -> None:
        # Others' votes, passed on as they were signed: nothing of this replica's to persist.
        # The runtime bundles one step's broadcasts, so a quorum leaves as one message.
        mine = replica_principal(self.id)
        for vote in votes:
            if vote.sender != mine:
                self.effects.append(Broadcast(vote))

    # -- execution ---------------------------------------------------------------------------

    def execute_ready(self) -> None:
        """Execute committed batches strictly in sequence order."""
        progressed = False
        while True:
            slot = self.slots.get(self.last_executed + 1)
            if slot is None or not slot.committed:
                break
            self._execute(slot)
            progressed = True
        if progressed:
            self.timers.pop("view", None)  # restarted by the timer update if still waiting
            self.maybe_propose()

    def _execute(self, slot: Slot) -> None:
        assert slot.digest is not None and slot.seq == self.last_executed + 1
        executed: list[Envelope] = []
        results: list[ReplyEntry] = []
        # The hot loop of a replica: every request of every batch passes here once.
        client_table, pending, unassigned = self.client_table, self.pending, self.unassigned
        in_flight, awaited = self.in_flight, self.awaited
        for envelope in slot.requests:
            request = decode(envelope)
            assert isinstance(request, Request)
            digest = envelope.request_digest()
            pending.pop(digest, None)
            unassigned.pop(digest, None)
            in_flight.discard(digest)
            awaited.discard(digest)
            if request.timestamp <= client_table.get(request.client, 0):
                continue  # already executed: exactly once per (client, timestamp)
            result = self.application.execute(request, slot.seq)
            client_table[request.client] = request.timestamp
            executed.append(envelope)
            results.append((request.client, request.timestamp, result))
        self.last_executed = slot.seq
        self.last_progress_ms = self.now_ms
        if executed:
            self.view_change_attempts = 0  # progress: back-off starts over
        self.effects.append(
            Execute(
                seq=slot.seq,
                view=self.view,
                digest=slot.digest,
                requests=slot.requests,
                executed=tuple(executed),
                results=tuple(result for _, _, result in results),
                certificate=slot.commits.certificate(slot.digest),
            )
        )
        if results:
            self._reply(slot.seq, tuple(results))
        if slot.seq % self.config.checkpoint_interval == 0:
            self.take_checkpoint(slot.seq)

    def _reply(self, seq: int, results: tuple[ReplyEntry, ...]) -> None:
        # Built without re-validating a batch of entries this replica just produced itself.
        message = Reply.model_construct(view=self.view, seq=seq, replica=self.id, results=results)
        reply = seal(self.signer, message)
        clients = tuple(dict.fromkeys(client for client, _, _ in results))
        for client in clients:
            self.last_reply[client] = reply
        self.effects.append(Respond(clients, reply))

    # -- liveness of the primary -------------------------------------------------------------

    def on_heartbeat(self, envelope: Envelope, message: Heartbeat) -> None:
        if not self.active or message.view != self.view or message.replica != self.primary:
            return
        self.last_primary_contact_ms = self.now_ms
        self.highest_seen_seq = max(self.highest_seen_seq, message.last_seq)

    def send_heartbeat(self) -> None:
        heartbeat = Heartbeat(view=self.view, replica=self.id, last_seq=self.next_seq - 1)
        self.broadcast(seal(self.signer, heartbeat), durable=False)
        self.last_leader_message_ms = self.now_ms

"""The scenario's clients: the secretariat and each seat's ballot box, as one simulated node.

The secretariat submits each motion at its planned time and a close request once the motion's
voting window has passed. A seat casts its ballot after it has itself executed the motion's
opening (it learns of motions from its own replica, as an agent would), after a think time its
policy draws. Every principal keeps one request outstanding, as PBFT clients do: a later
timestamp executed first would make an earlier one stale.
"""

from __future__ import annotations

import heapq
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from consensus import Effect, Envelope, replica_principal
from consensus.client import ClientSession, Completed, reply_of
from council.governance.operations import ballot_operation, close_operation, motion_operation
from council.scenario.voting import Ballot, PlannedMotion

#: A seat's ballot: (seat, motion, now_ms) → the ballot, or None when it withholds it.
BallotChooser = Callable[[int, PlannedMotion, int], Ballot | None]


@dataclass(slots=True)
class _Principal:
    """One signing client and its queue of operations waiting for the outstanding one."""

    session: ClientSession
    queue: deque[str] = field(default_factory=deque)


class GovernanceClients:
    """Every client of a scenario behind one node, like a gateway serving many members."""

    def __init__(
        self,
        sessions: list[ClientSession],
        motions: tuple[PlannedMotion, ...],
        window_ms: Callable[[PlannedMotion], int],
        choose_ballot: BallotChooser,
    ) -> None:
        self._principals = {s.principal: _Principal(s) for s in sessions}
        self.motions = {motion.id: motion for motion in motions}
        self._window_ms = window_ms
        self._choose_ballot = choose_ballot
        self.submitted: list[Envelope] = []
        self.completed: list[Completed] = []
        self.rejected_replies = 0
        self.decided: set[str] = set()
        self.ballots_cast: dict[tuple[int, str], str] = {}
        self._voted: set[tuple[int, str]] = set()
        self._closing: set[str] = set()
        # (at_ms, order, principal, operation): operations due at a time, in a stable order.
        self._due: list[tuple[int, int, str, str]] = []
        self._order = 0
        self._effects: list[Effect] = []
        for motion in motions:
            operation = motion_operation(
                motion.id, motion.title, motion.text, motion.category, motion.at_ms
            )
            self._schedule(motion.at_ms, motion.submitter, operation)

    # -- what the run tells the clients ------------------------------------------------------

    def opened(self, seat: int, motion_id: str, now_ms: int) -> None:
        """Seat ``seat`` executed the opening of ``motion_id``: it decides how to vote, and the
        secretariat plans the close for when the window ends."""
        motion = self.motions.get(motion_id)
        if motion is None or (seat, motion_id) in self._voted:
            return
        self._voted.add((seat, motion_id))
        ballot = self._choose_ballot(seat, motion, now_ms)
        if ballot is not None:
            self.ballots_cast[(seat, motion_id)] = ballot.vote
            operation = ballot_operation(motion_id, ballot.vote)
            self._schedule(now_ms + ballot.think_ms, replica_principal(seat - 1), operation)
        if motion_id not in self._closing:
            self._closing.add(motion_id)
            close_at = max(now_ms, motion.at_ms + self._window_ms(motion))
            self._schedule(close_at, motion.submitter, close_operation(motion_id, close_at))

    def decided_motion(self, motion_id: str) -> None:
        self.decided.add(motion_id)

    @property
    def done(self) -> bool:
        return len(self.decided) >= len(self.motions)

    # -- the node ----------------------------------------------------------------------------

    def _schedule(self, at_ms: int, principal: str, operation: str) -> None:
        self._order += 1
        heapq.heappush(self._due, (at_ms, self._order, principal, operation))

    def start(self, now_ms: int) -> None:
        self.tick(now_ms)

    def receive(self, envelope: Envelope, now_ms: int) -> None:
        reply = reply_of(envelope)
        if reply is None:
            self.rejected_replies += 1
            return
        for entry in reply.results:
            principal = self._principals.get(entry[0])
            if principal is None:
                continue
            completed = principal.session.on_reply(reply.replica, reply.view, entry, now_ms)
            if completed is not None:
                self.completed.append(completed)
                self.on_completed(entry[0], completed)
                if principal.queue:
                    self._submit(principal, principal.queue.popleft(), now_ms)

    def on_completed(self, principal: str, completed: Completed) -> None:
        """``principal``'s request completed (a hook for the gateway's clients)."""

    def _submit(self, principal: _Principal, operation: str, now_ms: int) -> None:
        self.submitted.append(principal.session.submit(operation, now_ms))
        self._effects.extend(principal.session.take_effects())

    def tick(self, now_ms: int) -> None:
        due = self._due
        while due and due[0][0] <= now_ms:
            _, _, name, operation = heapq.heappop(due)
            principal = self._principals[name]
            if principal.session.outstanding:
                principal.queue.append(operation)
            else:
                self._submit(principal, operation, now_ms)
        for principal in self._principals.values():
            if principal.session.outstanding:
                principal.session.tick(now_ms)
                self._effects.extend(principal.session.take_effects())

    def next_deadline_ms(self) -> int | None:
        deadlines = [
            deadline
            for p in self._principals.values()
            if (deadline := p.session.next_deadline_ms()) is not None
        ]
        if self._due:
            deadlines.append(self._due[0][0])
        return min(deadlines, default=None)

    def take_effects(self) -> list[Effect]:
        effects, self._effects = self._effects, []
        return effects

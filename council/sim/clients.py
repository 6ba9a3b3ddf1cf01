"""The simulated clients: many sessions behind one node, like a gateway serving many members.

Each session keeps one request outstanding (PBFT's closed loop) and submits the next one when
``f + 1`` replicas agree on a result, until the pool has submitted its quota.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from consensus import Effect, Envelope
from consensus.client import ClientSession, Completed, reply_of


@dataclass(slots=True)
class ClientPool:
    """All client sessions of a simulation, addressed as one node."""

    sessions: list[ClientSession]
    requests_total: int
    submitted: list[Envelope] = field(default_factory=list)
    completed: list[Completed] = field(default_factory=list)
    rejected_replies: int = 0
    _by_name: dict[str, ClientSession] = field(default_factory=dict)
    # Earliest retransmission deadline; may be early (a harmless extra tick), never late.
    _deadline_ms: int | None = None

    def __post_init__(self) -> None:
        self._by_name = {session.principal: session for session in self.sessions}

    def start(self, now_ms: int) -> None:
        for session in self.sessions:
            self._submit_next(session, now_ms)

    def _submit_next(self, session: ClientSession, now_ms: int) -> None:
        if len(self.submitted) >= self.requests_total:
            return
        operation = f"op-{len(self.submitted)}"
        self.submitted.append(session.submit(operation, now_ms))
        deadline = session.next_deadline_ms()
        if deadline is not None and (self._deadline_ms is None or deadline < self._deadline_ms):
            self._deadline_ms = deadline

    @property
    def done(self) -> bool:
        return len(self.completed) >= self.requests_total

    def receive(self, envelope: Envelope, now_ms: int) -> None:
        reply = reply_of(envelope)
        if reply is None:
            self.rejected_replies += 1
            return
        for entry in reply.results:
            session = self._by_name.get(entry[0])
            if session is None:
                continue
            completed = session.on_reply(reply.replica, reply.view, entry, now_ms)
            if completed is not None:
                self.completed.append(completed)
                self._submit_next(session, now_ms)

    def tick(self, now_ms: int) -> None:
        for session in self.sessions:
            session.tick(now_ms)
        deadlines = [d for s in self.sessions if (d := s.next_deadline_ms()) is not None]
        self._deadline_ms = min(deadlines, default=None)

    def take_effects(self) -> list[Effect]:
        effects: list[Effect] = []
        for session in self.sessions:
            if session.effects:
                effects.extend(session.take_effects())
        return effects

    def next_deadline_ms(self) -> int | None:
        return self._deadline_ms

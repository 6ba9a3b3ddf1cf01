"""The gateway: the HTTP front door's one way to a council, and its memory of motions.

It takes a motion from the secretariat, stores it (:mod:`.store`) before signing anything,
puts it to the council through its :class:`~council.gateway.link.CouncilLink`, closes it when
its window ends, and stores its decision once the decision record *verifies* against the
roster: a record's commit certificate carries ``Q`` signatures, so no seat, and not the
gateway either, can make up an outcome. After a restart it resumes every motion still
waiting: a motion not known to be ordered is submitted again (the council refuses a second
motion with the same id, and a query tells whether the first was ours), and a council asked
about a decided motion announces its record again.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import secrets
import time
from dataclasses import dataclass
from typing import Final

from consensus import Request, decode
from council.council_file import CouncilFile
from council.gateway.hub import EventHub
from council.gateway.link import CouncilLink, LinkError, Observation
from council.gateway.metrics import GatewayMetrics
from council.gateway.store import GatewayStore, MotionDraft, MotionRow
from council.governance.events import (
    Closed,
    Opened,
    RejectedRequest,
    StatusReport,
    parse_event,
)
from council.governance.operations import (
    VOTES,
    MotionOp,
    close_operation,
    motion_operation,
    parse_operation,
    query_operation,
)
from council.governance.records import DecisionRecord
from council.governance.verify import verify_decision

log = logging.getLogger("council.gateway")

#: How long one request waits for f + 1 replies before it is retried.
REQUEST_TIMEOUT_S: Final = 30.0
#: Waits between retries of a request the council did not answer, doubling to the last.
RETRY_BACKOFF_S: Final = (0.5, 1.0, 2.0, 4.0, 8.0)
#: After a motion closed, how long to wait for its record before asking the council again.
RECORD_WAIT_S: Final = 5.0
#: An open motion's tally, read by an ordered query, is reused for this long.
TALLY_TTL_S: Final = 2.0


class GatewayError(Exception):
    """A request the gateway refuses; ``status`` is the HTTP status that says why."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Tally:
    yes: int
    no: int
    abstain: int
    absent: int


class Gateway:
    """Owns a link, a store, the event hub and the metrics; the API's lifespan starts it."""

    def __init__(
        self,
        link: CouncilLink,
        store: GatewayStore,
        *,
        request_timeout_s: float = REQUEST_TIMEOUT_S,
    ) -> None:
        self.link = link
        self.store = store
        self.hub = EventHub()
        self.metrics = GatewayMetrics()
        self.request_timeout_s = request_timeout_s
        self._followers: dict[str, asyncio.Task[None]] = {}
        self._decided: dict[str, asyncio.Event] = {}
        self._submitted_s: dict[str, float] = {}
        self._tallies: dict[str, tuple[float, Tally]] = {}
        self._evidence: list[dict[str, object]] = []
        self._started = False

    @property
    def council(self) -> CouncilFile:
        return self.link.council

    async def start(self) -> None:
        await self.link.start(self)
        self._started = True
        for row in self.store.pending():
            self._follow(row)

    async def stop(self) -> None:
        for task in list(self._followers.values()):
            task.cancel()
        for task in list(self._followers.values()):
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._followers.clear()
        self.hub.close()
        await self.link.stop()

    # -- motions -----------------------------------------------------------------------------

    def submit_motion(
        self, draft: MotionDraft, idempotency_key: str | None
    ) -> tuple[MotionRow, bool]:
        """Store ``draft`` and start putting it to the council; the stored motion and whether
        it is new (a repeated ``idempotency_key`` returns the first motion)."""
        category = self.link.council.categories.get(draft.category)
        if category is None:
            known = ", ".join(sorted(self.link.council.categories))
            raise GatewayError(
                422, f"unknown category {draft.category!r}; expected one of: {known}"
            )
        fingerprint = hashlib.sha256(
            json.dumps([draft.title, draft.text, draft.category], ensure_ascii=False).encode()
        ).hexdigest()
        motion_id = f"M-{self.store.next_motion_number()}-{secrets.token_hex(3)}"
        row, created = self.store.create_motion(
            motion_id, draft, self.link.now_ms(), category.window_ms, idempotency_key, fingerprint
        )
        if created:
            self.metrics.motions_submitted.inc()
            self._submitted_s[row.id] = time.monotonic()
            self._publish_motion(row)
            self._follow(row)
        return row, created

    async def cast_ballot(self, seat: int, motion_id: str, vote: str) -> MotionRow:
        """Tell seat ``seat``'s agent its member's vote on an open motion."""
        if vote not in VOTES:
            raise GatewayError(422, f"unknown vote {vote!r}; expected yes, no or abstain")
        row = self.store.motion(motion_id)
        if row is None:
            raise GatewayError(404, f"no motion {motion_id}")
        if row.status == "submitted":
            raise GatewayError(409, f"motion {motion_id} is not open yet; try again shortly")
        if row.status != "open":
            raise GatewayError(409, f"motion {motion_id} is {row.status}; voting has closed")
        try:
            await self.link.instruct_ballot(seat, motion_id, vote)
        except LinkError as error:
            raise GatewayError(409, str(error)) from None
        except TimeoutError as error:
            raise GatewayError(503, f"the council cannot be reached now: {error}") from None
        self.store.record_ballot(motion_id, seat, vote, self.link.now_ms())
        self.metrics.ballots.inc()
        self.hub.publish("ballot", {"motion": motion_id, "seat": seat, "vote": vote})
        return row

    def stored_tally(self, row: MotionRow) -> Tally | None:
        """A decided motion's tally, from its verified record."""
        if row.yes is None or row.no is None or row.abstain is None:
            return None
        absent = self.link.council.n - row.yes - row.no - row.abstain
        return Tally(row.yes, row.no, row.abstain, absent)

    async def tally(self, row: MotionRow) -> Tally | None:
        """An open motion's tally as ``f + 1`` seats report it (an ordered query, reused for
        a moment); a decided motion's from its record; ``None`` when the council is silent."""
        if row.status != "open":
            return self.stored_tally(row)
            return None
        cached = self._tallies.get(row.id)
        if cached is not None and time.monotonic() - cached[0] < TALLY_TTL_S:
            return cached[1]
        try:
            report = await self._query(row.id, timeout_s=5.0)
        except TimeoutError:
            return None
        if report is None:
            return None
        tally = Tally(report.yes, report.no, report.abstain, report.absent)
        self._tallies[row.id] = (time.monotonic(), tally)
        return tally

    @property
    def evidence(self) -> list[dict[str, object]]:
        """Proofs of misbehaviour the council reported, oldest first (bounded)."""
        return list(self._evidence)

    # -- following one motion through the council --------------------------------------------

    def _follow(self, row: MotionRow) -> None:
        if row.id in self._followers:
            return
        self._decided.setdefault(row.id, asyncio.Event())
        task = asyncio.create_task(self._drive(row), name=f"motion-{row.id}")
        self._followers[row.id] = task
        task.add_done_callback(lambda _: self._followers.pop(row.id, None))

    async def _drive(self, row: MotionRow) -> None:
        try:
            if row.status == "submitted" and not await self._open(row):
                return
            await self._close_and_await_record(row)
        except asyncio.CancelledError:
            raise
        except Exception:  # a follower must never die silently: the motion would hang
            log.exception("following motion %s failed; it resumes after a restart", row.id)

    async def _open(self, row: MotionRow) -> bool:
        operation = motion_operation(row.id, row.title, row.text, row.category, row.at_ms)
        result = parse_event(await self._request(operation))
        if isinstance(result, RejectedRequest) and "already exists" in result.reason:
            # Ordered before a restart (ours), or another client's motion with our id.
            report = parse_event(await self._request(query_operation(row.id)))
            ours = isinstance(report, StatusReport) and (report.title, report.category) == (
                row.title,
                row.category,
            )
            result = Opened(motion=row.id) if ours else result
        if isinstance(result, Opened):
            self.store.mark_open(row.id)
            submitted = self._submitted_s.get(row.id)
            if submitted is not None:
                self.metrics.open_latency.observe(time.monotonic() - submitted)
            self._publish_motion(self._row(row.id))
            return True
        reason = result.reason if isinstance(result, RejectedRequest) else f"unexpected {result}"
        self._refuse(row.id, reason)
        return False

    def _refuse(self, motion_id: str, reason: str) -> None:
        self.store.mark_refused(motion_id, reason)
        self._decided.pop(motion_id, None)
        self._publish_motion(self._row(motion_id))

    async def _close_and_await_record(self, row: MotionRow) -> None:
        decided = self._decided[row.id]
        closes_at_ms = row.at_ms + row.window_ms
        closed = False
        while not decided.is_set():
            if not closed and self.link.now_ms() >= closes_at_ms:
                result = parse_event(
                    await self._request(close_operation(row.id, self.link.now_ms()))
                )
                if isinstance(result, RejectedRequest) and result.reason.startswith("unknown"):
                    # Only a council that lost its state (a simulated one, started anew) forgets
                    # a motion it opened; waiting for its record would never end.
                    self._refuse(row.id, f"the council no longer knows it: {result.reason}")
                    return
                closed = not (isinstance(result, RejectedRequest) and "too early" in result.reason)
                if isinstance(result, Closed):
                    continue  # the record follows from every seat that executed the close
            if closed:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(decided.wait(), RECORD_WAIT_S)
                if not decided.is_set():
                    with contextlib.suppress(TimeoutError):  # asked again next time round
                        await self._query(row.id, timeout_s=self.request_timeout_s)
                continue
            # Until the window ends: the last seat's ballot may close the motion first.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(decided.wait(), 0.1)

    async def _request(self, operation: str) -> str:
        """``operation``'s agreed result, retrying through silences (view changes, restarts)."""
        for attempt in range(1_000_000):
            try:
                return await self.link.request(operation, self.request_timeout_s)
            except TimeoutError:
                wait_s = RETRY_BACKOFF_S[min(attempt, len(RETRY_BACKOFF_S) - 1)]
                log.warning("no f+1 answer to %s; retrying in %.1f s", operation[:60], wait_s)
                await asyncio.sleep(wait_s)
        raise AssertionError("unreachable")

    async def _query(self, motion_id: str, timeout_s: float) -> StatusReport | None:
        result = parse_event(await self.link.request(query_operation(motion_id), timeout_s))
        return result if isinstance(result, StatusReport) else None

    def _row(self, motion_id: str) -> MotionRow:
        row = self.store.motion(motion_id)
        assert row is not None, motion_id
        return row

    def _publish_motion(self, row: MotionRow) -> None:
        self.hub.publish("motion", motion_event(row))

    # -- what the link announces (CouncilSink) -----------------------------------------------

    def decision(self, record: DecisionRecord) -> None:
        row = self.store.motion(record.motion_id)
        if row is not None and row.status == "decided":
            return  # already verified: the other seats announce it too
        problems = verify_decision(record, self.link.roster)
        if problems:
            self.metrics.records_refused.inc()
            log.warning("refused a decision record for %s: %s", record.motion_id, problems[0])
            return
        if row is None:
            self._adopt_foreign(record)
        tally = (record.yes, record.no, record.abstain)
        if not self.store.mark_decided(
            record.motion_id, record.outcome, tally, self.link.now_ms(), record.model_dump_json()
        ):
            return
        self.metrics.decisions.labels(record.outcome).inc()
        submitted = self._submitted_s.pop(record.motion_id, None)
        if submitted is not None:
            self.metrics.decision_latency.observe(time.monotonic() - submitted)
        self._tallies.pop(record.motion_id, None)
        self._decided.setdefault(record.motion_id, asyncio.Event()).set()
        self._publish_motion(self._row(record.motion_id))

    def _adopt_foreign(self, record: DecisionRecord) -> None:
        """Another client's motion (``council motion submit``): shown with its decision too."""
        request = decode(record.motion)
        assert isinstance(request, Request)  # verify_decision checked the motion is one
        motion = parse_operation(request.operation)
        assert isinstance(motion, MotionOp)
        draft = MotionDraft(motion.title, motion.text, motion.category, record.submitter)
        self.store.record_foreign_decision(record.motion_id, draft, motion.at_ms, record.window_ms)

    def observe(self, observation: Observation) -> None:
        data = dict(observation.data)
        if observation.kind == "view":
            self.metrics.view_changes.inc()
            self.metrics.view.set(float(str(data.get("view", 0))))
        elif observation.kind == "traffic":
            messages = data.get("messages")
            if isinstance(messages, dict):
                for kind, count in messages.items():
                    self.metrics.messages.labels(str(kind)).inc(float(count))
        elif observation.kind == "rejected":
            reasons = data.get("reasons")
            if isinstance(reasons, dict):
                for reason, count in reasons.items():
                    self.metrics.rejected.labels(str(reason)).inc(float(count))
        elif observation.kind == "evidence":
            self.metrics.evidence.labels(str(data.get("evidence"))).inc()
            self._evidence = [*self._evidence[-199:], data]
        self.hub.publish(observation.kind, data)


def motion_event(row: MotionRow) -> dict[str, object]:
    """The stream's view of a motion: enough for the dashboard to draw it."""
    return {
        "motion": row.id,
        "title": row.title,
        "category": row.category,
        "status": row.status,
        "outcome": row.outcome,
        "reason": row.reason,
        "yes": row.yes,
        "no": row.no,
        "abstain": row.abstain,
    }

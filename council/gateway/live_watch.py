"""What a live council's seats show the gateway without being asked, turned into observations.

Three kinds of publish, none of them verified here (they only feed the dashboard and metrics;
decisions are verified by the gateway, and nothing here is a decision):

- ``presence/r{k}`` (retained, set by the agent and by its last will): a seat going online or
  offline;
- a seat's status event on ``events/r{k}``, every few seconds (``Agent.status_json``): its
  view, the last sequence number it executed and its drop counters;
- the seat's broadcasts on ``broadcast/r{k}``: counted by envelope kind per sending seat and
  reported a few times a second.

The ACL lets a seat publish only under its own name, so a topic's last level says which seat
sent it; what a faulty seat says about itself can be wrong, so the council's view is one that
``f + 1`` seats report having reached (so one correct seat has, and correct seats never go
back), and names a faulty seat makes up are folded into ``other`` rather than reaching the
metrics as labels.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final

from consensus import QuorumMath
from consensus.messages import MESSAGE_KINDS
from council.council_file import CouncilFile
from council.gateway.link import Observation, SeatHealth, SeatState
from council.live.topics import PRESENCE_OFFLINE, PRESENCE_ONLINE
from council.live.wire import DropReason

#: A name a seat reported that the council does not define (a kind, a drop reason).
OTHER: Final = "other"
#: Above this a bundle's kinds are read by the cheap scan alone, whatever it holds: parsing
#: megabytes of JSON a faulty seat sent would cost the gateway more than the count is worth.
PEEK_JSON_BYTES_MAX: Final = 4 * 1024 * 1024

# An envelope's fields are written in order (attachment, body, kind, sender, signature), and a
# body is a JSON string whose quotes are escaped: so this matches the kind of every envelope
# in the bundle and of every envelope attached to one, never text inside a body.
_KIND: Final = re.compile(rb'"kind":"([a-z-]{1,32})","sender"')
_ATTACHED: Final = b'"attachment":[{'
_DROP_REASONS: Final = frozenset(reason.value for reason in DropReason)


def bundle_kinds(payload: bytes) -> list[str]:
    """The kinds of the envelopes a bundle carries (attachments not counted), unchecked.

    Without attachments (votes, checkpoints, status: most publishes) a scan of the bytes,
    about 1 µs for a bundle of votes; with them (a pre-prepare's batch, a view change) a JSON
    parse, about 9 µs per KB, a few times a second. Unknown kinds count as ``other``."""
    if _ATTACHED not in payload or len(payload) > PEEK_JSON_BYTES_MAX:
        kinds = [kind.decode() for kind in _KIND.findall(payload)]
    else:
        try:
            kinds = [str(envelope["kind"]) for envelope in json.loads(payload)["envelopes"]]
        except (ValueError, KeyError, TypeError):
            return []
    return [kind if kind in MESSAGE_KINDS else OTHER for kind in kinds]


#: An evidence kind as the core names them (``equivocation``, ``invalid-new-view``, …); a
#: name a faulty seat makes up otherwise counts as ``other``, so labels stay few.
_EVIDENCE_KIND: Final = re.compile(r"[a-z][a-z-]{0,39}\Z")


@dataclass(slots=True)
class _Seat:
    number: int
    principal: str
    constituency: str
    state: SeatState = "unknown"
    view: int | None = None
    last_executed: int | None = None
    dropped: dict[str, int] = field(default_factory=dict)
    last_message_ms: int | None = None
    last_message_kind: str | None = None

    def health(self) -> SeatHealth:
        return SeatHealth(
            seat=self.number,
            principal=self.principal,
            constituency=self.constituency,
            state=self.state,
            view=self.view,
            last_executed=self.last_executed,
            last_message_ms=self.last_message_ms,
            last_message_kind=self.last_message_kind,
        )


class CouncilWatch:
    """Every seat as last heard of, and the observations that hearing makes."""

    def __init__(
        self,
        council: CouncilFile,
        observe: Callable[[Observation], None],
        clock_ms: Callable[[], int],
    ) -> None:
        self.quorums = QuorumMath.for_council(council.n)
        self._observe = observe
        self._clock_ms = clock_ms
        self._seats = {
            seat.principal: _Seat(seat.number, seat.principal, seat.constituency)
            for seat in council.seats()
        }
        self._traffic: dict[int, Counter[str]] = {}
        self._view: int | None = None
        self._evidence_reporters: dict[tuple[int, str], set[int]] = {}

    @property
    def view(self) -> int | None:
        """The highest view ``f + 1`` seats have reported reaching, once that many reported."""
        return self._view

    def seats(self) -> tuple[SeatHealth, ...]:
        return tuple(seat.health() for seat in self._seats.values())

    def connection_lost(self) -> None:
        """The link lost its broker: until it hears again, it knows no seat's presence."""
        for seat in self._seats.values():
            seat.state = "unknown"

    # -- what arrives (topic, payload) ---------------------------------------------------------

    def presence(self, topic: str, payload: bytes) -> None:
        seat = self._seat_of(topic)
        if payload == PRESENCE_ONLINE:
            state: SeatState = "online"
        elif payload == PRESENCE_OFFLINE:
            state = "offline"
        else:
            return
        if seat is None or seat.state == state:
            return
        seat.state = state
        self._observe(Observation("seat", {"seat": seat.number, "state": state}))

    def status_event(self, topic: str, payload: bytes) -> None:
        """A seat's periodic status event (``{"status": {...}}``)."""
        seat = self._seat_of(topic)
        try:
            status = json.loads(payload)["status"]
            view, executed, dropped = status["view"], status["last_executed"], status["dropped"]
        except (ValueError, KeyError, TypeError):
            return
        if seat is None or not _counts(view, executed) or not isinstance(dropped, dict):
            return
        seat.view, seat.last_executed = view, executed
        self._dropped(seat, dropped)
        self._update_view()
        evidence = status.get("evidence")
        if isinstance(evidence, dict):
            self._evidence(seat, evidence)

    def broadcast(self, topic: str, payload: bytes) -> None:
        seat = self._seat_of(topic)
        if seat is None:
            return
        kinds = bundle_kinds(payload)
        if not kinds:
            return
        self._traffic.setdefault(seat.number, Counter()).update(kinds)
        seat.last_message_ms, seat.last_message_kind = self._clock_ms(), kinds[-1]

    def report_traffic(self) -> None:
        """One ``traffic`` observation per seat heard since the last report."""
        traffic, self._traffic = self._traffic, {}
        for number, kinds in sorted(traffic.items()):
            self._observe(Observation("traffic", {"from_seat": number, "messages": dict(kinds)}))

    # -- what it means -----------------------------------------------------------------------

    def _seat_of(self, topic: str) -> _Seat | None:
        return self._seats.get(topic.rpartition("/")[2])

    def _dropped(self, seat: _Seat, reported: dict[object, object]) -> None:
        """Report what the seat dropped since its last status event (all of it, the first
        time, or when its counters went back: the agent restarted)."""
        counts: Counter[str] = Counter()
        for reason, count in reported.items():
            if isinstance(reason, str) and isinstance(count, int) and _counts(count):
                counts[reason if reason in _DROP_REASONS else OTHER] += count
        new: dict[str, int] = {}
        for reason, count in counts.items():
            before = seat.dropped.get(reason, 0)
            grown = count - before if count >= before else count
            if grown:
                new[reason] = grown
        seat.dropped = dict(counts)
        if new:
            self._observe(Observation("rejected", {"seat": seat.number, "reasons": new}))

    def _evidence(self, seat: _Seat, reported: dict[object, object]) -> None:
        """Evidence against a seat is news once ``f + 1`` seats hold it: one faulty seat
        cannot, by its status events alone, make the gateway accuse an honest one."""
        for key, count in reported.items():
            if not isinstance(key, str) or not _counts(count) or not count:
                continue
            culprit_text, _, kind = key.partition("/")
            if not culprit_text.isdigit() or not 1 <= int(culprit_text) <= self.quorums.n:
                continue
            claim = (int(culprit_text), kind if _EVIDENCE_KIND.match(kind) else OTHER)
            reporters = self._evidence_reporters.setdefault(claim, set())
            if seat.number in reporters:
                continue
            reporters.add(seat.number)
            if len(reporters) == self.quorums.weak:
                culprit, kind = claim
                self._observe(
                    Observation(
                        "evidence",
                        {
                            "culprit_seat": culprit,
                            "evidence": kind,
                            "reported_by": sorted(reporters),
                        },
                    )
                )

    def _update_view(self) -> None:
        reports = sorted((s.view for s in self._seats.values() if s.view is not None), reverse=True)
        weak = self.quorums.weak
        if len(reports) < weak:
            return
        previous = self._view
        view = reports[weak - 1] if previous is None else max(previous, reports[weak - 1])
        self._view = view
        # The first view heard is news only if the council has left view 0 already.
        if view != previous and (previous is not None or view > 0):
            primary_seat = self.quorums.primary(view) + 1
            self._observe(Observation("view", {"view": view, "primary_seat": primary_seat}))


def _counts(*values: object) -> bool:
    """Whether every value is a count (a non-negative int, not a bool)."""
    return all(type(value) is int and value >= 0 for value in values)

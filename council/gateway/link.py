"""The gateway's view of a council: one interface over the simulator and the live service.

The HTTP front door never talks to replicas itself. It holds a :class:`CouncilLink` — a
simulated council in this process (:mod:`council.gateway.simulated`) or a live one over MQTT
(:mod:`council.gateway.live`) — and the link is an ordinary, untrusted PBFT client:

- :meth:`CouncilLink.request` signs an operation as the link's secretariat principal and
  returns the result only once ``f + 1`` seats sent the same signed reply;
- :meth:`CouncilLink.instruct_ballot` tells a seat's agent how its member votes; the agent
  signs and submits the ballot itself (a seat's key never leaves its agent);
- whatever the council announces goes to the :class:`CouncilSink` the link was started with:
  decision records (which the gateway verifies before it believes them) and observations
  for the dashboard and metrics (views, traffic, evidence, seats going on- or offline).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal, Protocol

import crypto
from consensus import QuorumMath
from council.council_file import CouncilFile
from council.governance.records import DecisionRecord

LinkMode = Literal["simulated", "live"]
SeatState = Literal["online", "offline", "unknown"]


@dataclass(frozen=True, slots=True)
class SeatHealth:
    """What the gateway last heard of one seat (numbered 1..n)."""

    seat: int
    principal: str
    constituency: str
    state: SeatState
    #: Known faulty: a simulated council knows which seats its scenario corrupted.
    faulty: bool = False
    view: int | None = None
    last_executed: int | None = None
    #: Milliseconds on the link's clock (:meth:`CouncilLink.now_ms`).
    last_message_ms: int | None = None
    last_message_kind: str | None = None


@dataclass(frozen=True, slots=True)
class CouncilStatus:
    """The council as the gateway sees it now: its view and primary, and every seat."""

    view: int
    primary_seat: int
    seats: tuple[SeatHealth, ...]


@dataclass(frozen=True, slots=True)
class Observation:
    """Something the link saw that is not a decision; ``kind`` names it.

    - ``view``: ``{"view": v, "primary_seat": k}`` — the council moved to view ``v``
    - ``traffic``: ``{"from_seat": k, "messages": {kind: count}}`` — messages a seat sent
      since the last traffic observation of that seat (aggregated, a few per second)
    - ``evidence``: ``{"culprit_seat": k, "evidence": kind}`` — proof of misbehaviour
    - ``seat``: ``{"seat": k, "state": "online" | "offline"}``
    - ``rejected``: ``{"reasons": {reason: count}}`` — messages dropped at seats' edges
    """

    kind: Literal["view", "traffic", "evidence", "seat", "rejected"]
    data: Mapping[str, object] = field(default_factory=dict)


class LinkError(Exception):
    """The link cannot act for this council as asked; the message says why."""


class CouncilSink(Protocol):
    """Where a link delivers what the council announces (the gateway implements it)."""

    def decision(self, record: DecisionRecord) -> None:
        """A seat announced ``record``; unverified until the gateway checks it."""

    def observe(self, observation: Observation) -> None:
        """The link saw ``observation``."""


class CouncilLink(Protocol):
    """A council the gateway can reach: simulated in-process or live over MQTT."""

    mode: LinkMode
    council: CouncilFile
    roster: crypto.Roster
    #: The secretariat principal the link signs motions and close requests as.
    principal: str

    @property
    def quorums(self) -> QuorumMath: ...

    async def start(self, sink: CouncilSink) -> None:
        """Connect (or start the simulation); announcements go to ``sink`` from now on."""

    async def stop(self) -> None:
        """Disconnect (or stop the simulation); idempotent."""

    def now_ms(self) -> int:
        """The clock motions' ``at_ms`` are stated in: wall-clock ms for a live council (a
        motion's window outlives any process), virtual ms for a simulated one."""

    async def request(self, operation: str, timeout_s: float) -> str:
        """Sign and submit ``operation``; the result text ``f + 1`` seats agree on.

        Raises ``TimeoutError`` when no ``f + 1`` matching replies arrive in ``timeout_s``."""

    async def instruct_ballot(self, seat: int, motion_id: str, vote: str) -> None:
        """Tell seat ``seat``'s agent that its member votes ``vote`` on ``motion_id``; the
        agent signs and submits the ballot (a later instruction replaces an earlier one
        while the motion is open).

        Raises :class:`LinkError` when the council cannot take members' ballots, and
        ``TimeoutError`` when it cannot be reached."""

    def status(self) -> CouncilStatus:
        """The current view, primary and every seat's health."""

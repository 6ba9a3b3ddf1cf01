"""The council's front door: a gateway that puts motions to a council and remembers them.

:class:`Gateway` owns a :class:`CouncilLink` (a simulated council, :class:`SimulatedLink`, or
a live one over MQTT) and the SQLite :class:`GatewayStore`; the HTTP API is its shell.
"""

from council.gateway.gateway import Gateway, GatewayError, Tally, motion_event
from council.gateway.hub import CouncilEvent, EventHub
from council.gateway.link import (
    CouncilLink,
    CouncilSink,
    CouncilStatus,
    LinkError,
    Observation,
    SeatHealth,
)
from council.gateway.simulated import SimulatedLink
from council.gateway.store import (
    GatewayStore,
    IdempotencyConflict,
    MotionDraft,
    MotionFilter,
    MotionRow,
)

__all__ = [
    "CouncilEvent",
    "CouncilLink",
    "CouncilSink",
    "CouncilStatus",
    "EventHub",
    "Gateway",
    "GatewayError",
    "GatewayStore",
    "IdempotencyConflict",
    "LinkError",
    "MotionDraft",
    "MotionFilter",
    "MotionRow",
    "Observation",
    "SeatHealth",
    "SimulatedLink",
    "Tally",
    "motion_event",
]

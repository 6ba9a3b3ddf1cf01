"""The run report and the sweep curve: what a scenario run or a sweep yields, as frozen records.

A :class:`RunReport` is the single source for every rendering of a run — the rich terminal
summary, the ``--json`` file (``report.model_dump_json(indent=2)``) and the self-contained HTML
page — so the three never disagree. Times are virtual milliseconds of the simulator's clock;
seats are numbered 1..n in the council file's order.

Every model rejects unknown keys, so a report file edited by hand or written by another version
fails loudly at ``RunReport.model_validate_json`` instead of rendering half of itself.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Verdict = Literal["ok", "violated"]
LivenessVerdict = Literal["ok", "stalled"]
Outcome = Literal["adopted", "rejected", "lapsed", "undecided"]

#: ``(virtual time in ms, value)`` — a view entered or a sequence number committed at that time.
TimePoint = tuple[int, int]


class _Record(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ScenarioInfo(_Record):
    """Which scenario ran, with which seed, and the command that replays it."""

    name: str
    description: str
    file: str | None
    seed: int
    replay: str


class SeatInfo(_Record):
    """One seat; ``behaviours`` names the faults it was given (empty for an honest seat)."""

    seat: int = Field(ge=1)
    constituency: str
    behaviours: list[str]

    @property
    def faulty(self) -> bool:
        return bool(self.behaviours)


class CouncilInfo(_Record):
    """The council that ran: its size, fault threshold ``f``, quorum ``Q`` and seats."""

    name: str
    id: str
    n: int = Field(ge=1)
    f: int = Field(ge=0)
    quorum: int = Field(ge=1)
    seats: list[SeatInfo]


class Verdicts(_Record):
    """The safety invariants and liveness, as judged by the checker."""

    agreement: Verdict
    validity: Verdict
    integrity: Verdict
    liveness: LivenessVerdict

    @property
    def safe(self) -> bool:
        return self.agreement == self.validity == self.integrity == "ok"

    @property
    def live(self) -> bool:
        return self.liveness == "ok"


class ExpectationResult(_Record):
    """One expectation of the scenario file and whether the run met it."""

    name: str
    passed: bool
    detail: str


class MotionResult(_Record):
    """A motion, its tally over all seats and how it ended.

    ``absent`` counts seats that cast no ballot. ``counterfactual_outcome`` is the outcome of the
    same seed with the bloc voting honestly, when a counterfactual was run; ``flipped`` says the
    bloc changed the outcome.
    """

    id: str
    title: str
    category: str
    rule: str
    submitted_ms: int
    decided_ms: int | None
    latency_ms: int | None
    outcome: Outcome
    yes: int = Field(ge=0)
    no: int = Field(ge=0)
    abstain: int = Field(ge=0)
    absent: int = Field(ge=0)
    counterfactual_outcome: str | None
    flipped: bool


class AgentTimeline(_Record):
    """What one seat went through: the views it entered, its commits and when it was down."""

    seat: int = Field(ge=1)
    views: list[TimePoint]
    commits: list[TimePoint]
    down: list[TimePoint]


class Timeline(_Record):
    """Per-seat timelines up to ``end_ms``, the virtual time the run stopped."""

    end_ms: int = Field(ge=0)
    agents: list[AgentTimeline]


class Messages(_Record):
    """Network traffic by message kind (count and bytes on the wire)."""

    count_by_kind: dict[str, int]
    bytes_by_kind: dict[str, int]


class EvidenceRow(_Record):
    """``count`` proofs of misbehaviour of ``kind`` held against ``seat``."""

    seat: int = Field(ge=1)
    kind: str
    count: int = Field(ge=0)


class Counterfactual(_Record):
    """The bloc whose votes were replaced by honest ones, and the motions whose outcome changed."""

    bloc: list[int]
    flipped: list[str]


class ViolationInfo(_Record):
    """The first broken safety invariant, at sequence number ``seq``, and the events before it."""

    seq: int
    detail: str
    trace: list[str]


class RunReport(_Record):
    """Everything a scenario run yields; see the module docstring."""

    scenario: ScenarioInfo
    council: CouncilInfo
    verdicts: Verdicts
    expectations: list[ExpectationResult]
    passed: bool
    motions: list[MotionResult]
    timeline: Timeline
    latency_ms: list[int]
    messages: Messages
    evidence: list[EvidenceRow]
    view_changes: int = Field(ge=0)
    highest_view: int = Field(ge=0)
    ordered: int = Field(ge=0)
    counterfactual: Counterfactual | None
    violation: ViolationInfo | None
    wall_s: float

    def seat(self, number: int) -> SeatInfo | None:
        """The seat with this number, if the council has it."""
        return next((s for s in self.council.seats if s.seat == number), None)


class SweepRow(_Record):
    """Runs with ``colluders`` colluding seats: shares (0..1) of runs safe and live, and of
    motion outcomes the bloc flipped."""

    colluders: int = Field(ge=0)
    runs: int = Field(ge=0)
    safe: float = Field(ge=0, le=1)
    live: float = Field(ge=0, le=1)
    flipped: float = Field(ge=0, le=1)


class SweepCurve(_Record):
    """The capture-resistance curve of ``council sweep``, one row per bloc size.

    ``n`` and ``f`` (council size and fault threshold) are optional so curves written without
    them still load; when ``f`` is known the plot marks the largest tolerated bloc.
    """

    scenario: str
    seeds: int = Field(ge=0)
    attack: str
    rows: list[SweepRow]
    n: int | None = None
    f: int | None = None


def percentile(values: list[int], fraction: float) -> int | None:
    """Nearest-rank percentile (the same rule as ``council simulate``), or None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))]

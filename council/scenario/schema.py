"""The scenario file: a council under test, its network over time, faulty seats, motions, and
what must hold at the end; and the scenario once loaded and resolved against its council.

Every model is frozen and rejects unknown keys, so the runner can derive variants with
`model_copy(update=...)`. What can be checked without the council is checked here; what needs
it (constituencies, seat numbers, categories, motion ids) is checked by
`council.scenario.checks` once the council file is loaded. docs/scenarios.md is the reference.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Final, Literal, Union

from pydantic import (
    Discriminator,
    Field,
    Strict,
    Tag,
    ValidationInfo,
    field_validator,
    model_validator,
)

from council.council_file import (
    CouncilFile,
    Milliseconds,
    Name,
    PositiveMilliseconds,
    Probability,
    VotingPolicy,
)
from council.scenario.faults import (
    BEHAVIOURS,
    Behaviour,
    BlocVote,
    BogusViewChange,
    Censor,
    Corrupt,
    Crash,
    Equivocate,
    FaultyGroup,
    Forge,
    Omit,
    OutOfWatermarks,
    Replay,
    SeatSelector,
    Silent,
    Slow,
    SplitBrain,
    TimedBehaviour,
    Twins,
    WithholdVotes,
)
from council.sim.cluster import byzantine_placement
from council.yamlfile import EXPECTED_ERROR, Problem, SpecModel, problems_error

Text = Annotated[str, Strict()]
NonNegativeNumber = Annotated[float, Strict(), Field(ge=0)]
GENERATED_MOTIONS_MAX: Final = 10_000


class Latency(SpecModel):
    """One-way delay: `base_ms` plus a random part of scale `jitter_ms`."""

    distribution: Literal["fixed", "uniform", "exponential", "normal"] = "exponential"
    base_ms: NonNegativeNumber = 5.0
    jitter_ms: NonNegativeNumber = 3.0


class Phase(SpecModel):
    """Network overrides during [from_ms, until_ms); `partition` groups cannot reach each other."""

    from_ms: Milliseconds
    until_ms: Milliseconds
    latency: Latency | None = None
    loss: Probability | None = None
    duplicate: Probability | None = None
    reorder: Probability | None = None
    partition: tuple[SeatSelector, ...] = ()

    @field_validator("until_ms")
    @classmethod
    def _after_start(cls, until_ms: int, info: ValidationInfo) -> int:
        from_ms = info.data.get("from_ms")
        if isinstance(from_ms, int) and until_ms <= from_ms:
            raise ValueError(f"expected a time after from_ms ({from_ms}), got {until_ms}")
        return until_ms

    @field_validator("partition")
    @classmethod
    def _two_sides(cls, partition: tuple[SeatSelector, ...]) -> tuple[SeatSelector, ...]:
        if len(partition) == 1:
            raise ValueError("expected at least 2 groups (seats not listed reach everyone), got 1")
        return partition


class Network(SpecModel):
    """The network before, between and after phases, and the phases."""

    latency: Latency = Latency()
    loss: Probability = 0.0
    duplicate: Probability = 0.0
    reorder: Probability = 0.0
    phases: tuple[Phase, ...] = ()

    @model_validator(mode="after")
    def _phases_apart(self) -> Network:
        problems = [
            Problem(
                ("phases", index, "from_ms"),
                f"overlaps phases[{other}] ([{earlier.from_ms}, {earlier.until_ms})); "
                "phases must not overlap",
            )
            for index, phase in enumerate(self.phases)
            for other, earlier in enumerate(self.phases[:index])
            if phase.from_ms < earlier.until_ms and earlier.from_ms < phase.until_ms
        ]
        if problems:
            raise problems_error(problems)
        return self


class MotionSpec(SpecModel):
    """One motion the secretariat submits at `at_ms` (virtual time)."""

    id: Name
    title: Text = ""
    text: Text = ""
    category: Name
    at_ms: Milliseconds
    merit: Probability = 0.5
    submitter: Name | None = None


class MotionBatch(SpecModel):
    """`count` motions `{prefix}1`, `{prefix}2`, ... every `every_ms` from `from_ms`."""

    count: Annotated[int, Strict(), Field(ge=1, le=GENERATED_MOTIONS_MAX)]
    prefix: Text = "G-"
    categories: tuple[Name, ...] = ()
    from_ms: Milliseconds = 0
    every_ms: PositiveMilliseconds = 1000
    merit: Probability | None = None
    submitter: Name | None = None


class GeneratedMotions(SpecModel):
    """`generate: {...}` in the motions list."""

    generate: MotionBatch


def _motion_tag(value: Any) -> str | None:
    if isinstance(value, GeneratedMotions) or (isinstance(value, dict) and "generate" in value):
        return "generate"
    if isinstance(value, MotionSpec | dict):
        return "motion"
    return None


def _council_tag(value: Any) -> str | None:
    if isinstance(value, str):
        return "path"
    if isinstance(value, CouncilFile | dict):
        return "inline"
    return None


MotionEntry = Annotated[
    Union[Annotated[MotionSpec, Tag("motion")], Annotated[GeneratedMotions, Tag("generate")]],  # noqa: UP007
    Discriminator(
        _motion_tag,
        custom_error_type=EXPECTED_ERROR,
        custom_error_message="expected a motion mapping or a `generate:` mapping",
    ),
]
CouncilRef = Annotated[
    Union[Annotated[Name, Tag("path")], Annotated[CouncilFile, Tag("inline")]],  # noqa: UP007
    Discriminator(
        _council_tag,
        custom_error_type=EXPECTED_ERROR,
        custom_error_message="expected a council file path (relative to this file)"
        " or an inline council mapping",
    ),
]
Outcome = Literal["adopted", "rejected", "lapsed", "undecided"]


class Expectations(SpecModel):
    """What the run must show; each one is checked and reported."""

    safety: Literal["holds", "violated"] = "holds"
    decided_within_ms: PositiveMilliseconds | None = None
    outcomes: dict[Name, Outcome] = Field(default_factory=dict)
    view_changes_at_most: Annotated[int, Strict(), Field(ge=0)] | None = None
    flipped: tuple[Name, ...] | None = None


class Scenario(SpecModel):
    """A scenario file."""

    name: Name
    description: Text = ""
    council: CouncilRef
    seed: Annotated[int, Strict(), Field(ge=0)] = 1
    duration_ms: PositiveMilliseconds = 120_000
    network: Network = Network()
    faulty: tuple[FaultyGroup, ...] = ()
    motions: tuple[MotionEntry, ...] = ()
    voting: VotingPolicy | None = None
    expect: Expectations = Expectations()


@dataclass(frozen=True)
class ResolvedMotion:
    """A motion to submit, explicit or generated, with every default filled in."""

    id: str
    title: str
    text: str
    category: str
    at_ms: int
    merit: float
    submitter: str


@dataclass(frozen=True)
class LoadedScenario:
    """A valid scenario, its council, and what they resolve to.

    `faulty_seats` maps each faulty seat number to its behaviours (seats in ascending order);
    `motions` holds every motion, generated ones expanded, sorted by `at_ms` (stable).
    """

    scenario: Scenario
    council: CouncilFile
    path: Path | None
    faulty_seats: Mapping[int, tuple[Behaviour, ...]]
    motions: tuple[ResolvedMotion, ...]

    @property
    def voting(self) -> VotingPolicy:
        """The honest seats' policy: the scenario's override, else the council file's."""
        return self.scenario.voting or self.council.voting


def resolve_seats(selector: SeatSelector, council: CouncilFile) -> tuple[int, ...]:
    """The seat numbers (ascending) that `selector` picks in `council`.

    `count` alone spreads the seats over the council starting at seat 1, as the simulator
    places Byzantine replicas; with `constituency` it takes that constituency's first seats.
    ValueError when the selector does not fit the council (a checked scenario always fits).
    """
    if selector.seats is not None:
        outside = [seat for seat in selector.seats if not 1 <= seat <= council.n]
        if outside:
            raise ValueError(f"seat {outside[0]} is not in a council of {council.n} seats")
        return tuple(sorted(set(selector.seats)))
    if selector.constituency is not None:
        members = council.seat_numbers(selector.constituency)
        if not members:
            raise ValueError(f"the council has no constituency {selector.constituency!r}")
        count = len(members) if selector.count is None else selector.count
        if count > len(members):
            raise ValueError(f"{selector.constituency} has {len(members)} seats, not {count}")
        return members[:count]
    count = selector.count or 0
    if count > council.n:
        raise ValueError(f"cannot pick {count} of {council.n} seats")
    return tuple(index + 1 for index in byzantine_placement(council.n, count))


__all__ = [
    "BEHAVIOURS",
    "GENERATED_MOTIONS_MAX",
    "Behaviour",
    "BlocVote",
    "BogusViewChange",
    "Censor",
    "Corrupt",
    "CouncilRef",
    "Crash",
    "Equivocate",
    "Expectations",
    "FaultyGroup",
    "Forge",
    "GeneratedMotions",
    "Latency",
    "LoadedScenario",
    "MotionBatch",
    "MotionEntry",
    "MotionSpec",
    "Network",
    "Omit",
    "OutOfWatermarks",
    "Outcome",
    "Phase",
    "Replay",
    "ResolvedMotion",
    "Scenario",
    "SeatSelector",
    "Silent",
    "Slow",
    "SplitBrain",
    "TimedBehaviour",
    "Twins",
    "WithholdVotes",
    "resolve_seats",
]

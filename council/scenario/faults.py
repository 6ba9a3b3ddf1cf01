"""Faulty seats in a scenario: seat selectors and the Byzantine behaviours, one model per kind.

`Behaviour` is a discriminated union on `kind`. Every behaviour acts in the window
[from_ms, until_ms) of virtual time (until_ms None: to the end of the run). What the behaviours
do lives in council/behaviours and the scenario runner; these models only say what was asked.
"""

from __future__ import annotations

from typing import Annotated, Final, Literal

from pydantic import Field, Strict, ValidationInfo, field_validator, model_validator

from council.council_file import Milliseconds, Name, PositiveMilliseconds, Vote
from council.yamlfile import Problem, SpecModel, problems_error

SeatNumber = Annotated[int, Strict(), Field(ge=1)]
_SELECTOR_KEYS: Final = ("seats", "constituency", "count")


class SeatSelector(SpecModel):
    """Seats by number, by constituency, or `count` spread over the council (seat 1 first);
    `constituency` with `count` takes that constituency's first `count` seats."""

    seats: Annotated[tuple[SeatNumber, ...], Field(min_length=1)] | None = None
    constituency: Name | None = None
    count: Annotated[int, Strict(), Field(ge=0)] | None = None

    @model_validator(mode="after")
    def _one_way_to_select(self) -> SeatSelector:
        given = [key for key in _SELECTOR_KEYS if getattr(self, key) is not None]
        if len(given) != 1 and given != ["constituency", "count"]:
            found = ", ".join(given) if given else "none of them"
            raise ValueError(
                "expected exactly one of seats, constituency or count (constituency may be"
                f" combined with count), got {found}"
            )
        repeated = [
            Problem(("seats", index), f"seat {seat} is listed twice")
            for index, seat in enumerate(self.seats or ())
            if seat in (self.seats or ())[:index]
        ]
        if repeated:
            raise problems_error(repeated)
        return self


class TimedBehaviour(SpecModel):
    """A behaviour's kind and the window [from_ms, until_ms) in which it acts."""

    kind: str
    from_ms: Milliseconds = 0
    until_ms: Milliseconds | None = None

    @field_validator("until_ms")
    @classmethod
    def _after_start(cls, until_ms: int | None, info: ValidationInfo) -> int | None:
        from_ms = info.data.get("from_ms")
        if until_ms is not None and isinstance(from_ms, int) and until_ms <= from_ms:
            raise ValueError(f"expected a time after from_ms ({from_ms}), got {until_ms}")
        return until_ms


class Crash(TimedBehaviour):
    """The process crashes at `at_ms`; restarts from durable storage at `restart_at_ms`."""

    kind: Literal["crash"] = "crash"
    at_ms: Milliseconds
    restart_at_ms: Milliseconds | None = None

    @field_validator("restart_at_ms")
    @classmethod
    def _after_crash(cls, restart_at_ms: int | None, info: ValidationInfo) -> int | None:
        at_ms = info.data.get("at_ms")
        if restart_at_ms is not None and isinstance(at_ms, int) and restart_at_ms <= at_ms:
            raise ValueError(f"expected a time after at_ms ({at_ms}), got {restart_at_ms}")
        return restart_at_ms


class Silent(TimedBehaviour):
    """Drops everything in and out."""

    kind: Literal["silent"] = "silent"


class Slow(TimedBehaviour):
    """Holds its outgoing messages for `delay_ms`."""

    kind: Literal["slow"] = "slow"
    delay_ms: PositiveMilliseconds


class Omit(TimedBehaviour):
    """Drops messages to (`out`), from (`in`) or both ways with the seats `peers` selects."""

    kind: Literal["omit"] = "omit"
    peers: SeatSelector
    direction: Literal["in", "out", "both"] = "both"


class Equivocate(TimedBehaviour):
    """As primary, proposes two batches for one slot; as backup, sends conflicting votes."""

    kind: Literal["equivocate"] = "equivocate"


class Forge(TimedBehaviour):
    """Sends messages that claim another seat as sender or carry a bad signature."""

    kind: Literal["forge"] = "forge"


class Corrupt(TimedBehaviour):
    """Changes a field (digest, seq, view) and validly re-signs the message."""

    kind: Literal["corrupt"] = "corrupt"


class Replay(TimedBehaviour):
    """Re-sends its own old messages."""

    kind: Literal["replay"] = "replay"


class Censor(TimedBehaviour):
    """As primary, never proposes motions of `categories` or from `submitters`
    (an empty list censors nothing on its account)."""

    kind: Literal["censor"] = "censor"
    categories: tuple[Name, ...] = ()
    submitters: tuple[Name, ...] = ()


class OutOfWatermarks(TimedBehaviour):
    """Sends pre-prepares and prepares with sequence numbers beyond h + L."""

    kind: Literal["out-of-watermarks"] = "out-of-watermarks"


class BogusViewChange(TimedBehaviour):
    """Broadcasts an unjustified VIEW-CHANGE for a far view every `every_ms`."""

    kind: Literal["bogus-view-change"] = "bogus-view-change"
    every_ms: PositiveMilliseconds = 1000


class BlocVote(TimedBehaviour):
    """Votes `vote`, whatever the merit, on motions of `categories` and `motions` (empty: all)."""

    kind: Literal["bloc-vote"] = "bloc-vote"
    vote: Vote
    categories: tuple[Name, ...] = ()
    motions: tuple[Name, ...] = ()


class WithholdVotes(TimedBehaviour):
    """Casts no ballot on the motions of `categories` and `motions` (empty: all)."""

    kind: Literal["withhold-votes"] = "withhold-votes"
    categories: tuple[Name, ...] = ()
    motions: tuple[Name, ...] = ()


class Twins(TimedBehaviour):
    """Two correct copies of the seat run under one key."""

    kind: Literal["twins"] = "twins"


class SplitBrain(TimedBehaviour):
    """The group colludes: led by seat 1, it shows two halves of the honest seats different
    batches."""

    kind: Literal["split-brain"] = "split-brain"


Behaviour = Annotated[
    Crash
    | Silent
    | Slow
    | Omit
    | Equivocate
    | Forge
    | Corrupt
    | Replay
    | Censor
    | OutOfWatermarks
    | BogusViewChange
    | BlocVote
    | WithholdVotes
    | Twins
    | SplitBrain,
    Field(discriminator="kind"),
]
BEHAVIOURS: Final[dict[str, type[TimedBehaviour]]] = {
    model.model_fields["kind"].default: model
    for model in (
        *(Crash, Silent, Slow, Omit, Equivocate, Forge, Corrupt, Replay, Censor),
        *(OutOfWatermarks, BogusViewChange, BlocVote, WithholdVotes, Twins, SplitBrain),
    )
}


class FaultyGroup(SeatSelector):
    """Faulty seats (a selector) and what they do."""

    behaviours: Annotated[tuple[Behaviour, ...], Field(min_length=1)]

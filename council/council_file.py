"""The council file: a white-label council's name, seats, motion categories and voting policy.

Seats are declared in groups (`{constituency: industry, count: 8}`) and numbered 1..n in file
order; seat k is consensus replica k-1 and signs as principal `r{k-1}`. The secretariat is the
set of client principals allowed to submit motions and close them. docs/scenarios.md is the
reference for every field.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Final, Literal

import yaml
from pydantic import (
    AfterValidator,
    BeforeValidator,
    Field,
    Strict,
    StringConstraints,
    field_validator,
    model_validator,
)

from consensus import replica_principal
from council.governance.app import CategoryRule, GovernanceRules
from council.yamlfile import Problem, SpecModel, load_model, problems_error

MIN_SEATS: Final = 4
SLUG_PATTERN: Final = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
_SEAT_PRINCIPAL: Final = re.compile(r"r[0-9]+")


def _probability(value: float) -> float:
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"expected a number between 0 and 1, got {value:g}")
    return value


def _slug(value: str) -> str:
    if not SLUG_PATTERN.fullmatch(value):
        raise ValueError(
            "expected a slug (lowercase letters and digits joined by single hyphens,"
            f" e.g. 'example-council'), got {value!r}"
        )
    return value


def _yaml_vote(value: object) -> object:
    # YAML 1.1 reads unquoted yes/no as booleans; in a vote they can only mean the words.
    if isinstance(value, bool):
        return "yes" if value else "no"
    return value


Name = Annotated[str, Strict(), StringConstraints(min_length=1)]
Slug = Annotated[str, Strict(), AfterValidator(_slug)]
Milliseconds = Annotated[int, Strict(), Field(ge=0)]
PositiveMilliseconds = Annotated[int, Strict(), Field(gt=0)]
Probability = Annotated[float, Strict(), AfterValidator(_probability)]
VotingRule = Literal["majority", "two-thirds", "unanimity"]
Vote = Annotated[Literal["yes", "no", "abstain"], BeforeValidator(_yaml_vote)]
Stance = Annotated[Literal["yes", "no", "abstain", "merit"], BeforeValidator(_yaml_vote)]


class SeatGroup(SpecModel):
    """`count` consecutive seats of one constituency."""

    constituency: Name
    count: Annotated[int, Strict(), Field(ge=1)]


class Category(SpecModel):
    """A motion category: the rule that adopts its motions, its voting window and turnout."""

    rule: VotingRule
    window_ms: PositiveMilliseconds = 20_000
    turnout: Probability = 0.5


class VotingPolicy(SpecModel):
    """How honest seats vote in a simulation: seeded, by motion merit or constituency stance."""

    policy: Literal["merit", "stance"] = "merit"
    stances: dict[Name, dict[Name, Stance]] = Field(default_factory=dict)
    abstain: Probability = 0.0
    think_ms: tuple[Milliseconds, Milliseconds] = (20, 200)

    @field_validator("think_ms")
    @classmethod
    def _ordered_bounds(cls, think_ms: tuple[int, int]) -> tuple[int, int]:
        low, high = think_ms
        if low > high:
            raise ValueError(f"expected [low, high] with low <= high, got [{low}, {high}]")
        return think_ms


@dataclass(frozen=True)
class Seat:
    """Seat `number` (1-based) of `constituency`, signing as `principal`."""

    number: int
    constituency: str
    principal: str


class CouncilFile(SpecModel):
    """A council: its name and id, seats by constituency, motion categories, voting policy."""

    name: Name
    id: Slug | None = None
    # The file's `seats` key: `seats()` gives the numbered seats these groups declare.
    seat_groups: tuple[SeatGroup, ...] = Field(alias="seats")
    categories: Annotated[dict[Name, Category], Field(min_length=1)]
    secretariat: Annotated[tuple[Name, ...], Field(min_length=1)] = ("secretariat",)
    voting: VotingPolicy = VotingPolicy()

    @field_validator("seat_groups")
    @classmethod
    def _enough_seats(cls, seats: tuple[SeatGroup, ...]) -> tuple[SeatGroup, ...]:
        total = sum(group.count for group in seats)
        if total < MIN_SEATS:
            raise ValueError(f"expected at least {MIN_SEATS} seats in all, got {total}")
        return seats

    @field_validator("secretariat")
    @classmethod
    def _distinct_from_seats(cls, secretariat: tuple[str, ...]) -> tuple[str, ...]:
        for principal in secretariat:
            if _SEAT_PRINCIPAL.fullmatch(principal):
                raise ValueError(f"{principal!r} is a seat's principal; choose another name")
        return secretariat

    @model_validator(mode="after")
    def _consistent(self) -> CouncilFile:
        problems: list[Problem] = []
        if self.id is None and not slugify(self.name):
            problems.append(Problem(("name",), "no id can be made from this name; give an `id`"))
        problems += [
            Problem(("voting", *p.loc), p.message) for p in stance_problems(self.voting, self)
        ]
        if problems:
            raise problems_error(problems)
        return self

    @property
    def n(self) -> int:
        """The number of seats."""
        return sum(group.count for group in self.seat_groups)

    @property
    def council_id(self) -> str:
        """The id that signatures and the roster are bound to."""
        return self.id if self.id is not None else slugify(self.name)

    def seats(self) -> tuple[Seat, ...]:
        """Every seat, numbered 1..n in file order."""
        numbered: list[Seat] = []
        for group in self.seat_groups:
            for _ in range(group.count):
                index = len(numbered)
                numbered.append(Seat(index + 1, group.constituency, replica_principal(index)))
        return tuple(numbered)

    def constituencies(self) -> tuple[str, ...]:
        """The constituencies in order of first appearance."""
        return tuple(dict.fromkeys(group.constituency for group in self.seat_groups))

    def seat_numbers(self, constituency: str) -> tuple[int, ...]:
        """The seats of `constituency`, in order (empty when it does not exist)."""
        return tuple(s.number for s in self.seats() if s.constituency == constituency)

    def governance_rules(self) -> GovernanceRules:
        """The council's constitution as the governance application applies it."""
        categories = {
            name: CategoryRule(c.rule, c.window_ms, c.turnout)
            for name, c in self.categories.items()
        }
        return GovernanceRules.for_council(
            self.council_id, self.n, categories, frozenset(self.secretariat)
        )

    def seat_of(self, principal: str) -> Seat | None:
        """The seat that signs as `principal`, or None when no seat does."""
        return next((s for s in self.seats() if s.principal == principal), None)


def stance_problems(voting: VotingPolicy, council: CouncilFile) -> list[Problem]:
    """Stances that name a constituency or category the council does not have."""
    problems: list[Problem] = []
    constituencies = council.constituencies()
    for constituency, by_category in voting.stances.items():
        if constituency not in constituencies:
            expected = ", ".join(constituencies)
            message = f"unknown constituency {constituency!r}; expected one of: {expected}"
            problems.append(Problem(("stances", constituency), message))
            continue
        for category in by_category:
            if category not in council.categories:
                message = f"unknown category {category!r}; expected one of: " + ", ".join(
                    council.categories
                )
                problems.append(Problem(("stances", constituency, category), message))
    return problems


def slugify(name: str) -> str:
    """`"Example Council"` → `"example-council"` (ASCII letters and digits, single hyphens)."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")


def load_council(path: Path | str) -> CouncilFile:
    """Read and validate a council file; SpecError names the file, line and field of each error."""
    council, _document = load_model(path, CouncilFile)
    return council


DEFAULT_SEATS: Final = (("government", 9), ("industry", 8), ("academia", 8), ("civil-society", 8))
DEFAULT_CATEGORIES: Final[Mapping[str, VotingRule]] = {
    "budget": "majority",
    "environment": "majority",
    "anti-corruption": "two-thirds",
    "appointments": "majority",
    "constitutional": "two-thirds",
    "treaty": "unanimity",
}
#: Who may submit and close motions in a new council: the command line signs as
#: ``secretariat``, the HTTP gateway as ``gateway``. Two principals, so neither ever races the
#: other on a client's request timestamps (exactly-once execution is per client).
DEFAULT_SECRETARIAT: Final = ("secretariat", "gateway")


def default_council(name: str) -> CouncilFile:
    """The default 33-seat council: 9 government, 8 industry, 8 academia, 8 civil-society,
    with the command line's and the gateway's secretariat principals."""
    return CouncilFile(
        name=name,
        id=slugify(name) or "council",
        seats=tuple(SeatGroup(constituency=c, count=k) for c, k in DEFAULT_SEATS),
        categories={c: Category(rule=rule) for c, rule in DEFAULT_CATEGORIES.items()},
        secretariat=DEFAULT_SECRETARIAT,
    )


_HEADER: Final = """\
# Council file: seats and their constituencies, motion categories and voting rules.
# Seats are numbered 1..n in the order below; seat k signs as principal r{k-1}.
# Every field is described in docs/scenarios.md.
"""


class _Flow(dict[str, Any]):
    """A mapping written on one line."""


class _FlowList(list[Any]):
    """A list written on one line."""


class _CouncilDumper(yaml.SafeDumper):
    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)  # indent list items under their key


def _represent_flow(dumper: yaml.SafeDumper, data: _Flow) -> yaml.Node:
    return dumper.represent_mapping("tag:yaml.org,2002:map", data, flow_style=True)


def _represent_flow_list(dumper: yaml.SafeDumper, data: _FlowList) -> yaml.Node:
    return dumper.represent_sequence("tag:yaml.org,2002:seq", data, flow_style=True)


_CouncilDumper.add_representer(_Flow, _represent_flow)
_CouncilDumper.add_representer(_FlowList, _represent_flow_list)


def dump_council(council: CouncilFile) -> str:
    """The council as a commented YAML council file that `load_council` reads back equal."""
    document: dict[str, Any] = {"name": council.name}
    if council.id is not None:
        document["id"] = council.id
    document["seats"] = [_Flow(g.model_dump()) for g in council.seat_groups]
    document["categories"] = {name: _Flow(c.model_dump()) for name, c in council.categories.items()}
    document["secretariat"] = _FlowList(council.secretariat)
    voting = council.voting
    document["voting"] = {
        "policy": voting.policy,
        "stances": {c: _Flow(by_category) for c, by_category in voting.stances.items()},
        "abstain": voting.abstain,
        "think_ms": _FlowList(voting.think_ms),
    }
    if not voting.stances:
        document["voting"]["stances"] = _Flow()
    body = yaml.dump(
        document, Dumper=_CouncilDumper, sort_keys=False, allow_unicode=True, width=100
    )
    return _HEADER + body

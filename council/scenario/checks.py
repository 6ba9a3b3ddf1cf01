"""Checks of a scenario against its council: every name and number it uses must exist there.

Each check reports a `Problem` at the path of the offending value in the scenario file, so the
loader can name its line. The checks run after both files validated on their own.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from council.council_file import CouncilFile, stance_problems
from council.scenario.faults import BlocVote, Censor, Omit, SeatSelector, WithholdVotes
from council.scenario.schema import MotionSpec, Scenario, resolve_seats
from council.yamlfile import Loc, Problem

_LISTED_MAX = 12  # longer lists of choices are cut, so a message stays one readable line


def scenario_problems(scenario: Scenario, council: CouncilFile) -> list[Problem]:
    """Everything in `scenario` that does not fit `council`, in file order."""
    motion_ids, problems = _motion_problems(scenario, council)
    problems += _faulty_problems(scenario, council, motion_ids)
    for index, phase in enumerate(scenario.network.phases):
        where: Loc = ("network", "phases", index, "partition")
        problems += _partition_problems(phase.partition, council, where)
    problems += _expectation_problems(scenario, motion_ids)
    if scenario.voting is not None:
        problems += [
            Problem(("voting", *p.loc), p.message)
            for p in stance_problems(scenario.voting, council)
        ]
    return problems


def generated_ids(prefix: str, count: int) -> list[str]:
    """The ids of a `generate:` batch: prefix1, prefix2, ..."""
    return [f"{prefix}{number}" for number in range(1, count + 1)]


def selector_problems(selector: SeatSelector, council: CouncilFile, where: Loc) -> list[Problem]:
    """A selector naming a constituency, seat or count the council does not have."""
    if selector.seats is not None:
        return [
            Problem((*where, "seats", i), f"expected a seat number from 1 to {council.n}, got {s}")
            for i, s in enumerate(selector.seats)
            if not 1 <= s <= council.n
        ]
    available, what = council.n, "the council's seats"
    if selector.constituency is not None:
        constituencies = council.constituencies()
        if selector.constituency not in constituencies:
            message = f"unknown constituency {selector.constituency!r}; " + _one_of(constituencies)
            return [Problem((*where, "constituency"), message)]
        available = len(council.seat_numbers(selector.constituency))
        what = f"the seats of {selector.constituency}"
    if selector.count is not None and selector.count > available:
        message = f"expected at most {available} ({what}), got {selector.count}"
        return [Problem((*where, "count"), message)]
    return []


def _motion_problems(scenario: Scenario, council: CouncilFile) -> tuple[list[str], list[Problem]]:
    problems: list[Problem] = []
    first_use: dict[str, str] = {}
    for index, entry in enumerate(scenario.motions):
        if isinstance(entry, MotionSpec):
            problems += _category_problems(
                [entry.category], council, ("motions", index, "category")
            )
            if entry.id in first_use:
                message = f"duplicate motion id {entry.id!r} (also {first_use[entry.id]})"
                problems.append(Problem(("motions", index, "id"), message))
            first_use.setdefault(entry.id, f"motions[{index}]")
            if entry.at_ms >= scenario.duration_ms:
                message = f"expected a time before duration_ms ({scenario.duration_ms}), got "
                problems.append(Problem(("motions", index, "at_ms"), message + str(entry.at_ms)))
            continue
        batch = entry.generate
        where: Loc = ("motions", index, "generate")
        problems += _category_problems(batch.categories, council, (*where, "categories"), True)
        repeated = [i for i in generated_ids(batch.prefix, batch.count) if i in first_use]
        if repeated:
            message = f"generates id {repeated[0]!r}, already used by {first_use[repeated[0]]}"
            problems.append(Problem((*where, "prefix"), message))
        for motion_id in generated_ids(batch.prefix, batch.count):
            first_use.setdefault(motion_id, f"motions[{index}]")
        last_ms = batch.from_ms + (batch.count - 1) * batch.every_ms
        if last_ms >= scenario.duration_ms:
            message = (
                f"the last generated motion would come at {last_ms} ms, not before duration_ms"
                f" ({scenario.duration_ms}); lower count or every_ms"
            )
            problems.append(Problem((*where, "count"), message))
    return list(first_use), problems


def _faulty_problems(
    scenario: Scenario, council: CouncilFile, motion_ids: Sequence[str]
) -> list[Problem]:
    problems: list[Problem] = []
    group_of: dict[int, int] = {}
    for index, group in enumerate(scenario.faulty):
        where: Loc = ("faulty", index)
        found = selector_problems(group, council, where)
        problems += found
        seats = () if found else resolve_seats(group, council)
        for seat in seats:
            if seat in group_of:
                message = f"seat {seat} is already in faulty[{group_of[seat]}]; a seat can be in"
                problems.append(Problem(where, message + " one faulty group only"))
                break
        for seat in seats:
            group_of.setdefault(seat, index)
        for number, behaviour in enumerate(group.behaviours):
            at: Loc = (*where, "behaviours", number)
            problems += _behaviour_problems(behaviour, council, motion_ids, at)
            if behaviour.kind == "split-brain" and not found and 1 not in seats:
                message = "split-brain is led by seat 1 (the first primary); include seat 1"
                problems.append(Problem((*at, "kind"), message))
    return problems


def _behaviour_problems(
    behaviour: object, council: CouncilFile, motion_ids: Sequence[str], at: Loc
) -> list[Problem]:
    if isinstance(behaviour, Omit):
        return selector_problems(behaviour.peers, council, (*at, "peers"))
    if isinstance(behaviour, Censor):
        return _category_problems(behaviour.categories, council, (*at, "categories"), True)
    if isinstance(behaviour, BlocVote | WithholdVotes):
        problems = _category_problems(behaviour.categories, council, (*at, "categories"), True)
        known = set(motion_ids)
        for i, motion_id in enumerate(behaviour.motions):
            if motion_id not in known:
                message = f"unknown motion {motion_id!r}; " + _one_of(motion_ids)
                problems.append(Problem((*at, "motions", i), message))
        return problems
    return []


def _partition_problems(
    groups: Sequence[SeatSelector], council: CouncilFile, where: Loc
) -> list[Problem]:
    problems: list[Problem] = []
    side_of: dict[int, int] = {}
    for index, group in enumerate(groups):
        found = selector_problems(group, council, (*where, index))
        problems += found
        for seat in () if found else resolve_seats(group, council):
            if side_of.setdefault(seat, index) != index:
                message = f"seat {seat} is also in group {side_of[seat]}; groups must not overlap"
                problems.append(Problem((*where, index), message))
                break
    return problems


def _expectation_problems(scenario: Scenario, motion_ids: Sequence[str]) -> list[Problem]:
    known = set(motion_ids)
    problems = [
        Problem(
            ("expect", "outcomes", motion_id),
            f"unknown motion {motion_id!r}; " + _one_of(motion_ids),
        )
        for motion_id in scenario.expect.outcomes
        if motion_id not in known
    ]
    problems += [
        Problem(("expect", "flipped", i), f"unknown motion {motion_id!r}; " + _one_of(motion_ids))
        for i, motion_id in enumerate(scenario.expect.flipped or ())
        if motion_id not in known
    ]
    return problems


def _category_problems(
    categories: Iterable[str], council: CouncilFile, where: Loc, listed: bool = False
) -> list[Problem]:
    """Unknown categories; `listed` when `where` is a list, so each item has an index."""
    return [
        Problem(
            (*where, i) if listed else where,
            f"unknown category {c!r}; " + _one_of(council.categories),
        )
        for i, c in enumerate(categories)
        if c not in council.categories
    ]


def _one_of(names: Iterable[str]) -> str:
    choices = list(names)
    if not choices:
        return "there are none"
    shown = ", ".join(choices[:_LISTED_MAX])
    more = f", ... ({len(choices) - _LISTED_MAX} more)" if len(choices) > _LISTED_MAX else ""
    return f"expected one of: {shown}{more}"

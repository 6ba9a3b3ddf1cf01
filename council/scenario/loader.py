"""Loading a scenario file: validate it, load its council, check one against the other, and
resolve faulty seats and motions (generated ones included) into plain data for the runner.
"""

from __future__ import annotations

import os
import random
from pathlib import Path

from council.council_file import CouncilFile, load_council
from council.scenario.checks import generated_ids, scenario_problems
from council.scenario.faults import Behaviour
from council.scenario.schema import (
    LoadedScenario,
    MotionBatch,
    MotionSpec,
    ResolvedMotion,
    Scenario,
    resolve_seats,
)
from council.yamlfile import (
    Problem,
    SpecError,
    SpecIssue,
    format_field,
    read_yaml,
    validate_document,
)

_UNSAVED = "<scenario>"


def load_scenario(path: Path | str, *, seed: int | None = None) -> LoadedScenario:
    """Read, validate and resolve a scenario file (and the council file it names).

    `seed` replaces the file's seed (and so the merits of generated motions). SpecError names
    the file, line and field of every error, in the scenario or in its council file.
    """
    path = Path(path)
    document = read_yaml(path)
    scenario = validate_document(document, Scenario)
    if isinstance(scenario.council, str):
        council_path = Path(os.path.normpath(path.parent / scenario.council))
        if not council_path.is_file():
            message = (
                f"no council file at {str(council_path)!r} (the path is relative to this file)"
            )
            raise document.error(Scenario, [Problem(("council",), message)])
        council = load_council(council_path)
    else:
        council = scenario.council
    problems = scenario_problems(scenario, council)
    if problems:
        raise document.error(Scenario, problems)
    if seed is not None:
        scenario = scenario.model_copy(update={"seed": seed})
    return resolve_scenario(scenario, council, path)


def resolve_scenario(
    scenario: Scenario, council: CouncilFile, path: Path | None = None
) -> LoadedScenario:
    """Check `scenario` against `council` and resolve it (for scenarios built in code).

    SpecError (line 0: there is no file to point into) when they do not fit.
    """
    problems = scenario_problems(scenario, council)
    if problems:
        file = str(path) if path is not None else _UNSAVED
        raise SpecError.collect(
            SpecIssue(file, 0, format_field(p.loc), p.message) for p in problems
        )
    faulty: dict[int, tuple[Behaviour, ...]] = {}
    for group in scenario.faulty:
        for seat in resolve_seats(group, council):
            faulty[seat] = group.behaviours
    return LoadedScenario(
        scenario=scenario,
        council=council,
        path=path,
        faulty_seats=dict(sorted(faulty.items())),
        motions=resolve_motions(scenario, council),
    )


def resolve_motions(scenario: Scenario, council: CouncilFile) -> tuple[ResolvedMotion, ...]:
    """Every motion of `scenario`, generated ones expanded, sorted by `at_ms` (stable).

    A generated motion's merit, when the batch gives none, is drawn from a random.Random
    seeded by the scenario seed and the batch's position, so a seed always gives the same list.
    """
    secretariat = council.secretariat[0]
    motions: list[ResolvedMotion] = []
    for index, entry in enumerate(scenario.motions):
        if isinstance(entry, MotionSpec):
            motions.append(_explicit(entry, secretariat))
        else:
            rng = random.Random(f"byzantine-council/motions/{scenario.seed}/{index}")
            motions += _generated(entry.generate, council, secretariat, rng)
    return tuple(sorted(motions, key=lambda motion: motion.at_ms))


def _explicit(motion: MotionSpec, secretariat: str) -> ResolvedMotion:
    return ResolvedMotion(
        id=motion.id,
        title=motion.title or motion.id,
        text=motion.text,
        category=motion.category,
        at_ms=motion.at_ms,
        merit=motion.merit,
        submitter=motion.submitter or secretariat,
    )


def _generated(
    batch: MotionBatch, council: CouncilFile, secretariat: str, rng: random.Random
) -> list[ResolvedMotion]:
    categories = batch.categories or tuple(council.categories)
    motions = []
    for number, motion_id in enumerate(generated_ids(batch.prefix, batch.count)):
        category = categories[number % len(categories)]
        merit = batch.merit if batch.merit is not None else round(rng.random(), 3)
        motions.append(
            ResolvedMotion(
                id=motion_id,
                title=f"Generated {category} motion {motion_id}",
                text="",
                category=category,
                at_ms=batch.from_ms + number * batch.every_ms,
                merit=merit,
                submitter=batch.submitter or secretariat,
            )
        )
    return motions

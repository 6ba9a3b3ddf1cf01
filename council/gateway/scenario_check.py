"""Checking an uploaded scenario with the project's own loader, before it is stored or run.

An upload has no directory of its own, so a ``council:`` that names a file is read relative to
the shipped ``scenarios/`` directory (``council: councils/default.yaml`` works as it does in
the shipped files), and a path that climbs out of that directory is refused. Every problem is a
:class:`~council.yamlfile.SpecIssue` naming the upload (``<upload>``), the line and the field.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from council.council_file import CouncilFile, load_council
from council.scenario.checks import scenario_problems
from council.scenario.loader import resolve_scenario
from council.scenario.schema import LoadedScenario, Scenario
from council.yamlfile import (
    FILE_FIELD,
    Problem,
    SpecError,
    YamlDocument,
    parse_yaml,
    validate_document,
)

UPLOAD_FILE: Final = "<upload>"
#: The repository's scenario library: what an uploaded scenario's council path is relative to.
SHIPPED_SCENARIOS: Final = Path(__file__).resolve().parents[2] / "scenarios"


@dataclass(frozen=True, slots=True)
class CheckedScenario:
    """A valid upload: the scenario resolved against its council, and the council file it
    names, relative to the scenarios directory (``None`` for an inline council)."""

    loaded: LoadedScenario
    council_file: Path | None

    @property
    def summary(self) -> str:
        """``<name>: n seats, k faulty (behaviours...), m motions``."""
        loaded = self.loaded
        kinds = dict.fromkeys(b.kind for bs in loaded.faulty_seats.values() for b in bs)
        faulty = f"{len(loaded.faulty_seats)} faulty"
        if kinds:
            faulty += f" ({', '.join(kinds)})"
        return (
            f"{loaded.scenario.name}: {loaded.council.n} seats, {faulty},"
            f" {len(loaded.motions)} motions"
        )


def upload_text(content: bytes, file: str = UPLOAD_FILE) -> str:
    """An upload's bytes as text; SpecError on the first line that is not UTF-8."""
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = content[: error.start].count(b"\n") + 1
        raise SpecError(file, line, FILE_FIELD, "not UTF-8 text") from None


def check_scenario(
    text: str, scenarios_dir: Path = SHIPPED_SCENARIOS, file: str = UPLOAD_FILE
) -> CheckedScenario:
    """Parse, validate and resolve scenario ``text`` as ``load_scenario`` does a file;
    SpecError lists every problem with ``file``, line and field."""
    document = parse_yaml(text, file)
    scenario = validate_document(document, Scenario)
    council_file: Path | None = None
    council: CouncilFile
    if isinstance(scenario.council, str):
        council_file = _council_file(document, scenario.council, scenarios_dir)
        council = _shipped_council(scenarios_dir, council_file)
    else:
        council = scenario.council
    problems = scenario_problems(scenario, council)
    if problems:
        raise document.error(Scenario, problems)
    return CheckedScenario(resolve_scenario(scenario, council), council_file)


def _council_file(document: YamlDocument, reference: str, scenarios_dir: Path) -> Path:
    relative = Path(os.path.normpath(reference))
    # Lexically first: "../" is refused even when it would come back in; then through links.
    escapes = relative.is_absolute() or relative.parts[:1] == ("..",)
    if escapes or not (scenarios_dir / relative).resolve().is_relative_to(scenarios_dir.resolve()):
        message = f"a council path must stay inside the scenarios directory, got {reference!r}"
        raise document.error(Scenario, [Problem(("council",), message)])
    if not (scenarios_dir / relative).is_file():
        known = ", ".join(_council_files(scenarios_dir)) or "none"
        message = (
            f"no council file {reference!r} (the path is relative to the scenarios directory;"
            f" its council files: {known})"
        )
        raise document.error(Scenario, [Problem(("council",), message)])
    return relative


def _council_files(scenarios_dir: Path) -> list[str]:
    return sorted(str(p.relative_to(scenarios_dir)) for p in scenarios_dir.glob("councils/*.yaml"))


def _shipped_council(scenarios_dir: Path, relative: Path) -> CouncilFile:
    try:
        return load_council(scenarios_dir / relative)
    except SpecError as error:
        # Name the file as the scenario did, not by where the server keeps it.
        absolute = str(scenarios_dir / relative)
        renamed = (
            issue._replace(file=str(relative)) if issue.file == absolute else issue
            for issue in error.errors
        )
        raise SpecError.collect(renamed) from None

"""Writing council and scenario files for the spec tests, and reading their errors."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from council.council_file import default_council, dump_council
from council.scenario import LoadedScenario, load_scenario
from council.yamlfile import SpecError

COUNCIL_NAME = "Test Council"


def write(directory: Path, name: str, text: str) -> Path:
    """Write dedented `text` to directory/name and return the path."""
    path = directory / name
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


def scenario(directory: Path, body: str) -> Path:
    """A scenario file whose first two lines name it and the default council beside it.

    `body` starts on line 3.
    """
    write(directory, "council.yaml", dump_council(default_council(COUNCIL_NAME)))
    header = "name: test\ncouncil: council.yaml\n"
    return write(directory, "scenario.yaml", header + textwrap.dedent(body).lstrip("\n"))


def load(path: Path) -> LoadedScenario:
    return load_scenario(path)


def errors(path: Path) -> list[str]:
    """The lines of the SpecError that loading the scenario at `path` raises."""
    with pytest.raises(SpecError) as caught:
        load_scenario(path)
    return str(caught.value).splitlines()

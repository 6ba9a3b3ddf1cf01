"""The council and scenario files shown in docs/scenarios.md are valid."""

from __future__ import annotations

import re
from pathlib import Path

from council.council_file import load_council
from council.scenario import load_scenario

DOCS = Path(__file__).resolve().parents[3] / "docs" / "scenarios.md"
EXAMPLE = re.compile(r"```yaml\n# file: (?P<name>\S+)\n(?P<body>.*?)```", re.DOTALL)


def test_every_example_file_in_the_reference_is_valid(tmp_path: Path) -> None:
    examples = {m["name"]: m["body"] for m in EXAMPLE.finditer(DOCS.read_text(encoding="utf-8"))}
    assert set(examples) == {
        "councils/default.yaml",
        "capture-and-partition.yaml",
        "small-crash.yaml",
    }
    for name, body in examples.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(body, encoding="utf-8")
    council = load_council(tmp_path / "councils/default.yaml")
    assert council.n == 33
    capture = load_scenario(tmp_path / "capture-and-partition.yaml")
    assert capture.council == council
    assert len(capture.faulty_seats) == 9
    assert len(capture.motions) == 22
    small = load_scenario(tmp_path / "small-crash.yaml")
    assert small.council.n == 7
    assert list(small.faulty_seats) == [1, 4]

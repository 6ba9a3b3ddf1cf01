"""Schemathesis over the OpenAPI spec: generated requests, valid and not, never get a 5xx or a
response that breaks the spec. Each role fuzzes the operations it may call."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from api import ApiSettings
from tests.api.served import served_api

CHECKS = "not_a_server_error,response_schema_conformance"
#: Examples per operation: `make test` reaches every field's edge cases (schemathesis' coverage
#: phase) and some fuzzing; `make test-long` fuzzes ten times as long.
EXAMPLES = 15
EXAMPLES_LONG = 150


def schemathesis(
    url: str, token: str, *selection: str, examples: int
) -> subprocess.CompletedProcess[str]:
    command = [
        str(Path(sys.executable).with_name("schemathesis")),
        "run",
        f"{url}/openapi.json",
        "--checks",
        CHECKS,
        "--max-examples",
        str(examples),
        "--seed",
        "1",
        "--header",
        f"Authorization: Bearer {token}",
        # The event stream never ends; tests/api/test_motion_lifecycle.py reads it.
        "--exclude-path",
        "/v1/events",
        *selection,
    ]
    return subprocess.run(command, capture_output=True, text=True, timeout=1_800, check=False)


@pytest.mark.parametrize(
    "examples", [EXAMPLES, pytest.param(EXAMPLES_LONG, marks=pytest.mark.slow)]
)
def test_no_generated_request_gets_a_server_error_or_breaks_the_schema(
    tmp_path: Path, examples: int
) -> None:
    settings = ApiSettings(requests_per_minute=1_000_000)
    with served_api(tmp_path, settings=settings) as served:
        runs = {
            "secretariat": schemathesis(
                served.url,
                served.tokens["secretariat"],
                "--exclude-path-regex",
                "scenarios|runs|ballots",
                examples=examples,
            ),
            "member": schemathesis(
                served.url,
                served.tokens["member-1"],
                "--include-path-regex",
                "ballots",
                examples=examples,
            ),
            "designer": schemathesis(
                served.url,
                served.tokens["designer"],
                "--include-path-regex",
                "scenarios|runs",
                examples=examples,
            ),
        }
    for role, run in runs.items():
        assert run.returncode == 0, f"{role}:\n{run.stdout[-6000:]}\n{run.stderr[-2000:]}"

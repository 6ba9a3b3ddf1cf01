"""Request and response bodies of the scenario desk: uploads, checks, runs and their pages."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Final

from pydantic import BaseModel, ConfigDict, Field

from council.gateway.scenario_check import CheckedScenario
from council.gateway.scenario_runner import RunMode
from council.gateway.scenarios import RunRow, RunStatus, ScenarioRow
from council.yamlfile import SpecError, SpecIssue

#: The content types an upload may come as; ``application/json`` wraps it as ``{"yaml": ...}``.
YAML_TYPES: Final = ("application/yaml", "application/x-yaml", "text/yaml", "text/plain")

_EXAMPLE: Final = """name: small-board
council:
  name: Small Board
  seats:
    - {constituency: town, count: 4}
  categories:
    budget: {rule: majority, window_ms: 2000}
duration_ms: 5000
motions:
  - {id: M-1, title: "Mend the pier", category: budget, at_ms: 100, merit: 1.0}
expect:
  outcomes: {M-1: adopted}
"""


def _at(seconds: float | None) -> datetime | None:
    return None if seconds is None else datetime.fromtimestamp(seconds, UTC)


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _Out(BaseModel):
    model_config = ConfigDict(frozen=True)


class ScenarioUpload(_In):
    """A scenario file sent as JSON rather than as YAML."""

    yaml: Annotated[str, Field(description="The scenario file's text.")]


def upload_body() -> dict[str, Any]:
    """The OpenAPI ``requestBody`` of an upload: YAML text, or JSON wrapping it."""
    text = {"schema": {"type": "string"}, "example": _EXAMPLE}
    return {
        "requestBody": {
            "required": True,
            "description": "A scenario file (docs/scenarios.md), as YAML text or as JSON"
            ' `{"yaml": "..."}`. A `council:` path is relative to the shipped scenarios'
            " directory (`councils/default.yaml`) and may not leave it; or write the council"
            " inline.",
            "content": {
                **{kind: text for kind in YAML_TYPES},
                "application/json": {
                    "schema": ScenarioUpload.model_json_schema(),
                    "example": {"yaml": _EXAMPLE},
                },
            },
        }
    }


class ProblemOut(_Out):
    """One problem in an upload: the file (``<upload>`` or the council file it names), the
    line (0: the text could not be read at all), the field and what was expected."""

    file: str
    line: int
    field: str
    message: str

    @classmethod
    def of(cls, issue: SpecIssue) -> ProblemOut:
        return cls(file=issue.file, line=issue.line, field=issue.field, message=issue.message)


class ProblemsOut(_Out):
    """Why an upload was refused (422): every problem, as text and one by one."""

    detail: str
    errors: list[str]
    problems: list[ProblemOut]

    @classmethod
    def of(cls, error: SpecError) -> ProblemsOut:
        return cls(
            detail=str(error),
            errors=[str(issue) for issue in error.errors],
            problems=[ProblemOut.of(issue) for issue in error.errors],
        )


class ScenarioCheckOut(_Out):
    """A check of a scenario that stores nothing: valid, or every problem."""

    valid: bool
    name: str | None = None
    summary: str | None = None
    seats: int | None = None
    faulty_seats: int | None = None
    motions: int | None = None
    problems: list[ProblemOut] = []

    @classmethod
    def of(cls, checked: CheckedScenario) -> ScenarioCheckOut:
        loaded = checked.loaded
        return cls(
            valid=True,
            name=loaded.scenario.name,
            summary=checked.summary,
            seats=loaded.council.n,
            faulty_seats=len(loaded.faulty_seats),
            motions=len(loaded.motions),
        )

    @classmethod
    def invalid(cls, error: SpecError) -> ScenarioCheckOut:
        return cls(valid=False, problems=[ProblemOut.of(issue) for issue in error.errors])


class ScenarioOut(_Out):
    """An uploaded scenario."""

    id: str
    name: str
    summary: str = Field(description="Seats, faulty seats and motions, in a line.")
    council_file: str | None = Field(
        description="The council file it names, in the scenarios directory (none: inline)."
    )
    seed: int = Field(description="The file's seed: a run without one uses it.")
    uploaded_by: str
    created: datetime
    runs_url: str

    @classmethod
    def of(cls, row: ScenarioRow) -> ScenarioOut:
        return cls(**_scenario_fields(row))


class ScenarioDetailOut(ScenarioOut):
    """An uploaded scenario with its YAML text, as it was uploaded."""

    yaml: str

    @classmethod
    def of(cls, row: ScenarioRow) -> ScenarioDetailOut:
        return cls(**_scenario_fields(row), yaml=row.yaml or "")


def _scenario_fields(row: ScenarioRow) -> dict[str, Any]:
    return {
        "id": row.id,
        "name": row.name,
        "summary": row.summary,
        "council_file": row.council_file,
        "seed": row.seed,
        "uploaded_by": row.uploaded_by,
        "created": datetime.fromtimestamp(row.created_s, UTC),
        "runs_url": f"/v1/scenarios/{row.id}/runs",
    }


class ScenarioPage(_Out):
    items: list[ScenarioOut]
    total: int
    limit: int
    offset: int


class RunIn(_In):
    """A run to queue: in the simulator (virtual time, deterministic) or on a live council of
    agent processes (real time: a 60 s scenario takes a minute)."""

    mode: RunMode = "simulated"
    seed: Annotated[int | None, Field(ge=0, le=2**63 - 1)] = Field(
        default=None, description="Replaces the scenario's seed."
    )


class RunOut(_Out):
    """A run: ``queued`` → ``running`` → ``passed``, ``failed`` (an expectation failed; the
    reports say which) or ``error`` (no report: ``error`` says why)."""

    id: str
    scenario: str
    mode: RunMode
    seed: int
    status: RunStatus
    requested_by: str
    queued: datetime
    started: datetime | None
    finished: datetime | None
    exit_code: int | None = Field(description="The command line's: 0 passed, 1 failed.")
    summary: str | None = Field(description="Failed expectations, or that all were met.")
    error: str | None
    report_json_url: str | None
    report_html_url: str | None

    @classmethod
    def of(cls, row: RunRow) -> RunOut:
        return cls(
            id=row.id,
            scenario=row.scenario,
            mode=row.mode,
            seed=row.seed,
            status=row.status,
            requested_by=row.requested_by,
            queued=datetime.fromtimestamp(row.queued_s, UTC),
            started=_at(row.started_s),
            finished=_at(row.finished_s),
            exit_code=row.exit_code,
            summary=row.summary,
            error=row.error,
            report_json_url=f"/v1/runs/{row.id}/report.json" if row.has_report else None,
            report_html_url=f"/v1/runs/{row.id}/report.html" if row.has_report else None,
        )


class RunPage(_Out):
    items: list[RunOut]
    total: int
    limit: int
    offset: int

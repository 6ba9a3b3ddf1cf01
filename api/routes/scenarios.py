"""Scenarios: designers upload, check and run them; anyone reads them, their runs and reports."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request, Response
from fastapi.responses import HTMLResponse, JSONResponse
from pydantic import ValidationError

from api.deps import DesignerDep, HolderDep
from api.scenario_schemas import (
    YAML_TYPES,
    ProblemsOut,
    RunIn,
    RunOut,
    RunPage,
    ScenarioCheckOut,
    ScenarioDetailOut,
    ScenarioOut,
    ScenarioPage,
    ScenarioUpload,
    upload_body,
)
from council.gateway.gateway import GatewayError
from council.gateway.scenario_check import UPLOAD_FILE, upload_text
from council.gateway.scenarios import ReportKind, RunStatus, ScenarioDesk
from council.yamlfile import FILE_FIELD, SpecError

router = APIRouter()

ScenarioId = Annotated[str, Path(min_length=1, max_length=64, description="The scenario's id.")]
RunId = Annotated[str, Path(min_length=1, max_length=64, description="The run's id.")]
Limit = Annotated[int, Query(ge=1, le=200)]
Offset = Annotated[int, Query(ge=0, le=1_000_000)]


def get_desk(request: Request) -> ScenarioDesk:
    desk: ScenarioDesk = request.app.state.scenarios
    return desk


DeskDep = Annotated[ScenarioDesk, Depends(get_desk)]


@dataclass(frozen=True, slots=True)
class Upload:
    """An upload's body, not read yet: YAML bytes, or JSON wrapping the YAML text."""

    content: bytes
    wrapped: bool

    def text(self) -> str:
        """The scenario's text; SpecError when the body cannot be read as one."""
        if not self.wrapped:
            return upload_text(self.content)
        try:
            return ScenarioUpload.model_validate_json(self.content).yaml
        except ValidationError as error:
            found = "; ".join(
                f"{'.'.join(str(part) for part in e['loc']) or 'body'}: {e['msg']}"
                for e in error.errors(include_url=False)
            )
            message = f'expected a JSON object {{"yaml": "<the scenario>"}}: {found}'
            raise SpecError(UPLOAD_FILE, 0, FILE_FIELD, message) from None


async def upload(request: Request) -> Upload:
    """The upload's body (415 for content types other than YAML, text and JSON; a body with
    no content type is read as YAML)."""
    kind = request.headers.get("content-type", YAML_TYPES[0]).split(";")[0].strip().lower()
    if kind != "application/json" and kind not in YAML_TYPES:
        accepted = ", ".join((*YAML_TYPES, "application/json"))
        raise HTTPException(415, f"send the scenario as one of: {accepted}; got {kind!r}")
    return Upload(await request.body(), wrapped=kind == "application/json")


UploadDep = Annotated[Upload, Depends(upload)]
_UPLOAD_RESPONSES: dict[int | str, dict[str, object]] = {
    413: {"description": "The upload is over the scenario size limit."},
    415: {"description": "Neither YAML, text nor JSON."},
}


@router.post(
    "/v1/scenarios",
    tags=["scenarios"],
    status_code=201,
    response_model=ScenarioOut,
    openapi_extra=upload_body(),
    responses={
        **_UPLOAD_RESPONSES,
        422: {"model": ProblemsOut, "description": "The scenario is invalid; nothing stored."},
    },
)
def upload_scenario(
    body: UploadDep, desk: DeskDep, holder: DesignerDep, response: Response
) -> ScenarioOut | JSONResponse:
    """Check a scenario as ``council scenario validate`` does and store it. Each problem names
    its line and field, in ``<upload>`` (or the council file it names)."""
    try:
        row = desk.upload(body.text(), uploaded_by=holder.name)
    except SpecError as error:
        return JSONResponse(ProblemsOut.of(error).model_dump(), status_code=422)
    response.headers["Location"] = f"/v1/scenarios/{row.id}"
    return ScenarioOut.of(row)


@router.post(
    "/v1/scenarios/validate",
    tags=["scenarios"],
    response_model=ScenarioCheckOut,
    openapi_extra=upload_body(),
    responses=_UPLOAD_RESPONSES,
)
def validate_scenario(body: UploadDep, desk: DeskDep, holder: DesignerDep) -> ScenarioCheckOut:
    """Check a scenario without storing it: ``valid`` with what it holds, or every problem."""
    try:
        return ScenarioCheckOut.of(desk.check(body.text()))
    except SpecError as error:
        return ScenarioCheckOut.invalid(error)


@router.get("/v1/scenarios", tags=["scenarios"], response_model=ScenarioPage)
def list_scenarios(
    desk: DeskDep, holder: HolderDep, limit: Limit = 50, offset: Offset = 0
) -> ScenarioPage:
    """Uploaded scenarios, newest first."""
    rows, total = desk.scenarios(limit=limit, offset=offset)
    return ScenarioPage(
        items=[ScenarioOut.of(row) for row in rows], total=total, limit=limit, offset=offset
    )


@router.get(
    "/v1/scenarios/{scenario_id}",
    tags=["scenarios"],
    response_model=ScenarioDetailOut,
    responses={404: {}},
)
def get_scenario(scenario_id: ScenarioId, desk: DeskDep, holder: HolderDep) -> ScenarioDetailOut:
    """One scenario, with its YAML as uploaded."""
    row = desk.scenario(scenario_id)
    if row is None:
        raise HTTPException(404, f"no scenario {scenario_id}")
    return ScenarioDetailOut.of(row)


@router.post(
    "/v1/scenarios/{scenario_id}/runs",
    tags=["runs"],
    status_code=202,
    response_model=RunOut,
    responses={404: {}, 429: {"description": "Too many runs are waiting already."}},
)
def request_run(
    scenario_id: ScenarioId,
    desk: DeskDep,
    holder: DesignerDep,
    response: Response,
    body: RunIn | None = None,
) -> RunOut:
    """Queue a run (no body: simulated, with the scenario's seed). Runs go one at a time, as
    ``council scenario run``; follow the run's status until it is ``passed``, ``failed`` or
    ``error``."""
    body = body or RunIn()
    try:
        row = desk.request_run(scenario_id, body.mode, body.seed, requested_by=holder.name)
    except GatewayError as error:
        raise HTTPException(error.status, error.reason) from None
    response.headers["Location"] = f"/v1/runs/{row.id}"
    return RunOut.of(row)


@router.get(
    "/v1/scenarios/{scenario_id}/runs",
    tags=["runs"],
    response_model=RunPage,
    responses={404: {}},
)
def list_scenario_runs(
    scenario_id: ScenarioId,
    desk: DeskDep,
    holder: HolderDep,
    limit: Limit = 50,
    offset: Offset = 0,
) -> RunPage:
    """The scenario's runs, newest first."""
    if desk.scenario(scenario_id) is None:
        raise HTTPException(404, f"no scenario {scenario_id}")
    return _page(desk, limit, offset, scenario=scenario_id)


@router.get("/v1/runs", tags=["runs"], response_model=RunPage)
def list_runs(
    desk: DeskDep,
    holder: HolderDep,
    status: RunStatus | None = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> RunPage:
    """Every scenario's runs, newest first, in one status or any."""
    return _page(desk, limit, offset, status=status)


def _page(
    desk: ScenarioDesk,
    limit: int,
    offset: int,
    *,
    scenario: str | None = None,
    status: RunStatus | None = None,
) -> RunPage:
    rows, total = desk.runs(scenario=scenario, status=status, limit=limit, offset=offset)
    return RunPage(items=[RunOut.of(row) for row in rows], total=total, limit=limit, offset=offset)


@router.get("/v1/runs/{run_id}", tags=["runs"], response_model=RunOut, responses={404: {}})
def get_run(run_id: RunId, desk: DeskDep, holder: HolderDep) -> RunOut:
    """One run and how far it got."""
    row = desk.run(run_id)
    if row is None:
        raise HTTPException(404, f"no run {run_id}")
    return RunOut.of(row)


_REPORT_RESPONSES: dict[int | str, dict[str, object]] = {
    404: {"description": "No such run, or it ended in error without a report."},
    409: {"description": "The run has not finished yet."},
}


@router.get(
    "/v1/runs/{run_id}/report.json",
    tags=["runs"],
    responses={
        200: {"content": {"application/json": {}}, "description": "The run's RunReport."},
        **_REPORT_RESPONSES,
    },
)
def get_json_report(run_id: RunId, desk: DeskDep, holder: HolderDep) -> Response:
    """The run's report as ``council scenario run --json`` wrote it."""
    return Response(_report(desk, run_id, "json"), media_type="application/json")


@router.get(
    "/v1/runs/{run_id}/report.html",
    tags=["runs"],
    response_class=HTMLResponse,
    responses={
        200: {"content": {"text/html": {}}, "description": "A self-contained page."},
        **_REPORT_RESPONSES,
    },
)
def get_html_report(run_id: RunId, desk: DeskDep, holder: HolderDep) -> HTMLResponse:
    """The run's report as ``council scenario run --html`` wrote it, with its plots."""
    return HTMLResponse(_report(desk, run_id, "html"))


def _report(desk: ScenarioDesk, run_id: str, kind: ReportKind) -> str:
    row = desk.run(run_id)
    if row is None:
        raise HTTPException(404, f"no run {run_id}")
    if row.status in ("queued", "running"):
        raise HTTPException(409, f"run {run_id} is {row.status}; its report comes when it ends")
    report = desk.report(run_id, kind)
    if report is None:
        raise HTTPException(404, f"run {run_id} ended in error, without a report: {row.error}")
    return report

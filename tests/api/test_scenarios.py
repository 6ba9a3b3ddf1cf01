"""Scenarios over HTTP: designers upload, check and run them; the runs' reports come back."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import pytest

from api import ApiSettings
from council.gateway import GatewayError, GatewayStore
from council.gateway.scenarios import INTERRUPTED, STOPPED, ScenarioDesk
from tests.api.support import BASELINE, Api, simulated_api

YAML = {"Content-Type": "application/yaml"}

#: Four seats, two motions: a run takes about a second, most of it starting Python.
SMALL_BOARD = """\
name: small-board
description: A four-seat board decides two motions.
council:
  name: Small Board
  seats:
    - {constituency: town, count: 4}
  categories:
    budget: {rule: majority, window_ms: 2000}
seed: 3
duration_ms: 5000
motions:
  - {id: M-1, title: "Mend the pier", category: budget, at_ms: 100, merit: 1.0}
  - {id: M-2, title: "Paint the hall", category: budget, at_ms: 200, merit: 0.0}
expect:
  safety: holds
  outcomes: {M-1: adopted, M-2: rejected}
"""

#: The shipped council, named by its path; every seat supports M-1, which is expected to fail.
WRONG_GUESS = """\
name: wrong-guess
council: councils/default.yaml
duration_ms: 3000
motions:
  - {id: M-1, title: "Mend the pier", category: budget, at_ms: 100, merit: 1.0}
expect:
  outcomes: {M-1: rejected}
"""


def upload(api: Api, text: str, who: str = "designer") -> Any:
    return api.client.post("/v1/scenarios", content=text, headers=api.headers(who, **YAML))


def uploaded(api: Api, text: str) -> str:
    response = upload(api, text)
    assert response.status_code == 201, response.text
    scenario_id: str = response.json()["id"]
    return scenario_id


def start_run(api: Api, scenario_id: str, **body: object) -> Any:
    response = api.client.post(
        f"/v1/scenarios/{scenario_id}/runs", json=body, headers=api.headers("designer")
    )
    assert response.status_code == 202, response.text
    return response.json()


def wait_for_run(api: Api, run_id: str, timeout_s: float = 90) -> Any:
    """Poll the run until it has finished; fail with what it last was."""
    deadline = time.monotonic() + timeout_s
    body: Any = None
    while time.monotonic() < deadline:
        body = api.client.get(f"/v1/runs/{run_id}", headers=api.headers("observer")).json()
        if body["status"] not in ("queued", "running"):
            return body
        time.sleep(0.1)
    raise AssertionError(f"run {run_id} still {body and body['status']} after {timeout_s} s")


# -- uploads -------------------------------------------------------------------------------


def test_a_shipped_scenario_uploads_and_reads_back(tmp_path: Path) -> None:
    text = BASELINE.read_text()
    with simulated_api(tmp_path) as api:
        response = upload(api, text)
        assert response.status_code == 201, response.text
        scenario = response.json()
        assert response.headers["Location"] == f"/v1/scenarios/{scenario['id']}"
        assert scenario["name"] == "baseline"
        assert scenario["summary"] == "baseline: 33 seats, 0 faulty, 12 motions"
        assert scenario["council_file"] == "councils/default.yaml"
        assert scenario["uploaded_by"] == "test designer"
        detail = api.client.get(
            f"/v1/scenarios/{scenario['id']}", headers=api.headers("observer")
        ).json()
        listing = api.client.get("/v1/scenarios", headers=api.headers("observer")).json()
    assert detail["yaml"] == text
    assert listing["total"] == 1
    assert [item["id"] for item in listing["items"]] == [scenario["id"]]


def test_a_scenario_may_come_wrapped_in_json(tmp_path: Path) -> None:
    with simulated_api(tmp_path) as api:
        response = api.client.post(
            "/v1/scenarios", json={"yaml": SMALL_BOARD}, headers=api.headers("designer")
        )
        unwrapped = api.client.post(
            "/v1/scenarios", json={"yml": SMALL_BOARD}, headers=api.headers("designer")
        )
    assert response.status_code == 201, response.text
    assert response.json()["summary"] == "small-board: 4 seats, 0 faulty, 2 motions"
    assert unwrapped.status_code == 422
    assert unwrapped.json()["problems"][0]["message"].startswith('expected a JSON object {"yaml"')


@pytest.mark.parametrize(
    ("text", "line", "field", "message"),
    [
        ("name: x\ncouncil: [unclosed\n", 3, "(syntax)", "invalid YAML"),
        ("name: x\ncouncil: councils/default.yaml\nseeed: 3\n", 3, "seeed", "unknown key"),
        ("name: x\ncouncil: councils/default.yaml\nseed: many\n", 3, "seed", "expected an int"),
        ("name: x\ncouncil: ../councils/x.yaml\n", 2, "council", "must stay inside"),
        ("name: x\ncouncil: /etc/passwd\n", 2, "council", "must stay inside"),
        ("name: x\ncouncil: councils/nine.yaml\n", 2, "council", "no council file"),
        ("name: x\ncouncil: councils/default.yaml\ndescription: \x07\n", 3, "(syntax)", "invalid"),
    ],
    ids=["syntax", "unknown-key", "wrong-type", "climbs-out", "absolute", "missing", "bell"],
)
def test_an_invalid_upload_names_line_and_field(
    tmp_path: Path, text: str, line: int, field: str, message: str
) -> None:
    with simulated_api(tmp_path) as api:
        response = upload(api, text)
        listing = api.client.get("/v1/scenarios", headers=api.headers("observer")).json()
    assert response.status_code == 422, response.text
    (problem,) = response.json()["problems"]
    assert (problem["file"], problem["line"], problem["field"]) == ("<upload>", line, field)
    assert message in problem["message"]
    assert response.json()["errors"] == [response.json()["detail"]]
    assert response.json()["detail"].startswith(f"<upload>:{line}: {field}: ")
    assert listing["total"] == 0


def test_a_scenario_that_does_not_fit_its_council_names_the_motion(tmp_path: Path) -> None:
    text = SMALL_BOARD.replace("category: budget, at_ms: 200", "category: tolls, at_ms: 200")
    with simulated_api(tmp_path) as api:
        response = upload(api, text)
    assert response.status_code == 422
    (problem,) = response.json()["problems"]
    assert (problem["line"], problem["field"]) == (13, "motions[1].category")


def test_validation_checks_without_storing(tmp_path: Path) -> None:
    with simulated_api(tmp_path) as api:
        valid = api.client.post(
            "/v1/scenarios/validate", content=SMALL_BOARD, headers=api.headers("designer", **YAML)
        ).json()
        invalid = api.client.post(
            "/v1/scenarios/validate",
            content="name: x\ncouncil: councils/default.yaml\nseeed: 3\n",
            headers=api.headers("designer", **YAML),
        ).json()
        listing = api.client.get("/v1/scenarios", headers=api.headers("observer")).json()
    assert valid == {
        "valid": True,
        "name": "small-board",
        "summary": "small-board: 4 seats, 0 faulty, 2 motions",
        "seats": 4,
        "faulty_seats": 0,
        "motions": 2,
        "problems": [],
    }
    assert invalid["valid"] is False
    assert [(p["line"], p["field"]) for p in invalid["problems"]] == [(3, "seeed")]
    assert listing["total"] == 0


def test_an_upload_over_the_size_limit_is_refused(tmp_path: Path) -> None:
    settings = ApiSettings(scenario_bytes_max=1024)
    padded = SMALL_BOARD + "# padding\n" * 200
    with simulated_api(tmp_path, settings=settings) as api:
        response = upload(api, padded)
    assert response.status_code == 413


def test_only_designers_upload_and_run(tmp_path: Path) -> None:
    with simulated_api(tmp_path) as api:
        as_observer = upload(api, SMALL_BOARD, who="observer")
        anonymous = api.client.post("/v1/scenarios", content=SMALL_BOARD, headers=YAML)
        form = api.client.post(
            "/v1/scenarios",
            content=SMALL_BOARD,
            headers=api.headers("designer", **{"Content-Type": "application/octet-stream"}),
        )
        scenario_id = uploaded(api, SMALL_BOARD)
        run_as_observer = api.client.post(
            f"/v1/scenarios/{scenario_id}/runs", json={}, headers=api.headers("observer")
        )
        unknown = api.client.post("/v1/scenarios/S-9-000000/runs", headers=api.headers("designer"))
        bad_mode = api.client.post(
            f"/v1/scenarios/{scenario_id}/runs",
            json={"mode": "dry"},
            headers=api.headers("designer"),
        )
    assert as_observer.status_code == 403
    assert anonymous.status_code == 401
    assert form.status_code == 415
    assert run_as_observer.status_code == 403
    assert unknown.status_code == 404
    assert bad_mode.status_code == 422


# -- runs ----------------------------------------------------------------------------------


def test_a_simulated_run_passes_and_serves_its_reports(tmp_path: Path) -> None:
    with simulated_api(tmp_path) as api:
        scenario_id = uploaded(api, SMALL_BOARD)
        run = start_run(api, scenario_id, mode="simulated")
        early = api.client.get(f"/v1/runs/{run['id']}/report.json", headers=api.headers("observer"))
        finished = wait_for_run(api, run["id"])
        report = api.client.get(finished["report_json_url"], headers=api.headers("observer"))
        page = api.client.get(finished["report_html_url"], headers=api.headers("observer"))
        runs = api.client.get(
            f"/v1/scenarios/{scenario_id}/runs", headers=api.headers("observer")
        ).json()
        missing = api.client.get("/v1/runs/R-9-000000/report.html", headers=api.headers("observer"))
    assert run["status"] in ("queued", "running")  # the worker may have taken it already
    assert (run["seed"], run["mode"], run["report_json_url"]) == (3, "simulated", None)
    assert early.status_code == 409
    assert finished["status"] == "passed", finished
    assert finished["exit_code"] == 0
    assert finished["summary"].startswith("all 3 expectations met; agreement ok")
    body = report.json()
    assert body["scenario"]["name"] == "small-board"
    assert body["passed"] is True
    assert body["verdicts"] == {
        "agreement": "ok",
        "validity": "ok",
        "integrity": "ok",
        "liveness": "ok",
    }
    assert [m["outcome"] for m in body["motions"]] == ["adopted", "rejected"]
    assert page.headers["content-type"].startswith("text/html")
    assert "small-board" in page.text
    assert [item["id"] for item in runs["items"]] == [run["id"]]
    assert missing.status_code == 404


def test_a_failing_expectation_fails_the_run_and_keeps_its_report(tmp_path: Path) -> None:
    with simulated_api(tmp_path) as api:
        scenario_id = uploaded(api, WRONG_GUESS)
        run = start_run(api, scenario_id, seed=5)
        finished = wait_for_run(api, run["id"])
        report = api.client.get(finished["report_json_url"], headers=api.headers("observer"))
        failed = api.client.get("/v1/runs?status=failed", headers=api.headers("observer")).json()
    assert finished["status"] == "failed", finished
    assert finished["exit_code"] == 1
    assert "outcome of M-1: expected rejected, got adopted" in finished["summary"]
    assert report.json()["passed"] is False
    assert report.json()["scenario"]["seed"] == 5
    assert failed["total"] == 1


# -- the desk on its own -------------------------------------------------------------------


def test_the_queue_of_waiting_runs_is_bounded(tmp_path: Path) -> None:
    desk = ScenarioDesk(GatewayStore(tmp_path / "gateway.sqlite"), waiting_max=2)
    scenario = desk.upload(SMALL_BOARD, uploaded_by="test designer")
    for _ in range(2):
        desk.request_run(scenario.id, "simulated", None, requested_by="test designer")
    with pytest.raises(GatewayError) as refused:
        desk.request_run(scenario.id, "simulated", None, requested_by="test designer")
    assert refused.value.status == 429


def test_a_restart_ends_runs_left_running(tmp_path: Path) -> None:
    store = GatewayStore(tmp_path / "gateway.sqlite")
    desk = ScenarioDesk(store)
    scenario = desk.upload(SMALL_BOARD, uploaded_by="test designer")
    run = desk.request_run(scenario.id, "simulated", None, requested_by="test designer")
    with store.transaction() as db:  # as a process that died during the run left it
        db.execute("UPDATE scenario_runs SET status = 'running' WHERE id = ?", (run.id,))

    async def restart() -> None:
        restarted = ScenarioDesk(store)
        await restarted.start()
        await restarted.stop()

    asyncio.run(restart())
    ended = desk.run(run.id)
    assert ended is not None
    assert (ended.status, ended.error) == ("error", INTERRUPTED)
    assert ended.finished_s is not None


def test_stopping_the_desk_ends_the_run_it_was_running(tmp_path: Path) -> None:
    desk = ScenarioDesk(GatewayStore(tmp_path / "gateway.sqlite"))
    scenario = desk.upload(SMALL_BOARD, uploaded_by="test designer")

    async def stop_mid_run() -> str:
        await desk.start()
        run = desk.request_run(scenario.id, "simulated", None, requested_by="test designer")
        while (found := desk.run(run.id)) is not None and found.status == "queued":
            await asyncio.sleep(0.01)
        await desk.stop()
        return run.id

    ended = desk.run(asyncio.run(stop_mid_run()))
    assert ended is not None
    assert (ended.status, ended.error) == ("error", STOPPED)


def test_a_run_that_writes_no_report_is_an_error(tmp_path: Path) -> None:
    # `false` stands in for a command line that exits 1 before writing anything.
    desk = ScenarioDesk(GatewayStore(tmp_path / "gateway.sqlite"), python="false")
    scenario = desk.upload(SMALL_BOARD, uploaded_by="test designer")

    async def run_once() -> str:
        await desk.start()
        run = desk.request_run(scenario.id, "simulated", None, requested_by="test designer")
        while (found := desk.run(run.id)) is not None and found.finished_s is None:
            await asyncio.sleep(0.01)
        await desk.stop()
        return run.id

    ended = desk.run(asyncio.run(run_once()))
    assert ended is not None
    assert (ended.status, ended.exit_code) == ("error", 1)
    assert ended.error is not None and ended.error.startswith("the run left no readable report")
    assert not ended.has_report

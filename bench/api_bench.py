"""The front door's own costs, beside the council's: what the gateway spends per decision and
per HTTP request, so a slow dashboard can be told from a slow council.

- ``api_record_verify_ms``: checking one 33-seat decision record (the gateway does it once per
  decision, for the first seat's announcement; the others are skipped).
- ``api_get_motion_per_s`` / ``api_list_motions_per_s``: HTTP requests a second, one client,
  over loopback against uvicorn, for a decided motion and a page of 50 motions.
- ``api_submit_per_s``: motions accepted a second (stored, not yet ordered), with
  ``Idempotency-Key``s.

The HTTP figures run against a simulated council paused in virtual time, so they measure the
API and its SQLite store, not the protocol.
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

import httpx2

from api import ApiSettings
from council.governance.records import DecisionRecord
from council.governance.verify import verify_decision
from tests.api.served import served_api
from tests.api.support import simulated_api

BASELINE = Path(__file__).parents[1] / "scenarios" / "baseline.yaml"


def _rate(client: httpx2.Client, path: str, count: int) -> float:
    started = time.perf_counter()
    for _ in range(count):
        client.get(path).raise_for_status()
    return count / (time.perf_counter() - started)


def _decided_record(scratch: Path) -> tuple[DecisionRecord, Any]:
    """One decision of a 33-seat simulated council, and its roster."""
    scratch.mkdir()
    with simulated_api(scratch, speed=50) as api:
        motion = api.wait_for(api.submit("Bench")["id"], "decided", timeout_s=60)
        text = api.client.get(motion["record_url"], headers=api.headers("observer")).content
        return DecisionRecord.model_validate_json(text), api.gateway.link.roster


def measure_api(quick: bool) -> dict[str, Any]:
    requests = 200 if quick else 1_000
    with TemporaryDirectory() as scratch:
        record, roster = _decided_record(Path(scratch) / "decide")
        verify_ms = []
        for _ in range(5 if quick else 20):
            started = time.perf_counter()
            assert verify_decision(record, roster) == []
            verify_ms.append((time.perf_counter() - started) * 1000)
        rates = _http_rates(Path(scratch) / "serve", requests)
    return {"api_record_verify_ms": round(statistics.median(verify_ms), 2), **rates}


def _http_rates(scratch: Path, requests: int) -> dict[str, int]:
    scratch.mkdir()
    settings = ApiSettings(requests_per_minute=10_000_000)
    # A council paused in virtual time: the requests below cost the API and its store only.
    with served_api(scratch, speed=1e-9, settings=settings) as served:
        headers = {"Authorization": f"Bearer {served.tokens['secretariat']}"}
        with httpx2.Client(base_url=served.url, headers=headers, timeout=30) as client:
            started = time.perf_counter()
            for index in range(requests):
                client.post(
                    "/v1/motions",
                    json={"title": f"Bench {index}", "category": "budget"},
                    headers={"Idempotency-Key": f"bench-{index}"},
                ).raise_for_status()
            submit_rate = requests / (time.perf_counter() - started)
            motion_id = client.get("/v1/motions?limit=1").json()["items"][0]["id"]
            get_rate = _rate(client, f"/v1/motions/{motion_id}", requests)
            list_rate = _rate(client, "/v1/motions?limit=50", requests // 4)
    return {
        "api_submit_per_s": round(submit_rate),
        "api_get_motion_per_s": round(get_rate),
        "api_list_motions_per_s": round(list_rate),
    }

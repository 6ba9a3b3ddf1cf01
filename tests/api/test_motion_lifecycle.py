"""Motions over HTTP: idempotent submission, listing, members' ballots, restarts, the stream."""

from __future__ import annotations

import json
import time
from pathlib import Path

from council.gateway import GatewayStore
from tests.api.support import simulated_api


def test_a_retried_submission_never_creates_a_second_motion(tmp_path: Path) -> None:
    with simulated_api(tmp_path) as api:
        first = api.client.post(
            "/v1/motions",
            json={"title": "Plant trees", "category": "environment"},
            headers=api.headers("secretariat", **{"Idempotency-Key": "req-7"}),
        )
        again = api.client.post(
            "/v1/motions",
            json={"title": "Plant trees", "category": "environment"},
            headers=api.headers("secretariat", **{"Idempotency-Key": "req-7"}),
        )
        assert (first.status_code, again.status_code) == (201, 200)
        assert first.json()["id"] == again.json()["id"]
        assert again.headers["Location"] == f"/v1/motions/{first.json()['id']}"
        other = api.client.post(
            "/v1/motions",
            json={"title": "Cut trees", "category": "environment"},
            headers=api.headers("secretariat", **{"Idempotency-Key": "req-7"}),
        )
        assert other.status_code == 409
        assert "was used for another request" in other.json()["detail"]
        assert api.gateway.store.motions()[1] == 1


def test_motions_are_listed_newest_first_with_filters_and_pages(tmp_path: Path) -> None:
    with simulated_api(tmp_path) as api:
        ids = [api.submit(f"Motion {i}", "budget" if i % 2 else "treaty")["id"] for i in range(5)]
        for motion_id in ids:
            api.wait_for(motion_id, "decided")
        headers = api.headers("observer")
        page = api.client.get("/v1/motions?limit=2&offset=1", headers=headers).json()
        assert [m["id"] for m in page["items"]] == [ids[3], ids[2]]
        assert (page["total"], page["limit"], page["offset"]) == (5, 2, 1)
        treaties = api.client.get("/v1/motions?category=treaty", headers=headers).json()
        assert {m["id"] for m in treaties["items"]} == {ids[0], ids[2], ids[4]}
        decided = api.client.get("/v1/motions?status=decided", headers=headers).json()
        assert decided["total"] == 5
        assert all(m["tally"] is not None for m in decided["items"])
        bad = api.client.get("/v1/motions?status=maybe", headers=headers)
        assert bad.status_code == 422


def test_members_ballots_decide_a_motion_and_a_change_replaces_a_vote(tmp_path: Path) -> None:
    with simulated_api(tmp_path, member_ballots=True, speed=8.0) as api:
        motion = api.submit("Appoint the auditor", "appointments")
        api.wait_for(motion["id"], "open")
        path = f"/v1/motions/{motion['id']}/ballots/1"
        headers = api.headers("member-1")
        assert api.client.put(path, json={"vote": "no"}, headers=headers).status_code == 202
        time.sleep(0.3)
        assert api.client.put(path, json={"vote": "yes"}, headers=headers).status_code == 202
        decided = api.wait_for(motion["id"], "decided", timeout_s=60)
        # Only seat 1 voted, and its last ballot is the one counted.
        assert decided["tally"] == {"yes": 1, "no": 0, "abstain": 0, "absent": 32}
        assert decided["outcome"] == "lapsed"
        late = api.client.put(path, json={"vote": "no"}, headers=headers)
        assert late.status_code == 409
        assert "voting has closed" in late.json()["detail"]


def test_a_restarted_gateway_resumes_every_motion_it_was_waiting_for(tmp_path: Path) -> None:
    store_path = tmp_path / "gateway.sqlite"
    with simulated_api(tmp_path, store=GatewayStore(store_path), speed=0.05) as api:
        motion = api.submit("Survive a restart")
        assert motion["status"] == "submitted"
    # The API went away before the council answered; a new one finds the motion and follows it.
    with simulated_api(tmp_path, store=GatewayStore(store_path)) as api:
        decided = api.wait_for(motion["id"], "decided")
        assert decided["title"] == "Survive a restart"
        assert api.gateway.store.motions()[1] == 1


def test_the_event_stream_tells_a_motion_from_submission_to_decision(tmp_path: Path) -> None:
    with simulated_api(tmp_path) as api:
        motion = api.submit("Watch me")
        api.wait_for(motion["id"], "decided")
        statuses = []
        with api.client.stream(
            "GET",
            "/v1/events?types=motion",
            headers=api.headers("observer", **{"Last-Event-ID": "0"}),
        ) as stream:
            assert stream.headers["content-type"].startswith("text/event-stream")
            for line in stream.iter_lines():
                if line.startswith("data: "):
                    statuses.append(json.loads(line[6:])["status"])
                if statuses[-1:] == ["decided"]:
                    break
        assert statuses == ["submitted", "open", "decided"]


def test_metrics_count_decisions_and_messages(tmp_path: Path) -> None:
    with simulated_api(tmp_path) as api:
        motion = api.wait_for(api.submit()["id"], "decided")
        time.sleep(0.5)  # a traffic report or two
        text = api.client.get("/metrics").text
    assert f'council_decisions_total{{outcome="{motion["outcome"]}"}} 1.0' in text
    assert 'council_messages_total{kind="commit"}' in text
    assert "council_decision_latency_seconds_count 1.0" in text
    assert 'council_http_requests_total{route="/v1/motions",status="201"} 1.0' in text


def test_an_open_motion_a_new_simulated_council_never_saw_is_refused_not_awaited(
    tmp_path: Path,
) -> None:
    store_path = tmp_path / "gateway.sqlite"
    with simulated_api(tmp_path, store=GatewayStore(store_path), member_ballots=True) as api:
        motion = api.wait_for(api.submit("Forgotten")["id"], "open")
    # A simulated council lives in memory: the next API session runs a new one.
    with simulated_api(tmp_path, store=GatewayStore(store_path), speed=40.0) as api:
        refused = api.wait_for(motion["id"], "refused")
    assert refused["reason"] == f"the council no longer knows it: unknown motion {motion['id']}"


def test_a_ballot_the_council_cannot_take_now_is_a_409_or_503_with_the_reason(
    tmp_path: Path,
) -> None:
    from council.gateway import LinkError

    with simulated_api(tmp_path, member_ballots=True) as api:
        motion = api.wait_for(api.submit("Unreachable")["id"], "open")
        path = f"/v1/motions/{motion['id']}/ballots/1"
        link = api.gateway.link
        for failure, status in (
            (LinkError("council x has no gateway key"), 409),
            (TimeoutError("no broker connection within 10 s"), 503),
        ):

            async def fail(
                seat: int, motion_id: str, vote: str, error: Exception = failure
            ) -> None:
                raise error

            link.instruct_ballot = fail  # type: ignore[method-assign]
            response = api.client.put(path, json={"vote": "yes"}, headers=api.headers("member-1"))
            assert response.status_code == status
            assert str(failure) in response.json()["detail"]
        assert api.gateway.store.ballots(motion["id"]) == {}  # nothing recorded as cast

"""Who may do what: bearer tokens by role, limits on bodies and rates, reasons for every 4xx."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from api import ApiSettings
from tests.api.support import simulated_api

MOTION = {"title": "Fund the library", "category": "budget"}


def test_without_a_token_every_resource_answers_401(tmp_path: Path) -> None:
    with simulated_api(tmp_path) as api:
        for path in ("/v1/motions", "/v1/council", "/v1/council/status", "/v1/events"):
            response = api.client.get(path)
            assert response.status_code == 401, path
            assert response.headers["WWW-Authenticate"] == "Bearer"
        wrong = api.client.get("/v1/council", headers={"Authorization": "Bearer bct_nope"})
        assert wrong.status_code == 401
        assert wrong.json()["detail"] == "unknown or revoked token"


def test_health_and_metrics_need_no_token(tmp_path: Path) -> None:
    with simulated_api(tmp_path) as api:
        assert api.client.get("/healthz").json()["status"] == "ok"
        assert b"council_motions_submitted_total" in api.client.get("/metrics").content


def test_only_the_secretariat_submits_motions(tmp_path: Path) -> None:
    with simulated_api(tmp_path) as api:
        for who in ("observer", "designer", "member-1"):
            response = api.client.post("/v1/motions", json=MOTION, headers=api.headers(who))
            assert response.status_code == 403, who
            assert "needs a secretariat token" in response.json()["detail"]
        assert (
            api.client.post(
                "/v1/motions", json=MOTION, headers=api.headers("secretariat")
            ).status_code
            == 201
        )


def test_a_member_votes_for_its_own_seat_only(tmp_path: Path) -> None:
    with simulated_api(tmp_path, member_ballots=True) as api:
        motion = api.submit()
        api.wait_for(motion["id"], "open")
        path = f"/v1/motions/{motion['id']}/ballots"
        other = api.client.put(f"{path}/2", json={"vote": "yes"}, headers=api.headers("member-1"))
        assert other.status_code == 403
        assert other.json()["detail"] == "this token votes for seat 1, not seat 2"
        secretariat = api.client.put(
            f"{path}/1", json={"vote": "yes"}, headers=api.headers("secretariat")
        )
        assert secretariat.status_code == 403
        own = api.client.put(f"{path}/1", json={"vote": "yes"}, headers=api.headers("member-1"))
        assert own.status_code == 202, own.text


def test_a_revoked_token_is_refused_at_once(tmp_path: Path) -> None:
    from council.gateway.tokens import TokenStore

    with simulated_api(tmp_path) as api:
        tokens = TokenStore(api.gateway.store)
        holder = tokens.holder(api.tokens["observer"])
        assert holder is not None
        assert api.client.get("/v1/council", headers=api.headers("observer")).status_code == 200
        assert tokens.revoke(holder.id)
        assert api.client.get("/v1/council", headers=api.headers("observer")).status_code == 401


def test_invalid_bodies_get_422_with_the_field_named(tmp_path: Path) -> None:
    with simulated_api(tmp_path) as api:
        headers = api.headers("secretariat")
        cases = {
            "body.title: Field required": {"category": "budget"},
            "body.title: String should have at least 1 character": {**MOTION, "title": ""},
            "body.colour: Extra inputs are not permitted": {**MOTION, "colour": "red"},
        }
        for reason, body in cases.items():
            response = api.client.post("/v1/motions", json=body, headers=headers)
            assert response.status_code == 422
            assert reason in response.json()["detail"], response.json()
        unknown = api.client.post(
            "/v1/motions", json={**MOTION, "category": "snacks"}, headers=headers
        )
        assert unknown.status_code == 422
        assert unknown.json()["detail"].startswith("unknown category 'snacks'; expected one of:")
        garbage = api.client.post("/v1/motions", content=b"\xff{", headers=headers)
        assert garbage.status_code == 422
        nothing = api.client.get("/v1/motions/M-404", headers=api.headers("observer"))
        assert nothing.status_code == 404
        assert nothing.json()["detail"] == "no motion M-404"


def test_bodies_over_the_limit_get_413_declared_or_not(tmp_path: Path) -> None:
    settings = ApiSettings(body_bytes_max=2048)
    with simulated_api(tmp_path, settings=settings) as api:
        big = {**MOTION, "text": "x" * 4000}
        response = api.client.post("/v1/motions", json=big, headers=api.headers("secretariat"))
        assert response.status_code == 413
        assert response.json()["detail"] == "request body over 2048 bytes"

        def chunks() -> Iterator[bytes]:
            yield b'{"title": "a", "category": "budget", "text": "'
            for _ in range(10):
                yield b"y" * 500
            yield b'"}'

        streamed = api.client.post(
            "/v1/motions", content=chunks(), headers=api.headers("secretariat")
        )
        assert streamed.status_code == 413
        _, total = api.gateway.store.motions()
        assert total == 0  # nothing was stored from a refused body


def test_each_token_has_its_own_rate_limit(tmp_path: Path) -> None:
    settings = ApiSettings(requests_per_minute=5)
    with simulated_api(tmp_path, settings=settings) as api:
        answers = [
            api.client.get("/v1/council", headers=api.headers("observer")).status_code
            for _ in range(7)
        ]
        assert answers[:5] == [200] * 5
        assert answers[5:] == [429, 429]
        limited = api.client.get("/v1/council", headers=api.headers("observer"))
        assert int(limited.headers["Retry-After"]) >= 1
        assert "rate limit of 5 requests per minute" in limited.json()["detail"]
        # Another token still has its whole allowance.
        assert api.client.get("/v1/council", headers=api.headers("designer")).status_code == 200
        assert b"council_http_rate_limited_total 3.0" in api.client.get("/metrics").content

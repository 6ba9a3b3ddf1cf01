"""The API against a simulated council: a real app, a real gateway, tokens for every role."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from api import ApiSettings, create_app
from council.gateway import Gateway, GatewayStore, SimulatedLink
from council.gateway.tokens import Role, TokenStore
from council.scenario.loader import load_scenario

BASELINE = Path(__file__).parents[2] / "scenarios" / "baseline.yaml"


@dataclass
class Api:
    client: TestClient
    gateway: Gateway
    tokens: dict[str, str] = field(default_factory=dict)

    def headers(self, who: str, **extra: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}", **extra}

    def submit(
        self, title: str = "Fund the library", category: str = "budget", **headers: str
    ) -> Any:
        response = self.client.post(
            "/v1/motions",
            json={"title": title, "category": category},
            headers=self.headers("secretariat", **headers),
        )
        assert response.status_code in (200, 201), response.text
        return response.json()

    def wait_for(self, motion_id: str, status: str, timeout_s: float = 30) -> Any:
        """Poll the motion until it reaches ``status``; fail with what it last was."""
        deadline = time.monotonic() + timeout_s
        body: Any = None
        while time.monotonic() < deadline:
            body = self.client.get(
                f"/v1/motions/{motion_id}", headers=self.headers("observer")
            ).json()
            if body["status"] == status:
                return body
            time.sleep(0.05)
        raise AssertionError(
            f"motion {motion_id} still {body and body['status']} after {timeout_s} s"
        )


def issue_tokens(store: GatewayStore, seats: tuple[int, ...] = (1, 2)) -> dict[str, str]:
    tokens = TokenStore(store)
    issued = {
        role.value: tokens.create(role, f"test {role.value}")[1]
        for role in (Role.SECRETARIAT, Role.DESIGNER, Role.OBSERVER)
    }
    for seat in seats:
        issued[f"member-{seat}"] = tokens.create(Role.MEMBER, f"seat {seat}", seat=seat)[1]
    return issued


def simulated_gateway(
    tmp_path: Path,
    *,
    scenario: Path = BASELINE,
    speed: float = 4.0,
    member_ballots: bool = False,
    store: GatewayStore | None = None,
) -> tuple[Gateway, dict[str, str]]:
    """A gateway over a simulated council of ``scenario`` (not started), and tokens for it."""
    store = store or GatewayStore(tmp_path / "gateway.sqlite")
    link = SimulatedLink(load_scenario(scenario), speed=speed, member_ballots=member_ballots)
    return Gateway(link, store), issue_tokens(store)


@contextmanager
def simulated_api(
    tmp_path: Path,
    *,
    scenario: Path = BASELINE,
    speed: float = 4.0,
    member_ballots: bool = False,
    settings: ApiSettings | None = None,
    store: GatewayStore | None = None,
) -> Iterator[Api]:
    """The app over a simulated council of ``scenario``, started and stopped around the test."""
    gateway, tokens = simulated_gateway(
        tmp_path, scenario=scenario, speed=speed, member_ballots=member_ballots, store=store
    )
    app = create_app(gateway, settings)
    with TestClient(app) as client:
        yield Api(client, gateway, tokens)

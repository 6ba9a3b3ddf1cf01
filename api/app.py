"""The app factory: ``create_app(gateway)`` — the lifespan owns the gateway, so the same API
runs against a simulated council (tests, demos) or a live one, with no import-time state."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from importlib import resources
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import HTMLResponse, JSONResponse

from api.limits import BodyLimit
from api.ratelimit import RateLimiter
from api.routes import council, events, motions, scenarios, service
from api.settings import ApiSettings
from council.gateway import Gateway
from council.gateway.scenarios import ScenarioDesk
from council.gateway.tokens import TokenStore

API_VERSION = "1"


def create_app(gateway: Gateway, settings: ApiSettings | None = None) -> FastAPI:
    """The HTTP front door of ``gateway``; starting the app starts the gateway."""
    settings = settings or ApiSettings()
    desk = ScenarioDesk(gateway.store)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await gateway.start()
        await desk.start()
        try:
            yield
        finally:
            await desk.stop()
            await gateway.stop()

    app = FastAPI(
        title=f"{gateway.council.name} — Byzantine Council",
        version=API_VERSION,
        summary="Submit motions, cast ballots, run scenarios, watch the council decide.",
        lifespan=lifespan,
    )
    app.state.gateway = gateway
    app.state.settings = settings
    app.state.tokens = TokenStore(gateway.store)
    app.state.scenarios = desk
    app.state.rate_limiter = RateLimiter(settings.requests_per_minute)
    app.add_middleware(
        BodyLimit,
        bytes_max=settings.body_bytes_max,
        scenario_bytes_max=settings.scenario_bytes_max,
    )
    _measure_requests(app, gateway)
    _validation_errors_say_why(app)
    for router in (motions.router, council.router, events.router, scenarios.router, service.router):
        app.include_router(router)
    _dashboard(app)
    _describe_errors_and_categories(app, gateway)
    return app


def _describe_errors_and_categories(app: FastAPI, gateway: Gateway) -> None:
    """The spec says what the API does: a 422 carries a one-line reason and the list of
    problems (not FastAPI's default shape), and a motion's category is one of this council's."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title, version=app.version, summary=app.summary, routes=app.routes
            )
            components = schema.setdefault("components", {}).setdefault("schemas", {})
            components["HTTPValidationError"] = {
                "title": "HTTPValidationError",
                "type": "object",
                "required": ["detail", "errors"],
                "properties": {
                    "detail": {"type": "string", "title": "Detail"},
                    "errors": {"type": "array", "items": {"type": "string"}, "title": "Errors"},
                },
            }
            components.pop("ValidationError", None)
            category = components["MotionIn"]["properties"]["category"]
            category["enum"] = sorted(gateway.council.categories)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _measure_requests(app: FastAPI, gateway: Gateway) -> None:
    @app.middleware("http")
    async def measure(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        started = time.perf_counter()
        response = await call_next(request)
        route = request.scope.get("route")
        name = getattr(route, "path", "unmatched")
        gateway.metrics.http_requests.labels(name, str(response.status_code)).inc()
        gateway.metrics.http_latency.labels(name).observe(time.perf_counter() - started)
        return response


def _validation_errors_say_why(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, error: RequestValidationError) -> JSONResponse:
        problems = [
            f"{'.'.join(str(part) for part in e['loc'])}: {e['msg']}" for e in error.errors()
        ]
        return JSONResponse(
            {"detail": "; ".join(problems) or "invalid request", "errors": problems},
            status_code=422,
        )


def _dashboard(app: FastAPI) -> None:
    page = resources.files("api").joinpath("dashboard/index.html")

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def dashboard() -> HTMLResponse:
        return HTMLResponse(page.read_text(encoding="utf-8"))

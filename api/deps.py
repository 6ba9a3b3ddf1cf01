"""What routes depend on: the gateway, the caller's token, its role."""

from __future__ import annotations

import math
from collections.abc import Callable, Coroutine
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from api.ratelimit import RateLimiter
from api.settings import ApiSettings
from council.gateway import Gateway
from council.gateway.tokens import Role, TokenHolder, TokenStore

_bearer = HTTPBearer(auto_error=False, description="A token from `council token create`.")


def get_gateway(request: Request) -> Gateway:
    gateway: Gateway = request.app.state.gateway
    return gateway


def get_settings(request: Request) -> ApiSettings:
    settings: ApiSettings = request.app.state.settings
    return settings


GatewayDep = Annotated[Gateway, Depends(get_gateway)]
SettingsDep = Annotated[ApiSettings, Depends(get_settings)]


def get_holder(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> TokenHolder:
    """The holder of the request's bearer token: 401 without a valid one, 429 over its rate."""
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise HTTPException(
            401, "a bearer token is required", headers={"WWW-Authenticate": "Bearer"}
        )
    tokens: TokenStore = request.app.state.tokens
    holder = tokens.holder(credentials.credentials)
    if holder is None:
        raise HTTPException(401, "unknown or revoked token", headers={"WWW-Authenticate": "Bearer"})
    limiter: RateLimiter = request.app.state.rate_limiter
    wait_s = limiter.retry_after_s(holder.id)
    if wait_s > 0:
        get_gateway(request).metrics.rate_limited.inc()
        raise HTTPException(
            429,
            f"rate limit of {limiter.per_minute} requests per minute exceeded",
            headers={"Retry-After": str(math.ceil(wait_s))},
        )
    return holder


HolderDep = Annotated[TokenHolder, Depends(get_holder)]


def require(*roles: Role) -> Callable[..., Coroutine[Any, Any, TokenHolder]]:
    """A dependency admitting only holders of ``roles`` (403 for the others)."""

    async def check(holder: HolderDep) -> TokenHolder:
        if holder.role not in roles:
            allowed = " or ".join(role.value for role in roles)
            raise HTTPException(403, f"this needs a {allowed} token, not {holder.role.value}")
        return holder

    return check


SecretariatDep = Annotated[TokenHolder, Depends(require(Role.SECRETARIAT))]
MemberDep = Annotated[TokenHolder, Depends(require(Role.MEMBER))]
DesignerDep = Annotated[TokenHolder, Depends(require(Role.DESIGNER))]

"""API keys on every route but health and metrics: ``Authorization: Bearer vd_<id>_<secret>``.

A route declares the scope it needs with ``Depends(require("write"))``. No key, a malformed,
unknown or revoked key: 401 with ``WWW-Authenticate: Bearer``. A valid key without the scope:
403. With ``service.auth = false`` (a service on a private loopback only) every request passes.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from visiondrift.service._problems import ServiceProblem
from visiondrift.service._state import ServiceState
from visiondrift.store._keys import ApiKey, Scope, grants

__all__ = ["SECURITY", "authorize", "require"]

_bearer = HTTPBearer(auto_error=False, description="An API key: vd_<key id>_<secret>.")


def require(scope: Scope) -> Callable[..., Awaitable[ApiKey | None]]:
    """A dependency that lets a request through with a valid key holding ``scope``."""

    async def check(
        request: Request,
        credentials: HTTPAuthorizationCredentials | None = Depends(_bearer),  # noqa: B008
    ) -> ApiKey | None:
        return await _let_through(request, scope, credentials)

    return check


async def authorize(request: Request, scope: Scope) -> ApiKey | None:
    """:func:`require` for a route that checks its key itself (the records route, the hot
    one: FastAPI's solving of the two dependencies was 7% of its CPU). Its OpenAPI
    operation declares the bearer scheme with :data:`SECURITY`."""
    return await _let_through(request, scope, await _bearer(request))


#: The ``security`` of the OpenAPI operation of a route that calls :func:`authorize`.
SECURITY: list[dict[str, list[str]]] = [{_bearer.scheme_name: []}]


async def _let_through(
    request: Request, scope: Scope, credentials: HTTPAuthorizationCredentials | None
) -> ApiKey | None:
    service: ServiceState = request.app.state.vd  # (not a dependency: one fewer to solve)
    if not service.settings.service.auth:
        return None
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise ServiceProblem(
            401,
            "Unauthorized",
            "This route needs an API key: send 'Authorization: Bearer <key>' (create one "
            "with 'visiondrift keys create NAME --scope " + scope + "').",
            slug="unauthorized",
            headers={"WWW-Authenticate": "Bearer"},
        )
    key = await service.keys.verify(credentials.credentials)
    if key is None:
        raise ServiceProblem(
            401,
            "Unauthorized",
            "The API key is unknown or revoked.",
            slug="unauthorized",
            headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
        )
    if not grants(key.scopes, scope):
        raise ServiceProblem(
            403,
            "Forbidden",
            f"The API key '{key.name}' ({key.key_id}) has the scopes "
            f"{', '.join(key.scopes)}; this route needs '{scope}'.",
            slug="forbidden",
        )
    request.state.api_key = key
    return key

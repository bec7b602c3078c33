"""Errors as RFC 9457 problem details: one documented shape for every error the service answers.

Every error body is ``application/problem+json``::

    {"type": "https://visiondrift.dev/problems/no-baseline", "title": "No active baseline",
     "status": 409, "detail": "The dataset 'skin' has no active baseline; upload one with POST
     /v1/baselines.", "instance": "/v1/datasets/skin/records"}

with ``errors`` (a list of ``{"loc", "msg"}``) when a request did not validate. An unexpected
exception is logged with its traceback and answered 500 with a generic detail: no stack trace, no
path, no secret ever reaches a response.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from visiondrift.errors import (
    ConfigError,
    IncompatibleProfilesError,
    ProfileFormatError,
    RunNotFoundError,
    SourceError,
    StoreError,
)

__all__ = [
    "PROBLEMS",
    "Problem",
    "ProblemItem",
    "ServiceProblem",
    "busy",
    "install_handlers",
]

logger = logging.getLogger("visiondrift.service")

#: The media type of every error body.
PROBLEM_TYPE = "application/problem+json"
#: Where the problem types are documented (``docs/service.md``, "Errors").
TYPE_BASE = "https://visiondrift.dev/problems/"


class ProblemItem(BaseModel):
    """One field of a request that did not validate."""

    loc: list[str | int] = Field(description="Where: the part of the request, then the field.")
    msg: str = Field(description="What is wrong, and what is allowed.")


class Problem(BaseModel):
    """An error, as RFC 9457 problem details."""

    type: str = Field("about:blank", description="A URI naming the kind of problem.")
    title: str = Field(description="A short summary of the kind of problem.")
    status: int = Field(description="The HTTP status code.")
    detail: str | None = Field(None, description="What happened here, and the fix.")
    instance: str | None = Field(None, description="The path of the request.")
    errors: list[ProblemItem] | None = Field(
        None, description="The fields that did not validate (422)."
    )


class ServiceProblem(Exception):
    """An error the service answers as problem details (raised by routes and dependencies).

    Parameters
    ----------
    status
        The HTTP status.
    title
        The kind of problem (stable for a ``slug``).
    detail
        What happened, and the fix.
    slug
        The problem type's name (``https://visiondrift.dev/problems/<slug>``); ``None``:
        ``about:blank`` (the status says it all).
    headers
        Extra response headers (``Retry-After``, ``WWW-Authenticate``).
    """

    def __init__(
        self,
        status: int,
        title: str,
        detail: str | None = None,
        *,
        slug: str | None = None,
        headers: dict[str, str] | None = None,
        errors: list[ProblemItem] | None = None,
    ) -> None:
        super().__init__(detail or title)
        self.status = status
        self.title = title
        self.detail = detail
        self.type = TYPE_BASE + slug if slug else "about:blank"
        self.headers = dict(headers or {})
        self.errors = errors


def busy(detail: str, retry_after: int) -> ServiceProblem:
    """The 429 of a full queue: ``detail`` says which, the client retries after ``retry_after``
    seconds (``Retry-After``)."""
    return ServiceProblem(
        429,
        "Too many requests",
        f"{detail}; retry after {retry_after} s.",
        slug="busy",
        headers={"Retry-After": str(retry_after)},
    )


def problem_response(
    request: Request | None,
    status: int,
    title: str,
    detail: str | None = None,
    *,
    type: str = "about:blank",
    headers: dict[str, str] | None = None,
    errors: list[ProblemItem] | None = None,
) -> JSONResponse:
    """A problem-details response."""
    body = Problem(
        type=type,
        title=title,
        status=status,
        detail=detail,
        instance=None if request is None else request.url.path,
        errors=errors,
    )
    return JSONResponse(
        body.model_dump(exclude_none=True),
        status_code=status,
        headers=headers,
        media_type=PROBLEM_TYPE,
    )


_TITLES = {
    400: "Bad request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    406: "Not acceptable",
    409: "Conflict",
    413: "Request too large",
    415: "Unsupported media type",
    422: "Request did not validate",
    429: "Too many requests",
    500: "Internal error",
    503: "Service unavailable",
}


def _title(status: int) -> str:
    return _TITLES.get(status, "Error")


def _loc(loc: Any) -> list[str | int]:
    return [p if isinstance(p, int) else str(p) for p in loc]


def install_handlers(app: FastAPI) -> None:
    """Answer every error of ``app`` as problem details."""

    async def on_problem(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, ServiceProblem)
        return problem_response(
            request,
            exc.status,
            exc.title,
            exc.detail,
            type=exc.type,
            headers=exc.headers,
            errors=exc.errors,
        )

    async def on_http(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        detail: str | None = exc.detail if isinstance(exc.detail, str) else None
        if detail is not None and detail.lower() == _title(exc.status_code).lower():
            detail = None
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            headers["Allow"] = ", ".join(_allowed(request))
        return problem_response(
            request,
            exc.status_code,
            _title(exc.status_code),
            detail,
            headers=headers,
        )

    async def on_validation(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        items = [
            ProblemItem(loc=_loc(e.get("loc", ())), msg=str(e.get("msg", "invalid")))
            for e in exc.errors()
        ]
        where = ", ".join(".".join(map(str, i.loc)) + ": " + i.msg for i in items[:3])
        more = f" (and {len(items) - 3} more)" if len(items) > 3 else ""
        return problem_response(
            request,
            422,
            _title(422),
            f"The request did not validate: {where}{more}.",
            type=TYPE_BASE + "invalid-request",
            errors=items,
        )

    async def on_domain(request: Request, exc: Exception) -> JSONResponse:
        status, slug = _domain_status(exc)
        if status >= 500:
            logger.warning("%s %s: %s", request.method, request.url.path, exc)
        return problem_response(request, status, _title(status), str(exc), type=TYPE_BASE + slug)

    async def on_any(request: Request, exc: Exception) -> JSONResponse:
        logger.error(
            "%s %s failed", request.method, request.url.path, exc_info=(type(exc), exc, None)
        )
        return problem_response(
            request,
            500,
            _title(500),
            "The service failed on this request; the error is in its log.",
            type=TYPE_BASE + "internal",
        )

    app.add_exception_handler(ServiceProblem, on_problem)
    app.add_exception_handler(StarletteHTTPException, on_http)
    app.add_exception_handler(RequestValidationError, on_validation)
    for kind in (
        ConfigError,
        SourceError,
        ProfileFormatError,
        IncompatibleProfilesError,
        StoreError,
    ):
        app.add_exception_handler(kind, on_domain)
    app.add_exception_handler(Exception, on_any)


def _allowed(request: Request) -> list[str]:
    """Every method of every route at the request's path (a 405's ``Allow``): Starlette names
    only the first route's, and GET and DELETE of one path are two routes."""
    from starlette.routing import Match

    methods: set[str] = set()
    for route in request.app.router.routes:
        match, _ = route.matches(request.scope)
        if match is not Match.NONE:
            methods |= set(getattr(route, "methods", None) or ())
    return sorted(methods)


def _domain_status(exc: Exception) -> tuple[int, str]:
    if isinstance(exc, RunNotFoundError):
        return 404, "not-found"
    if isinstance(exc, StoreError):
        return 503, "store-unavailable"
    if isinstance(exc, IncompatibleProfilesError):
        return 409, "incompatible"
    return 422, "invalid-input"


def _doc(status: int, description: str) -> dict[str, Any]:
    return {
        "model": Problem,
        "description": description,
        "content": {PROBLEM_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}},
    }


#: What routes pass as ``responses=`` so the OpenAPI document lists their errors.
PROBLEMS: dict[int | str, dict[str, Any]] = {
    400: _doc(400, "The request could not be read (a malformed multipart body...)."),
    401: _doc(401, "No API key, or one that is unknown or revoked."),
    403: _doc(403, "The API key lacks the scope this route needs."),
    404: _doc(404, "No such resource (run, baseline, job, metric)."),
    409: _doc(
        409,
        "The resource is not in a state that allows this (no active baseline, a run not finished).",
    ),
    413: _doc(413, "The request is larger than the service accepts."),
    422: _doc(422, "The request did not validate."),
    429: _doc(429, "The service is busy: retry after the Retry-After header's seconds."),
    500: _doc(500, "The service failed; the error is in its log."),
    503: _doc(503, "The store is unreachable."),
}

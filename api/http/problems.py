"""RFC 9457 problem documents for every error the HTTP API returns.

:class:`core.errors.HushError` subclasses carry ``http_status`` and ``title``;
they become ``application/problem+json`` bodies here.  Client errors (4xx)
carry the error's message as ``detail`` (messages never hold personal data by
the rule of :mod:`core.errors`); server errors carry a fixed sentence, never
an exception's text or a stack trace.  FastAPI's validation errors are
re-shaped without echoing the offending input values.
"""

from __future__ import annotations

import re
from typing import Any

from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from core.errors import AuthError, HushError
from core.governance import UnrecordedDenial

PROBLEM_MEDIA_TYPE = "application/problem+json"
_SLUG = re.compile(r"[^a-z0-9]+")
_SAFE_LOC = re.compile(r"[A-Za-z_][A-Za-z0-9_-]{0,63}")
_SERVER_DETAIL = {
    503: "the service is temporarily unavailable; retry later",
    500: "the server could not complete the request",
}
_STATUS_TITLES = {
    400: "Bad request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    406: "Not acceptable",
    409: "Conflict",
    410: "Gone",
    413: "Payload too large",
    415: "Unsupported media type",
    422: "Invalid input",
    500: "Internal error",
    503: "Service unavailable",
}


class FeatureUnavailable(HushError):
    """A part of the API whose service is not installed in this build (e.g. mail-merge)."""

    exit_code = 2
    http_status = 503
    title = "Not available"


class FieldProblem(BaseModel):
    """One invalid input: where, what kind of error, and a message that never repeats the value."""

    loc: list[str | int] = Field(description="Location: body, query, path or header, then the field path.")
    type: str = Field(description="Machine-readable error type (pydantic's).")
    msg: str


class Problem(BaseModel):
    """An RFC 9457 problem document."""

    type: str = Field(description="A URI naming the kind of problem (urn:hushdb:problem:<slug>).")
    title: str
    status: int
    detail: str | None = None
    instance: str | None = Field(default=None, description="The request path.")
    request_id: str | None = None
    errors: list[FieldProblem] | None = None


def _problem_type(title: str) -> str:
    return "urn:hushdb:problem:" + _SLUG.sub("-", title.lower()).strip("-")


def problem_response(
    request: Request | None,
    *,
    status: int,
    title: str | None = None,
    detail: str | None = None,
    errors: list[FieldProblem] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    title = title or _STATUS_TITLES.get(status, "Error")
    body = Problem(
        type=_problem_type(title),
        title=title,
        status=status,
        detail=detail,
        instance=request.url.path if request is not None else None,
        request_id=getattr(request.state, "request_id", None) if request is not None else None,
        errors=errors,
    )
    return JSONResponse(
        body.model_dump(exclude_none=True), status_code=status, media_type=PROBLEM_MEDIA_TYPE, headers=headers
    )


def hush_problem(request: Request | None, exc: HushError) -> JSONResponse:
    status = exc.http_status
    detail = exc.message if status < 500 else _SERVER_DETAIL.get(status, _SERVER_DETAIL[500])
    headers = {"WWW-Authenticate": 'Bearer realm="hushdb"'} if isinstance(exc, AuthError) else None
    return problem_response(request, status=status, title=exc.title, detail=detail, headers=headers)


def _safe_loc(loc: tuple[Any, ...], kind: str) -> list[str | int]:
    out: list[str | int] = []
    for i, part in enumerate(loc):
        if isinstance(part, int):
            out.append(part)
        elif kind == "extra_forbidden" and i == len(loc) - 1:
            out.append("<unknown field>")
        elif isinstance(part, str) and _SAFE_LOC.fullmatch(part):
            out.append(part)
        else:
            out.append("<key>")
    return out


def validation_problems(exc: RequestValidationError) -> list[FieldProblem]:
    """Location, type and message of each error; never ``input`` or ``ctx`` (they echo values)."""
    problems = []
    for err in exc.errors():
        kind = str(err.get("type", "value_error"))
        msg = str(err.get("msg", "invalid value"))
        if kind.startswith("value_error") or kind == "assertion_error":
            msg = msg if "\n" not in msg and len(msg) <= 200 else "invalid value"
        problems.append(FieldProblem(loc=_safe_loc(tuple(err.get("loc", ())), kind), type=kind, msg=msg))
    return problems


async def _on_hush_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HushError)
    if isinstance(exc, UnrecordedDenial) and exc.denial is not None:
        # A customer outside the caller's scope answered as not found by a service that used a
        # plain transaction: its denial is recorded here, before the answer (fail closed).
        services = getattr(request.app.state, "services", None)
        if services is None:
            return problem_response(request, status=500, detail=_SERVER_DETAIL[500])
        try:
            await run_in_threadpool(services.hush.gateway.governance.settle, exc)
        except HushError as audit_error:
            return hush_problem(request, audit_error)
    return hush_problem(request, exc)


async def _on_validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    return problem_response(
        request,
        status=422,
        title="Invalid input",
        detail="the request does not match the API's schema",
        errors=validation_problems(exc),
    )


async def _on_http_exception(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    status = exc.status_code
    headers = dict(exc.headers) if exc.headers else None
    return problem_response(request, status=status, detail=_STATUS_TITLES.get(status), headers=headers)


def install_problem_handlers(app: FastAPI) -> None:
    app.add_exception_handler(HushError, _on_hush_error)
    app.add_exception_handler(RequestValidationError, _on_validation_error)
    app.add_exception_handler(StarletteHTTPException, _on_http_exception)


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` entries (problem documents) for the given statuses."""
    return {s: {"model": Problem, "description": _STATUS_TITLES.get(s, "Error")} for s in statuses}


COMMON_ERRORS = (400, 401, 403, 404, 409, 410, 413, 422, 500, 503)

__all__ = [
    "COMMON_ERRORS",
    "PROBLEM_MEDIA_TYPE",
    "FeatureUnavailable",
    "FieldProblem",
    "Problem",
    "error_responses",
    "hush_problem",
    "install_problem_handlers",
    "problem_response",
    "validation_problems",
]

"""Per-request dependencies: the API key, the purpose header and the AccessContext.

Every route except ``GET /health`` depends on :func:`principal` (``Authorization:
Bearer KEY``); data routes depend on :func:`access`, which adds the ``X-Purpose``
header (missing or unknown: 400) and the request id.
"""

from __future__ import annotations

import dataclasses
from typing import Annotated

from fastapi import Depends, Header, Request, Security
from fastapi.concurrency import run_in_threadpool
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from api.http.services import HttpServices, services
from core.apikeys import Principal
from core.errors import AuthError, InvalidPurposeError
from core.gateway import PURPOSES, AccessContext

PURPOSE_HEADER = "X-Purpose"
bearer = HTTPBearer(
    auto_error=False,
    bearerFormat="hushdb API key",
    description="An API key from `hushdb apikeys create --subject S`.",
)

Services = Annotated[HttpServices, Depends(services)]


async def principal(
    request: Request,
    svc: Services,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Security(bearer)],
) -> Principal:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise AuthError("an API key is required (Authorization: Bearer KEY)")
    token = credentials.credentials
    who = svc.apikeys.cached(token)
    if who is None:
        who = await run_in_threadpool(svc.apikeys.authenticate, token)
    request.state.subject = who.subject
    request.state.key_id = who.key_id
    return who


Caller = Annotated[Principal, Depends(principal)]


async def access(
    request: Request,
    svc: Services,
    who: Caller,
    purpose: Annotated[
        str | None,
        Header(
            alias=PURPOSE_HEADER,
            description="Why the data is needed: " + ", ".join(PURPOSES) + ".",
            json_schema_extra={"enum": list(PURPOSES)},
        ),
    ] = None,
) -> AccessContext:
    if purpose is None:
        raise InvalidPurposeError(f"the {PURPOSE_HEADER} header is required; one of {', '.join(PURPOSES)}")
    if purpose not in PURPOSES:
        raise InvalidPurposeError(f"unknown purpose; one of {', '.join(PURPOSES)}")
    ctx = svc.hush.context(who.subject, purpose, request.state.request_id)
    return dataclasses.replace(ctx, channel="http", os_user="")  # recorded in every event it causes


Access = Annotated[AccessContext, Depends(access)]

__all__ = ["PURPOSE_HEADER", "Access", "Caller", "Services", "access", "principal"]

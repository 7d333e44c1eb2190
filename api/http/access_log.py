"""Request plumbing below the routers: request ids, body limit, last-resort errors, JSON access logs.

:class:`RequestMiddleware` is a plain ASGI middleware (no per-request task or
body buffering).  For every request it

* takes ``X-Request-ID`` when it is a short token (else makes one) and returns it;
* refuses bodies over the limit with 413 before the app reads them;
* turns an unexpected exception into a 500 problem document and logs only
  the exception's class (its text could hold anything);
* writes one JSON access line: method, route *template* (``/customers/{external_id}``,
  never the raw path or query string), status, duration, subject, key id, request id.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
import uuid
from collections.abc import MutableMapping
from typing import Any

from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.http.problems import PROBLEM_MEDIA_TYPE, Problem

ACCESS_LOGGER = "hushdb.http.access"
access_log = logging.getLogger(ACCESS_LOGGER)
error_log = logging.getLogger("hushdb.http.error")

REQUEST_ID_HEADER = "x-request-id"
_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")
_LOG_KEYS = ("method", "route", "status", "duration_ms", "subject", "key_id", "request_id")


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message and the whitelisted ``http`` fields."""

    def format(self, record: logging.LogRecord) -> str:
        doc: dict[str, Any] = {
            "ts": self.formatTime(record, "%Y-%m-%dT%H:%M:%S") + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        http = getattr(record, "http", None)
        if isinstance(http, dict):
            doc.update({k: http[k] for k in _LOG_KEYS if k in http})
        if record.exc_info and record.exc_info[0] is not None:
            doc["exc_type"] = record.exc_info[0].__name__  # the class only: messages may hold data
        return json.dumps(doc, ensure_ascii=False, default=str)


JsonFormatter.converter = time.gmtime


def configure_logging(level: str = "INFO") -> None:
    """JSON lines on stderr for hushdb's and uvicorn's loggers (uvicorn's access log is off)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error"):
        lg = logging.getLogger(name)
        lg.handlers.clear()
        lg.propagate = True
    logging.getLogger("uvicorn.access").disabled = True  # it logs raw paths with query strings


def valid_request_id(value: str | None) -> str:
    if value and _REQUEST_ID.fullmatch(value):
        return value
    return uuid.uuid4().hex


def _problem_bytes(status: int, title: str, detail: str, path: str, request_id: str) -> bytes:
    doc = Problem(
        type="urn:hushdb:problem:" + title.lower().replace(" ", "-"),
        title=title,
        status=status,
        detail=detail,
        instance=path,
        request_id=request_id,
    )
    return doc.model_dump_json(exclude_none=True).encode()


class _BodyTooLarge(StarletteHTTPException):
    """Raised from ``receive``; FastAPI re-raises HTTP exceptions from body parsing as they are."""

    def __init__(self, limit: int) -> None:
        super().__init__(status_code=413, detail=f"the request body exceeds {limit} bytes")


class RequestMiddleware:
    def __init__(self, app: ASGIApp, *, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        headers = dict(scope.get("headers") or [])
        raw_id = headers.get(REQUEST_ID_HEADER.encode(), b"").decode("latin-1")
        request_id = valid_request_id(raw_id)
        state: MutableMapping[str, Any] = scope.setdefault("state", {})
        state["request_id"] = request_id
        status_holder = {"status": 500, "started": False}
        path = str(scope.get("path", ""))

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                status_holder["status"] = message["status"]
                status_holder["started"] = True
                message["headers"] = [
                    *message.get("headers", []),
                    (b"x-request-id", request_id.encode()),
                ]
            await send(message)

        async def respond(status: int, title: str, detail: str) -> None:
            body = _problem_bytes(status, title, detail, path, request_id)
            await send_with_id(
                {
                    "type": "http.response.start",
                    "status": status,
                    "headers": [
                        (b"content-type", PROBLEM_MEDIA_TYPE.encode()),
                        (b"content-length", str(len(body)).encode()),
                    ],
                }
            )
            await send_with_id({"type": "http.response.body", "body": body})

        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body_bytes:
                    raise _BodyTooLarge(self.max_body_bytes)
            return message

        try:
            length = headers.get(b"content-length")
            if length is not None and (not length.isdigit() or int(length) > self.max_body_bytes):
                await respond(
                    413, "Payload too large", f"the request body exceeds {self.max_body_bytes} bytes"
                )
            else:
                await self.app(scope, limited_receive, send_with_id)
        except _BodyTooLarge:
            if not status_holder["started"]:
                await respond(
                    413, "Payload too large", f"the request body exceeds {self.max_body_bytes} bytes"
                )
        except Exception as exc:
            error_log.error(
                "unhandled error",
                exc_info=(type(exc), exc, None),
                extra={"http": {"request_id": request_id}},
            )
            if not status_holder["started"]:
                await respond(500, "Internal error", "the server could not complete the request")
        finally:
            route = scope.get("route")
            access_log.info(
                "request",
                extra={
                    "http": {
                        "method": scope.get("method"),
                        "route": getattr(route, "path", None) or "<unmatched>",
                        "status": status_holder["status"],
                        "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                        "subject": state.get("subject"),
                        "key_id": state.get("key_id"),
                        "request_id": request_id,
                    }
                },
            )


__all__ = ["ACCESS_LOGGER", "JsonFormatter", "RequestMiddleware", "configure_logging", "valid_request_id"]

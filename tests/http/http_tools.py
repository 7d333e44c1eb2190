"""Helpers shared by the HTTP tests (and importable by them: see conftest.py)."""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI

from api.http import create_app
from api.http.access_log import JsonFormatter
from core.apikeys import ApiKeys

with warnings.catch_warnings():
    # starlette.testclient warns about httpx on import; the suite turns warnings into errors.
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    from fastapi.testclient import TestClient

CANARY_NAME = "Zebulon Quixwright"
CANARY_EMAIL = "zebulon.quixwright@canary.example"
CANARY_PHONE = "+44 7700 900417"
CANARY_ADDRESS = "17 Canary Wharf Lane, Quixton"
CANARY_NOTE = "Zebulon said his sister Philippa Quixwright was in hospital after a fall"
CANARIES = (
    CANARY_NAME,
    "Quixwright",
    CANARY_EMAIL,
    "zebulon.quixwright",
    "7700 900417",
    "7700900417",
    CANARY_ADDRESS,
    "Philippa",
)
ACCESS_LOGGER_NAME = "hushdb.http.access"
CLIENT_LOGGERS = ("httpx", "httpcore")
SUBJECTS = ("alice", "bob", "mailer", "cora", "ana", "dana", "adm")


class LogCapture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(JsonFormatter())
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.name.split(".")[0] in CLIENT_LOGGERS:
            return  # the test client's own log of the URLs it called, not the server's
        self.lines.append(self.format(record))

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


@dataclass
class Api:
    """A test client on the app, plus an API key per subject of the shipped roles.csv."""

    app: FastAPI
    client: TestClient
    hush: Any
    tokens: dict[str, str] = field(default_factory=dict)

    def headers(self, subject: str, purpose: str | None = None, **extra: str) -> dict[str, str]:
        h = {"Authorization": f"Bearer {self.tokens[subject]}", **extra}
        if purpose is not None:
            h["X-Purpose"] = purpose
        return h

    def get(self, path: str, subject: str, purpose: str | None = None, **kw: Any) -> Any:
        return self.client.get(path, headers=self.headers(subject, purpose), **kw)

    def post(self, path: str, subject: str, purpose: str | None = None, **kw: Any) -> Any:
        return self.client.post(path, headers=self.headers(subject, purpose), **kw)

    def patch(self, path: str, subject: str, purpose: str | None = None, **kw: Any) -> Any:
        return self.client.patch(path, headers=self.headers(subject, purpose), **kw)

    def put(self, path: str, subject: str, purpose: str | None = None, **kw: Any) -> Any:
        return self.client.put(path, headers=self.headers(subject, purpose), **kw)

    def delete(self, path: str, subject: str, purpose: str | None = None, **kw: Any) -> Any:
        return self.client.delete(path, headers=self.headers(subject, purpose), **kw)

    def create_customer(self, subject: str, external_id: str, **fields: Any) -> Any:
        body = {"external_id": external_id, "full_name": f"Customer {external_id}", **fields}
        r = self.post("/customers", subject, "service", json=body)
        assert r.status_code == 201, r.text
        return r.json()

    def audit_rows(self, **filters: Any) -> list[dict[str, Any]]:
        from audit import queries

        with self.hush.engine.connect() as conn:
            rows: list[dict[str, Any]] = queries.events(conn, limit=100000, **filters)
        return rows


def make_api(hush: Any, **app_kwargs: Any) -> Api:
    app = create_app(hush, **app_kwargs)
    keys = ApiKeys(gateway=hush.gateway)
    operator = hush.operator_context()
    tokens = {s: keys.create(operator, s).token for s in SUBJECTS}
    return Api(app=app, client=TestClient(app, raise_server_exceptions=True), hush=hush, tokens=tokens)

"""Helpers shared by the console tests (importable by them: see conftest.py)."""

from __future__ import annotations

import re
import sys
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

if str(Path(__file__).parents[1] / "http") not in sys.path:
    sys.path.insert(0, str(Path(__file__).parents[1] / "http"))

from http_tools import SUBJECTS

from api.http import create_app
from core.apikeys import ApiKeys

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    from fastapi.testclient import TestClient

_CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def csrf_of(html: str) -> str:
    found = _CSRF.search(html)
    assert found, "no CSRF token on the page"
    return found.group(1)


@dataclass
class Console:
    """A test client on the app, API keys per subject, and helpers to sign in and post forms."""

    app: Any
    client: TestClient
    hush: Any
    tokens: dict[str, str] = field(default_factory=dict)

    def sign_in(self, subject: str, *, expect: int = 303) -> Any:
        page = self.client.get("/console/sign-in")
        token = csrf_of(page.text)
        r = self.client.post(
            "/console/sign-in",
            data={"api_key": self.tokens[subject], "csrf": token},
            follow_redirects=False,
        )
        assert r.status_code == expect, r.text
        return r

    def csrf(self, path: str = "/console/people") -> str:
        return csrf_of(self.client.get(path).text)

    def post_form(self, path: str, data: dict[str, str], *, csrf_from: str = "/console/people") -> Any:
        return self.client.post(path, data={"csrf": self.csrf(csrf_from), **data}, follow_redirects=False)

    def events(self, **where: Any) -> list[dict[str, Any]]:
        from audit import queries

        with self.hush.engine.connect() as conn:
            rows: list[dict[str, Any]] = queries.events(conn, limit=100000)
        return [r for r in rows if all(r.get(k) == v for k, v in where.items())]

    def api(self, method: str, path: str, subject: str, purpose: str, **kw: Any) -> Any:
        headers = {"Authorization": f"Bearer {self.tokens[subject]}", "X-Purpose": purpose}
        return self.client.request(method, path, headers=headers, **kw)

    def new_client(self) -> TestClient:
        return TestClient(self.app, raise_server_exceptions=True)


def make_console(hush: Any, base_url: str = "http://testserver") -> Console:
    app = create_app(hush)
    keys = ApiKeys(gateway=hush.gateway)
    operator = hush.operator_context()
    tokens = {s: keys.create(operator, s).token for s in SUBJECTS}
    return Console(app=app, client=TestClient(app, base_url=base_url), hush=hush, tokens=tokens)

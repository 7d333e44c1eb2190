"""``/profiles/*`` and ``/audit/anomalies`` over HTTP (API keys, X-Purpose, problem+json)."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from typing import Any

import pytest

from api.http import create_app
from api.http_profiles import build_router
from core.apikeys import ApiKeys

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # starlette warns about httpx on import (any warning class)
    from fastapi.testclient import TestClient


class Client:
    def __init__(self, hush: Any) -> None:
        self.app = create_app(hush, extra_routers=[build_router()])
        self.client = TestClient(self.app, raise_server_exceptions=True)
        keys = ApiKeys(gateway=hush.gateway)
        self.tokens = {s: keys.create(hush.operator_context(), s).token for s in ("ana", "cora", "alice")}

    def call(self, method: str, path: str, subject: str, purpose: str, **kw: Any) -> Any:
        headers = {"Authorization": f"Bearer {self.tokens[subject]}", "X-Purpose": purpose}
        return self.client.request(method, path, headers=headers, **kw)


@pytest.fixture
def api(demo: Any) -> Iterator[Client]:
    c = Client(demo)
    with c.client:
        yield c


def test_run_then_read_every_profile(api: Client) -> None:
    for kind, purpose in (
        ("rfm", "profiling"),
        ("clv", "profiling"),
        ("churn", "profiling"),
        ("cross-sell", "profiling"),
        ("quality", "data_quality"),
    ):
        assert api.call("GET", f"/profiles/{kind}", "ana", purpose).status_code == 404  # nothing stored yet
        run = api.call("POST", f"/profiles/{kind}/runs", "ana", purpose)
        assert run.status_code == 201, run.text
        body = api.call("GET", f"/profiles/{kind}", "ana", purpose, params={"limit": 5})
        assert body.status_code == 200, body.text
        doc = body.json()
        assert doc["run_id"] == run.json()["run_id"] and doc["audit_seq"] == run.json()["audit_seq"]
        assert len(doc["results"]) <= 5 and all(p.startswith("p_") for p in doc["results"])
    clv = api.call("GET", "/profiles/clv", "ana", "profiling").json()
    assert set(clv["summary"]["model"]["bgnbd"]) == {"r", "alpha", "a", "b"}
    assert clv["summary"]["usable"] is True and clv["summary"]["fit"]["bgnbd"]["usable"] is True
    posted = api.call("POST", "/profiles/clv/runs", "ana", "profiling").json()
    assert posted["fit"]["usable"] is True and posted["fit"]["gamma_gamma"]["log_std_errors"]["q"] < 2


def test_profiles_are_governed(api: Client) -> None:
    api.call("POST", "/profiles/rfm/runs", "ana", "profiling")
    denied = api.call("GET", "/profiles/rfm", "alice", "service")
    assert denied.status_code == 403
    assert denied.headers["content-type"].startswith("application/problem+json")
    assert api.call("GET", "/profiles/quality", "ana", "profiling").status_code == 403
    assert api.call("GET", "/profiles/rfm", "ana", "profiling", params={"limit": 0}).status_code == 422


def test_anomalies_for_compliance_only(api: Client) -> None:
    ok = api.call("GET", "/audit/anomalies", "cora", "compliance", params={"since": "2000-01-01T00:00:00Z"})
    assert ok.status_code == 200, ok.text
    assert {"anomalies", "baselines", "events"} <= set(ok.json())
    assert api.call("GET", "/audit/anomalies", "ana", "profiling").status_code == 403

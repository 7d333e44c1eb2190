"""Authentication, purpose header, request ids and problem documents."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
import sqlalchemy as sa
from http_tools import Api

from core.apikeys import ApiKeys, api_keys_t
from core.errors import AuthError

# One concrete call per route (path params filled in); every one needs an API key.
ROUTES = [
    ("POST", "/customers"),
    ("GET", "/customers?email=x@example.com"),
    ("GET", "/customers/C-1"),
    ("PATCH", "/customers/C-1"),
    ("DELETE", "/customers/C-1"),
    ("PUT", "/customers/C-1/consents"),
    ("POST", "/customers/C-1/review"),
    ("POST", "/customers/C-1/notes"),
    ("GET", "/customers/C-1/notes"),
    ("GET", "/customers/C-1/access-report"),
    ("GET", "/customers/C-1/data-export"),
    ("POST", "/exports/mailmerge"),
    ("GET", "/exports/" + "a" * 32),
    ("GET", "/exports/" + "a" * 32 + "/files/recipients.csv"),
    ("GET", "/audit/events"),
    ("GET", "/audit/verify"),
    ("POST", "/admin/policy/reload"),
]


def assert_problem(r: Any, status: int) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = r.json()
    assert body["status"] == status
    assert body["type"].startswith("urn:hushdb:problem:")
    assert body["title"]
    assert "Traceback" not in r.text
    return body


def test_health_needs_no_key(api: Api) -> None:
    r = api.client.get("/health")
    assert r.status_code == 200
    assert r.json()["status"] == "ok"


def test_every_route_but_health_is_listed_here(api: Api) -> None:
    paths = set(api.client.get("/openapi.json").json()["paths"])
    listed = {p.split("?")[0].replace("C-1", "{external_id}") for _, p in ROUTES}
    listed = {p.replace("a" * 32, "{job_id}").replace("recipients.csv", "{name}") for p in listed}
    assert paths - {"/health"} == listed


@pytest.mark.parametrize(("method", "path"), ROUTES)
def test_every_data_route_refuses_anonymous_calls(api: Api, method: str, path: str) -> None:
    r = api.client.request(method, path, headers={"X-Purpose": "service"}, json={})
    body = assert_problem(r, 401)
    assert r.headers["www-authenticate"].startswith("Bearer")
    assert body["instance"] == path.split("?")[0]


@pytest.mark.parametrize(
    "auth",
    [
        "Bearer hush_000000000000_" + "A" * 43,  # well-formed, unknown
        "Bearer not-a-key",
        "Basic YWxpY2U6c2VjcmV0",
        "Bearer ",
    ],
)
def test_bad_keys_are_401(api: Api, auth: str) -> None:
    r = api.client.get("/customers/C-1", headers={"Authorization": auth, "X-Purpose": "service"})
    assert_problem(r, 401)


def test_a_tampered_secret_is_refused(api: Api) -> None:
    token = api.tokens["alice"]
    flipped = token[:-1] + ("A" if token[-1] != "A" else "B")
    r = api.client.get(
        "/customers/C-1", headers={"Authorization": f"Bearer {flipped}", "X-Purpose": "service"}
    )
    assert_problem(r, 401)


def test_revoked_key_stops_working_at_once(api: Api) -> None:
    api.create_customer("alice", "R-1")
    assert api.get("/customers/R-1", "alice", "service").status_code == 200
    key_id = api.tokens["alice"].split("_")[1]
    api.app.state.services.apikeys.revoke(api.hush.operator_context(), key_id)
    assert_problem(api.get("/customers/R-1", "alice", "service"), 401)
    actions = [e["action"] for e in api.audit_rows(subject=api.hush.operator_context().subject)]
    assert "apikey_revoke" in actions and actions.count("apikey_create") == 7


def test_keys_are_stored_only_as_keyed_hashes(api: Api) -> None:
    with api.hush.engine.connect() as conn:
        rows = [dict(r._mapping) for r in conn.execute(sa.select(api_keys_t))]
    assert len(rows) == len(api.tokens)
    dump = repr(rows)
    for token in api.tokens.values():
        secret = token.split("_", 2)[2]
        assert secret not in dump and token not in dump
        plain = {hashlib.sha256(token.encode()).digest(), hashlib.sha256(secret.encode()).digest()}
        assert not plain & {bytes(r["secret_hash"]) for r in rows}


@pytest.mark.parametrize("purpose", [None, "", "fun", "Service", "marketing; drop table"])
def test_missing_or_unknown_purpose_is_400(api: Api, purpose: str | None) -> None:
    api.create_customer("alice", "P-1")
    r = api.get("/customers/P-1", "alice", purpose)
    body = assert_problem(r, 400)
    assert body["title"] == "Invalid purpose"
    if purpose:
        assert purpose not in r.text  # the value is not echoed


def test_request_id_is_taken_returned_and_audited(api: Api) -> None:
    api.create_customer("alice", "Q-1")
    r = api.client.get(
        "/customers/Q-1", headers=api.headers("alice", "service", **{"X-Request-ID": "req-42.a"})
    )
    assert r.status_code == 200
    assert r.headers["x-request-id"] == "req-42.a"
    events = [e for e in api.audit_rows(subject="alice") if e["request_id"] == "req-42.a"]
    assert [e["action"] for e in events] == ["read"]


@pytest.mark.parametrize("given", ["x" * 65, "has space", "<script>", "a/b"])
def test_an_invalid_request_id_is_replaced(api: Api, given: str) -> None:
    r = api.client.get("/health", headers={"X-Request-ID": given})
    rid = r.headers["x-request-id"]
    assert rid != given and len(rid) == 32


def test_request_id_is_generated_and_in_problem_documents(api: Api) -> None:
    r = api.get("/customers/NOPE", "alice", "service")
    body = assert_problem(r, 404)
    assert body["request_id"] == r.headers["x-request-id"]


def test_unknown_route_and_method_are_problems(api: Api) -> None:
    assert_problem(api.get("/nowhere", "alice", "service"), 404)
    assert_problem(api.client.put("/health"), 405)


def test_oversized_body_is_413_before_parsing(api: Api) -> None:
    huge = "x" * (7 * api.hush.settings.note_max_bytes + 200_000)
    headers = api.headers("alice", "service", **{"content-type": "application/json"})
    r = api.client.post("/customers", content=huge, headers=headers)
    assert_problem(r, 413)


def test_validation_errors_are_problems_without_input_values(api: Api) -> None:
    secret = "Quentin Privatevalue"
    r = api.post(
        "/customers",
        "alice",
        "service",
        json={"external_id": "V-1", "full_name": ["x"], "birth_date": secret, secret: 1},
    )
    body = assert_problem(r, 422)
    assert secret not in r.text and "Privatevalue" not in r.text
    locs = [e["loc"] for e in body["errors"]]
    assert ["body", "full_name"] in locs and ["body", "birth_date"] in locs
    assert ["body", "<unknown field>"] in locs


def test_a_key_revoked_elsewhere_expires_from_the_cache(api: Api) -> None:
    now = [100.0]
    here = ApiKeys(gateway=api.hush.gateway, cache_seconds=2.0, clock=lambda: now[0])
    elsewhere = ApiKeys(gateway=api.hush.gateway)  # e.g. `hushdb apikeys revoke` in another process
    token = api.tokens["bob"]
    assert here.cached(token) is None
    assert here.authenticate(token).subject == "bob"
    hit = here.cached(token)
    assert hit is not None and hit.subject == "bob"
    assert here.cached(token[:-1] + ("A" if token[-1] != "A" else "B")) is None  # the secret is checked
    elsewhere.revoke(api.hush.operator_context(), token.split("_")[1])
    now[0] += 2.5
    assert here.cached(token) is None
    with pytest.raises(AuthError):
        here.authenticate(token)

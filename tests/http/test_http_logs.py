"""Server logs: one JSON line per request with the route template; no personal data, no keys.

The autouse ``server_logs`` fixture (conftest.py) fails any test here whose
logs contain a canary value; this test drives every path a canary can take.
"""

from __future__ import annotations

import json

from http_tools import (
    ACCESS_LOGGER_NAME,
    CANARY_ADDRESS,
    CANARY_EMAIL,
    CANARY_NAME,
    CANARY_NOTE,
    CANARY_PHONE,
    Api,
    LogCapture,
)


def test_canary_story_leaves_no_trace_in_logs_or_error_bodies(api: Api, server_logs: LogCapture) -> None:
    body = {
        "external_id": "CAN-1",
        "full_name": CANARY_NAME,
        "email": CANARY_EMAIL,
        "phone": CANARY_PHONE,
        "postal_address": CANARY_ADDRESS,
    }
    assert api.post("/customers", "alice", "service", json=body).status_code == 201
    assert api.get("/customers", "alice", "service", params={"email": CANARY_EMAIL}).json()["count"] == 1
    assert api.get("/customers", "bob", "service", params={"phone": CANARY_PHONE}).json()["count"] == 0
    assert (
        api.post("/customers/CAN-1/notes", "alice", "service", json={"text": CANARY_NOTE}).status_code == 201
    )
    assert api.get("/customers/CAN-1/data-export", "dana", "erasure").status_code == 200
    errors = [
        api.post("/customers", "alice", "service", json={**body, "birth_date": CANARY_NAME}),  # 422
        api.post("/customers", "alice", "service", json=body),  # 409
        api.patch("/customers/CAN-1", "alice", "service", json={"full_name": CANARY_NAME, CANARY_EMAIL: 1}),
        api.get("/customers/CAN-1", "alice", CANARY_NAME),  # 400: the purpose header is not echoed
        api.post("/customers/CAN-1/notes", "alice", "service", json={"text": CANARY_NOTE * 400}),  # 413
        api.client.get("/customers/CAN-1", headers={"Authorization": f"Bearer {CANARY_EMAIL}"}),  # 401
    ]
    assert [r.status_code for r in errors] == [422, 409, 422, 400, 413, 401]
    for r in errors:
        for canary in (CANARY_NAME, CANARY_EMAIL, "Quixwright", "Philippa"):
            assert canary not in r.text, (r.status_code, canary)

    access = [json.loads(line) for line in server_logs.lines if f'"{ACCESS_LOGGER_NAME}"' in line]
    assert len(access) == 11  # one line per request
    routes = {(a["method"], a["route"]) for a in access}
    assert ("GET", "/customers/{external_id}") in routes and ("GET", "/customers") in routes
    assert all({"status", "duration_ms", "request_id", "subject"} <= set(a) for a in access)
    assert {a["subject"] for a in access} >= {"alice", "bob", "dana"}
    # no API key, and no raw path with a query string, in any line
    for token in api.tokens.values():
        assert token.split("_", 2)[2] not in server_logs.text
    assert "email=" not in server_logs.text and "phone=" not in server_logs.text


def test_an_unexpected_error_is_a_bare_500_and_logs_only_its_class(api: Api, server_logs: LogCapture) -> None:
    def explode(*_a: object, **_k: object) -> None:
        raise ValueError(f"cannot handle {CANARY_EMAIL}")

    api.create_customer("alice", "E-1")
    api.hush.gateway.read_customer = explode  # type: ignore[method-assign]
    r = api.get("/customers/E-1", "alice", "service")
    assert r.status_code == 500 and r.headers["content-type"] == "application/problem+json"
    assert r.json()["detail"] == "the server could not complete the request"
    assert CANARY_EMAIL not in r.text and "Traceback" not in r.text
    [line] = [json.loads(x) for x in server_logs.lines if '"unhandled error"' in x]
    assert line["exc_type"] == "ValueError" and line["request_id"] == r.headers["x-request-id"]

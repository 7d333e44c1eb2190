"""Console sign-in and sessions: cookie flags, CSRF, security headers, timeouts, refusals audited."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from console_tools import Console, csrf_of, make_console

from api.console.sessions import (
    SESSION_COOKIE,
    SessionSettings,
    SessionStore,
    SignInThrottle,
    console_sessions_t,
)
from api.console.web import CSP


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    """Sessions, cookies and CSRF do not depend on the database: SQLite only (the pages run on both)."""
    return f"sqlite:///{tmp_path / 'hushdb.sqlite3'}"


def _session_cookie_header(response: Any) -> str:
    headers = [v for k, v in response.headers.multi_items() if k.lower() == "set-cookie"]
    found = [h for h in headers if h.startswith(f"{SESSION_COOKIE}=")]
    assert found, headers
    return found[0]


def test_sign_in_sets_a_strict_httponly_cookie_and_audits(console: Console) -> None:
    r = console.sign_in("cora")
    cookie = _session_cookie_header(r).lower()
    assert "httponly" in cookie and "samesite=strict" in cookie and "path=/console" in cookie
    assert "secure" not in cookie  # plain http here; over TLS the cookie is Secure (next test)
    assert r.headers["location"] == "/console/"
    home = console.client.get("/console/", follow_redirects=False)
    assert home.headers["location"] == "/console/dashboard"
    ok = console.events(subject="cora", action="sign_in")
    assert ok and ok[-1]["decision"] == "allow" and ok[-1]["resource"] == "console"
    assert console.tokens["cora"] not in str(ok)  # the key never reaches the audit log


def test_cookie_is_secure_over_tls(hush: Any) -> None:
    c = make_console(hush, base_url="https://testserver")
    with c.client:
        r = c.sign_in("cora")
        assert "secure" in _session_cookie_header(r).lower()


def test_every_console_response_carries_the_security_headers(console: Console) -> None:
    for path in ("/console/sign-in", "/console/static/console.css", "/console/nowhere"):
        r = console.client.get(path)
        assert r.headers["content-security-policy"] == CSP, path
        assert "'unsafe-inline'" not in CSP and "frame-ancestors 'none'" in CSP
        assert r.headers["x-frame-options"] == "DENY"
    page = console.client.get("/console/sign-in").text
    assert "<script>" not in page and "onclick" not in page  # no inline script anywhere


def test_wrong_key_is_refused_audited_and_rate_limited(console: Console) -> None:
    for i in range(5):
        token = csrf_of(console.client.get("/console/sign-in").text)
        r = console.client.post("/console/sign-in", data={"api_key": f"hush_nope_{i}", "csrf": token})
        assert r.status_code == 401
        assert "not valid" in r.text
    token = csrf_of(console.client.get("/console/sign-in").text)
    r = console.client.post("/console/sign-in", data={"api_key": console.tokens["cora"], "csrf": token})
    assert r.status_code == 429  # even the right key waits once the client is blocked
    refused = console.events(action="sign_in", decision="deny")
    assert len(refused) == 6
    assert {e["detail"]["reason"] for e in refused} == {
        "invalid or revoked API key",
        "too many failed sign-ins",
    }


@pytest.mark.parametrize("subject", ["alice", "mailer"])
def test_roles_without_console_work_are_refused(console: Console, subject: str) -> None:
    r = console.sign_in(subject, expect=403)
    assert "use the API" in r.text
    assert SESSION_COOKIE not in r.cookies
    denied = console.events(subject=subject, action="sign_in")
    assert denied and denied[-1]["decision"] == "deny"


def test_sign_in_without_the_login_csrf_token_is_refused(console: Console) -> None:
    r = console.client.post("/console/sign-in", data={"api_key": console.tokens["cora"]})
    assert r.status_code == 403
    assert console.events(action="sign_in", decision="deny")


def test_forms_need_the_session_csrf_token(console: Console) -> None:
    console.sign_in("adm")
    r = console.client.post("/console/policy/reload", data={"csrf": "stale"}, follow_redirects=False)
    assert r.status_code == 403
    r = console.client.post("/console/policy/reload", data={}, follow_redirects=False)
    assert r.status_code == 403
    refused = console.events(subject="adm", action="console_post")
    assert len(refused) == 2 and all(e["decision"] == "deny" for e in refused)
    ok = console.post_form("/console/policy/reload", {})
    assert ok.status_code == 303


def test_tampered_cookie_finds_no_session_and_is_audited(console: Console) -> None:
    console.sign_in("cora")
    console.client.cookies.set(SESSION_COOKIE, "x" * 43, path="/console")
    r = console.client.get("/console/dashboard", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/console/sign-in"
    assert console.events(subject="anonymous", action="console_view", decision="deny")


def test_sign_out_ends_the_session(console: Console) -> None:
    console.sign_in("cora")
    old = console.client.cookies.get(SESSION_COOKIE)
    r = console.post_form("/console/sign-out", {}, csrf_from="/console/audit")
    assert r.status_code == 303
    console.client.cookies.set(SESSION_COOKIE, old or "", path="/console")
    again = console.client.get("/console/audit", follow_redirects=False)
    assert again.status_code == 303 and again.headers["location"] == "/console/sign-in"


def test_revoked_key_ends_the_session(console: Console) -> None:
    console.sign_in("cora")
    assert console.client.get("/console/audit").status_code == 200
    key_id = console.tokens["cora"].split("_")[1]
    console.app.state.services.apikeys.revoke(console.hush.operator_context(), key_id)
    r = console.client.get("/console/audit", follow_redirects=False)
    assert r.status_code == 303


class _Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _key_id(console: Console, subject: str) -> str:
    return console.tokens[subject].split("_")[1]


def test_idle_and_absolute_timeouts(console: Console) -> None:
    clock = _Clock()
    settings = SessionSettings(idle_seconds=60, absolute_seconds=150)
    store = SessionStore(settings, engine=console.hush.engine, clock=clock)
    key = _key_id(console, "cora")
    s = store.create(subject="cora", key_id=key, roles=frozenset({"compliance"}))
    clock.now += 59
    seen = store.get(s.session_id)  # activity restarts the idle clock
    assert seen is not None and seen.subject == "cora" and seen.roles == {"compliance"}
    assert seen.last_seen == 1059.0 and seen.csrf == s.csrf
    clock.now += 59
    assert store.get(s.session_id) is not None
    clock.now += 61
    assert store.get(s.session_id) is None  # idle
    s2 = store.create(subject="cora", key_id=key, roles=frozenset())
    for _ in range(3):
        clock.now += 50
        assert store.get(s2.session_id) is not None
    clock.now += 1
    assert store.get(s2.session_id) is None  # absolute: 150 s after sign-in, however active
    assert s2.csrf not in repr(s2) and s2.session_id not in repr(s2)


def test_sessions_are_stored_hashed_bounded_and_purged(console: Console) -> None:
    clock = _Clock()
    settings = SessionSettings(idle_seconds=60, absolute_seconds=150, max_sessions=3)
    store = SessionStore(settings, engine=console.hush.engine, clock=clock)
    key = _key_id(console, "cora")
    made = []
    for _ in range(5):
        clock.now += 1
        made.append(store.create(subject="cora", key_id=key, roles=frozenset({"compliance"})))
    assert len(store) == 3  # the least recently used went
    assert store.get(made[0].session_id) is None and store.get(made[4].session_id) is not None
    with console.hush.engine.connect() as conn:
        rows = [dict(r._mapping) for r in conn.execute(sa.select(console_sessions_t))]
    dumped = repr(rows)
    for session in made:
        assert session.session_id not in dumped and session.csrf not in dumped  # neither is stored
    assert console.tokens["cora"] not in dumped and console.tokens["cora"].split("_")[2] not in dumped
    clock.now += 61
    store.create(subject="cora", key_id=key, roles=frozenset())  # a sign-in purges expired sessions
    assert len(store) == 1


def test_session_expiry_in_the_app(console: Console) -> None:
    clock = _Clock()
    console.app.state.console.sessions._clock = clock
    console.sign_in("cora")
    clock.now += console.app.state.console.sessions.settings.idle_seconds + 1
    r = console.client.get("/console/audit", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/console/sign-in"


def test_throttle_window_slides() -> None:
    clock = _Clock()
    t = SignInThrottle(limit=2, window_seconds=10, clock=clock)
    t.failed("a")
    t.failed("a")
    assert t.blocked("a") and not t.blocked("b")
    clock.now += 11
    assert not t.blocked("a")


def test_bad_input_gets_a_clear_page_not_a_traceback(console: Console) -> None:
    console.sign_in("cora")
    r = console.client.get("/console/audit", params={"colour": "red"})
    assert r.status_code == 422 and "unknown filter" in r.text
    r = console.client.get("/console/audit", params={"since": "yesterday"})
    assert r.status_code == 422 and "ISO 8601" in r.text
    r = console.client.get("/console/audit?subject=" + "a" * 3000)
    assert r.status_code == 414
    r = console.client.get("/console/audit/events/abc")
    assert r.status_code == 422
    r = console.client.post(
        "/console/sign-out", content=b'{"csrf": 1}', headers={"content-type": "application/json"}
    )
    assert r.status_code == 403  # not a form: no CSRF token, refused and audited
    for page in (r.text,):
        assert "Traceback" not in page

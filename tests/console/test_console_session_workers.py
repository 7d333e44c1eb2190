"""Console sessions live in the database: every worker of ``hushdb serve --workers N`` shares them.

Two apps on the same database stand for two workers (each worker process builds its own app
and engine); both databases.
"""

from __future__ import annotations

from typing import Any

from console_tools import Console, csrf_of, make_console

from api.console.sessions import SESSION_COOKIE
from api.wiring import open_store


def _key_id(console: Console, subject: str) -> str:
    return console.tokens[subject].split("_")[1]


def test_a_session_made_on_one_worker_works_on_another(console: Console, settings: Any) -> None:
    """Two apps on the same database, as ``hushdb serve --workers 2`` runs them (one per process)."""
    other_hush = open_store(settings)
    try:
        other = make_console(other_hush)
        other.tokens = console.tokens
        with other.client:
            console.sign_in("cora")
            cookie = console.client.cookies.get(SESSION_COOKIE)
            assert cookie
            other.client.cookies.set(SESSION_COOKIE, cookie, path="/console")
            page = other.client.get("/console/audit")
            assert page.status_code == 200 and "Audit explorer" in page.text
            # a form rendered by one worker posts to the other (the CSRF token is the session's)
            token = csrf_of(console.client.get("/console/review").text)
            r = other.client.post("/console/sign-out", data={"csrf": token}, follow_redirects=False)
            assert r.status_code == 303 and r.headers["location"] == "/console/sign-in"
            gone = console.client.get("/console/audit", follow_redirects=False)
            assert gone.status_code == 303  # signed out on the other worker: gone here too
            # revoking the key on one worker ends its sessions on every worker
            console.sign_in("cora")
            other.client.cookies.set(
                SESSION_COOKIE, console.client.cookies.get(SESSION_COOKIE) or "", path="/console"
            )
            assert other.client.get("/console/audit").status_code == 200
            console.app.state.services.apikeys.revoke(
                console.hush.operator_context(), _key_id(console, "cora")
            )
            assert other.client.get("/console/audit", follow_redirects=False).status_code == 303
    finally:
        other_hush.close()


def test_erasure_receipts_follow_the_session_across_workers(console: Console, settings: Any) -> None:
    r = console.api(
        "POST", "/customers", "alice", "service", json={"external_id": "W-1", "full_name": "Wyn Ash"}
    )
    assert r.status_code == 201
    console.sign_in("dana")
    done = console.post_form(
        "/console/requests/erase", {"external_id": "W-1", "confirm": "W-1"}, csrf_from="/console/requests"
    )
    assert done.status_code == 200 and "Erasure receipt" in done.text
    seq = console.events(subject="dana", action="erase")[-1]["seq"]
    other_hush = open_store(settings)
    try:
        other = make_console(other_hush)
        with other.client:
            other.client.cookies.set(
                SESSION_COOKIE, console.client.cookies.get(SESSION_COOKIE) or "", path="/console"
            )
            receipt = other.client.get(f"/console/requests/receipts/{seq}.json")
            assert receipt.status_code == 200 and receipt.json()["external_id"] == "W-1"
            assert f"/console/requests/receipts/{seq}.json" in other.client.get("/console/requests").text
    finally:
        other_hush.close()


def test_migrated_schema_matches_the_session_table(console: Console) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from api.console.sessions import console_metadata

    with console.hush.engine.connect() as conn:
        context = MigrationContext.configure(
            conn,
            opts={"include_name": lambda name, type_, parent: type_ != "table" or name == "console_sessions"},
        )
        diff = compare_metadata(context, console_metadata)
        conn.rollback()
    assert diff == []

"""Every decision is recorded: every HTTP route and every CLI command, walked as a subject without access.

The routes come from the app's route table (with the routers ``hushdb serve`` mounts) and the
commands from the Typer command tree, so a route or command added later is walked too: it
must either appear in the tables below (how to call it) or in an allow-list with a reason
(it touches no personal data).  Each call must be refused (403/404, or a non-zero exit)
and leave at least one ``deny`` event for the caller in the audit log.

The HTTP walk acts as ``bob`` (sales) on ``alice``'s customer, note, consents and review, and
on routes his role has no line for (exports, audit log, profiles, policy reload).  The CLI
walk acts as ``bob`` where a command takes ``--as``, and as the local operator under a policy
without the ``operator`` lines for operator commands: the operator's authority is a policy
line, not a switch, so without it the operator is refused and the refusal is recorded.
"""

from __future__ import annotations

import re
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
import typer
from fastapi.routing import APIRoute
from typer.testing import CliRunner

from api.cli import app as cli_app
from api.http.app import default_routers
from api.wiring import Hush
from audit import queries
from audit.tables import audit_events
from core.config import Settings, shipped_policy_dir
from core.profiling.access import AccessAnalytics, access_records

_HTTP_DIR = Path(__file__).resolve().parent.parent / "http"
if str(_HTTP_DIR) not in sys.path:
    sys.path.insert(0, str(_HTTP_DIR))

from http_tools import Api, make_api  # noqa: E402

OWNER = "alice"
INTRUDER = "bob"
CUSTOMER = "W-1"
CUSTOMER_EMAIL = "walk.one@example.com"
CUSTOMER_PHONE = "+44 7700 900555"
JOB_ID = "0" * 32  # no such job: answered like someone else's job

# Routes that touch no personal data and decide nothing, with the reason.
HTTP_ALLOWED_WITHOUT_EVENT: dict[tuple[str, str], str] = {
    ("GET", "/health"): "liveness probe: no caller, no data",
    ("GET", "/docs"): "the API documentation page: no data",
    ("GET", "/redoc"): "the API documentation page: no data",
    ("GET", "/openapi.json"): "the API description: no data",
}

# Route prefixes with their own front door (not API keys), walked by their own tests.
HTTP_OTHER_DOORS: dict[str, str] = {
    "/console": "the compliance console: signed-in sessions and CSRF forms, not API keys (tests/console)",
}

PATH_VALUES = {"external_id": CUSTOMER, "job_id": JOB_ID, "name": "manifest.json", "kind": "rfm"}

# How to call each route that takes a body or a query (others are called bare).
HTTP_CALLS: dict[tuple[str, str], dict[str, Any]] = {
    ("POST", "/customers"): {"json": {"external_id": "W-9", "full_name": "Walk Nine", "owner": OWNER}},
    ("GET", "/customers"): {"params": {"email": CUSTOMER_EMAIL}},
    ("PATCH", "/customers/{external_id}"): {"json": {"postal_address": "1 Walk Street"}},
    ("PUT", "/customers/{external_id}/consents"): {"json": {"marketing_email": True}},
    ("POST", "/customers/{external_id}/notes"): {"json": {"text": "Walked past the shop."}},
    ("POST", "/exports/mailmerge"): {
        "json": {"campaign": "walk", "fields": ["full_name"], "template": "Dear {{ full_name }}"}
    },
    ("POST", "/profiles/{kind}/runs"): {"json": {}},
}


@pytest.fixture
def walk_api(hush: Hush) -> Iterator[Api]:
    api = make_api(hush, extra_routers=default_routers())
    with api.client:
        api.create_customer(OWNER, CUSTOMER, email=CUSTOMER_EMAIL, phone=CUSTOMER_PHONE)
        r = api.post(f"/customers/{CUSTOMER}/notes", OWNER, "service", json={"text": "Prefers letters."})
        assert r.status_code == 201, r.text
        yield api


def _api_routes(routes: list[Any], prefix: str = "") -> Iterator[tuple[str, str]]:
    """(method, path) of every API route, through included routers (FastAPI includes them lazily)."""
    for route in routes:
        if isinstance(route, APIRoute):
            for method in sorted((route.methods or set()) - {"HEAD", "OPTIONS"}):
                yield method, prefix + route.path
        elif hasattr(route, "original_router"):
            context = getattr(route, "include_context", None)
            yield from _api_routes(route.original_router.routes, prefix + getattr(context, "prefix", ""))


def _routes(api: Api) -> list[tuple[str, str]]:
    return list(_api_routes(api.app.routes))


def _url(path: str) -> str:
    def fill(match: re.Match[str]) -> str:
        name = match.group(1).split(":")[0]
        assert name in PATH_VALUES, (
            f"route parameter {name!r} has no value in the walk; add it to PATH_VALUES"
        )
        return PATH_VALUES[name]

    return re.sub(r"\{([^}]+)\}", fill, path)


def _last_seq(hush: Hush) -> int:
    with hush.engine.connect() as conn:
        rows = queries.events(conn, limit=1_000_000)
    return max((int(r["seq"]) for r in rows), default=0)


def _events_after(hush: Hush, seq: int) -> list[dict[str, Any]]:
    with hush.engine.connect() as conn:
        rows = queries.events(conn, limit=1_000_000)
    return [r for r in rows if int(r["seq"]) > seq]


def test_every_http_route_records_a_denial_for_a_caller_without_access(walk_api: Api) -> None:
    api = walk_api
    routes = _routes(api)
    assert ("GET", "/customers/{external_id}") in routes and ("POST", "/admin/policy/reload") in routes
    silent: list[str] = []
    for method, path in routes:
        if (method, path) in HTTP_ALLOWED_WITHOUT_EVENT or path.startswith(tuple(HTTP_OTHER_DOORS)):
            continue
        before = _last_seq(api.hush)
        kwargs = HTTP_CALLS.get((method, path), {})
        r = api.client.request(method, _url(path), headers=api.headers(INTRUDER, "service"), **kwargs)
        if (method, path) == ("GET", "/customers"):
            # a look-up answers "nothing found" for someone else's customer (no existence oracle)
            assert r.status_code == 200 and r.json()["count"] == 0, r.text
        else:
            assert r.status_code in (403, 404), (
                f"{method} {path} answered {r.status_code} to {INTRUDER}: {r.text}"
            )
        new = _events_after(api.hush, before)
        if not any(e["subject"] == INTRUDER and e["decision"] == "deny" for e in new):
            silent.append(f"{method} {path} ({r.status_code})")
    assert not silent, f"routes that refused {INTRUDER} without recording a denial: {silent}"


def test_cross_owner_attempts_are_counted_as_ownership_probes(walk_api: Api) -> None:
    """The five routes of the issue each leave a denial with reason 'outside owned accounts'."""
    api = walk_api
    before = _last_seq(api.hush)
    calls: list[tuple[str, str, dict[str, Any]]] = [
        ("GET", f"/customers/{CUSTOMER}", {}),
        ("GET", f"/customers/{CUSTOMER}/notes", {}),
        ("POST", f"/customers/{CUSTOMER}/notes", {"json": {"text": "x"}}),
        ("PATCH", f"/customers/{CUSTOMER}", {"json": {"postal_address": "x"}}),
        ("PUT", f"/customers/{CUSTOMER}/consents", {"json": {"profiling": False}}),
        ("POST", f"/customers/{CUSTOMER}/review", {}),
    ]
    for method, url, kwargs in calls:
        r = api.client.request(method, url, headers=api.headers(INTRUDER, "service"), **kwargs)
        assert r.status_code == 404, (method, url, r.text)
    probes = [
        e
        for e in _events_after(api.hush, before)
        if e["subject"] == INTRUDER
        and e["decision"] == "deny"
        and "outside owned accounts" in str(e["detail"])
    ]
    assert len(probes) == len(calls)
    # A customer that does not exist answers the same, and is recorded as 'not found'.
    before = _last_seq(api.hush)
    r = api.patch("/customers/NOPE-1", INTRUDER, "service", json={"postal_address": "x"})
    assert r.status_code == 404
    assert (
        r.json()["detail"]
        == api.patch(f"/customers/{CUSTOMER}", INTRUDER, "service", json={"postal_address": "x"}).json()[
            "detail"
        ]
    )
    new = _events_after(api.hush, before)
    assert any(e["decision"] == "deny" and "not found" in str(e["detail"]) for e in new)


def test_audit_anomalies_count_every_ownership_probe(walk_api: Api) -> None:
    api = walk_api
    for url in (f"/customers/{CUSTOMER}/notes", f"/customers/{CUSTOMER}"):
        assert api.get(url, INTRUDER, "service").status_code == 404
    assert api.post(f"/customers/{CUSTOMER}/review", INTRUDER, "service").status_code == 404
    ev = audit_events.c
    with api.hush.engine.connect() as conn:
        rows = conn.execute(
            sa.select(ev.ts, ev.subject, ev.action, ev.decision, ev.row_count, ev.detail)
        ).all()
    probes = [r for r in access_records(rows) if r.subject == INTRUDER and r.owned is False]
    assert len(probes) == 3
    report = AccessAnalytics(gateway=api.hush.gateway).anomalies(api.hush.context("cora", "compliance"))
    assert report.events >= 3


# -- the command line ------------------------------------------------------------------------

CLI_ALLOWED_WITHOUT_EVENT: dict[str, str] = {
    "init": "creates an empty store; reads no customer data",
    "demo-data": "writes synthetic CSV files; opens no store",
    "serve": "starts the HTTP API, whose every route is walked above",
    "policy check": "validates the policy files; reads no data",
    "policy show": "prints the policy table; reads no data",
    "pii scan": "analyses standard input; opens no store",
    "pii mask": "masks standard input; opens no store",
    "audit export-key": "prints the audit log's public key; no personal data",
    "restore": "restores a backup into an empty data directory (operator); resolves no customer",
}


# Whole command groups that resolve no customer, note, consent, review or export job.
CLI_GROUPS_WITHOUT_EVENT: dict[str, str] = {
    "backup": "backups copy and check ciphertext and wrapped keys (operator); decrypt nothing",
}


def _commands(group: typer.Typer, prefix: str = "") -> Iterator[str]:
    for command in group.registered_commands:
        name = command.name or (command.callback.__name__.replace("_", "-") if command.callback else "")
        yield f"{prefix}{name}"
    for sub in group.registered_groups:
        assert sub.typer_instance is not None
        yield from _commands(sub.typer_instance, f"{prefix}{sub.name} ")


def _cli_calls(tmp: Path) -> dict[str, list[str]]:
    """Arguments per command, as bob (sales) or, for operator commands, as the operator."""
    customers = tmp / "customers.csv"
    customers.write_text("external_id,full_name,owner\nW-8,Walk Eight,alice\n")
    transactions = tmp / "transactions.csv"
    transactions.write_text(
        f"external_id,occurred_at,amount,currency,product,category\n{CUSTOMER},2024-01-02T10:00:00,9.99,GBP,tea,food\n"
    )
    notes = tmp / "notes.csv"
    notes.write_text(f"external_id,author,created_at,text\n{CUSTOMER},bob,,Walked past.\n")
    template = tmp / "walk.j2"
    template.write_text("Dear {{ full_name }}")
    as_bob = ["--as", INTRUDER]
    return {
        "customers import": [str(customers), *as_bob],
        "customers show": [CUSTOMER, *as_bob, "--purpose", "service"],
        "customers find": ["--email", CUSTOMER_EMAIL, *as_bob, "--purpose", "service"],
        "customers clear-review": [CUSTOMER, *as_bob],
        "customers set-flag": [CUSTOMER, "deceased", *as_bob],
        "transactions import": [str(transactions), *as_bob],
        "keys rotate": [],
        "notes add": [CUSTOMER, *as_bob, "--text", "Walked past."],
        "notes import": [str(notes), *as_bob],
        "notes show": [CUSTOMER, *as_bob, "--purpose", "service"],
        "erase": [CUSTOMER, *as_bob],
        "dsar": [CUSTOMER, *as_bob, "--out", str(tmp / "dsar.json")],
        "audit verify": [],
        "audit events": [],
        "audit report": ["--customer", CUSTOMER],
        "audit anomalies": as_bob,
        "apikeys create": ["--subject", OWNER],
        "apikeys list": [],
        "apikeys revoke": ["000000000000"],
        "export mailmerge": [
            "--campaign",
            "walk",
            "--fields",
            "full_name",
            "--out",
            str(tmp / "out"),
            "--template",
            str(template),
            *as_bob,
        ],
        "profile rfm": as_bob,
        "profile clv": as_bob,
        "profile churn": as_bob,
        "profile cross-sell": as_bob,
        "profile quality": as_bob,
    }


def _policy_without_operator(tmp: Path) -> Path:
    """The shipped policy minus every ``operator`` line: the operator then holds no permission."""
    target = tmp / "policy-no-operator"
    shutil.copytree(
        shipped_policy_dir(), target, ignore=shutil.ignore_patterns("*.py", "__pycache__", "*.md")
    )
    policy = target / "policy.csv"
    lines = [line for line in policy.read_text().splitlines() if not re.match(r"^p,\s*operator,", line)]
    policy.write_text("\n".join(lines) + "\n")
    return target


def test_every_cli_command_records_a_denial_for_a_caller_without_access(
    hush: Hush, settings: Settings, tmp_path: Path
) -> None:
    api = make_api(hush)
    with api.client:
        api.create_customer(OWNER, CUSTOMER, email=CUSTOMER_EMAIL, phone=CUSTOMER_PHONE)
    calls = _cli_calls(tmp_path)
    env = {
        "HUSHDB_DATABASE_URL": settings.database_url,
        "HUSHDB_POLICY_DIR": str(_policy_without_operator(tmp_path)),
        "HUSHDB_CHECKPOINT_EVERY": "50",
    }
    runner = CliRunner()
    commands = list(_commands(cli_app))
    assert "customers show" in commands and "notes import" in commands
    silent: list[str] = []
    for command in commands:
        if command in CLI_ALLOWED_WITHOUT_EVENT or command.split(" ")[0] in CLI_GROUPS_WITHOUT_EVENT:
            continue
        assert command in calls, f"`hushdb {command}` is not walked: add its arguments to _cli_calls"
        before = _last_seq(hush)
        args = [*command.split(" "), *calls[command], "--data-dir", str(settings.data_dir)]
        result = runner.invoke(cli_app, args, env=env)
        if command == "customers find":
            # a look-up finds nothing in someone else's customers (no existence oracle)
            assert result.exit_code == 0 and "0 found" in result.stdout, result.stdout
        else:
            assert result.exit_code != 0, f"`hushdb {command}` succeeded without access: {result.stdout}"
        assert "Traceback" not in result.stderr, result.stderr
        new = _events_after(hush, before)
        if not any(e["decision"] == "deny" for e in new):
            silent.append(f"{command} (exit {result.exit_code}: {result.stderr.strip()[:120]})")
    assert not silent, f"commands that refused the caller without recording a denial: {silent}"

"""``hushdb audit``: verify the log, list events, report who saw a person's data."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

import typer

from api.cli import AsSubjectOpt, DataDir, JsonFlag, err, opened, out, print_json
from core.compliance import ComplianceQueries
from core.errors import InputError

audit_app = typer.Typer(help="The append-only audit log.", no_args_is_help=True)


def _when(value: str | None, name: str) -> dt.datetime | None:
    if value is None:
        return None
    try:
        moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise InputError(f"{name} is not an ISO 8601 date or date-time") from exc
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


@audit_app.command("verify")
def verify(data_dir: DataDir = None, json_out: JsonFlag = False) -> None:
    """Verify the hash chain and signed checkpoints: exit 0 intact, 1 tampered, 2 cannot run."""
    report = None
    try:
        with opened(data_dir) as hush:
            report = ComplianceQueries(hush=hush).verify(hush.operator_context("compliance"))
    except typer.Exit as exc:
        raise typer.Exit(2 if exc.exit_code not in (0, 1) else exc.exit_code) from exc
    assert report is not None
    doc = {
        "ok": report.ok,
        "events_checked": report.events_checked,
        "first_bad_seq": report.first_bad_seq,
        "reason": report.reason,
    }
    if json_out:
        print_json(doc)
    elif report.ok:
        out.print(f"audit log intact: {report.events_checked} events verified", highlight=False)
    else:
        err.print(
            f"audit log TAMPERED: first bad event seq={report.first_bad_seq}: {report.reason}",
            markup=False,
            highlight=False,
        )
    raise typer.Exit(0 if report.ok else 1)


@audit_app.command("events")
def events(
    as_subject: AsSubjectOpt = None,
    customer: Annotated[str | None, typer.Option("--customer", help="EXTERNAL_ID")] = None,
    subject: Annotated[str | None, typer.Option("--subject")] = None,
    purpose: Annotated[str | None, typer.Option("--purpose")] = None,
    denied: Annotated[bool, typer.Option("--denied", help="Only denials.")] = False,
    since: Annotated[str | None, typer.Option("--since", help="ISO date-time")] = None,
    until: Annotated[str | None, typer.Option("--until", help="ISO date-time")] = None,
    limit: Annotated[int, typer.Option("--limit")] = 1000,
    data_dir: DataDir = None,
    json_out: JsonFlag = False,
) -> None:
    """List audit events (compliance)."""
    with opened(data_dir) as hush:
        ctx = hush.context(as_subject, "compliance") if as_subject else hush.operator_context("compliance")
        rows = ComplianceQueries(hush=hush).events(
            ctx,
            customer=customer,
            subject=subject,
            purpose=purpose,
            denied_only=denied,
            since=_when(since, "--since"),
            until=_when(until, "--until"),
            limit=limit,
        )
        _print_events(rows, json_out)


@audit_app.command("report")
def report(
    customer: Annotated[str, typer.Option("--customer", help="EXTERNAL_ID")],
    as_subject: AsSubjectOpt = None,
    data_dir: DataDir = None,
    json_out: JsonFlag = False,
) -> None:
    """Who accessed this person's data, when, for what purpose, which fields (GDPR Art. 15(1)(c))."""
    with opened(data_dir) as hush:
        ctx = hush.context(as_subject, "compliance") if as_subject else hush.operator_context("compliance")
        rows = ComplianceQueries(hush=hush).access_report(ctx, customer)
        _print_events(rows, json_out)


def _print_events(rows: list[dict[str, Any]], json_out: bool) -> None:
    if json_out:
        print_json(rows)
        return
    for r in rows:
        fields = ",".join(r.get("fields", []))
        out.print(
            f"#{r['seq']} {r['ts']} {r['subject']} [{','.join(r.get('roles', []))}] {r['purpose']} "
            f"{r['action']} {r['resource']} {fields} -> {r['decision']}"
            + (f" rows={r['row_count']}" if "row_count" in r else ""),
            markup=False,
            highlight=False,
        )
    out.print(f"{len(rows)} events", highlight=False)

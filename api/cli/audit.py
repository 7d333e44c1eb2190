"""``hushdb audit``: verify the log, export its public key, list events, report who saw a person's data,
find unusual staff access."""

from __future__ import annotations

import datetime as dt
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from api.cli.options import AsSubjectOpt, DataDir, JsonFlag, parse_as_of, typer_app
from api.cli.output import line, plural, print_json, say_err
from api.cli.root import opened
from core.errors import InputError

if TYPE_CHECKING:  # the store's modules load when a command runs, not for `hushdb --help`
    from audit.verify import VerifyReport

audit_app = typer_app("The append-only audit log.")


def _when(value: str | None, name: str) -> dt.datetime | None:
    if value is None:
        return None
    try:
        moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise InputError(f"{name} is not an ISO 8601 date or date-time") from exc
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def _verify_doc(report: VerifyReport, key: str, witness: str) -> dict[str, Any]:
    return {
        "ok": report.ok,
        "status": report.status,
        "lost": [gap.as_dict() for gap in report.lost],
        "events_checked": report.events_checked,
        "first_bad_seq": report.first_bad_seq,
        "reason": report.reason,
        "head_seq": report.head_seq,
        "head_hash": report.head_hash,
        "head_signed": report.head_signed,
        "checkpoints_checked": report.checkpoints_checked,
        "last_checkpoint_seq": report.last_checkpoint_seq,
        "last_signed_seq": report.last_signed_seq,
        "unsigned_tail": report.unsigned_tail,
        "since_seq": report.since_seq,
        "witness": witness,
        "witness_checkpoints": report.witness_checkpoints,
        "witness_seq": report.witness_seq,
        "key": key,
        "key_id": report.key_id,
    }


@audit_app.command("verify")
def verify(
    public_key: Annotated[
        Path | None,
        typer.Option(
            "--public-key",
            help="Pinned public key (PEM from `hushdb audit export-key`, kept outside the data directory); "
            "default: $HUSHDB_AUDIT_PUBLIC_KEY, else the key in the data directory.",
        ),
    ] = None,
    witness: Annotated[
        Path | None,
        typer.Option(
            "--witness",
            help="Witness DIR or FILE to check against (only read); default: $HUSHDB_AUDIT_WITNESS, "
            "else checkpoints.jsonl in the data directory.",
        ),
    ] = None,
    since_checkpoint: Annotated[
        bool,
        typer.Option(
            "--since-checkpoint",
            help="Incremental: only what was appended since the last successful verification.",
        ),
    ] = False,
    data_dir: DataDir = None,
    json_out: JsonFlag = False,
) -> None:
    """Verify the hash chain, the signed head and checkpoints: exit 0 intact, 1 tampered, 2 cannot run.

    After a restore the log verifies with a gap: exit 0, status intact_with_restore_gap, and
    each range a restore lost is named (see the README's audit section).
    """
    report = None
    key = witness_path = ""
    external = False
    try:
        with opened(data_dir) as svc:
            from core.compliance import VerifyOptions

            options = VerifyOptions(public_key=public_key, witness=witness, incremental=since_checkpoint)
            report = svc.compliance.verify(svc.operator_context("compliance"), options)
            pinned = public_key or svc.settings.audit_public_key
            key = f"pinned {pinned}" if pinned else "data directory (not pinned)"
            witness_path = str(witness or svc.settings.checkpoints_path)
            external = not Path(witness_path).absolute().is_relative_to(svc.settings.data_dir)
    except typer.Exit as exc:
        raise typer.Exit(2 if exc.exit_code not in (0, 1) else exc.exit_code) from exc
    assert report is not None
    if json_out:
        print_json({**_verify_doc(report, key, witness_path), "witness_external": external})
    elif report.ok:
        scope = (
            f"events {report.since_seq + 1}..{report.head_seq}"
            if report.since_seq
            else plural(report.events_checked, "event")
        )
        head = "signed" if report.head_signed else "NOT signed (written before head signing)"
        if report.lost:
            line(
                f"audit log verified, NOT intact: {len(report.lost)} restore gap(s); the rest: {scope} verified"
            )
            for gap in report.lost:
                line(f"lost: {gap.describe()}")
        else:
            line(f"audit log intact: {scope} verified")
        line(f"head: seq {report.head_seq} hash {report.head_hash}")
        line(
            f"signatures: head {head}, {report.checkpoints_checked} checkpoints, key {report.key_id} ({key})"
        )
        line(
            f"witness: {witness_path} ({report.witness_checkpoints} checkpoints, newest seq {report.witness_seq})"
            + ("" if external else "; beside the database, not independent: see HUSHDB_AUDIT_WITNESS")
        )
    else:
        say_err(f"audit log TAMPERED: first bad event seq={report.first_bad_seq}: {report.reason}")
        line(f"head: seq {report.head_seq} hash {report.head_hash}")
    raise typer.Exit(0 if report.ok else 1)


@audit_app.command("export-key")
def export_key(
    out_file: Annotated[
        Path | None, typer.Option("--out", help="Write the PEM to this file instead of stdout.")
    ] = None,
    data_dir: DataDir = None,
) -> None:
    """Print the audit log's public key (PEM), to pin it outside the data directory."""
    with opened(data_dir) as svc:
        pem = svc.signer.public_key_pem().decode("ascii")
        ctx = svc.operator_context("compliance")
        svc.gateway.record_alone(
            svc.gateway.event(
                ctx,
                action="audit_key_export",
                resource="audit",
                fields=["public_key"],
                decision="allow",
                detail={"key_id": svc.signer.key_id},
            )
        )
        if out_file is None:
            sys.stdout.write(pem)
            return
        try:
            fd = os.open(out_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            with os.fdopen(fd, "w", encoding="ascii") as handle:
                handle.write(pem)
        except OSError as exc:
            raise InputError(f"cannot write {out_file}: {exc.strerror}") from exc
    line(f"wrote the audit public key (key id {svc.signer.key_id}) to {out_file}")


@audit_app.command("events")
def events(
    as_subject: AsSubjectOpt = None,
    customer: Annotated[str | None, typer.Option("--customer", help="EXTERNAL_ID")] = None,
    subject: Annotated[str | None, typer.Option("--subject")] = None,
    purpose: Annotated[str | None, typer.Option("--purpose")] = None,
    denied: Annotated[bool, typer.Option("--denied", help="Only denials.")] = False,
    since: Annotated[str | None, typer.Option("--since", help="ISO date-time")] = None,
    until: Annotated[str | None, typer.Option("--until", help="ISO date-time")] = None,
    after: Annotated[
        int | None,
        typer.Option(
            "--after",
            min=0,
            help="Only events with seq > SEQ (the next page when listing --oldest-first).",
            metavar="SEQ",
        ),
    ] = None,
    before: Annotated[
        int | None,
        typer.Option(
            "--before",
            min=0,
            help="Only events with seq < SEQ (the next page when listing newest first).",
            metavar="SEQ",
        ),
    ] = None,
    oldest_first: Annotated[bool, typer.Option("--oldest-first", help="Oldest first.")] = False,
    limit: Annotated[int, typer.Option("--limit", min=1, max=100_000)] = 1000,
    data_dir: DataDir = None,
    json_out: JsonFlag = False,
) -> None:
    """List audit events (compliance), newest first, one page of --limit; a last line says how to go on.

    JSON: {"events": [...], "next": SEQ or null}; pass SEQ as --before (as --after with --oldest-first).
    """
    with opened(data_dir) as svc:
        page = svc.compliance.events_page(
            svc.context_or_operator(as_subject, "compliance"),
            customer=customer,
            subject=subject,
            purpose=purpose,
            denied_only=denied,
            since=_when(since, "--since"),
            until=_when(until, "--until"),
            limit=limit,
            after=after,
            before=before,
            newest_first=not oldest_first,
        )
    if json_out:
        print_json({"events": page.events, "next": page.next})
        return
    _print_rows(page.events)
    line(plural(len(page.events), "event"))
    if page.next is not None:
        line(f"more: next page with {'--before' if page.newest_first else '--after'} {page.next}")
    else:
        line("no more events")


@audit_app.command("report")
def report(
    customer: Annotated[str, typer.Option("--customer", help="EXTERNAL_ID")],
    as_subject: AsSubjectOpt = None,
    data_dir: DataDir = None,
    json_out: JsonFlag = False,
) -> None:
    """Who accessed this person's data, when, for what purpose, which fields (GDPR Art. 15(1)(c))."""
    with opened(data_dir) as svc:
        rows = svc.compliance.access_report(svc.context_or_operator(as_subject, "compliance"), customer)
    if json_out:
        print_json(rows)
        return
    _print_rows(rows)
    line(plural(len(rows), "event"))


def _print_rows(rows: list[dict[str, Any]]) -> None:
    for r in rows:
        fields = ",".join(r.get("fields", []))
        how = f" via {r['channel']}" if r.get("channel") else ""
        if r.get("os_user"):
            how += f" ({r['os_user']})"
        line(
            f"#{r['seq']} {r['ts']} {r['subject']} [{','.join(r.get('roles', []))}] {r['purpose']} "
            f"{r['action']} {r['resource']} {fields} -> {r['decision']}"
            + (f" rows={r['row_count']}" if "row_count" in r else "")
            + how
        )


@audit_app.command("anomalies")
def anomalies(
    as_subject: Annotated[
        str | None, typer.Option("--as", help="Subject acting (compliance, e.g. cora).")
    ] = None,
    since: Annotated[
        str | None, typer.Option("--since", help="ISO date-time (default: 90 days ago).")
    ] = None,
    data_dir: DataDir = None,
    json_out: JsonFlag = False,
) -> None:
    """Unusual staff access in the audit log: volume, denial bursts, not-owned reads, odd hours."""
    with opened(data_dir) as svc:
        ctx = svc.context_or_operator(as_subject, "compliance")
        start = None
        if since is not None:
            start = parse_as_of(since, "--since")
            if len(since) == 10 and start is not None:
                start = start.replace(hour=0, minute=0, second=0, microsecond=0)
        report = svc.access_analytics.anomalies(ctx, since=start)
        if json_out:
            print_json(report.as_dict())
            return
        for a in report.anomalies:
            line(f"{a.day} {a.subject} {a.kind}: {a.events} events, {a.rows} rows (score {a.score:.1f})")
        line(f"{len(report.anomalies)} anomalies in {report.events} events since {report.since.isoformat()}")


def register(app: typer.Typer) -> None:
    app.add_typer(audit_app, name="audit")


__all__ = ["audit_app", "register"]

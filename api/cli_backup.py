"""``hushdb backup create|verify`` and ``hushdb restore``: online backups, full and incremental.

Operator commands: they run with the authority of whoever holds the key file
(and the audit signing key), and are audited as ``operator:<os user>``.
Progress goes to stderr (on a terminal); the result is one line on stdout
(or ``--json``); an error is one line on stderr with its exit code.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from api.cli import DataDir, JsonFlag, err, fail, opened, out, print_json
from core.config import Settings, load_settings
from core.errors import HushError

if TYPE_CHECKING:
    from audit.signing import Ed25519Signer
    from core.keys import KeyProvider

# The backup machinery (SQLAlchemy, cryptography, the audit log) loads when a command runs, not
# for `hushdb --help`.

backup_app = typer.Typer(
    help="Backups of the data: full and incremental, encrypted and signed.", no_args_is_help=True
)

BaseDirs = Annotated[
    list[Path] | None,
    typer.Option(
        "--base-dir",
        help="Where to look for the bases of an incremental backup (repeatable); "
        "the paths recorded in the manifests are tried as well.",
    ),
]


@contextmanager
def _progress(label: str) -> Iterator[Callable[[str, int], None]]:
    """A live line on stderr (terminals only): what is being copied and how far."""
    bar = Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=err,
        transient=True,
        disable=not err.is_terminal,
    )
    with bar:
        task = bar.add_task(label)

        def update(what: str, n: int) -> None:
            unit = "bytes" if what == "bytes" else "rows"
            bar.update(
                task,
                description=f"{label}: {what} {n:,} {unit}" if unit == "rows" else f"{label}: {n:,} bytes",
            )

        yield update


def _mb(n: int) -> str:
    return f"{n / 1e6:.1f} MB"


def _operator_keys(data_dir: Path | None) -> tuple[Settings, KeyProvider, Ed25519Signer]:
    """The data directory's settings, its key provider and the audit signing key (in that order)."""
    from audit.signing import load_signer
    from core.keys import open_key_provider

    settings = load_settings(data_dir)
    provider = open_key_provider(settings.key_source)
    return settings, provider, load_signer(settings.signing_key_path)


def _report(doc: dict[str, Any], json_out: bool, line: str) -> None:
    """The result: ``doc`` as JSON with ``--json``, else ``line`` as plain text on stdout."""
    if json_out:
        print_json(doc)
    else:
        out.print(line, highlight=False, markup=False)


@backup_app.command("create")
def create(
    out_dir: Annotated[Path, typer.Option("--out", help="New directory for the backup (must not exist).")],
    incremental_from: Annotated[
        Path | None,
        typer.Option("--incremental-from", help="An earlier backup: store only what changed since it."),
    ] = None,
    data_dir: DataDir = None,
    json_out: JsonFlag = False,
) -> None:
    """Back up the data while the store keeps serving: encrypted, signed, full or incremental."""
    with opened(data_dir) as hush:
        ctx = hush.operator_context("compliance")

        def record(detail: dict[str, str | int | bool | None]) -> None:
            hush.gateway.record_alone(
                hush.gateway.event(
                    ctx, action="backup", resource="admin", fields=["backup"], decision="allow", detail=detail
                )
            )

        from core.backup import BackupMaker

        with _progress("backup") as progress:
            maker = BackupMaker(
                engine=hush.engine,
                root_key=hush.keyring.provider.root_key(),
                signer=hush.signer,
                record_event=record,
                progress=progress,
            )
            outcome = maker.create(out_dir, incremental_from=incremental_from)
    doc = {
        "backup": str(outcome.path),
        "id": outcome.id,
        "kind": outcome.kind,
        "rows": outcome.rows,
        "bytes": outcome.file_bytes,
        "seconds": round(outcome.seconds, 3),
    }
    what = "rows changed" if outcome.kind == "incremental" else "rows"
    _report(
        doc,
        json_out,
        f"backup {outcome.id[:12]} ({outcome.kind}): {outcome.rows} {what}, {_mb(outcome.file_bytes)} "
        f"in {outcome.seconds:.1f}s -> {outcome.path}",
    )


@backup_app.command("verify")
def verify(
    backup_dir: Annotated[Path, typer.Argument(help="The backup (the newest of a chain).")],
    base_dir: BaseDirs = None,
    data_dir: DataDir = None,
    json_out: JsonFlag = False,
) -> None:
    """Check integrity, signatures and the chain of bases without restoring: exit 0 ok, nonzero otherwise."""
    from core.backup import check_chain
    from core.keys import KeyRing

    try:
        _, provider, signer = _operator_keys(data_dir)
        with _progress("verify") as progress:
            report = check_chain(
                backup_dir,
                root_key=provider.root_key(),
                public_key=signer.public_key,
                fingerprint=KeyRing(provider).fingerprint,
                base_dirs=base_dir or (),
                progress=progress,
            )
    except HushError as exc:
        fail(exc)
        return
    doc = {
        "ok": True,
        "chain": [{"id": b.id, "kind": b.kind, "path": str(b.path)} for b in report.chain],
        "audit_head_seq": report.newest.head_seq,
        "rows": sum(report.rows.values()),
    }
    _report(
        doc,
        json_out,
        f"backup ok: {len(report.chain)} backup(s) in the chain, audit head {report.newest.head_seq}, "
        f"{doc['rows']} rows",
    )


@backup_app.command("check-audit")
def check_audit(
    witness: Annotated[
        list[Path] | None,
        typer.Option(
            "--witness", help="Witness files to check against (default: the witness and its archived copies)."
        ),
    ] = None,
    data_dir: DataDir = None,
    json_out: JsonFlag = False,
) -> None:
    """Verify the audit log against the witness, reporting the ranges that restores lost: exit 0 ok, 1 tampered."""
    from audit.signing import load_signer
    from core.backup.auditgap import archived_witnesses, verify_with_restores
    from core.db import create_db_engine

    try:
        settings = load_settings(data_dir)
        signer = load_signer(settings.signing_key_path)
        files = witness or [settings.checkpoints_path, *archived_witnesses(settings.checkpoints_path)]
        engine = create_db_engine(settings.database_url)
        try:
            result = verify_with_restores(
                engine, witness=files[0], public_key=signer.public_key, extra_witnesses=files[1:]
            )
        finally:
            engine.dispose()
    except HushError as exc:
        fail(exc)
        return
    doc = {
        "ok": result.ok,
        "reason": result.reason,
        "lost": [
            {
                "from_seq": r.first_seq,
                "to_seq": r.last_seq,
                "backup_id": r.backup_id,
                "restore_seq": r.restore_seq,
            }
            for r in result.lost
        ],
    }
    if json_out:
        print_json(doc)
    elif result.ok:
        out.print(f"audit log: {result.reason}", highlight=False, markup=False)
    else:
        err.print(f"audit log TAMPERED: {result.reason}", highlight=False, markup=False)
    raise typer.Exit(0 if result.ok else 1)


def restore(
    backup_dir: Annotated[Path, typer.Argument(help="The backup to restore (the newest of a chain).")],
    force: Annotated[
        bool, typer.Option("--force", help="Replace a non-empty (damaged) database; the key store is kept.")
    ] = False,
    base_dir: BaseDirs = None,
    data_dir: DataDir = None,
    json_out: JsonFlag = False,
) -> None:
    """Rebuild the data from a full backup plus its incrementals, keeping the current key store."""
    from audit.checkpoints import JsonlCheckpointSink
    from audit.log import AuditLog
    from core.backup import Restorer
    from core.keys import KeyRing

    try:
        settings, provider, signer = _operator_keys(data_dir)
        audit = AuditLog(
            signer=signer,
            checkpoint_sink=JsonlCheckpointSink(settings.checkpoints_path),
            checkpoint_every=settings.checkpoint_every,
        )
        with _progress("restore") as progress:
            restorer = Restorer(
                database_url=settings.database_url,
                witness_path=settings.checkpoints_path,
                root_key=provider.root_key(),
                fingerprint=KeyRing(provider).fingerprint,
                audit=audit,
                public_key=signer.public_key,
                progress=progress,
            )
            outcome = restorer.restore(backup_dir, force=force, base_dirs=base_dir or ())
    except HushError as exc:
        fail(exc)
        return
    lost = (
        f"{outcome.lost_from_seq}..{outcome.lost_to_seq}"
        if outcome.lost_to_seq is not None
        else f"{outcome.lost_from_seq}.. (none known)"
    )
    doc = {
        "backup": outcome.backup_id,
        "chain": outcome.chain,
        "rows": outcome.rows,
        "audit_seq": outcome.audit_seq,
        "restored_audit_head": outcome.restored_head_seq,
        "lost_audit_from": outcome.lost_from_seq,
        "lost_audit_to": outcome.lost_to_seq,
        "erasures_reapplied": outcome.erasures_reapplied,
        "seconds": round(outcome.seconds, 3),
    }
    _report(
        doc,
        json_out,
        f"restored backup {outcome.backup_id[:12]} ({len(outcome.chain)} in chain): {outcome.rows} rows; "
        f"audit events lost: {lost}; erasures re-applied: {outcome.erasures_reapplied}; "
        f"restore is audit event {outcome.audit_seq}",
    )


def register(app: typer.Typer) -> None:
    app.add_typer(backup_app, name="backup")
    app.command("restore")(restore)

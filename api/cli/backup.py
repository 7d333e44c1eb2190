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
from typing import Annotated, Any

import typer

from api.cli.options import DataDir, JsonFlag, typer_app
from api.cli.output import err, fail, out, print_json
from api.cli.root import database, key_fingerprint, opened, operator_keys, restorer
from core.errors import HushError

# The backup machinery (SQLAlchemy, cryptography, the audit log) loads when a command runs, not
# for `hushdb --help`.

backup_app = typer_app("Backups of the data: full and incremental, encrypted and signed.")

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
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    bar = Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=err.console,
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
    with opened(data_dir) as svc, _progress("backup") as progress:
        maker = svc.backup_maker(svc.operator_context("compliance"), progress)
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

    try:
        _, provider, signer = operator_keys(data_dir)
        with _progress("verify") as progress:
            report = check_chain(
                backup_dir,
                root_key=provider.root_key(),
                public_key=signer.public_key,
                fingerprint=key_fingerprint(provider),
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
    from core.backup.auditgap import archived_witnesses, verify_with_restores

    try:
        config, _, signer = operator_keys(data_dir)
        files = witness or [config.checkpoints_path, *archived_witnesses(config.checkpoints_path)]
        with database(config) as engine:
            result = verify_with_restores(
                engine, witness=files[0], public_key=signer.public_key, extra_witnesses=files[1:]
            )
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
    try:
        with _progress("restore") as progress:
            outcome = restorer(data_dir, progress).restore(backup_dir, force=force, base_dirs=base_dir or ())
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


__all__ = ["backup_app", "register"]

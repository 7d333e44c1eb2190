"""The ``hushdb`` command line.

Every command takes ``--data-dir DIR`` after its name (else ``HUSHDB_HOME``,
else ``./.hushdb``).  Errors from :mod:`core.errors` become one line on
stderr and the error's exit code; nothing personal is printed unless the
policy allowed the caller to see it.
"""

from __future__ import annotations

import getpass
import json
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from api.wiring import Hush, init_store, open_store
from core.config import load_settings
from core.errors import HushError, InputError
from core.writes import ImportReport

T = TypeVar("T")

app = typer.Typer(
    pretty_exceptions_show_locals=False,
    help="hushdb: a privacy-first, governed customer data store.",
    no_args_is_help=True,
)
customers_app = typer.Typer(
    pretty_exceptions_show_locals=False, help="Customers: import, show, find.", no_args_is_help=True
)
transactions_app = typer.Typer(
    pretty_exceptions_show_locals=False, help="Transactions (behavioural data).", no_args_is_help=True
)
keys_app = typer.Typer(pretty_exceptions_show_locals=False, help="Key management.", no_args_is_help=True)
notes_app = typer.Typer(
    pretty_exceptions_show_locals=False,
    help="Notes: analysed once on write, masked on the way out.",
    no_args_is_help=True,
)
app.add_typer(customers_app, name="customers")
app.add_typer(transactions_app, name="transactions")
app.add_typer(keys_app, name="keys")
app.add_typer(notes_app, name="notes")

err = Console(stderr=True)
out = Console()

DataDir = Annotated[
    Path | None, typer.Option("--data-dir", help="Data directory (default: $HUSHDB_HOME or ./.hushdb).")
]
AsSubject = Annotated[str, typer.Option("--as", help="Subject acting (roles come from the policy files).")]
Purpose = Annotated[
    str, typer.Option("--purpose", help="service, marketing, profiling, data_quality, compliance or erasure.")
]
JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON.")]
AsSubjectOpt = Annotated[
    str | None,
    typer.Option("--as", help="Subject acting (default: the local operator holding the key file)."),
]


def say_err(line: str) -> None:
    """One unwrapped line on stderr (never re-flowed to the terminal width)."""
    sys.stderr.write(line + "\n")


def fail(error: HushError) -> None:
    say_err(f"error: {error.message}")
    raise typer.Exit(error.exit_code)


@contextmanager
def opened(data_dir: Path | None) -> Iterator[Hush]:
    """Open the store for one command; HushError becomes a one-line error and exit code."""
    hush: Hush | None = None
    try:
        hush = open_store(load_settings(data_dir))
        hush.channel, hush.os_user = "cli", os_user()
        yield hush
    except HushError as exc:
        if hush is not None:
            settle_denial(hush, exc)
        fail(exc)
    finally:
        if hush is not None:
            hush.close()


def os_user() -> str:
    """The operating-system user running this command (recorded in every audit event it causes)."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return str(os.getuid())


def settle_denial(hush: Hush, exc: HushError) -> None:
    """Record the pending denial of a customer outside the caller's scope (see core.governance)."""
    try:
        hush.gateway.governance.settle(exc)
    except HushError as audit_error:
        fail(audit_error)


def guarded(fn: Callable[[], T]) -> T:
    try:
        return fn()
    except HushError as exc:
        fail(exc)
        raise AssertionError("unreachable") from exc


def print_json(value: Any) -> None:
    sys.stdout.write(json.dumps(value, ensure_ascii=False, indent=2, default=str) + "\n")


def progress_bar(label: str, total: int | None = None) -> Progress:
    return Progress(
        TextColumn(label),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=True,
        disable=not err.is_terminal,
    )


def report_import(report: ImportReport, what: str) -> None:
    for row in report.rejected:
        say_err(f"line {row.line}: {row.reason}")
    out.print(f"imported {report.imported} {what}, rejected {len(report.rejected)}", highlight=False)
    if report.rejected:
        raise typer.Exit(3)


def run_import(
    file: Path, label: str, what: str, call: Callable[[Callable[[int], None]], ImportReport]
) -> None:
    """Run one CSV import with a progress bar sized by the file, then report rejected rows (exit 3)."""
    total = count_lines(file)
    with progress_bar(label) as bar:
        task = bar.add_task("import", total=total)
        report = call(lambda n: bar.advance(task, n))
    report_import(report, what)


def count_lines(path: Path) -> int:
    try:
        with path.open("rb") as fh:
            return max(sum(1 for _ in fh) - 1, 0)
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror}") from exc


@app.command()
def init(data_dir: DataDir = None) -> None:
    """Create the data directory, key file (0600), audit signing key and schema."""
    try:
        settings = load_settings(data_dir)
        hush = init_store(settings)
        hush.close()
    except HushError as exc:
        fail(exc)
    out.print(f"initialised hushdb in {settings.data_dir}", highlight=False)


@customers_app.command("import")
def customers_import(file: Path, as_subject: AsSubject, data_dir: DataDir = None) -> None:
    """Import customers from CSV; bad rows are reported by line (exit 3), good rows imported."""
    from core.csv_import import customer_rows

    with opened(data_dir) as hush:
        ctx = hush.context(as_subject, "service")
        rows = customer_rows(file, default_owner=as_subject)
        run_import(
            file,
            "importing customers",
            "customers",
            lambda p: hush.writes.import_customers(ctx, rows, progress=p),
        )


@customers_app.command("show")
def customers_show(
    external_id: str,
    as_subject: AsSubject,
    purpose: Purpose,
    data_dir: DataDir = None,
    json_out: JsonFlag = False,
) -> None:
    """Show one customer as the policy lets SUBJECT see it for PURPOSE."""
    with opened(data_dir) as hush:
        record = hush.gateway.read_customer(hush.context(as_subject, purpose), external_id)
        doc = {"external_id": record.external_id, **record.values}
        if json_out:
            print_json(doc)
        else:
            for key, value in doc.items():
                out.print(f"{key}: {value}", markup=False, highlight=False)


@customers_app.command("find")
def customers_find(
    as_subject: AsSubject,
    purpose: Purpose,
    email: Annotated[str | None, typer.Option("--email")] = None,
    phone: Annotated[str | None, typer.Option("--phone")] = None,
    data_dir: DataDir = None,
    json_out: JsonFlag = False,
) -> None:
    """Find customers by email or phone through the blind index.

    Needs read permission on that field for PURPOSE (mask full or partial); prints only the
    plan's fields.  Purpose marketing has no single-customer look-up (exit 7).
    """
    if (email is None) == (phone is None):
        say_err("error: give exactly one of --email or --phone")
        raise typer.Exit(2)
    with opened(data_dir) as hush:
        records = hush.gateway.find_customers(hush.context(as_subject, purpose), email=email, phone=phone)
        docs = [dict(r.values) for r in records]  # only the plan's fields
        if json_out:
            print_json(docs)
        else:
            for doc in docs:
                out.print(" ".join(f"{k}={v}" for k, v in doc.items()), markup=False, highlight=False)
            out.print(f"{len(docs)} found", highlight=False)


@customers_app.command("clear-review")
def customers_clear_review(external_id: str, as_subject: AsSubject, data_dir: DataDir = None) -> None:
    """A person has looked at the flagged content: lift `under_review` (audited)."""
    with opened(data_dir) as hush:
        seq = hush.writes.clear_review(hush.context(as_subject, "service"), external_id)
        out.print(f"review cleared for {external_id} (audit event {seq})", highlight=False)


@transactions_app.command("import")
def transactions_import(
    file: Path,
    data_dir: DataDir = None,
    as_subject: Annotated[
        str | None, typer.Option("--as", help="Audited subject (default: the operator).")
    ] = None,
) -> None:
    """Import transactions from CSV (operator command; rows for unknown customers are rejected)."""
    from core.csv_import import transaction_rows

    with opened(data_dir) as hush:
        ctx = hush.context(as_subject, "service") if as_subject else hush.operator_context("service")
        run_import(
            file,
            "importing transactions",
            "transactions",
            lambda p: hush.writes.import_transactions(ctx, transaction_rows(file), progress=p),
        )


@keys_app.command("rotate")
def keys_rotate(
    data_dir: DataDir = None,
    retire: Annotated[
        bool,
        typer.Option(
            "--retire", help="Then retire old key versions that no data key uses (deleted from the key file)."
        ),
    ] = False,
) -> None:
    """Re-wrap every data key under a new key version (resumable; data is not re-encrypted; safe beside `serve`)."""
    with opened(data_dir) as hush:
        ctx = hush.operator_context("compliance")
        with progress_bar("re-wrapping data keys") as bar:
            task = bar.add_task("rotate", total=None)
            report = hush.writes.rotate_keys(
                ctx,
                retire=retire,
                authorize=False,
                progress=lambda d, t: bar.update(task, completed=d, total=t),
            )
        verb = "resumed rotation to" if report.resumed else "rotated to"
        retired = f"; retired versions {list(report.retired_versions)}" if report.retired_versions else ""
        out.print(
            f"{verb} key version {report.target_version}: {report.rewrapped} data keys re-wrapped{retired}"
        )


@notes_app.command("add")
def notes_add(
    external_id: str,
    as_subject: AsSubject,
    text: Annotated[str | None, typer.Option("--text", help="The note text.")] = None,
    stdin: Annotated[bool, typer.Option("--stdin", help="Read the note text from standard input.")] = False,
    data_dir: DataDir = None,
) -> None:
    """Add a note; prints {note_id, sensitivity, labels, findings} — never the matched values."""
    if (text is None) == (not stdin):
        say_err("error: give exactly one of --text or --stdin")
        raise typer.Exit(2)
    if stdin:
        raw = sys.stdin.buffer.read()
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            say_err("error: the note on stdin is not valid UTF-8")
            raise typer.Exit(2) from None
    assert text is not None
    with opened(data_dir) as hush:
        receipt = hush.notes.add(hush.context(as_subject, "service"), external_id, text)
        print_json(receipt.to_dict())


@notes_app.command("import")
def notes_import(file: Path, as_subject: AsSubject, data_dir: DataDir = None) -> None:
    """Import notes from CSV (external_id,author,created_at,text); each is analysed once."""
    from core.csv_import import note_rows

    with opened(data_dir) as hush:
        ctx = hush.context(as_subject, "service")
        run_import(
            file,
            "analysing notes",
            "notes",
            lambda p: hush.notes.import_notes(ctx, note_rows(file), progress=p),
        )


@notes_app.command("show")
def notes_show(
    external_id: str,
    as_subject: AsSubject,
    purpose: Purpose,
    data_dir: DataDir = None,
    json_out: JsonFlag = False,
) -> None:
    """Show a customer's notes, masked as the policy requires for SUBJECT and PURPOSE."""
    with opened(data_dir) as hush:
        notes = hush.gateway.read_notes(hush.context(as_subject, purpose), external_id)
        docs = [{"note_id": n.note_id, **n.values} for n in notes]
        if json_out:
            print_json(docs)
            return
        for doc in docs:
            body = doc.get("body")
            head = f"[{doc.get('created_at', '')}] {doc.get('author', '')} ({doc['sensitivity']})"
            out.print(head, markup=False, highlight=False)
            out.print(f"  {body if body is not None else '<withheld>'}", markup=False, highlight=False)
            if doc.get("labels"):
                out.print(f"  labels: {', '.join(doc['labels'])}", markup=False, highlight=False)
        out.print(f"{len(docs)} notes", highlight=False)


@app.command()
def erase(
    external_id: str, as_subject: AsSubject, data_dir: DataDir = None, json_out: JsonFlag = False
) -> None:
    """Erase a customer by crypto-shredding (dpo); prints the erasure receipt. Rerun to finish an interrupted one."""
    with opened(data_dir) as hush:
        receipt = hush.writes.erase(hush.context(as_subject, "erasure"), external_id)
        if json_out:
            print_json(receipt.to_dict())
        else:
            resumed = " (finished an interrupted erasure)" if receipt.resumed else ""
            out.print(
                f"erased {receipt.external_id} (audit event {receipt.audit_seq}){resumed}; "
                "unreadable in the live data and in every data backup; key-store backups "
                f"hold the key until they expire ({receipt.keystore_backup_retention_days} days, "
                f"at {receipt.keystore_backups_clear_at})",
                highlight=False,
            )


@app.command("demo-data")
def demo_data(
    out_dir: Annotated[
        Path, typer.Option("--out", help="Directory for customers.csv, transactions.csv, notes.csv.")
    ],
    customers: Annotated[int, typer.Option("--customers", min=1)] = 100,
    seed: Annotated[int, typer.Option("--seed")] = 7,
    data_dir: DataDir = None,
) -> None:
    """Write realistic synthetic CSVs (English and Chinese), deterministic for a seed."""
    from core.demo_data import write_demo_data

    counts = guarded(lambda: write_demo_data(out_dir, customers=customers, seed=seed))
    out.print(
        f"wrote {counts['customers']} customers, {counts['transactions']} transactions, "
        f"{counts['notes']} notes to {out_dir}",
        highlight=False,
    )


def _mount_sub_apps() -> None:
    """Sub-apps that live in their own modules (imported late: they import this module)."""
    from api import cli_backup, cli_console, cli_export, cli_http, cli_profile
    from api.cli_audit import audit_app
    from api.cli_pii import pii_app
    from api.cli_policy import policy_app

    app.add_typer(audit_app, name="audit")
    app.add_typer(policy_app, name="policy")
    app.add_typer(pii_app, name="pii")
    for module in (cli_http, cli_export, cli_profile, cli_backup, cli_console):
        module.register(app)


_mount_sub_apps()


def main() -> None:
    app()


if __name__ == "__main__":
    main()

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
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from core.config import load_settings
from core.errors import HushError, InputError

if TYPE_CHECKING:  # the store (SQLAlchemy, Alembic, Casbin, ...) loads when a command opens it
    from api.wiring import Hush
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

# Piped or redirected output is not re-flowed at 80 columns (rich would break lines mid-word).
err = Console(stderr=True, soft_wrap=not sys.stderr.isatty())
out = Console(soft_wrap=not sys.stdout.isatty())

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
    from api.wiring import open_store

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


def human(value: Any) -> str:
    """A value as a person reads it: no Python reprs (``-`` for nothing, yes/no, ``key: value, ...``)."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dict):
        return ", ".join(f"{str(k).replace('_', ' ')} {human(v)}" for k, v in value.items()) or "-"
    if isinstance(value, list | tuple | set | frozenset):
        return ", ".join(human(v) for v in value) or "-"
    return str(value)


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


def report_import(report: ImportReport, what: str, *, json_out: bool = False) -> None:
    """Rejected rows and warnings one line each (line, field, reason; never a value); exit 3 if any row was rejected."""
    if json_out:
        print_json(report.to_dict())
    else:
        lines = [(r.line, f"line {r.line}: {r.reason}") for r in report.rejected]
        lines += [(w.line, f"line {w.line}: warning: {w.field}: {w.reason}") for w in report.warnings]
        for _, text in sorted(lines, key=lambda item: item[0]):
            say_err(text)
        noun = what[:-1] if what.endswith("s") else what
        summary = f"imported {plural(report.imported, noun)}, rejected {len(report.rejected)}"
        if report.warnings:
            summary += f", kept {len({w.line for w in report.warnings})} with warnings"
        out.print(summary, highlight=False)
    if report.rejected:
        raise typer.Exit(3)


def run_import(
    file: Path,
    label: str,
    what: str,
    call: Callable[[Callable[[int], None]], ImportReport],
    *,
    json_out: bool = False,
) -> None:
    """Run one CSV import with a progress bar sized by the file, then report rejected rows (exit 3)."""
    total = count_lines(file)
    with progress_bar(label) as bar:
        task = bar.add_task("import", total=total)
        report = call(lambda n: bar.advance(task, n))
    report_import(report, what, json_out=json_out)


def count_lines(path: Path) -> int:
    try:
        with path.open("rb") as fh:
            return max(sum(1 for _ in fh) - 1, 0)
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror}") from exc


@app.command()
def init(data_dir: DataDir = None) -> None:
    """Create the data directory, key file (0600), audit signing key and schema.

    On an existing directory too, the directory ends up 0700 and a SQLite database file 0600."""
    from sqlalchemy.engine import make_url

    from api.wiring import init_store
    from core.errors import ConfigError

    try:
        settings = load_settings(data_dir)
        if settings.data_dir.exists() and not settings.data_dir.is_dir():
            raise ConfigError(f"the data directory {settings.data_dir} exists and is not a directory")
        hush = init_store(settings)
        hush.close()
        # an existing directory keeps the mode it had: make it private, and the SQLite file with it
        settings.data_dir.chmod(0o700)
        db_file = make_url(settings.database_url).database if settings.is_sqlite else None
        sqlite_files = [*settings.data_dir.glob("*.sqlite3"), *settings.data_dir.glob("*.sqlite3-*")]
        if db_file:  # the data file may live outside the data directory
            sqlite_files += [Path(db_file), Path(f"{db_file}-wal"), Path(f"{db_file}-shm")]
        for path in sqlite_files:  # the data and the key store (and their WAL files)
            if path.is_file():
                path.chmod(0o600)
    except HushError as exc:
        fail(exc)
    except OSError as exc:
        where = f" {exc.filename}" if exc.filename else ""
        fail(ConfigError(f"cannot create or restrict the data directory{where}: {exc.strerror}"))
    out.print(f"initialised hushdb in {settings.data_dir}", highlight=False)


@customers_app.command("import")
def customers_import(
    file: Path, as_subject: AsSubject, data_dir: DataDir = None, json_out: JsonFlag = False
) -> None:
    """Import customers from CSV; bad rows are reported by line (exit 3), good rows imported.

    A row whose email or phone fails its format check is imported with the
    value stored as given (not indexed) and reported as a warning (exit 0).
    """
    from core.csv_import import customer_rows

    with opened(data_dir) as hush:
        ctx = hush.context(as_subject, "service")
        rows = customer_rows(file, default_owner=as_subject)
        run_import(
            file,
            "importing customers",
            "customers",
            lambda p: hush.writes.import_customers(ctx, rows, progress=p),
            json_out=json_out,
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
                out.print(f"{key}: {human(value)}", markup=False, highlight=False, soft_wrap=True)


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
                line = "  ".join(f"{k}: {human(v)}" for k, v in doc.items())
                out.print(line, markup=False, highlight=False)
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
    json_out: JsonFlag = False,
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
            json_out=json_out,
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
    json_out: JsonFlag = False,
) -> None:
    """Add a note; prints its id, sensitivity, labels and findings (--json: {note_id, sensitivity, labels,
    findings}) — never the matched values."""
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
        if json_out:
            print_json(receipt.to_dict())
            return
        doc = receipt.to_dict()
        labels = ", ".join(doc["labels"]) or "none"
        out.print(
            f"added note {doc['note_id']} to {external_id}: sensitivity {doc['sensitivity']}; labels: {labels}",
            markup=False,
            highlight=False,
        )
        for finding in doc["findings"]:  # type, category and place; never the matched text
            where = f"characters {finding.get('start')}-{finding.get('end')}"
            kind = " ".join(str(finding[k]) for k in ("type", "category") if finding.get(k))
            out.print(f"  {kind} at {where}", markup=False, highlight=False)


@notes_app.command("import")
def notes_import(
    file: Path, as_subject: AsSubject, data_dir: DataDir = None, json_out: JsonFlag = False
) -> None:
    """Import notes from CSV (external_id,author,created_at,text); each is analysed once."""
    from core.csv_import import note_rows

    with opened(data_dir) as hush:
        ctx = hush.context(as_subject, "service")
        run_import(
            file,
            "analysing notes",
            "notes",
            lambda p: hush.notes.import_notes(ctx, note_rows(file), progress=p),
            json_out=json_out,
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
        out.print(plural(len(docs), "note"), highlight=False)


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
    """Write realistic synthetic CSVs (English and Chinese), deterministic for a seed and a day (purchases end at the start of today, UTC).

    Besides customers.csv and notes.csv, customers-OWNER.csv and notes-OWNER.csv hold each sales
    rep's share: a rep may import only the customers they own (`customers import
    customers-alice.csv --as alice`)."""
    from core.demo_data import write_demo_data

    counts = guarded(lambda: write_demo_data(out_dir, customers=customers, seed=seed))
    owners = guarded(lambda: split_by_owner(out_dir))
    out.print(
        f"wrote {plural(counts['customers'], 'customer')}, {plural(counts['transactions'], 'transaction')}, "
        f"{plural(counts['notes'], 'note')} to {out_dir}",
        highlight=False,
    )
    for owner, (n_customers, n_notes) in sorted(owners.items()):
        out.print(
            f"  {owner}: {plural(n_customers, 'customer')} in customers-{owner}.csv, "
            f"{plural(n_notes, 'note')} in notes-{owner}.csv",
            highlight=False,
        )


def plural(count: int, noun: str, many: str | None = None) -> str:
    """``1 note``, ``2 notes`` (``many`` for irregular plurals)."""
    return f"{count} {noun if count == 1 else (many or noun + 's')}"


def split_by_owner(out_dir: Path) -> dict[str, tuple[int, int]]:
    """Write customers-OWNER.csv and notes-OWNER.csv (notes by their customer's owner); counts per owner."""
    import csv
    import re

    def read(name: str) -> tuple[list[str], list[dict[str, str]]]:
        with (out_dir / name).open(encoding="utf-8", newline="") as fh:
            reader = csv.DictReader(fh)
            return list(reader.fieldnames or []), list(reader)

    def write(name: str, header: list[str], rows: list[dict[str, str]]) -> None:
        with (out_dir / name).open("w", encoding="utf-8", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=header)
            writer.writeheader()
            writer.writerows(rows)

    try:
        c_header, customers = read("customers.csv")
        n_header, notes = read("notes.csv")
        owner_of = {row["external_id"]: row["owner"] for row in customers}
        owners = sorted({o for o in owner_of.values() if re.fullmatch(r"[A-Za-z0-9_.-]+", o)})
        counts: dict[str, tuple[int, int]] = {}
        for owner in owners:
            own_customers = [r for r in customers if r["owner"] == owner]
            own_notes = [r for r in notes if owner_of.get(r["external_id"]) == owner]
            write(f"customers-{owner}.csv", c_header, own_customers)
            write(f"notes-{owner}.csv", n_header, own_notes)
            counts[owner] = (len(own_customers), len(own_notes))
        return counts
    except OSError as exc:
        raise InputError(f"cannot write the per-owner files in {out_dir}: {exc.strerror}") from exc


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

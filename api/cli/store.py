"""``hushdb init``, ``hushdb erase`` and ``hushdb demo-data``: a store's life, from demo data to erasure."""

from __future__ import annotations

import csv
import re
from pathlib import Path
from typing import Annotated

import typer

from api.cli.options import AsSubject, DataDir, JsonFlag
from api.cli.output import fail, guarded, out, plural, print_json
from api.cli.root import initialise, opened, settings
from core.errors import ConfigError, HushError, InputError

OWNER_NAME = re.compile(r"[A-Za-z0-9_.-]+")


def init(data_dir: DataDir = None) -> None:
    """Create the data directory, key file (0600), audit signing key and schema.

    On an existing directory too, the directory ends up 0700 and a SQLite database file 0600."""
    from sqlalchemy.engine import make_url

    try:
        config = settings(data_dir)
        if config.data_dir.exists() and not config.data_dir.is_dir():
            raise ConfigError(f"the data directory {config.data_dir} exists and is not a directory")
        initialise(config)
        # an existing directory keeps the mode it had: make it private, and the SQLite file with it
        config.data_dir.chmod(0o700)
        db_file = make_url(config.database_url).database if config.is_sqlite else None
        sqlite_files = [*config.data_dir.glob("*.sqlite3"), *config.data_dir.glob("*.sqlite3-*")]
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
    out.print(f"initialised hushdb in {config.data_dir}", highlight=False)


def erase(
    external_id: str, as_subject: AsSubject, data_dir: DataDir = None, json_out: JsonFlag = False
) -> None:
    """Erase a customer by crypto-shredding (dpo); prints the erasure receipt. Rerun to finish an interrupted one."""
    with opened(data_dir) as svc:
        receipt = svc.writes.erase(svc.context(as_subject, "erasure"), external_id)
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


def split_by_owner(out_dir: Path) -> dict[str, tuple[int, int]]:
    """Write customers-OWNER.csv and notes-OWNER.csv (notes by their customer's owner); counts per owner."""

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
        owners = sorted({o for o in owner_of.values() if OWNER_NAME.fullmatch(o)})
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


def register(app: typer.Typer) -> None:
    app.command()(init)
    app.command()(erase)
    app.command("demo-data")(demo_data)


__all__ = ["register", "split_by_owner"]

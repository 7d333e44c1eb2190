"""Benchmark: keys and erasure (issue 14).

``bench_erasure``: the time of one erasure (``CustomerWrites.erase``: the
governed path with policy, audit and the key-store deletion) in a store of
10k and of 100k customers.  An erasure deletes one data key in the key store
and clears one customer; it re-wraps nothing, so the ratio of the two
medians must stay near 1 (target: below 2; the pre-key-store erasure re-wrapped
every data key and grew linearly with the store).

``bench_backup``: a full backup (SQLite online backup API, or one REPEATABLE
READ transaction of binary ``COPY`` on PostgreSQL, plus the digest index and
AES-GCM sealing), an incremental after 1% of the customers changed, and a
restore of both (decrypt, re-apply erasures, audit event, swap), of 10k
(``--quick``) or 100k customers, in rows/s and MB/s, against copying the
database file (PostgreSQL: a raw binary ``COPY`` of every data table, no
encryption, no digests) in the same run.

    .venv/bin/python bench/keys.py [--quick] [--database-url URL] [--erasures N]
"""

from __future__ import annotations

import argparse
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from api.wiring import init_store, open_store
from audit.checkpoints import JsonlCheckpointSink
from audit.log import AuditLog
from audit.signing import load_signer
from core.backup import BackupMaker, Restorer
from core.config import Settings, load_settings
from core.keys import KeyRing, open_key_provider
from core.records import CustomerInput

ERASURE_RATIO_TARGET = 2.0


def _customers(n: int) -> list[tuple[int, CustomerInput]]:
    return [
        (
            i,
            CustomerInput(
                external_id=f"K{i:07d}",
                full_name=f"Customer Number {i}",
                owner="alice",
                email=f"customer{i}@example.com",
                postal_address=f"{i % 200 + 1} High Street, London SW1A 1AA",
            ),
        )
        for i in range(n)
    ]


def erasure_times(n: int, erasures: int, database_url: str | None) -> list[float]:
    """Seconds per erasure, in a fresh store of ``n`` customers."""
    with tempfile.TemporaryDirectory() as tmp:
        env = {"HUSHDB_DATABASE_URL": database_url} if database_url else {}
        hush = init_store(load_settings(Path(tmp) / "data", env=env))
        try:
            # Filling the store is not what is measured: skip the name/address screen for speed.
            hush.writes.store.screen = None
            report = hush.writes.import_customers(hush.context("alice", "service"), _customers(n))
            assert report.imported == n, report.rejected[:3]
            ctx = hush.context("dana", "erasure")
            step = max(1, n // erasures)
            times = []
            for k in range(erasures):
                t0 = time.perf_counter()
                hush.writes.erase(ctx, f"K{k * step:07d}")
                times.append(time.perf_counter() - t0)
            return times
        finally:
            hush.close()
            if database_url:  # a PostgreSQL database is reused: empty it for the next size
                _reset(database_url)


def _reset(database_url: str) -> None:
    import sqlalchemy as sa

    engine = sa.create_engine(database_url)
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP SCHEMA IF EXISTS keystore CASCADE")
        conn.exec_driver_sql("DROP SCHEMA public CASCADE")
        conn.exec_driver_sql("CREATE SCHEMA public")
    engine.dispose()


def bench_erasure(*, quick: bool = False, database_url: str | None = None, erasures: int = 25) -> float:
    """Print the erasure time at two store sizes and their ratio; returns the ratio."""
    small, large = (2_000, 20_000) if quick else (10_000, 100_000)
    medians = {}
    for n in (small, large):
        times = erasure_times(n, erasures, database_url)
        medians[n] = statistics.median(times)
        print(
            f"erasure at {n:>7,} customers: median {medians[n] * 1000:7.2f} ms, "
            f"p90 {sorted(times)[int(len(times) * 0.9)] * 1000:7.2f} ms ({erasures} erasures)"
        )
    ratio = medians[large] / medians[small]
    verdict = "ok" if ratio < ERASURE_RATIO_TARGET else "TOO SLOW"
    print(
        f"erasure time ratio {large:,} / {small:,} customers: {ratio:.2f} (target < {ERASURE_RATIO_TARGET}) {verdict}"
    )
    return ratio


# -- backup and restore throughput (H2) -------------------------------------------------------


def _row(label: str, rows: int, mbytes: float, seconds: float, base: float | None = None) -> None:
    ratio = f"  ({seconds / base:.1f}x the baseline's time)" if base else ""
    print(
        f"  {label:<34} {seconds:8.2f} s  {rows / seconds:>11,.0f} rows/s  {mbytes / seconds:8.1f} MB/s{ratio}"
    )


def _touch(database_url: str, n: int) -> None:
    """Change ``n`` customers (a flag flips): what an incremental has to find among all rows."""
    import sqlalchemy as sa

    engine = sa.create_engine(database_url)
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql(
                "UPDATE customers SET do_not_contact = NOT do_not_contact WHERE id IN "
                f"(SELECT id FROM customers ORDER BY id LIMIT {int(n)})"
            )
    finally:
        engine.dispose()


def _restorer(settings: Settings) -> Restorer:
    provider = open_key_provider(settings.key_source)
    signer = load_signer(settings.signing_key_path)
    return Restorer(
        database_url=settings.database_url,
        witness_path=settings.checkpoints_path,
        root_key=provider.root_key(),
        fingerprint=KeyRing(provider).fingerprint,
        audit=AuditLog(signer=signer, checkpoint_sink=JsonlCheckpointSink(settings.checkpoints_path)),
        public_key=signer.public_key,
    )


def _baseline(settings: Settings, work: Path) -> tuple[str, float, float]:
    """(label, seconds, MB) of the floor: copying the SQLite file / a raw binary COPY of every table."""
    import sqlalchemy as sa

    from core.backup.source import data_sections, quote

    if settings.is_sqlite:
        db = Path(sa.make_url(settings.database_url).database or "")
        with sqlite3.connect(db) as c:
            c.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        t0 = time.perf_counter()
        shutil.copyfile(db, work / "copy.sqlite3")
        return "copy of the database file", time.perf_counter() - t0, db.stat().st_size / 1e6
    engine = sa.create_engine(settings.database_url)
    raw = 0
    t0 = time.perf_counter()
    with engine.connect() as conn:
        driver = conn.connection.driver_connection
        assert driver is not None
        with driver.cursor() as cur:
            for s in data_sections(conn):
                with cur.copy(f"COPY {quote(s.name)} TO STDOUT (FORMAT BINARY)") as copy:
                    for block in copy:
                        raw += len(block)
    seconds = time.perf_counter() - t0
    engine.dispose()
    return "raw binary COPY of every table", seconds, raw / 1e6


def bench_backup(*, quick: bool = False, database_url: str | None = None) -> None:
    """Full backup, an incremental after 1% changed, and a restore of both, against the baseline."""
    n = 10_000 if quick else 100_000
    with tempfile.TemporaryDirectory(prefix="hushdb-bench-backup-") as tmp:
        work = Path(tmp)
        env = {"HUSHDB_DATABASE_URL": database_url} if database_url else {}
        settings = load_settings(work / "data", env=env)
        hush = init_store(settings)
        try:
            t0 = time.perf_counter()
            report = hush.writes.import_customers(hush.context("alice", "service"), _customers(n))
            assert report.imported == n, report.rejected[:3]
            built = time.perf_counter() - t0
        finally:
            hush.close()
        engine_name = "SQLite" if settings.is_sqlite else "PostgreSQL"
        print(f"backup and restore, {engine_name}, {n:,} customers (built in {built:.1f} s)")
        try:
            label, base_s, base_mb = _baseline(settings, work)
            hush = open_store(settings)
            try:
                maker = BackupMaker(
                    engine=hush.engine, root_key=hush.keyring.provider.root_key(), signer=hush.signer
                )
                full = maker.create(work / "b" / "full")
                _row(label, full.rows, base_mb, base_s)
                _row("full backup", full.rows, full.plain_bytes / 1e6, full.seconds, base_s)
                _touch(settings.database_url, max(n // 100, 1))
                inc = maker.create(work / "b" / "inc", incremental_from=full.path)
                _row(f"incremental ({inc.rows:,} rows changed)", full.rows, base_mb, inc.seconds, base_s)
            finally:
                hush.close()
            if settings.is_sqlite:
                db = Path(settings.database_url.split("///", 1)[1])
                for suffix in ("", "-wal", "-shm"):
                    Path(f"{db}{suffix}").unlink(missing_ok=True)
            restored = _restorer(settings).restore(inc.path, force=True)
            _row("restore (full + incremental)", restored.rows, base_mb, restored.seconds, base_s)
        finally:
            if database_url:
                _reset(database_url)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="2k and 20k customers instead of 10k and 100k")
    parser.add_argument("--database-url", default=None, help="an empty PostgreSQL database (default: SQLite)")
    parser.add_argument("--erasures", type=int, default=25)
    args = parser.parse_args()
    bench_erasure(quick=args.quick, database_url=args.database_url, erasures=args.erasures)
    bench_backup(quick=args.quick, database_url=args.database_url)


if __name__ == "__main__":
    main()

"""A second look at backup and restore: hostile directories, foreign targets, crashes at the swap, re-erasure."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from audit.signing import Ed25519Signer, load_signer
from core.backup import BackupMaker
from core.backup.errors import BackupIntegrityError
from core.backup.manifest import load_backup
from core.backup.sealed import file_sha256
from core.backup.source import Scan
from core.models import customers_t
from tests.backup.conftest import Store, one_line
from tests.backup.crash_runner import KILLED

ROOT = Path(__file__).resolve().parents[2]


def _sqlite_only(store: Store) -> Path:
    url = store.settings.database_url
    if not url.startswith("sqlite"):
        pytest.skip("a SQLite data file")
    return Path(sa.make_url(url).database or "")


def _no_traceback(result: object) -> None:
    exc = getattr(result, "exception", None)
    assert exc is None or isinstance(exc, SystemExit), repr(exc)


def test_restore_refuses_a_foreign_sqlite_file_without_force(store: Store) -> None:
    """A database that is not a hushdb store (no `customers` table) is not "empty": never silently replaced."""
    db = _sqlite_only(store)
    full = store.tmp / "full"
    assert store.cli("backup", "create", "--out", str(full)).exit_code == 0
    store.lose_data()
    other = sqlite3.connect(db)
    other.execute("CREATE TABLE precious (v TEXT)")
    other.execute("INSERT INTO precious VALUES ('keep me')")
    other.commit()
    other.close()
    r = store.cli("restore", str(full))
    assert r.exit_code == 5, r.output
    assert "not empty" in one_line(r)
    check = sqlite3.connect(db)
    try:
        assert check.execute("SELECT v FROM precious").fetchall() == [("keep me",)]
    finally:
        check.close()


def test_backup_of_a_newer_schema_is_a_one_line_error(store: Store) -> None:
    """A backup made by a newer hushdb (a schema revision this code does not know): refused cleanly."""
    full = store.tmp / "full"
    hush = store.open()
    try:
        with hush.engine.begin() as conn:
            conn.exec_driver_sql("UPDATE alembic_version SET version_num = '9999_from_the_future'")
        BackupMaker(engine=hush.engine, root_key=hush.keyring.provider.root_key(), signer=hush.signer).create(
            full
        )
    finally:
        hush.close()
    store.lose_data()
    r = store.cli("restore", str(full))
    _no_traceback(r)
    assert r.exit_code != 0
    assert "schema" in one_line(r)
    if store.settings.database_url.startswith("sqlite"):
        db = Path(sa.make_url(store.settings.database_url).database or "")
        assert not db.exists()
        assert not list(db.parent.glob(".hushdb-restore-*"))


def test_manifest_that_is_a_fifo_does_not_hang(tmp_path: Path) -> None:
    backup = tmp_path / "b"
    backup.mkdir()
    os.mkfifo(backup / "manifest.json")
    public = Ed25519Signer.generate().public_key
    outcome: list[BaseException | None] = []

    def run() -> None:
        try:
            load_backup(backup, public)
            outcome.append(None)
        except BaseException as exc:
            outcome.append(exc)

    t = threading.Thread(target=run, daemon=True)
    t.start()
    t.join(5)
    if t.is_alive():  # unblock the reader so the thread ends
        fd = os.open(backup / "manifest.json", os.O_WRONLY | os.O_NONBLOCK)
        os.close(fd)
        t.join(5)
        pytest.fail("reading a FIFO named manifest.json blocked")
    assert isinstance(outcome[0], BackupIntegrityError)


def test_a_file_of_the_wrong_size_is_refused_before_it_is_hashed(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Bounded work: a data file grown to any size is refused by its size, without reading it."""
    full = store.tmp / "full"
    assert store.cli("backup", "create", "--out", str(full)).exit_code == 0
    with (full / "data.enc").open("ab") as fh:
        fh.write(b"\0" * 4096)
    hashed: list[Path] = []

    def spy(path: Path) -> tuple[str, int]:
        hashed.append(path)
        return file_sha256(path)

    monkeypatch.setattr("core.backup.manifest.file_sha256", spy)
    public = load_signer(store.settings.signing_key_path).public_key
    with pytest.raises(BackupIntegrityError, match="truncated or extended"):
        load_backup(full, public).check_files()
    assert full / "data.enc" not in hashed


def _wal_commit(db: Path) -> None:
    """Commit a row that stays in the write-ahead log (the process dies without a checkpoint)."""
    code = (
        "import os, sqlite3, sys\n"
        "c = sqlite3.connect(sys.argv[1], isolation_level=None)\n"
        "c.execute('PRAGMA wal_autocheckpoint=0')\n"
        "c.execute(\"INSERT INTO meta (key, value) VALUES ('wal_probe', 'committed')\")\n"
        "os._exit(0)\n"
    )
    subprocess.run([sys.executable, "-c", code, str(db)], check=True, timeout=60)


def test_restore_killed_at_the_swap_keeps_commits_of_the_old_write_ahead_log(store: Store) -> None:
    db = _sqlite_only(store)
    full = store.tmp / "full"
    assert store.cli("backup", "create", "--out", str(full)).exit_code == 0
    _wal_commit(db)
    assert Path(f"{db}-wal").stat().st_size > 0
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUSHDB_")}
    proc = subprocess.run(
        [sys.executable, "-m", "tests.backup.crash_runner", "restore", "swap", str(store.settings.data_dir),
         store.settings.database_url, str(full)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == KILLED, proc.stderr[-2000:]
    check = sqlite3.connect(db)
    try:
        assert check.execute("SELECT value FROM meta WHERE key = 'wal_probe'").fetchall() == [("committed",)]
    finally:
        check.close()


def _profile(store: Store, pseudonyms: dict[str, str]) -> None:
    engine = sa.create_engine(store.settings.database_url)
    run_id = str(uuid.uuid4())
    try:
        with engine.begin() as conn:
            conn.execute(
                sa.text(
                    "INSERT INTO profile_runs (id, kind, subject, purpose, created_at, parameters, code_version, "
                    "row_count, left_out, summary) VALUES (:id, 'rfm', 'alice', 'profiling', :ts, '{}', 't', "
                    ":n, 0, '{}')"
                ),
                {"id": run_id, "ts": "2026-01-01 00:00:00", "n": len(pseudonyms)},
            )
            for pseudonym, label in pseudonyms.items():
                conn.execute(
                    sa.text(
                        "INSERT INTO profile_results (run_id, pseudonym, label, data) VALUES (:r, :p, :l, '{}')"
                    ),
                    {"r": run_id, "p": pseudonym, "l": label},
                )
    finally:
        engine.dispose()


def _pseudonyms(store: Store, *external_ids: str) -> dict[str, str]:
    engine = sa.create_engine(store.settings.database_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                sa.select(customers_t.c.external_id, customers_t.c.pseudonym).where(
                    customers_t.c.external_id.in_(external_ids)
                )
            ).all()
    finally:
        engine.dispose()
    return {str(e): str(p) for e, p in rows}


def _profiled(store: Store) -> set[str]:
    engine = sa.create_engine(store.settings.database_url)
    try:
        with engine.connect() as conn:
            return {str(p) for (p,) in conn.exec_driver_sql("SELECT pseudonym FROM profile_results").all()}
    finally:
        engine.dispose()


def test_reapplied_erasure_removes_profiling_results_under_the_pseudonym(store: Store) -> None:
    """Pseudonymous profiling results of a customer erased after the backup do not come back either."""
    names = _pseudonyms(store, "R3", "R4")
    _profile(store, {names["R3"]: "champion", names["R4"]: "at risk"})
    full = store.tmp / "full"
    assert store.cli("backup", "create", "--out", str(full)).exit_code == 0
    store.erase("R3")
    store.lose_data()
    r = store.cli("restore", str(full))
    assert r.exit_code == 0, r.output
    assert "R3" in store.erased()
    assert _profiled(store) == {names["R4"]}


def test_a_chain_that_cannot_be_applied_is_a_one_line_error_and_changes_nothing(store: Store) -> None:
    """A customer row deleted and its external id reused between two backups: no traceback, nothing changed.

    (hushdb itself never deletes a customer row; an operator's SQL can.)
    """
    b = store.tmp / "b"
    assert store.cli("backup", "create", "--out", str(b / "full")).exit_code == 0
    engine = sa.create_engine(store.settings.database_url)
    try:
        with engine.begin() as conn:
            cid: str = conn.execute(
                sa.select(customers_t.c.id).where(customers_t.c.external_id == "R5")
            ).scalar_one()
            for table in ("consent_events", "notes", "transactions"):
                conn.exec_driver_sql(f"DELETE FROM {table} WHERE customer_id = '{cid}'")
            conn.exec_driver_sql(f"DELETE FROM customers WHERE id = '{cid}'")
    finally:
        engine.dispose()
    store.add(5, 1)  # R5 again, a new customer id
    r = store.cli("backup", "create", "--out", str(b / "inc"), "--incremental-from", str(b / "full"))
    assert r.exit_code == 0, r.output
    expected = store.readable()
    store.lose_data()
    r = store.cli("restore", str(b / "inc"))
    _no_traceback(r)
    assert r.exit_code == 0, r.output
    assert store.readable() == expected
    assert store.cli("audit", "verify").exit_code == 0


def _driver_error(store: Store) -> BaseException:
    """What the database driver itself raises (the backup reads and loads through the raw driver)."""
    if store.settings.database_url.startswith("sqlite"):
        return sqlite3.OperationalError("disk I/O error")
    import psycopg

    return psycopg.OperationalError("server closed the connection unexpectedly")


def test_a_driver_error_during_a_backup_is_one_line(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    from core.backup import create

    error = _driver_error(store)

    class FailingScan(Scan):
        def rows(self, conn: sa.Connection) -> Iterator[tuple[object, ...]]:
            raise error
            yield ()

    monkeypatch.setattr(create, "Scan", FailingScan)
    out = store.tmp / "full"
    r = store.cli("backup", "create", "--out", str(out))
    _no_traceback(r)
    assert r.exit_code != 0
    assert "backup failed" in one_line(r)
    assert not out.exists()
    assert not [p for p in out.parent.iterdir() if p.name.startswith(".")]


def test_a_driver_error_during_a_restore_is_one_line_and_changes_nothing(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    from core.backup.restore import Restorer

    full = store.tmp / "full"
    assert store.cli("backup", "create", "--out", str(full)).exit_code == 0
    store.add(50, 1)
    before = store.fingerprint_of_data()
    error = _driver_error(store)

    def fail(_conn: object, _newest: object) -> None:
        raise error

    monkeypatch.setattr(Restorer, "_check_counts", staticmethod(fail))
    r = store.cli("restore", str(full), "--force")
    _no_traceback(r)
    assert r.exit_code != 0
    assert "nothing changed" in one_line(r)
    assert store.fingerprint_of_data() == before


def test_an_incremental_copies_only_what_changed(store: Store) -> None:
    """The base's digest index and the live scan see the same values: unchanged rows are not copied."""
    import json

    b = store.tmp / "b"
    assert store.cli("backup", "create", "--out", str(b / "full")).exit_code == 0
    store.add(60, 2)
    store.erase("R2")
    r = store.cli("backup", "create", "--out", str(b / "inc"), "--incremental-from", str(b / "full"))
    assert r.exit_code == 0, r.output
    tables = json.loads((b / "inc" / "manifest.json").read_text())["tables"]
    assert tables["customers"] == {"rows": 14, "copied": 3, "deleted": 0}  # 2 new, 1 erased


def test_restore_refuses_a_database_another_process_has_open(store: Store) -> None:
    """A server still holding the SQLite file would go on writing into the replaced file: refused."""
    db = _sqlite_only(store)
    full = store.tmp / "full"
    assert store.cli("backup", "create", "--out", str(full)).exit_code == 0
    server = sqlite3.connect(db, isolation_level=None)
    try:
        server.execute("SELECT count(*) FROM customers").fetchall()
        inode = db.stat().st_ino
        r = store.cli("restore", str(full), "--force")
        assert r.exit_code == 5, r.output
        assert "in use" in one_line(r)
        assert db.stat().st_ino == inode
        assert not list(db.parent.glob(".hushdb-restore-*"))
    finally:
        server.close()
    r = store.cli("restore", str(full), "--force")
    assert r.exit_code == 0, r.output


def test_a_value_the_row_format_cannot_hold_is_one_line(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    from core.backup import create

    class OddScan(Scan):
        def rows(self, conn: sa.Connection) -> Iterator[tuple[object, ...]]:
            yield tuple(object() for _ in self.section.columns)

    monkeypatch.setattr(create, "Scan", OddScan)
    b = store.tmp / "b"
    monkeypatch.setattr(create.BackupMaker, "_full_sqlite", create.BackupMaker._full_rows)
    r = store.cli("backup", "create", "--out", str(b / "full"))
    _no_traceback(r)
    assert r.exit_code == 2
    assert "cannot hold a value of type object" in one_line(r)
    assert not (b / "full").exists()

"""``hushdb backup create``: a consistent, encrypted, signed snapshot of the data, full or incremental.

Consistency while the API keeps serving:

* SQLite, full: SQLite's online backup API copies the main database file in
  one step (one read transaction of the WAL: writers go on, the copy is the
  state of one commit).  The copy is made next to the database (mode 0600),
  any key-store rows a pre-key-store database still holds are deleted from
  the copy (``secure_delete``), the digest index is read from the copy, then
  the file is sealed into ``data.enc`` and the copy removed.
* PostgreSQL, full, and every incremental: one read-only REPEATABLE READ
  transaction (SQLite: one WAL read snapshot) reads each data table with
  ``COPY ... TO STDOUT (FORMAT BINARY)`` (SQLite: a plain ordered SELECT) into
  the logical row stream of :mod:`core.backup.rows`.

Output appears complete only when it is: everything is written into a hidden
``.<name>.partial-<pid>-<id>`` directory beside ``--out``, fsynced, the signed
``manifest.json`` last, and the directory is renamed to ``--out`` at the end.
A killed run leaves only the hidden directory (and perhaps the hidden
snapshot file), which the next run removes once its process is gone.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import glob
import os
import shutil
import sqlite3
import time
import urllib.parse
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from audit.signing import Ed25519Signer
from core.backup.errors import BackupChainError, BackupError, ForeignBackupError
from core.backup.manifest import (
    DATA_NAME,
    FORMAT,
    INDEX_NAME,
    MANIFEST_NAME,
    Backup,
    load_backup,
    sign_manifest,
)
from core.backup.rows import (
    END_OF_STREAM,
    Record,
    Row,
    Section,
    delete_record,
    encode_values,
    index_record,
    read_stream,
    row_digest,
    section_end,
    section_header,
)
from core.backup.sealed import SealedWriter, backup_key, read_sealed
from core.backup.source import (
    APPEND_ONLY_TABLES,
    KEYSTORE_TABLE_NAMES,
    Scan,
    audit_hash_at,
    audit_head,
    data_sections,
    driver_errors,
    latest_checkpoint,
    quote,
    schema_version,
    store_fingerprint,
    store_identity,
)
from core.errors import StoreError

Progress = Callable[[str, int], None]
"""Called with (what, rows done so far) as a backup or restore advances."""
Fault = Callable[[str], None]
"""Test hook: called at named points (a crash test exits the process there)."""


def _no_progress(_what: str, _n: int) -> None:
    return None


def _no_fault(_point: str) -> None:
    return None


@dataclass
class BackupOutcome:
    path: Path
    id: str
    kind: str
    rows: int
    plain_bytes: int
    file_bytes: int
    seconds: float
    tables: dict[str, dict[str, int]] = field(default_factory=dict)


def sqlite_path(engine: Engine) -> Path:
    database = engine.url.database
    if not database or database == ":memory:":
        raise BackupError("an in-memory SQLite database cannot be backed up")
    return Path(database).absolute()


def sqlite_uri(path: Path) -> str:
    """``file:`` URI of a path (special characters quoted), for read-only SQLite connections."""
    return "file:" + urllib.parse.quote(str(path))


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_stale(directory: Path, prefix: str) -> None:
    """Remove leftovers ``<prefix><pid>-...`` of runs whose process is gone."""
    if not directory.is_dir():
        return
    for leftover in directory.glob(glob.escape(prefix) + "*"):
        rest = leftover.name[len(prefix) :]
        pid_text = rest.split("-", 1)[0]
        if pid_text.isdigit() and int(pid_text) != os.getpid() and not _pid_alive(int(pid_text)):
            if leftover.is_dir():
                shutil.rmtree(leftover, ignore_errors=True)
            else:
                leftover.unlink(missing_ok=True)


class _Writers:
    """The data and index streams of one backup."""

    def __init__(self, directory: Path, key: bytes, backup_id: bytes, with_index: bool) -> None:
        self.data = SealedWriter(directory / DATA_NAME, key, backup_id)
        self.index = SealedWriter(directory / INDEX_NAME, key, backup_id) if with_index else None

    def close(self) -> dict[str, dict[str, Any]]:
        files: dict[str, dict[str, Any]] = {}
        digest, size = self.data.close()
        files[DATA_NAME] = {"sha256": digest, "bytes": size}
        if self.index is not None:
            digest, size = self.index.close()
            files[INDEX_NAME] = {"sha256": digest, "bytes": size}
        return files

    def abort(self) -> None:
        """Discard both streams (a failed backup leaves no partial file behind)."""
        self.data.abort()
        if self.index is not None:
            self.index.abort()

    def finish(self) -> tuple[int, dict[str, dict[str, Any]]]:
        """End and close both streams: the data stream's plain byte count and the files' digests."""
        self.data.write(END_OF_STREAM)
        if self.index is not None:
            self.index.write(END_OF_STREAM)
        plain = self.data.plain_bytes
        return plain, self.close()


@dataclass
class BackupMaker:
    """Makes backups of one store: its engine, root key (for the backup key) and audit signing key."""

    engine: Engine
    root_key: bytes = field(repr=False)
    signer: Ed25519Signer
    record_event: Callable[[dict[str, str | int | bool | None]], None] | None = None
    progress: Progress = _no_progress
    fault: Fault = _no_fault

    def create(self, out: Path, *, incremental_from: Path | None = None) -> BackupOutcome:
        """Write a backup to ``out`` (a new directory); foreign failures become one-line errors."""
        try:
            return self._create(out, incremental_from=incremental_from)
        except OSError as exc:
            raise BackupError(
                f"backup failed: {exc.strerror or type(exc).__name__} ({exc.filename})"
            ) from exc
        except sa.exc.SQLAlchemyError as exc:
            cause = getattr(exc, "orig", None) or exc
            raise StoreError(f"backup failed: database error {type(cause).__name__}") from exc
        except driver_errors() as exc:
            raise StoreError(f"backup failed: database error {type(exc).__name__}") from exc
        except TypeError as exc:  # a value the row format cannot hold, or keys that do not compare
            raise BackupError(f"backup failed: {exc}") from exc

    def _create(self, out: Path, *, incremental_from: Path | None) -> BackupOutcome:
        started = time.perf_counter()
        out = out.absolute()
        if out.exists() and (not out.is_dir() or any(out.iterdir())):
            raise BackupError(f"{out} already exists and is not an empty directory")
        out.parent.mkdir(parents=True, exist_ok=True)
        prefix = f".{out.name}.partial-"
        remove_stale(out.parent, prefix)
        key = backup_key(self.root_key)
        base = self._open_base(incremental_from.absolute(), key) if incremental_from is not None else None
        backup_id = os.urandom(16)
        tmp = out.parent / f"{prefix}{os.getpid()}-{backup_id.hex()[:12]}"
        tmp.mkdir(mode=0o700)
        try:
            if self.record_event is not None:  # the backup is an event of the log it copies
                self.record_event(
                    {"backup_id": backup_id.hex(), "kind": "incremental" if base else "full",
                     "base_id": base.id if base else None}
                )  # fmt: skip
            self.fault("started")
            if base is not None:
                body, rows, plain = self._incremental(tmp, key, backup_id, base)
            elif self.engine.dialect.name == "sqlite":
                body, rows, plain = self._full_sqlite(tmp, key, backup_id)
            else:
                body, rows, plain = self._full_rows(tmp, key, backup_id)
            body.update(
                format=FORMAT,
                id=backup_id.hex(),
                engine=self.engine.dialect.name,
                created_at=dt.datetime.now(dt.UTC).isoformat(),
                hushdb_version=_version(),
            )
            if base is not None:
                body["base"] = {
                    "id": base.id,
                    "manifest_sha256": base.manifest_sha256,
                    "path_relative": os.path.relpath(base.path, out),
                    "path_absolute": str(base.path),
                    "audit_head_seq": base.head_seq,
                }
            else:
                body["base"] = None
            self.fault("before_manifest")
            manifest = sign_manifest(body, self.signer)
            fd = os.open(tmp / MANIFEST_NAME, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as fh:
                fh.write(manifest)
                fh.flush()
                os.fsync(fh.fileno())
            _fsync_dir(tmp)
            self.fault("before_rename")
            if out.exists():
                out.rmdir()  # empty (checked above)
            os.rename(tmp, out)
            _fsync_dir(out.parent)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        files = body["files"]
        return BackupOutcome(
            path=out,
            id=backup_id.hex(),
            kind=str(body["kind"]),
            rows=rows,
            plain_bytes=plain,
            file_bytes=sum(int(f["bytes"]) for f in files.values()),
            seconds=time.perf_counter() - started,
            tables=body["tables"],
        )

    # -- the base of an incremental -------------------------------------------------------------------

    def _open_base(self, path: Path, key: bytes) -> Backup:
        base = load_backup(path, self.signer.public_key)
        base.check_files()
        if INDEX_NAME not in base.manifest["files"]:
            raise BackupChainError(f"backup {path} has no digest index and cannot be a base")
        with self.engine.connect() as conn:
            fingerprint = store_fingerprint(conn)
            version = schema_version(conn)
            conn.rollback()
        if base.manifest["store"].get("key_fingerprint") != fingerprint:
            raise ForeignBackupError(f"backup {path} belongs to another store")
        if base.manifest["engine"] != self.engine.dialect.name:
            raise BackupChainError(f"backup {path} is of a {base.manifest['engine']} store")
        if base.manifest["schema_version"] != version:
            raise BackupChainError(
                f"backup {path} has schema version {base.manifest['schema_version']}, the store {version}: "
                "take a full backup after an upgrade"
            )
        return base

    # -- snapshot facts ---------------------------------------------------------------------------------

    @staticmethod
    def _facts(conn: Connection) -> dict[str, Any]:
        seq, head_hash = audit_head(conn)
        return {
            "schema_version": schema_version(conn),
            "store": store_identity(conn),
            "audit": {"head_seq": seq, "head_hash": head_hash, "checkpoint": latest_checkpoint(conn)},
        }

    @contextlib.contextmanager
    def _snapshot(self) -> Iterator[Connection]:
        """One consistent read-only snapshot of the live database."""
        with self.engine.connect() as conn:
            if conn.dialect.name == "postgresql":
                conn = conn.execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True)
            else:
                conn = conn.execution_options(hushdb_read_only=True)
            with conn.begin() as txn:
                yield conn
                txn.rollback()

    # -- full -------------------------------------------------------------------------------------------

    def _full_rows(self, tmp: Path, key: bytes, backup_id: bytes) -> tuple[dict[str, Any], int, int]:
        writers = _Writers(tmp, key, backup_id, with_index=True)

        def copy(conn: Connection, section: Section) -> int:
            n = self._copy_table(conn, section, writers)
            self.fault(f"table:{section.name}")
            return n

        try:
            with self._snapshot() as conn:
                facts, tables, total = self._copy_all(conn, copy)
        except BaseException:
            writers.abort()
            raise
        plain, files = writers.finish()
        return {**facts, "kind": "full", "payload": "rows", "tables": tables, "files": files}, total, plain

    @classmethod
    def _copy_all(
        cls, conn: Connection, copy: Callable[[Connection, Section], int]
    ) -> tuple[dict[str, Any], dict[str, dict[str, int]], int]:
        """The snapshot's facts, then every data table through ``copy``: each table's counts and the total."""
        facts = cls._facts(conn)
        tables: dict[str, dict[str, int]] = {}
        total = 0
        for section in data_sections(conn):
            n = copy(conn, section)
            tables[section.name] = {"rows": n, "copied": n, "deleted": 0}
            total += n
        return facts, tables, total

    def _copy_table(self, conn: Connection, section: Section, writers: _Writers) -> int:
        data, index = writers.data, writers.index
        indexed = index is not None and section.name not in APPEND_ONLY_TABLES
        data.write(section_header(section))
        if indexed:
            assert index is not None
            index.write(section_header(section))
        n = 0
        pk = section.pk
        for row in Scan(section).rows(conn):
            data.write(b"R" + encode_values(row))
            if indexed:
                assert index is not None
                index.write(index_record(tuple(row[i] for i in pk), row_digest(row)))
            n += 1
            if n % 10_000 == 0:
                self.progress(section.name, n)
        data.write(section_end(n))
        if indexed:
            assert index is not None
            index.write(section_end(n))
        self.progress(section.name, n)
        return n

    def _full_sqlite(self, tmp: Path, key: bytes, backup_id: bytes) -> tuple[dict[str, Any], int, int]:
        source = sqlite_path(self.engine)
        prefix = ".hushdb-backup-"
        remove_stale(source.parent, prefix)
        snap = source.parent / f"{prefix}{os.getpid()}-{backup_id.hex()[:12]}.sqlite3"
        os.close(os.open(snap, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        try:
            self._sqlite_snapshot(source, snap)
            self.fault("snapshot_taken")
            snap_engine = sa.create_engine(f"sqlite:///{snap}")
            index = SealedWriter(tmp / INDEX_NAME, key, backup_id)
            try:
                with snap_engine.connect() as conn:
                    facts, tables, total = self._copy_all(conn, lambda c, s: self._index_table(c, s, index))
                    conn.rollback()
            except BaseException:
                index.abort()
                raise
            finally:
                snap_engine.dispose()
            index.write(END_OF_STREAM)
            files = {}
            digest, size = index.close()
            files[INDEX_NAME] = {"sha256": digest, "bytes": size}
            data = SealedWriter(tmp / DATA_NAME, key, backup_id)
            done = 0
            try:
                with snap.open("rb") as fh:
                    while block := fh.read(1 << 20):
                        data.write(block)
                        done += len(block)
                        self.progress("bytes", done)
            except BaseException:
                data.abort()
                raise
            digest, size = data.close()
            files[DATA_NAME] = {"sha256": digest, "bytes": size}
            plain = data.plain_bytes
        finally:
            snap.unlink(missing_ok=True)
        body = {**facts, "kind": "full", "payload": "sqlite-file", "tables": tables, "files": files}
        return body, total, plain

    @staticmethod
    def _sqlite_snapshot(source: Path, snap: Path) -> None:
        """Copy the live database with the online backup API (one step = one consistent read)."""
        try:
            src = sqlite3.connect(f"{sqlite_uri(source)}?mode=ro", uri=True, timeout=30)
            dst = sqlite3.connect(snap, isolation_level=None)
            try:
                src.execute("PRAGMA busy_timeout=30000")
                src.backup(dst)  # pages=-1: every page in one step
                dst.execute("PRAGMA journal_mode=DELETE")
                dst.execute("PRAGMA secure_delete=ON")
                names = {r[0] for r in dst.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
                stale = sorted(KEYSTORE_TABLE_NAMES & names)
                if stale:  # a database from before the key store: data backups never hold keys
                    dst.execute("PRAGMA foreign_keys=OFF")
                    for name in stale:
                        dst.execute(f"DELETE FROM {quote(name)}")
                    dst.execute("VACUUM")
            finally:
                src.close()
                dst.close()
        except sqlite3.Error as exc:
            raise BackupError(f"the SQLite online backup failed: {exc}") from exc

    def _index_table(self, conn: Connection, section: Section, index: SealedWriter) -> int:
        indexed = section.name not in APPEND_ONLY_TABLES
        if indexed:
            index.write(section_header(section))
        n = 0
        pk = section.pk
        for row in Scan(section).rows(conn):
            if indexed:
                index.write(index_record(tuple(row[i] for i in pk), row_digest(row)))
            n += 1
            if n % 10_000 == 0:
                self.progress(section.name, n)
        if indexed:
            index.write(section_end(n))
        self.progress(section.name, n)
        return n

    # -- incremental ------------------------------------------------------------------------------------

    def _incremental(
        self, tmp: Path, key: bytes, backup_id: bytes, base: Backup
    ) -> tuple[dict[str, Any], int, int]:
        writers = _Writers(tmp, key, backup_id, with_index=True)
        base_index = _IndexReader(read_stream(read_sealed(base.file(INDEX_NAME), key, base.raw_id)))
        base_tables: dict[str, Any] = base.manifest["tables"]
        tables: dict[str, dict[str, int]] = {}
        changed_total = 0
        try:
            with self._snapshot() as conn:
                facts = self._facts(conn)
                if facts["schema_version"] != base.manifest["schema_version"]:
                    raise BackupChainError("the schema changed since the base backup: take a full backup")
                if audit_hash_at(conn, base.head_seq) != base.manifest["audit"]["head_hash"]:
                    raise BackupChainError(
                        f"the audit log does not continue the base backup at seq {base.head_seq}: "
                        "take a full backup"
                    )
                for section in data_sections(conn):
                    if section.name in APPEND_ONLY_TABLES:
                        copied = self._append_only(conn, section, writers, base.head_seq)
                        before = int(base_tables.get(section.name, {}).get("rows", 0))
                        stats = {"rows": before + copied, "copied": copied, "deleted": 0}
                    else:
                        stats = self._diff_table(conn, section, writers, base_index.section(section.name))
                    tables[section.name] = stats
                    changed_total += stats["copied"] + stats["deleted"]
                    self.fault(f"table:{section.name}")
        except BaseException:
            writers.abort()
            raise
        plain, files = writers.finish()
        body = {**facts, "kind": "incremental", "payload": "rows", "tables": tables, "files": files}
        return body, changed_total, plain

    def _append_only(self, conn: Connection, section: Section, writers: _Writers, after: int) -> int:
        writers.data.write(section_header(section))
        n = 0
        for row in Scan(section, after_seq=after).rows(conn):
            writers.data.write(b"R" + encode_values(row))
            n += 1
            if n % 10_000 == 0:
                self.progress(section.name, n)
        writers.data.write(section_end(n))
        return n

    def _diff_table(
        self, conn: Connection, section: Section, writers: _Writers, base: Iterator[Record]
    ) -> dict[str, int]:
        data, index = writers.data, writers.index
        assert index is not None
        data.write(section_header(section))
        index.write(section_header(section))
        pk = section.pk
        old = next(base, None)
        scanned = copied = deleted = 0
        for row in Scan(section).rows(conn):
            digest = row_digest(row)
            key_values: Row = tuple(row[i] for i in pk)
            index.write(index_record(key_values, digest))
            scanned += 1
            while old is not None and old.values < key_values:
                data.write(delete_record(old.values))
                deleted += 1
                old = next(base, None)
            if old is not None and old.values == key_values:
                if old.digest != digest:
                    data.write(b"R" + encode_values(row))
                    copied += 1
                old = next(base, None)
            else:
                data.write(b"R" + encode_values(row))
                copied += 1
            if scanned % 10_000 == 0:
                self.progress(section.name, scanned)
        while old is not None:
            data.write(delete_record(old.values))
            deleted += 1
            old = next(base, None)
        data.write(section_end(copied))
        index.write(section_end(scanned))
        self.progress(section.name, scanned)
        return {"rows": scanned, "copied": copied, "deleted": deleted}


class _IndexReader:
    """The base's digest index, section by section in stream order."""

    def __init__(self, records: Iterator[Record]) -> None:
        self._records = records

    def section(self, name: str) -> Iterator[Record]:
        """The K records of table ``name``; the base must list its tables in the same order."""
        rec = next(self._records, None)
        if rec is None or rec.kind != "T" or rec.section.name != name:
            raise BackupChainError(f"the base backup's index has no table {name} here: take a full backup")
        return self._keys()

    def _keys(self) -> Iterator[Record]:
        while True:
            rec = next(self._records, None)
            if rec is None or rec.kind == "E":
                return
            yield rec


def _version() -> str:
    try:
        from importlib.metadata import version

        return version("hushdb")
    except Exception:
        return "unknown"

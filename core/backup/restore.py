"""``hushdb backup verify`` and ``hushdb restore``: check a chain of backups; rebuild the data from it.

A restore keeps the CURRENT key store (customers' wrapped data keys live
only there) and rebuilds the data from a full backup plus its incrementals:

1. Everything is checked before anything changes: every manifest's signature,
   every file's size and sha256, the chain of bases (ids and manifest
   hashes), that the backups belong to this store (root-key fingerprint and
   key-store id), the engine, and that the target is empty (or ``--force``).
2. SQLite: the full backup's database file is decrypted into a hidden staging
   file beside the data file; PostgreSQL: one transaction empties the data
   tables (their guard triggers disabled inside it) and loads them with
   ``COPY``.  Incrementals are applied in order (each one's deletions in
   reverse foreign-key order, then its upserts in foreign-key order), then
   the row counts and the audit head must equal the newest manifest's.
   SQLite refuses a database file that another process has open.
3. Erasures are re-applied: a customer whose data key is absent from the key
   store was erased after the backup (or never had a key); their ciphertexts
   and blind indexes are cleared, the profiling results under their
   pseudonym deleted and ``erased_at`` set, as an erasure does.
4. The key store must match the restored data (:func:`core.keystore.check_matches`).
5. The restore is an audit event (``action=restore``) naming the backup and
   the audit range lost: the events after the backup's audit head, up to the
   newest seq the damaged database or the witness knew of.
6. SQLite: the staging file is checkpointed and renamed over the data file
   (the old database's write-ahead log folded into it, then removed, so a
   crash at the rename loses none of its commits); PostgreSQL: the transaction
   commits.  A crash before that leaves the old state (and perhaps a hidden
   staging file the next run removes); rerunning finishes the work.

The witness (``checkpoints.jsonl``) is started afresh at the restored head
just before the swap: the old file is kept whole as
``<witness>.before-restore-<backup id>`` (a hard link, never modified), and
:mod:`core.backup.auditgap` reports its checkpoints of the lost range as lost
by the restore instead of as tampering.
"""

from __future__ import annotations

import contextlib
import getpass
import json
import os
import sqlite3
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic.script import ScriptDirectory
from alembic.script.revision import RevisionError
from alembic.util import CommandError as AlembicCommandError
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy.engine import Connection

from audit.checkpoints import read_checkpoints_file
from audit.events import AuditEvent
from audit.log import AuditLog
from core.backup.create import Fault, Progress, _fsync_dir, _no_fault, _no_progress, remove_stale, sqlite_uri
from core.backup.errors import (
    BackupChainError,
    BackupError,
    BackupIntegrityError,
    ForeignBackupError,
    RestoreTargetError,
)
from core.backup.manifest import DATA_NAME, INDEX_NAME, Backup, load_backup, resolve_chain
from core.backup.rows import Record, Row, Section, read_stream
from core.backup.sealed import backup_key, read_sealed
from core.backup.source import (
    APPEND_ONLY_TABLES,
    KEYSTORE_TABLE_NAMES,
    SKIPPED_TABLES,
    data_sections,
    driver_errors,
    quote,
)
from core.db import MIGRATIONS_DIR, create_db_engine, migrate
from core.errors import HushError, KeyStoreMismatchError, StoreError
from core.keystore import KEYSTORE_SCHEMA, check_matches, keystore_path
from core.models import customers_t, notes_t, utcnow

SQLITE_MAGIC = b"SQLite format 3\x00"
RESTORE_ACTION = "restore"
_COPY_FLUSH = 5000


@dataclass
class ChainReport:
    """What ``backup verify`` found: the chain, newest last."""

    chain: list[Backup]
    rows: dict[str, int] = field(default_factory=dict)

    @property
    def newest(self) -> Backup:
        return self.chain[-1]


def _check_store(backup: Backup, fingerprint: str, keystore_id: str | None) -> None:
    store = backup.manifest.get("store") or {}
    if store.get("key_fingerprint") != fingerprint:
        raise ForeignBackupError(f"backup {backup.path} belongs to another store (its keys differ)")
    if keystore_id is not None and store.get("keystore_id") not in (None, keystore_id):
        raise ForeignBackupError(
            f"backup {backup.path} belongs to key store {store.get('keystore_id')}, not to this store's {keystore_id}"
        )


def check_chain(
    newest_path: Path,
    *,
    root_key: bytes,
    public_key: Ed25519PublicKey,
    fingerprint: str,
    keystore_id: str | None = None,
    base_dirs: Sequence[Path] = (),
    deep: bool = True,
    progress: Progress = _no_progress,
) -> ChainReport:
    """Authenticate a backup and its chain of bases without restoring anything.

    ``deep`` also decrypts and parses every file (every chunk's tag, every
    section's count, the SQLite header), which is what ``backup verify`` does.
    """
    newest = load_backup(newest_path.absolute(), public_key)
    chain = resolve_chain(newest, public_key, base_dirs)
    if chain[0].kind != "full":
        raise BackupChainError(f"backup chain of {newest.path} does not start with a full backup")
    engine = chain[0].manifest["engine"]
    for i, backup in enumerate(chain):
        _check_store(backup, fingerprint, keystore_id)
        if backup.manifest["engine"] != engine:
            raise BackupChainError(f"backup {backup.path} is of another engine than its base")
        if i and backup.manifest["schema_version"] != chain[i - 1].manifest["schema_version"]:
            raise BackupChainError(f"backup {backup.path} has another schema version than its base")
        backup.check_files()
    report = ChainReport(chain=chain)
    if deep:
        key = backup_key(root_key)
        for backup in chain:
            _deep_check(backup, key, progress)
    report.rows = {name: int(t["rows"]) for name, t in newest.manifest["tables"].items()}
    return report


def _deep_check(backup: Backup, key: bytes, progress: Progress) -> None:
    tables: dict[str, Any] = backup.manifest["tables"]
    if backup.manifest.get("payload") == "sqlite-file":
        size = 0
        for i, chunk in enumerate(read_sealed(backup.file(DATA_NAME), key, backup.raw_id)):
            if i == 0 and not chunk.startswith(SQLITE_MAGIC):
                raise BackupIntegrityError(f"backup {backup.path} does not hold a SQLite database")
            size += len(chunk)
            progress("bytes", size)
    else:
        copied: dict[str, int] = {}
        for rec in read_stream(read_sealed(backup.file(DATA_NAME), key, backup.raw_id)):
            if rec.kind == "E":
                copied[rec.section.name] = rec.count
        for name, stats in tables.items():
            if copied.get(name, 0) != int(stats.get("copied", 0)):
                raise BackupIntegrityError(
                    f"backup {backup.path}: table {name} does not hold what the manifest says"
                )
    if INDEX_NAME in backup.manifest["files"]:
        indexed: dict[str, int] = {}
        for rec in read_stream(read_sealed(backup.file(INDEX_NAME), key, backup.raw_id)):
            if rec.kind == "E":
                indexed[rec.section.name] = rec.count
        for name, n in indexed.items():
            if int(tables.get(name, {}).get("rows", -1)) != n:
                raise BackupIntegrityError(f"backup {backup.path}: the index of table {name} is inconsistent")


# -- restore ---------------------------------------------------------------------------------------


@dataclass
class RestoreOutcome:
    backup_id: str
    chain: list[str]
    rows: int
    seconds: float
    audit_seq: int
    restored_head_seq: int
    lost_from_seq: int
    lost_to_seq: int | None
    erasures_reapplied: int


def _operator() -> str:
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = str(os.getuid())
    return f"operator:{user}"


@dataclass
class Restorer:
    """Restores one store (database URL, witness file) from a chain of backups."""

    database_url: str
    witness_path: Path
    root_key: bytes = field(repr=False)
    fingerprint: str
    audit: AuditLog
    public_key: Ed25519PublicKey
    progress: Progress = _no_progress
    fault: Fault = _no_fault

    def restore(self, newest: Path, *, force: bool = False, base_dirs: Sequence[Path] = ()) -> RestoreOutcome:
        """Restore the chain ending at ``newest``; foreign failures become one-line errors."""
        try:
            return self._restore(newest, force=force, base_dirs=base_dirs)
        except OSError as exc:
            raise BackupError(
                f"restore failed: {exc.strerror or type(exc).__name__} ({exc.filename})"
            ) from exc
        except driver_errors() as exc:
            raise StoreError(f"restore failed, nothing changed: database error {type(exc).__name__}") from exc
        except sa.exc.SQLAlchemyError as exc:
            cause = getattr(exc, "orig", None) or exc
            raise StoreError(
                f"restore failed, nothing changed: database error {type(cause).__name__}"
            ) from exc
        except AlembicCommandError as exc:
            raise BackupError(
                f"restore failed, nothing changed: the schema cannot be migrated ({exc})"
            ) from exc

    def _restore(self, newest: Path, *, force: bool, base_dirs: Sequence[Path]) -> RestoreOutcome:
        started = time.perf_counter()
        engine_name = "sqlite" if self.database_url.startswith("sqlite") else "postgresql"
        keystore_id = self._keystore_id(engine_name)
        report = check_chain(
            newest,
            root_key=self.root_key,
            public_key=self.public_key,
            fingerprint=self.fingerprint,
            keystore_id=keystore_id,
            base_dirs=base_dirs,
            deep=False,
        )
        chain = report.chain
        if chain[0].manifest["engine"] != engine_name:
            raise BackupError(
                f"backup {report.newest.path} is of a {chain[0].manifest['engine']} store; this store is {engine_name}"
            )
        _check_schema_version(chain[0], exact=engine_name == "postgresql")
        key = backup_key(self.root_key)
        if engine_name == "sqlite":
            outcome = self._restore_sqlite(chain, key, force)
        else:
            outcome = self._restore_postgresql(chain, key, force)
        outcome.seconds = time.perf_counter() - started
        return outcome

    # -- checks -----------------------------------------------------------------------------------------

    def _keystore_id(self, engine_name: str) -> str:
        """The current key store's id; a restore needs it (customers' keys live only there)."""
        try:
            if engine_name == "sqlite":
                path = keystore_path(self.database_url)
                if not path.is_file():
                    raise KeyStoreMismatchError(
                        f"the key store {path} is missing; a restore keeps the current key store"
                    )
                conn = sqlite3.connect(f"{sqlite_uri(path)}?mode=ro", uri=True)
                try:
                    row = conn.execute("SELECT store_id FROM key_state WHERE id = 1").fetchone()
                finally:
                    conn.close()
            else:
                engine = sa.create_engine(self.database_url)
                try:
                    with engine.connect() as c:
                        row = c.exec_driver_sql(
                            f"SELECT store_id FROM {KEYSTORE_SCHEMA}.key_state WHERE id = 1"
                        ).first()
                finally:
                    engine.dispose()
        except (sqlite3.Error, sa.exc.SQLAlchemyError) as exc:
            raise KeyStoreMismatchError(
                "the key store is missing or unreadable; a restore keeps the current key store"
            ) from exc
        if row is None:
            raise KeyStoreMismatchError(
                "the key store holds no key state; a restore keeps the current key store"
            )
        return str(row[0])

    def _archive(self, backup_id: str) -> Path:
        witness = self.witness_path
        return witness.with_name(f"{witness.name}.before-restore-{backup_id[:12]}")

    def _witness_last_seq(self, backup_id: str) -> int:
        """The newest seq the witness (or its copy archived by an interrupted run of this restore) holds."""
        newest = 0
        for path in (self.witness_path, self._archive(backup_id)):
            try:
                found = read_checkpoints_file(path)
            except HushError:
                continue
            newest = max([newest, *(cp.seq for cp in found.checkpoints)])
        return newest

    @staticmethod
    def _target_state(conn: Connection) -> tuple[bool, int | None]:
        """(empty, audit head seq) of an existing database; unreadable counts as not empty."""
        names = {
            n
            for n in sa.inspect(conn).get_table_names()
            if not n.startswith("sqlite_") and n not in SKIPPED_TABLES and n not in KEYSTORE_TABLE_NAMES
        }
        if "customers" not in names:
            return not names, None  # tables of something else: only --force replaces them
        head: int | None = None
        if "audit_head" in names:
            value = conn.exec_driver_sql("SELECT seq FROM audit_head WHERE id = 1").scalar()
            head = None if value is None else int(value)
        has_customers = conn.exec_driver_sql("SELECT 1 FROM customers LIMIT 1").first() is not None
        others = 0
        if "audit_events" in names:
            others = int(
                conn.exec_driver_sql(
                    "SELECT count(*) FROM audit_events WHERE subject <> 'hushdb' AND action <> 'policy_load'"
                ).scalar()
                or 0
            )
        return (not has_customers and others == 0), head

    # -- SQLite -----------------------------------------------------------------------------------------

    def _restore_sqlite(self, chain: list[Backup], key: bytes, force: bool) -> RestoreOutcome:
        database = sa.make_url(self.database_url).database
        if not database or database == ":memory:":
            raise BackupError("cannot restore into an in-memory SQLite database")
        target = Path(database).absolute()
        old_head: int | None = None
        if target.exists():
            empty = False
            try:
                probe = sa.create_engine(
                    "sqlite://", creator=lambda: sqlite3.connect(f"{sqlite_uri(target)}?mode=ro", uri=True)
                )
                try:
                    with probe.connect() as conn:
                        empty, old_head = self._target_state(conn)
                        conn.rollback()
                finally:
                    probe.dispose()
            except sa.exc.SQLAlchemyError:
                empty = False  # damaged: only --force replaces it
            if not empty and not force:
                raise RestoreTargetError(
                    f"the database {target} is not empty; restore into an empty data directory or use --force"
                )
        _refuse_if_in_use(target)
        prefix = ".hushdb-restore-"
        remove_stale(target.parent, prefix)
        staging = target.parent / f"{prefix}{os.getpid()}-{chain[-1].id[:12]}.sqlite3"
        outcome: RestoreOutcome | None = None
        try:
            self._write_sqlite_file(chain[0], key, staging)
            self.fault("staging_written")
            engine = create_db_engine(f"sqlite:///{staging}")
            try:
                with engine.begin() as conn:
                    conn.exec_driver_sql("PRAGMA defer_foreign_keys=ON")
                    for inc in chain[1:]:
                        self._apply_incremental(conn, inc, key)
                    self._check_counts(conn, chain[-1])
                    _check_audit_head(conn, chain[-1])
                self.fault("incrementals_applied")
                migrate(engine)
                with engine.begin() as conn:
                    outcome = self._finish(conn, chain, old_head)
            finally:
                engine.dispose()
            _single_file(staging)
            for suffix in ("-wal", "-shm"):
                Path(f"{staging}{suffix}").unlink(missing_ok=True)
            _refuse_if_in_use(target)  # again: a server may have started meanwhile
            self._rotate_witness(outcome.restored_head_seq, outcome.backup_id)
            self.fault("before_swap")
            # the old write-ahead log must go (it would be replayed onto the new file), but not its commits:
            # a crash from here to the rename leaves the old database whole
            _checkpoint_target(target)
            for suffix in ("-wal", "-shm"):
                Path(f"{target}{suffix}").unlink(missing_ok=True)
            self.fault("swap")
            os.replace(staging, target)
            _fsync_dir(target.parent)
        except BaseException:
            staging.unlink(missing_ok=True)
            for suffix in ("-wal", "-shm", "-journal"):
                Path(f"{staging}{suffix}").unlink(missing_ok=True)
            raise
        self._publish()
        assert outcome is not None
        return outcome

    def _write_sqlite_file(self, full: Backup, key: bytes, staging: Path) -> None:
        if full.manifest.get("payload") != "sqlite-file":
            raise BackupError(f"backup {full.path} does not hold a SQLite database file")
        fd = os.open(staging, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        done = 0
        with os.fdopen(fd, "wb") as fh:
            for i, chunk in enumerate(read_sealed(full.file(DATA_NAME), key, full.raw_id)):
                if i == 0 and not chunk.startswith(SQLITE_MAGIC):
                    raise BackupIntegrityError(f"backup {full.path} does not hold a SQLite database")
                fh.write(chunk)
                done += len(chunk)
                self.progress("bytes", done)
            fh.flush()
            os.fsync(fh.fileno())

    # -- PostgreSQL ------------------------------------------------------------------------------------

    def _restore_postgresql(self, chain: list[Backup], key: bytes, force: bool) -> RestoreOutcome:
        engine = create_db_engine(self.database_url)
        try:
            with engine.connect() as conn:
                empty, old_head = self._target_state(conn)
                conn.rollback()
            if not empty and not force:
                raise RestoreTargetError(
                    "the database is not empty; restore into an empty database or use --force"
                )
            migrate(engine)  # an empty database gets the schema (nothing else)
            with engine.connect() as conn:
                version = conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()
                conn.rollback()
            if version != chain[0].manifest["schema_version"]:
                raise BackupError(
                    f"the backup has schema version {chain[0].manifest['schema_version']}, this hushdb "
                    f"{version}: restore with the hushdb version that made it, then upgrade"
                )
            with engine.connect() as conn, conn.begin():
                sections = data_sections(conn)
                names = ", ".join(quote(s.name) for s in sections)
                for s in sections:
                    conn.exec_driver_sql(f"ALTER TABLE {quote(s.name)} DISABLE TRIGGER USER")
                conn.exec_driver_sql(f"TRUNCATE {names} RESTART IDENTITY")
                self._load_full_rows(conn, chain[0], key)
                self.fault("full_loaded")
                for inc in chain[1:]:
                    self._apply_incremental(conn, inc, key)
                for s in sections:
                    conn.exec_driver_sql(f"ALTER TABLE {quote(s.name)} ENABLE TRIGGER USER")
                self._reset_sequences(conn, sections)
                self._check_counts(conn, chain[-1])
                _check_audit_head(conn, chain[-1])
                self.fault("incrementals_applied")
                outcome = self._finish(conn, chain, old_head)
                self._rotate_witness(outcome.restored_head_seq, outcome.backup_id)
                self.fault("before_swap")
        except sa.exc.SQLAlchemyError as exc:
            cause = getattr(exc, "orig", None) or exc
            raise StoreError(f"restore failed, nothing changed: {type(cause).__name__}") from exc
        finally:
            engine.dispose()
        self._publish()
        return outcome

    def _load_full_rows(self, conn: Connection, full: Backup, key: bytes) -> None:
        if full.manifest.get("payload") != "rows":
            raise BackupError(f"backup {full.path} does not hold rows")
        driver = conn.connection.driver_connection
        assert driver is not None
        records = read_stream(read_sealed(full.file(DATA_NAME), key, full.raw_id))
        done = 0
        with driver.cursor() as cur:
            for rec in records:
                if rec.kind != "T":
                    raise BackupIntegrityError(f"backup {full.path} holds a record outside a table")
                section = rec.section
                cols = ", ".join(quote(c) for c in section.columns)
                with cur.copy(f"COPY {quote(section.name)} ({cols}) FROM STDIN") as copy:
                    for row in records:
                        if row.kind == "E":
                            break
                        if row.kind != "R":
                            raise BackupIntegrityError(
                                f"backup {full.path} holds a deletion in a full backup"
                            )
                        copy.write_row(row.values)
                        done += 1
                        if done % _COPY_FLUSH == 0:
                            self.progress(section.name, done)

    @staticmethod
    def _reset_sequences(conn: Connection, sections: list[Section]) -> None:
        for s in sections:
            for column in s.columns:
                seq = conn.exec_driver_sql(
                    "SELECT pg_get_serial_sequence(%(t)s, %(c)s)", {"t": quote(s.name), "c": column}
                ).scalar()
                if seq:
                    conn.exec_driver_sql(
                        f"SELECT setval(%(s)s, coalesce((SELECT max({quote(column)}) FROM {quote(s.name)}), 1), "
                        f"(SELECT max({quote(column)}) FROM {quote(s.name)}) IS NOT NULL)",
                        {"s": seq},
                    )

    # -- both engines ----------------------------------------------------------------------------------

    def _apply_incremental(self, conn: Connection, inc: Backup, key: bytes) -> None:
        """Deletions first (reverse foreign-key order), then upserts in stream (foreign-key) order.

        Deleting first frees unique values (and primary keys) that the
        incremental's new rows may reuse.  The stream is read twice: the
        deletions (primary keys only) are collected in the first pass.
        """
        marker = "?" if conn.dialect.paramstyle == "qmark" else "%s"
        deletions: list[tuple[Section, list[Row]]] = []
        for rec in self._sections(inc, key):
            if rec.kind == "T":
                deletions.append((rec.section, []))
            elif rec.kind == "D":
                deletions[-1][1].append(rec.values)
        for section, gone in reversed(deletions):
            if not gone:
                continue
            pk_cols = [quote(section.columns[i]) for i in section.pk]
            where = " AND ".join(f"{c} = {marker}" for c in pk_cols)
            for start in range(0, len(gone), _COPY_FLUSH):
                conn.exec_driver_sql(
                    f"DELETE FROM {quote(section.name)} WHERE {where}", gone[start : start + _COPY_FLUSH]
                )
        deletions.clear()
        records = self._sections(inc, key)
        for rec in records:
            if rec.kind != "T":
                raise BackupIntegrityError(f"backup {inc.path} holds a record outside a table")
            section = rec.section
            table = quote(section.name)
            cols = [quote(c) for c in section.columns]
            pk_cols = [cols[i] for i in section.pk]
            where = " AND ".join(f"{c} = {marker}" for c in pk_cols)
            insert = f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join([marker] * len(cols))})"
            others = [i for i in range(len(cols)) if i not in section.pk]
            update = (
                f"UPDATE {table} SET {', '.join(f'{cols[i]} = {marker}' for i in others)} WHERE {where}"
                if others
                else None
            )
            append_only = section.name in APPEND_ONLY_TABLES
            pending: list[Row] = []
            for row in records:
                if row.kind == "E":
                    break
                if row.kind == "D":
                    continue  # applied above
                if append_only:
                    pending.append(row.values)
                    if len(pending) >= _COPY_FLUSH:
                        conn.exec_driver_sql(insert, pending)
                        pending.clear()
                    continue
                values = row.values
                key_values = section.key_of(values)
                if update is not None:
                    found = (
                        conn.exec_driver_sql(update, tuple(values[i] for i in others) + key_values).rowcount
                        > 0
                    )
                else:
                    found = (
                        conn.exec_driver_sql(f"SELECT 1 FROM {table} WHERE {where}", key_values).first()
                        is not None
                    )
                if not found:
                    conn.exec_driver_sql(insert, values)
            if pending:
                conn.exec_driver_sql(insert, pending)
        self.progress(f"incremental {inc.id[:12]}", 1)

    @staticmethod
    def _sections(inc: Backup, key: bytes) -> Iterator[Record]:
        return read_stream(read_sealed(inc.file(DATA_NAME), key, inc.raw_id))

    @staticmethod
    def _check_counts(conn: Connection, newest: Backup) -> None:
        for name, stats in newest.manifest["tables"].items():
            n = conn.exec_driver_sql(f"SELECT count(*) FROM {quote(name)}").scalar()
            if int(n or 0) != int(stats["rows"]):
                raise BackupIntegrityError(
                    f"restored table {name} holds {n} rows, the backup says {stats['rows']}: the chain is inconsistent"
                )

    def _finish(self, conn: Connection, chain: list[Backup], old_head: int | None) -> RestoreOutcome:
        """Re-apply erasures, check the key store, record the restore; in the restoring transaction."""
        erased = self._reapply_erasures(conn)
        try:
            check_matches(conn)
        except KeyStoreMismatchError as exc:
            raise KeyStoreMismatchError(f"the key store does not match the backup: {exc.message}") from exc
        newest = chain[-1]
        restored_head = newest.head_seq
        known = max(old_head or 0, self._witness_last_seq(newest.id))
        lost_to = known if known > restored_head else None
        rows = sum(int(t["rows"]) for t in newest.manifest["tables"].values())
        seq = self.audit.append(
            conn,
            AuditEvent(
                subject=_operator(),
                roles=("operator",),
                purpose="compliance",
                action=RESTORE_ACTION,
                resource="admin",
                fields=("backup",),
                decision="allow",
                row_count=rows,
                detail={
                    "backup_id": newest.id,
                    "backup_created_at": str(newest.manifest["created_at"]),
                    "chain_length": len(chain),
                    "restored_head_seq": restored_head,
                    "lost_from_seq": restored_head + 1,
                    "lost_to_seq": lost_to,
                    "erasures_reapplied": erased,
                },
            ),
        )
        self.audit.checkpoint(conn)
        return RestoreOutcome(
            backup_id=newest.id,
            chain=[b.id for b in chain],
            rows=rows,
            seconds=0.0,
            audit_seq=seq,
            restored_head_seq=restored_head,
            lost_from_seq=restored_head + 1,
            lost_to_seq=lost_to,
            erasures_reapplied=erased,
        )

    @staticmethod
    def _reapply_erasures(conn: Connection) -> int:
        """Customers whose data key is gone from the key store are erased: clear what an erasure clears."""
        keys = sa.table("customer_keys", sa.column("customer_id"), schema=KEYSTORE_SCHEMA)
        found = [
            (str(r[0]), str(r[1]))
            for r in conn.execute(
                sa.select(customers_t.c.id, customers_t.c.pseudonym).where(
                    customers_t.c.erased_at.is_(None),
                    ~sa.exists().where(keys.c.customer_id == customers_t.c.id),
                )
            )
        ]
        if not found:
            return 0
        orphans = [cid for cid, _ in found]
        pseudonyms = [p for _, p in found]
        cleared = {c.name: None for c in customers_t.columns if c.name.endswith(("_ct", "_bidx"))}
        now = utcnow()
        profiled = "profile_results" in sa.inspect(conn).get_table_names()
        profile_results_t = sa.table("profile_results", sa.column("pseudonym"))
        for start in range(0, len(orphans), 500):
            batch = orphans[start : start + 500]
            if profiled:  # results held under the pseudonym go too, as an erasure removes them
                conn.execute(
                    sa.delete(profile_results_t).where(
                        profile_results_t.c.pseudonym.in_(pseudonyms[start : start + 500])
                    )
                )
            conn.execute(
                sa.update(customers_t)
                .where(customers_t.c.id.in_(batch))
                .values(**cleared, erased_at=now, updated_at=now)
            )
            conn.execute(
                sa.update(notes_t)
                .where(notes_t.c.customer_id.in_(batch))
                .values(body_ct=None, analysis_ct=None)
            )
        return len(orphans)

    def _rotate_witness(self, restored_head: int, backup_id: str) -> None:
        """Start the witness afresh from the restored head; the old file is kept whole beside it.

        The old witness is hard-linked to ``<name>.before-restore-<backup id>``
        (never modified: it still proves what the lost events were), then a
        new file holding its checkpoints up to the restored head replaces the
        witness, so that checkpoints of the restored log append to a file that
        agrees with it.  Idempotent: a rerun reads the archived copy.
        """
        witness = self.witness_path
        archive = self._archive(backup_id)
        source = archive if archive.exists() else witness
        if not source.exists():
            return
        try:
            lines = source.read_text(encoding="utf-8", errors="replace").splitlines()
        except OSError as exc:
            raise BackupError(f"cannot read the audit witness {source}: {exc.strerror}") from exc
        found = read_checkpoints_file(source)
        if max((cp.seq for cp in found.checkpoints), default=0) <= restored_head and source == witness:
            return  # nothing of the lost range was witnessed
        kept = []
        for line in lines:
            try:
                seq = int(json.loads(line)["seq"])
            except (ValueError, KeyError, TypeError):
                continue
            if seq <= restored_head:
                kept.append(line)
        tmp = witness.with_name(f".{witness.name}.{os.getpid()}.tmp")
        try:
            if not archive.exists():
                os.link(witness, archive)
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write("".join(line + "\n" for line in kept))
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, witness)
            _fsync_dir(witness.parent)
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            raise BackupError(f"cannot start a new audit witness file {witness}: {exc.strerror}") from exc

    def _publish(self) -> None:
        """Copy the restore's checkpoint to the witness (best effort: the next command catches up)."""
        engine = create_db_engine(self.database_url)
        try:
            with contextlib.suppress(HushError):
                self.audit.publish_checkpoints(engine, force=True)
        finally:
            engine.dispose()


def _check_audit_head(conn: Connection, newest: Backup) -> None:
    """The rebuilt audit log ends where the newest backup's manifest says (its head seq and hash)."""
    audit = newest.manifest["audit"]
    head = conn.exec_driver_sql("SELECT seq, hash FROM audit_head WHERE id = 1").first()
    last = conn.exec_driver_sql("SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1").first()
    want = (int(audit["head_seq"]), str(audit["head_hash"]))
    if (
        head is None
        or (int(head[0]), str(head[1])) != want
        or (last is not None and (int(last[0]), str(last[1])) != want)
    ):
        raise BackupIntegrityError(
            f"the restored audit log does not end at the head backup {newest.id[:12]} recorded: the chain is inconsistent"
        )


def _check_schema_version(full: Backup, *, exact: bool) -> None:
    """The backup's schema is one this hushdb knows (SQLite: it migrates an older one; PostgreSQL: the same)."""
    version = str(full.manifest["schema_version"])
    script = ScriptDirectory(str(MIGRATIONS_DIR))
    head = script.get_current_head()
    try:
        known = script.get_revision(version) is not None
    except (RevisionError, AlembicCommandError):
        known = False
    if not known:
        raise BackupError(
            f"backup {full.path} has schema version {version}, unknown to this hushdb (head {head}): "
            "restore with the hushdb version that made it"
        )
    if exact and version != head:
        raise BackupError(
            f"backup {full.path} has schema version {version}, this hushdb {head}: "
            "restore with the hushdb version that made it, then upgrade"
        )


def _refuse_if_in_use(path: Path) -> None:
    """Refuse a SQLite database that another process has open (``hushdb serve``, say).

    Such a process would go on reading and writing the replaced file.  Every
    connection to a database in WAL mode holds a shared lock for as long as
    it is open, so leaving WAL mode, which needs the database to itself,
    fails exactly when another connection exists; the mode is set back at
    once.  A damaged database (replaced with ``--force``) passes.
    """
    if not path.exists():
        return
    try:
        conn = sqlite3.connect(path, isolation_level=None, timeout=0)
    except sqlite3.Error:
        return
    try:
        mode = str(conn.execute("PRAGMA journal_mode").fetchone()[0]).lower()
        if mode == "wal":
            conn.execute("PRAGMA journal_mode=DELETE").fetchall()
            conn.execute("PRAGMA journal_mode=WAL").fetchall()
    except sqlite3.OperationalError as exc:
        text = str(exc).lower()
        if "locked" in text or "busy" in text:
            raise RestoreTargetError(
                f"the database {path} is in use by another process: stop `hushdb serve` (and other "
                "hushdb commands) before a restore"
            ) from None
    except sqlite3.Error:
        return
    finally:
        conn.close()


def _checkpoint_target(path: Path) -> None:
    """Fold the old database's write-ahead log into its file, so that removing the log loses no commit.

    Best effort: a damaged database (replaced with ``--force``) may not open.
    """
    if not path.exists():
        return
    try:
        conn = sqlite3.connect(path, isolation_level=None, timeout=5)
        try:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
        finally:
            conn.close()
    except sqlite3.Error:
        return


def _single_file(path: Path) -> None:
    """Fold the write-ahead log into the database file, so that the file alone is the database."""
    try:
        conn = sqlite3.connect(path, isolation_level=None)
        try:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            conn.execute("PRAGMA journal_mode=DELETE")
        finally:
            conn.close()
    except sqlite3.Error as exc:
        raise BackupError(f"cannot finish the restored database file: {exc}") from exc


__all__ = ["ChainReport", "RestoreOutcome", "Restorer", "check_chain"]

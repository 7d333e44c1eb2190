"""Database engines and schema migrations.

SQLite (embedded default) runs in WAL mode with foreign keys on and
``secure_delete`` so that freed pages are overwritten; writers take the lock
up front (``BEGIN IMMEDIATE``) so that two writers never deadlock on a lock
upgrade and the audit chain head is read under the write lock; connections
marked read-only (audit verification) take a plain snapshot instead.  PostgreSQL is
the production engine.  Both apply the same Alembic migrations.

The key store (:mod:`core.keystore`) is a second SQLite file ATTACHed as
``keystore`` on every connection, read-only ones included, with the same
settings; ``BEGIN IMMEDIATE`` takes the write lock of both files.  On
PostgreSQL it is the schema ``keystore`` of the same database.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import weakref
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError

from core.errors import StoreError

if TYPE_CHECKING:
    from alembic.config import Config
from core.keystore import attach_sqlite, finish_migration, keystore_path

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


WAL_AUTOCHECKPOINT_PAGES = 1000  # SQLite's default, restored after a bulk load
_BULK_LOAD = "hushdb_bulk_load"


def _sqlite_on_connect(dbapi_conn: Any, _record: Any) -> None:
    # The driver's own transaction handling is switched off so that we can
    # issue BEGIN IMMEDIATE ourselves (see _sqlite_on_begin).
    dbapi_conn.isolation_level = None
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA secure_delete=ON")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute(f"PRAGMA wal_autocheckpoint={WAL_AUTOCHECKPOINT_PAGES}")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.execute("PRAGMA cache_size=-65536")  # 64 MiB: random-key indexes (uuid, blind indexes) stay in memory
    cur.close()


READ_ONLY_OPTION = "hushdb_read_only"
"""Execution option marking a read-only connection (same string as ``audit.verify.READ_ONLY_OPTION``)."""


def _sqlite_on_begin(conn: Connection) -> None:
    if conn.get_execution_options().get(READ_ONLY_OPTION):
        conn.exec_driver_sql("BEGIN DEFERRED")  # a WAL read snapshot; never takes the write lock
    else:
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def create_db_engine(url: str, *, echo: bool = False) -> Engine:
    """An Engine for ``url`` with hushdb's connection settings (SQLite: the key store attached)."""
    try:
        if url.startswith("sqlite"):
            engine = sa.create_engine(
                url, echo=echo, connect_args={"check_same_thread": False, "timeout": 30}
            )
            keystore_file = keystore_path(url)

            def on_connect(dbapi_conn: Any, record: Any) -> None:
                _sqlite_on_connect(dbapi_conn, record)
                attach_sqlite(dbapi_conn, keystore_file)

            event.listen(engine, "connect", on_connect)
            event.listen(engine, "begin", _sqlite_on_begin)
            _install_bulk_listeners(engine)
        else:
            engine = sa.create_engine(url, echo=echo, pool_pre_ping=True)
    except (SQLAlchemyError, ImportError, ValueError) as exc:
        raise StoreError(f"cannot open database: {type(exc).__name__}") from exc
    return engine


def alembic_config(engine: Engine) -> Config:
    from alembic.config import Config  # imported when used: commands that only read start faster

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.attributes["engine"] = engine
    return cfg


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest revision (idempotent); finish moving keys to the key store."""
    try:
        from alembic import command

        command.upgrade(alembic_config(engine), "head")
        finish_migration(engine)
    except SQLAlchemyError as exc:
        raise StoreError(f"database migration failed: {type(exc).__name__}") from exc


@contextmanager
def transaction(engine: Engine) -> Iterator[Connection]:
    """One database transaction; foreign database errors become StoreError."""
    try:
        with engine.begin() as conn:
            yield conn
    except SQLAlchemyError as exc:
        raise StoreError(f"database error: {type(exc).__name__}") from exc


ANALYZE_LOCK_TIMEOUT = "5s"


def refresh_statistics(engine: Engine, tables: Sequence[str], *, rows_added: int) -> bool:
    """``ANALYZE`` the tables on PostgreSQL when a bulk load grew the first of them a lot.

    "A lot" is autovacuum's own rule (50 rows plus 10% of the rows the
    planner knows of), applied at once instead of whenever autovacuum comes
    round: until then the planner keeps the statistics of a nearly empty
    table, and a governed scan right after an import of 100k customers ran at
    a quarter of its speed.  An optimisation only: it waits for locks at most
    :data:`ANALYZE_LOCK_TIMEOUT`, and any failure is logged and ignored (a role
    without the privilege gets PostgreSQL's own warning and no statistics).
    SQLite plans without statistics; nothing is done there.  Returns whether
    ``ANALYZE`` ran.
    """
    if engine.dialect.name != "postgresql" or not tables or rows_added <= 0:
        return False
    prep = engine.dialect.identifier_preparer

    def quote(name: str) -> str:  # "schema.table" or "table"
        return ".".join(prep.quote(part) for part in name.split("."))

    try:
        with engine.begin() as conn:
            known = conn.exec_driver_sql(
                "SELECT reltuples FROM pg_class WHERE oid = to_regclass(%(t)s)", {"t": tables[0]}
            ).scalar()
            if rows_added < 50 + 0.1 * max(float(known or 0), 0.0):
                return False
            conn.exec_driver_sql(f"SET LOCAL lock_timeout = '{ANALYZE_LOCK_TIMEOUT}'")
            conn.exec_driver_sql("ANALYZE " + ", ".join(quote(t) for t in tables))
    except SQLAlchemyError as exc:
        log.warning(
            "ANALYZE after the bulk load failed (%s); the planner catches up later", type(exc).__name__
        )
        return False
    return True


class _BulkLoads:
    """How many bulk loads run on one SQLite engine; its pool listeners read it.

    The listeners are installed once, when the engine is made, never added or removed while
    other threads check connections out: SQLAlchemy iterates an event's listeners without a lock,
    and a listener added meanwhile raised "deque mutated during iteration" in a concurrent
    key rotation.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._active = 0

    def enter(self) -> None:
        with self._lock:
            self._active += 1

    def leave(self) -> None:
        with self._lock:
            self._active -= 1

    @property
    def active(self) -> bool:
        return self._active > 0

    def on_checkout(self, dbapi_conn: Any, record: Any, _proxy: Any) -> None:
        if self.active:
            dbapi_conn.execute("PRAGMA wal_autocheckpoint=0")
            record.info[_BULK_LOAD] = True

    def on_checkin(self, dbapi_conn: Any, record: Any) -> None:
        if record.info.pop(_BULK_LOAD, False) and dbapi_conn is not None:
            dbapi_conn.execute(f"PRAGMA wal_autocheckpoint={WAL_AUTOCHECKPOINT_PAGES}")


_BULK_STATES: weakref.WeakKeyDictionary[Engine, _BulkLoads] = weakref.WeakKeyDictionary()
_BULK_STATES_LOCK = threading.Lock()


def _install_bulk_listeners(engine: Engine) -> _BulkLoads:
    """The engine's bulk-load state, its listeners installed on first call (when the engine is made)."""
    with _BULK_STATES_LOCK:
        state = _BULK_STATES.get(engine)
        if state is None:
            state = _BulkLoads()
            event.listen(engine, "checkout", state.on_checkout)
            event.listen(engine, "checkin", state.on_checkin)
            _BULK_STATES[engine] = state
        return state


@contextmanager
def bulk_load(engine: Engine, *, interval: float = 0.1) -> Iterator[None]:
    """A bulk load on SQLite: commits skip the WAL checkpoint, a background thread runs it instead.

    Normally the connection whose commit pushes the write-ahead log past
    1000 pages copies the log into the database file there and then (an
    "automatic checkpoint"); for a bulk import that is about a third of every
    commit.  Inside this context connections checked out of ``engine`` commit
    without it, and a thread of this process runs passive checkpoints on its
    own connection meanwhile (SQLite releases the GIL while it copies pages).
    Commits are exactly as durable as before: the log is written and synced
    as usual; only the later copy into the database file moves.  On exit the
    log is checkpointed once more, here, and the connections get their
    automatic checkpoint back.  Other databases: nothing changes (see
    :func:`refresh_statistics` for what a loader does after the load).
    """
    if engine.dialect.name != "sqlite":
        yield
        return
    state = _install_bulk_listeners(engine)
    checkpointer = engine.raw_connection()
    driver = checkpointer.driver_connection
    assert isinstance(driver, sqlite3.Connection)
    stop = threading.Event()

    def run() -> None:
        while not stop.wait(interval):
            try:
                driver.execute("PRAGMA wal_checkpoint(PASSIVE)")
            except sqlite3.Error:  # busy or locked: the next round, or the final checkpoint, does it
                continue

    state.enter()
    thread = threading.Thread(target=run, name="hushdb-wal-checkpoint", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()
        state.leave()
        try:
            driver.execute("PRAGMA wal_checkpoint(PASSIVE)")
        except sqlite3.Error:  # pragma: no cover - the next commit's automatic checkpoint catches up
            pass
        finally:
            checkpointer.close()

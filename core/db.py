"""Database engines and schema migrations.

SQLite (embedded default) runs in WAL mode with foreign keys on and
``secure_delete`` so that freed pages are overwritten; writers take the lock
up front (``BEGIN IMMEDIATE``) so that two writers never deadlock on a lock
upgrade and the audit chain head is read under the write lock; connections
marked read-only (audit verification) take a plain snapshot instead.  PostgreSQL is
the production engine.  Both apply the same Alembic migrations.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError

from core.errors import StoreError

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def _sqlite_on_connect(dbapi_conn: Any, _record: Any) -> None:
    # The driver's own transaction handling is switched off so that we can
    # issue BEGIN IMMEDIATE ourselves (see _sqlite_on_begin).
    dbapi_conn.isolation_level = None
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA secure_delete=ON")
    cur.execute("PRAGMA synchronous=NORMAL")
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
    """An Engine for ``url`` with hushdb's connection settings."""
    try:
        if url.startswith("sqlite"):
            engine = sa.create_engine(
                url, echo=echo, connect_args={"check_same_thread": False, "timeout": 30}
            )
            event.listen(engine, "connect", _sqlite_on_connect)
            event.listen(engine, "begin", _sqlite_on_begin)
        else:
            engine = sa.create_engine(url, echo=echo, pool_pre_ping=True)
    except (SQLAlchemyError, ImportError, ValueError) as exc:
        raise StoreError(f"cannot open database: {type(exc).__name__}") from exc
    return engine


def alembic_config(engine: Engine) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.attributes["engine"] = engine
    return cfg


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest revision (idempotent)."""
    try:
        command.upgrade(alembic_config(engine), "head")
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

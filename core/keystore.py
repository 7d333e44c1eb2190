"""The key store: customers' wrapped data keys and the KEK state, kept apart from the data.

Layout (a contract with backup and restore):

* SQLite: the file ``keystore.sqlite3`` next to the data file, ATTACHed as
  ``keystore`` on every connection (:func:`attach_sqlite`, called by
  :func:`core.db.create_db_engine`; WAL and ``secure_delete`` as the data).
* PostgreSQL: the schema ``keystore`` of the same database.

Tables (:func:`keystore_tables`): ``key_state`` (one row: the key store's id
and the current KEK version), ``key_versions`` (a check value per KEK version
and when it was retired) and ``customer_keys`` (each customer's data key,
wrapped).  Everything else is "the data"; data backups copy only the data, so
they hold ciphertext without any key to it, and erasing a customer is deleting
one row here, whatever the size of the store.

The data records which key store it belongs to (``meta.keystore_id``, equal
to ``key_state.store_id``): :func:`check_matches` refuses a key store that is
not the data's with :class:`~core.errors.KeyStoreMismatchError`.

Every wrap reads the current version inside its writing transaction
(:func:`read_current`: ``SELECT ... FOR SHARE`` of the state row on
PostgreSQL, under the ``BEGIN IMMEDIATE`` write lock on SQLite, which covers
the attached file too); a rotation switches it under ``FOR UPDATE``.

On SQLite a transaction that writes both files is atomic per file only
(:func:`separate_commits`): SQLite commits the data file first.  Writers that
must order the two commits (a key row before its customer row; destroying a
key before recording the erasure) use two transactions there.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import uuid
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from core.errors import KeyStoreMismatchError, StoreError, WrongKeyError
from core.keys import KekLease, KeyRing
from core.models import (
    KEYSTORE_SCHEMA,
    customer_keys_t,
    customers_t,
    key_state_t,
    key_versions_t,
    meta_t,
    utcnow,
)

__all__ = [
    "KEYSTORE_FILE_NAME",
    "KEYSTORE_SCHEMA",
    "META_KEYSTORE_ID",
    "attach_sqlite",
    "bind",
    "check_matches",
    "crash_point",
    "customer_keys_t",
    "data_keystore_id",
    "finish_migration",
    "key_state_t",
    "key_versions_t",
    "keystore_id",
    "keystore_path",
    "keystore_tables",
    "read_current",
    "retired_versions",
    "separate_commits",
]

KEYSTORE_FILE_NAME = "keystore.sqlite3"
META_KEYSTORE_ID = "keystore_id"
"""The ``meta`` key under which the data records the id of its key store."""

STATE_ROW = 1
LEGACY_TABLES = ("legacy_customer_keys", "legacy_key_versions")
"""SQLite: the pre-0009 tables, renamed by migration 0009 and dropped by :func:`finish_migration`."""


def keystore_tables() -> tuple[sa.Table, ...]:
    """The key store's tables (schema ``keystore``), in creation order."""
    return (key_state_t, key_versions_t, customer_keys_t)


def keystore_path(sqlite_data_url: str) -> Path:
    """The key-store file of a SQLite data URL: ``keystore.sqlite3`` in the data file's directory."""
    url = sa.make_url(sqlite_data_url)
    database = url.database or ""
    if (
        not url.drivername.startswith("sqlite")
        or database in ("", ":memory:")
        or database.startswith("file:")
    ):
        raise StoreError("the key store needs a SQLite database file (not in-memory, not a URI)")
    return Path(database).expanduser().absolute().parent / KEYSTORE_FILE_NAME


def attach_sqlite(dbapi_conn: Any, path: Path) -> None:
    """ATTACH the key-store file as ``keystore`` (created 0600 when missing); WAL and secure_delete."""
    if not path.exists():
        with contextlib.suppress(FileExistsError):  # another process created it meanwhile
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    cur = dbapi_conn.cursor()
    try:
        cur.execute(f"ATTACH DATABASE ? AS {KEYSTORE_SCHEMA}", (str(path),))
        cur.execute(f"PRAGMA {KEYSTORE_SCHEMA}.journal_mode=WAL")
        cur.execute(f"PRAGMA {KEYSTORE_SCHEMA}.secure_delete=ON")
        cur.execute(f"PRAGMA {KEYSTORE_SCHEMA}.synchronous=NORMAL")
    finally:
        cur.close()


def separate_commits(conn: Connection | Engine) -> bool:
    """Whether a commit that writes the data and the key store can land in one and not the other (SQLite)."""
    return conn.dialect.name == "sqlite"


def flush_destroyed_keys(engine: Engine) -> None:
    """Checkpoint the SQLite key store after keys were deleted (best effort, never waits).

    ``secure_delete`` zeroes a deleted key in the page written to the WAL, but
    the main key-store file keeps the old page until a checkpoint copies the
    new one over it.  PostgreSQL: nothing to do.
    """
    if engine.dialect.name != "sqlite":
        return
    raw = engine.raw_connection()  # outside any transaction: a checkpoint cannot run inside one
    try:
        driver = raw.driver_connection
        assert isinstance(driver, sqlite3.Connection)
        with contextlib.suppress(sqlite3.Error):  # busy: the next checkpoint does it
            driver.execute(f"PRAGMA {KEYSTORE_SCHEMA}.wal_checkpoint(PASSIVE)")
    finally:
        raw.close()


def crash_point(name: str) -> None:
    """A named point in rotation and erasure where a crash is survivable; tests make it raise.

    Points: ``rotate:switched``, ``rotate:batch``, ``rotate:retire``,
    ``erase:shredded``, ``import:keys``.
    """


# -- state ----------------------------------------------------------------------


def read_current(conn: Connection, keyring: KeyRing, *, exclusive: bool = False) -> KekLease:
    """The current KEK version, read in ``conn``'s (writing) transaction: one cheap read per transaction.

    PostgreSQL locks the state row ``FOR SHARE`` (``FOR UPDATE`` with
    ``exclusive``) until the transaction ends, so no rotation switches the
    version under a writer; SQLite writers already hold the write lock of both
    files (``BEGIN IMMEDIATE``).  The key ring then makes sure the provider
    holds that version (re-reading the key file) and refuses a retired one.
    """
    query = sa.select(key_state_t.c.current_version).where(key_state_t.c.id == STATE_ROW)
    if conn.dialect.name == "postgresql":
        query = query.with_for_update(read=not exclusive)
    version = conn.execute(query).scalar()
    if version is None:
        raise KeyStoreMismatchError("the key store holds no key state (not initialised, or not this data's)")
    return keyring.observe(int(version))


def retired_versions(conn: Connection) -> tuple[int, ...]:
    query = sa.select(key_versions_t.c.version).where(key_versions_t.c.retired_at.is_not(None))
    return tuple(sorted(int_values(conn, query)))


def int_values(conn: Connection, query: sa.Select[Any]) -> set[int]:
    """The first column of ``query``'s rows, as a set of ints."""
    values: list[Any] = list(conn.execute(query).scalars())
    return {int(v) for v in values}


def keystore_id(conn: Connection) -> str | None:
    """The key store's own id (``key_state.store_id``), or None when it holds no state yet."""
    value = conn.execute(sa.select(key_state_t.c.store_id).where(key_state_t.c.id == STATE_ROW)).scalar()
    return None if value is None else str(value)


def data_keystore_id(conn: Connection) -> str | None:
    """The id of the key store that the data belongs to (``meta.keystore_id``), if recorded."""
    value = conn.execute(sa.select(meta_t.c.value).where(meta_t.c.key == META_KEYSTORE_ID)).scalar()
    return None if value is None else str(value)


def _has_customers(conn: Connection) -> bool:
    return conn.execute(sa.select(customers_t.c.id).limit(1)).first() is not None


def check_matches(conn: Connection) -> str:
    """Check that the key store belongs to the data; returns its id.

    Raises :class:`~core.errors.KeyStoreMismatchError` (one line, nothing
    changed) when the data names another key store, when the key store is
    empty but the data names one, or when the data holds customers but names
    no key store.
    """
    ours = keystore_id(conn)
    wanted = data_keystore_id(conn)
    if ours is None:
        raise KeyStoreMismatchError(
            "the key store is empty or missing"
            + (f"; the data belongs to key store {wanted}" if wanted else "")
        )
    if wanted is None:
        if _has_customers(conn):
            raise KeyStoreMismatchError(f"the data names no key store; key store {ours} does not match it")
        return ours
    if wanted != ours:
        raise KeyStoreMismatchError(f"the data belongs to key store {wanted}, not to key store {ours}")
    return ours


def bind(conn: Connection, keyring: KeyRing) -> KekLease:
    """Open the key store for this process: create it on a new store, check it matches, sync versions.

    On a new store (no key state, no customers) the state row is created with
    a fresh id and the provider's newest version as current, and the data
    records that id.  A fresh data directory beside an existing key store
    adopts it only while it holds no customers.  Every version the provider
    holds is recorded with its check value (a different key under a known
    version is :class:`~core.errors.WrongKeyError`).  The provider must hold
    the current version.
    """
    provider = keyring.provider
    ours = keystore_id(conn)
    wanted = data_keystore_id(conn)
    if ours is None:
        if wanted is not None or _has_customers(conn):
            check_matches(conn)  # raises: the data's key store is gone
        ours = str(uuid.uuid4())
        conn.execute(
            sa.insert(key_state_t).values(
                id=STATE_ROW, store_id=ours, current_version=provider.current_version(), updated_at=utcnow()
            )
        )
    if wanted is None:
        check_matches(conn)  # an existing key store is adopted only by data without customers
        conn.execute(sa.insert(meta_t).values(key=META_KEYSTORE_ID, value=ours))
    else:
        check_matches(conn)
    known = {
        int(r.version): (bytes(r.check_value), r.retired_at)
        for r in conn.execute(
            sa.select(key_versions_t.c.version, key_versions_t.c.check_value, key_versions_t.c.retired_at)
        )
    }
    for version in provider.versions():
        check = keyring.check_value(version)
        if version not in known:
            conn.execute(
                sa.insert(key_versions_t).values(version=version, check_value=check, created_at=utcnow())
            )
        elif known[version][0] != check:
            raise WrongKeyError(f"{provider.describe()} does not match this store (key version {version})")
    retired = [v for v, (_, at) in known.items() if at is not None]
    return keyring.observe(_current(conn), retired)


def _current(conn: Connection) -> int:
    return int(
        conn.execute(
            sa.select(key_state_t.c.current_version).where(key_state_t.c.id == STATE_ROW)
        ).scalar_one()
    )


# -- migration from the pre-0009 layout (SQLite) ------------------------------------


def finish_migration(engine: Engine) -> bool:
    """SQLite: finish moving pre-0009 key rows into the key store, then drop the old tables.

    Migration 0009 copies the rows and renames the old tables in one
    transaction, which SQLite commits file by file, the data file first.
    This step runs after it, in transactions of its own: it copies whatever
    the key store still lacks (a crash between the two files' commits),
    commits, and only then drops the old tables.  Returns whether there was
    anything to finish.  Nothing to do on PostgreSQL (one atomic migration).
    """
    if engine.dialect.name != "sqlite":
        return False
    with engine.begin() as conn:
        names: list[Any] = list(
            conn.exec_driver_sql(
                "SELECT name FROM main.sqlite_master WHERE type = 'table' AND name IN (?, ?)", LEGACY_TABLES
            ).scalars()
        )
        present = {str(n) for n in names}
        if not present:
            return False
        if "legacy_key_versions" in present:
            conn.exec_driver_sql(
                "INSERT OR IGNORE INTO keystore.key_versions (version, check_value, created_at, retired_at) "
                "SELECT version, check_value, created_at, retired_at FROM main.legacy_key_versions"
            )
        if "legacy_customer_keys" in present:
            conn.exec_driver_sql(
                "INSERT OR IGNORE INTO keystore.customer_keys (customer_id, wrapped_key, kek_version, created_at) "
                "SELECT customer_id, wrapped_key, kek_version, created_at FROM main.legacy_customer_keys"
            )
        store_id = data_keystore_id(conn)
        if store_id is not None and keystore_id(conn) is None:
            current = conn.exec_driver_sql(
                "SELECT max(version) FROM keystore.key_versions WHERE retired_at IS NULL"
            ).scalar()
            if current is not None:
                conn.execute(
                    sa.insert(key_state_t).values(
                        id=STATE_ROW, store_id=store_id, current_version=int(current), updated_at=utcnow()
                    )
                )
    # the key store's commit has landed: the old copies may go
    with engine.begin() as conn:
        for name in sorted(present):
            conn.exec_driver_sql(f"DROP TABLE IF EXISTS main.{name}")
    return True

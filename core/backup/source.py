"""What a data backup holds, and reading it table by table from one snapshot.

"The data" is every table of the main database (SQLite ``main``, PostgreSQL's
current schema) except ``alembic_version`` (the manifest records the schema
version) and the key store's tables: customers' wrapped data keys live in the
key store (:mod:`core.keystore`), never in a data backup.

Two audit tables are append-only by construction (triggers reject UPDATE and
DELETE), so an incremental backup takes their rows with ``seq`` past the
base's audit head.  Every other table is compared row by row against the
base's digest index (:mod:`core.backup.rows`): new and changed rows are copied
whole, vanished rows are recorded as deletions.  Rows are read in primary-key
order on both engines (``COLLATE "C"`` on PostgreSQL text keys, byte order on
SQLite), which is Python's order for the same values; the scan checks that it
is, so a mismatch fails the backup instead of producing a wrong diff.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from core.backup.errors import BackupError
from core.backup.rows import Row, Section

APPEND_ONLY_TABLES: dict[str, str] = {"audit_events": "seq", "audit_ref_index": "seq"}
"""Tables whose rows never change once written, and the column that orders them (the audit seq)."""

SKIPPED_TABLES = frozenset({"alembic_version"})
KEYSTORE_TABLE_NAMES = frozenset(
    {"customer_keys", "key_versions", "key_state", "legacy_customer_keys", "legacy_key_versions"}
)
"""Key-store tables; before the key store moved out of the main database they lived there."""

_TEXT_OIDS = frozenset({25, 1043, 1042, 19})  # text, varchar, bpchar, name
FETCH_ROWS = 5000


def driver_errors() -> tuple[type[Exception], ...]:
    """The database drivers' own error classes: backups read and load through the raw driver connection."""
    found: list[type[Exception]] = [sqlite3.Error]
    try:
        import psycopg
    except ImportError:  # pragma: no cover - psycopg is a dependency
        return tuple(found)
    found.append(psycopg.Error)
    return tuple(found)


def keystore_schema() -> str:
    try:
        from core import keystore  # type: ignore[attr-defined,unused-ignore]
    except ImportError:
        return "keystore"
    return str(getattr(keystore, "KEYSTORE_SCHEMA", "keystore"))


def data_sections(conn: Connection) -> list[Section]:
    """The data tables of ``conn``'s default schema in foreign-key order, as stream sections."""
    insp = sa.inspect(conn)
    names = [n for n, _ in insp.get_sorted_table_and_fkc_names() if n is not None]
    sections: list[Section] = []
    for name in names:
        if name in SKIPPED_TABLES or name in KEYSTORE_TABLE_NAMES or name.startswith("sqlite_"):
            continue
        columns = tuple(str(c["name"]) for c in insp.get_columns(name))
        pk_cols = insp.get_pk_constraint(name).get("constrained_columns") or list(columns)
        pk = tuple(columns.index(c) for c in pk_cols)
        sections.append(Section(name, columns, pk))
    return sections


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def driver_of(conn: Connection) -> Any:
    conn.exec_driver_sql("SELECT 1").close()  # the transaction (and its snapshot) has begun
    driver = conn.connection.driver_connection
    if driver is None:
        raise BackupError("the backup has no database connection")
    return driver


@dataclass(frozen=True, slots=True)
class Scan:
    """Read one table in primary-key order, optionally only rows past an audit seq."""

    section: Section
    after_seq: int | None = None

    def rows(self, conn: Connection) -> Iterator[Row]:
        cols = ", ".join(quote(c) for c in self.section.columns)
        table = quote(self.section.name)
        where = ""
        if self.after_seq is not None:
            where = f" WHERE {quote(APPEND_ONLY_TABLES[self.section.name])} > {int(self.after_seq)}"
        driver = driver_of(conn)
        if conn.dialect.name == "postgresql":
            yield from self._pg_rows(driver, cols, table, where)
        else:
            order = ", ".join(quote(self.section.columns[i]) for i in self.section.pk)
            cur = driver.cursor()
            try:
                cur.execute(f"SELECT {cols} FROM {table}{where} ORDER BY {order}")
                yield from self._checked(_fetch(cur))
            finally:
                cur.close()

    def _pg_rows(self, driver: Any, cols: str, table: str, where: str) -> Iterator[Row]:
        with driver.cursor() as cur:
            cur.execute(f"SELECT {cols} FROM {table} LIMIT 0")
            oids = [d.type_code for d in cur.description]
            order = ", ".join(
                quote(self.section.columns[i]) + (' COLLATE "C"' if oids[i] in _TEXT_OIDS else "")
                for i in self.section.pk
            )
            sql = f"COPY (SELECT {cols} FROM {table}{where} ORDER BY {order}) TO STDOUT (FORMAT BINARY)"
            with cur.copy(sql) as copy:
                copy.set_types(oids)
                yield from self._checked(iter(copy.rows()))

    def _checked(self, rows: Iterator[Row]) -> Iterator[Row]:
        """The rows, checking that their keys strictly increase (the order a merge with the base needs)."""
        pk = self.section.pk
        previous: Any = None
        if len(pk) == 1:
            (i,) = pk
            for row in rows:
                key = row[i]
                if previous is not None and not key > previous:
                    self._out_of_order()
                previous = key
                yield row
            return
        for row in rows:
            key = tuple([row[j] for j in pk])
            if previous is not None and not key > previous:
                self._out_of_order()
            previous = key
            yield row

    def _out_of_order(self) -> None:
        raise BackupError(
            f"table {self.section.name} does not read back in key order; the backup cannot diff it"
        )


def _fetch(cur: Any) -> Iterator[Row]:
    while rows := cur.fetchmany(FETCH_ROWS):
        yield from rows


def schema_version(conn: Connection) -> str:
    try:
        value = conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()
    except sa.exc.SQLAlchemyError as exc:
        raise BackupError("the database has no schema version (run `hushdb init`)") from exc
    return str(value)


def audit_head(conn: Connection) -> tuple[int, str]:
    row = conn.exec_driver_sql("SELECT seq, hash FROM audit_head WHERE id = 1").first()
    if row is None:
        raise BackupError("the audit head row is missing")
    return int(row[0]), str(row[1])


def audit_hash_at(conn: Connection, seq: int) -> str | None:
    if seq == 0:
        return "0" * 64
    value = conn.exec_driver_sql(f"SELECT hash FROM audit_events WHERE seq = {int(seq)}").scalar()
    return None if value is None else str(value)


def latest_checkpoint(conn: Connection) -> dict[str, Any] | None:
    row = conn.exec_driver_sql(
        "SELECT seq, hash, ts, key_id, signature FROM audit_checkpoints ORDER BY seq DESC LIMIT 1"
    ).first()
    if row is None:
        return None
    return {"seq": int(row[0]), "hash": row[1], "ts": row[2], "key_id": row[3], "signature": row[4]}


def _meta(conn: Connection, key: str) -> str | None:
    value = conn.exec_driver_sql(f"SELECT value FROM meta WHERE key = '{key}'").scalar()
    return None if value is None else str(value)


def store_fingerprint(conn: Connection) -> str | None:
    """The root-key fingerprint the data was made with (``meta.key_fingerprint``)."""
    return _meta(conn, "key_fingerprint")


def store_identity(conn: Connection) -> dict[str, str | None]:
    """Which store the data belongs to: its root-key fingerprint and its key store's id."""
    return {"key_fingerprint": store_fingerprint(conn), "keystore_id": _meta(conn, "keystore_id")}

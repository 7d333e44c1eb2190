"""The encrypted customer store: writes, blind-index look-ups, data keys, erasure.

Nothing here returns plaintext.  Values go *in* encrypted (one data key per
customer, wrapped by the current KEK); reads that decrypt live in
:mod:`core.gateway`, which is the only way out.  All functions take an open
``Connection`` so the caller (the gateway) controls the transaction and can
write the audit event in it.

Data keys live in the key store (:mod:`core.keystore`), apart from the data:
:meth:`CustomerStore.insert_keys` writes them under the KEK version that its
transaction reads, and an erasure deletes one of them
(:meth:`CustomerStore.shred`).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import time
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any, Protocol, cast

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from core import keystore
from core.crypto import KEY_BYTES, FieldCipher, HmacSha256, new_key, normalise_email, resolve_phone
from core.errors import (
    ConflictError,
    ErasedError,
    HushError,
    InputError,
    KeyStoreMismatchError,
    KeyUnavailableError,
    NotFoundError,
    WrongKeyError,
)
from core.keys import KekLease, KeyRing
from core.models import (
    UTCDateTime,
    consent_events_t,
    customer_keys_t,
    customers_t,
    meta_t,
    notes_t,
    transactions_t,
    utcnow,
)
from core.records import PII_FIELDS, CustomerChanges, CustomerInput, TransactionInput

MAX_FIELD_CHARS = 1000
_CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b-\x1f]")
_EXTERNAL_ID = re.compile(r"[A-Za-z0-9\-_.:]{1,128}")


def review_reason_of(analysis: bytes | None) -> str:
    """:func:`core.pii.screen.review_reason_of`, imported on first use: the screen's modules (term
    lists, normaliser, gazetteers) are heavy, and commands that write no customer (``audit verify``)
    should not load them."""
    from core.pii.screen import review_reason_of as reason_of

    return reason_of(analysis)


class CustomerValues(Protocol):
    """What :meth:`CustomerStore.prepare` reads of a customer to create.

    A :class:`~core.records.CustomerInput`, or a plain row of its values with the same names
    (:mod:`core.prepare_pool` hands its worker rows, which cost a tenth of a dataclass to make).
    """

    @property
    def external_id(self) -> str: ...
    @property
    def full_name(self) -> str: ...
    @property
    def owner(self) -> str: ...
    @property
    def email(self) -> str | None: ...
    @property
    def phone(self) -> str | None: ...
    @property
    def postal_address(self) -> str | None: ...
    @property
    def birth_date(self) -> dt.date | None: ...
    @property
    def consent_marketing_email(self) -> bool | None: ...
    @property
    def consent_marketing_post(self) -> bool | None: ...
    @property
    def consent_profiling(self) -> bool | None: ...
    @property
    def do_not_contact(self) -> bool: ...
    @property
    def deceased(self) -> bool: ...


class FieldScreen(Protocol):
    """Analyses a customer's text fields on write (name, address).

    Returns the sensitivity level (none, personal, sensitive) and the analysis
    as JSON bytes (stored encrypted; None when there is nothing to store).
    Implemented by :class:`core.pii.screen.CustomerFieldScreen`.
    """

    def screen_fields(self, values: Mapping[str, str]) -> tuple[str, bytes | None]: ...


CUSTOMER_ROW = (
    "id",
    "external_id",
    "owner",
    "pseudonym",
    "full_name_ct",
    "email_ct",
    "phone_ct",
    "postal_address_ct",
    "birth_date_ct",
    "email_bidx",
    "phone_bidx",
    "dek_version",
    "text_analysis_ct",
    "text_sensitivity",
    "consent_marketing_email",
    "consent_marketing_post",
    "consent_profiling",
    "do_not_contact",
    "deceased",
    "under_review",
    "review_reason",
    "created_at",
    "updated_at",
    "erased_at",
)
"""The columns of :attr:`PreparedCustomer.row`, in order (every column of ``customers``)."""

KEY_ROW = ("customer_id", "wrapped_key", "kek_version", "created_at")
"""The columns of :attr:`PreparedCustomer.key_row`, in order (every column of ``keystore.customer_keys``)."""

_CONSENT_ROW = ("customer_id", "purpose", "granted", "at", "source")  # a consent_events row at import

_PSEUDONYM, _UNDER_REVIEW, _CREATED_AT = (
    CUSTOMER_ROW.index(c) for c in ("pseudonym", "under_review", "created_at")
)
_INDEXED = tuple(
    (name, CUSTOMER_ROW.index(f"{name}_ct"), CUSTOMER_ROW.index(f"{name}_bidx"))
    for name in ("email", "phone")
)
(_, _EMAIL_CT, _EMAIL_BIDX), (_, _PHONE_CT, _PHONE_BIDX) = _INDEXED

KEPT_AS_GIVEN = {
    "email": "email is not a valid address; kept as given, not indexed",
    "phone": "phone is not a valid number under any region hint; kept as given, not indexed",
}
"""Fields stored as given, with the warning's reason, when they fail their format check.

A value that carries data is never dropped: an email or phone that does not
normalise is stored encrypted as typed, without a blind index (so it is not
found by look-ups and not linked as a duplicate), and the write reports a
warning.  Every other check refuses the row as a whole.
"""


@dataclass(frozen=True, slots=True)
class PreparedCustomer:
    """A validated, encrypted customer row, ready to insert.

    The rows are plain tuples in the order of :data:`CUSTOMER_ROW` and
    :data:`KEY_ROW`: a bulk import sends them between processes and hands
    them to the driver, and tuples travel and transpose several times
    cheaper than dictionaries.  ``key_row`` is wrapped under the KEK version
    that was current when it was prepared; :meth:`CustomerStore.insert_keys`
    re-wraps it (from ``data_key``, never shown by ``repr``) when the
    writing transaction reads another one.
    """

    customer_id: str
    external_id: str
    owner: str
    row: tuple[Any, ...] = field(repr=False)
    key_row: tuple[Any, ...] = field(repr=False)
    consents: tuple[tuple[str, bool], ...]
    text_sensitivity: str
    data_key: bytes = field(repr=False, compare=False)

    @property
    def pseudonym(self) -> str:
        return str(self.row[_PSEUDONYM])

    @property
    def under_review(self) -> bool:
        return bool(self.row[_UNDER_REVIEW])

    @property
    def created_at(self) -> dt.datetime:
        return cast(dt.datetime, self.row[_CREATED_AT])

    @property
    def kept_as_given(self) -> tuple[str, ...]:
        """The fields stored as given, not normalised nor indexed (see :data:`KEPT_AS_GIVEN`)."""
        row = self.row
        if (row[_EMAIL_CT] is None or row[_EMAIL_BIDX] is not None) and (
            row[_PHONE_CT] is None or row[_PHONE_BIDX] is not None
        ):
            return ()  # nearly every row: asked once per imported row, answered without a loop
        return tuple(name for name, ct, bidx in _INDEXED if row[ct] is not None and row[bidx] is None)


def _check_text(name: str, value: str | None, *, required: bool = False) -> str | None:
    if value is None or value.strip() == "":
        if required:
            raise InputError(f"{name} is required")
        return None
    if len(value) > MAX_FIELD_CHARS:
        raise InputError(f"{name} is longer than {MAX_FIELD_CHARS} characters")
    if _CONTROL_CHARS.search(value):
        raise InputError(f"{name} contains control characters")
    return value.strip()


def _check_external_id(value: str) -> str:
    ext = (value or "").strip()
    if not ext:
        raise InputError("external_id is required")
    if not _EXTERNAL_ID.fullmatch(ext):
        raise InputError("external_id must be 1-128 letters, digits or -_.:")
    return ext


ID_RANDOM_BYTES = 10
ROW_RANDOM_BYTES = ID_RANDOM_BYTES + KEY_BYTES
"""CSPRNG bytes :meth:`CustomerStore.prepare` uses per row: the id's random bits, then the data key."""


def new_customer_id(random: bytes | None = None) -> str:
    """A UUIDv7 (RFC 9562): 48 bits of Unix time in milliseconds, then 74 random bits.

    Time-ordered ids make inserts append to the primary-key index and to every
    index that leads with the customer id (``customer_keys``, ``consent_events``,
    ``(owner, id)``) instead of landing on random leaves: a bulk import then
    dirties, logs and checkpoints a few new pages per batch instead of
    rewriting every leaf of those indexes at each commit.  The time an id
    carries is the row's ``created_at``, which is stored in clear anyway; the
    74 random bits keep ids unguessable and unique.  ``random``: 10 bytes from the
    OS CSPRNG drawn by the caller (a bulk import draws a chunk's at once).
    """
    if random is None:
        random = os.urandom(ID_RANDOM_BYTES)
    elif len(random) != ID_RANDOM_BYTES:
        raise ValueError("a customer id takes 10 random bytes")
    raw = bytearray((time.time_ns() // 1_000_000).to_bytes(6, "big") + random)
    raw[6] = (raw[6] & 0x0F) | 0x70  # version 7
    raw[8] = (raw[8] & 0x3F) | 0x80  # RFC 9562 variant
    h = raw.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


_SQLITE_DATETIME = "%Y-%m-%d %H:%M:%S.%f"  # SQLAlchemy's storage format for DateTime on SQLite


def _null_by_default(column: sa.Column[Any]) -> bool:
    """A nullable column without any default: leaving it out of an INSERT stores NULL."""
    return bool(column.nullable) and column.default is None and column.server_default is None


def bulk_insert(conn: Connection, table: sa.Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """INSERT many rows (mappings with the same keys); see :func:`bulk_insert_columns`."""
    if rows:
        names = list(rows[0])
        bulk_insert_columns(conn, table, names, [[r[k] for r in rows] for k in names])


def bulk_insert_rows(
    conn: Connection, table: sa.Table, names: Sequence[str], rows: Sequence[tuple[Any, ...]]
) -> None:
    """INSERT many rows given as tuples in the order of ``names``; see :func:`bulk_insert_columns`."""
    if rows:
        bulk_insert_columns(conn, table, names, [list(column) for column in zip(*rows, strict=True)])


def bulk_insert_columns(
    conn: Connection, table: sa.Table, names: Sequence[str], columns: Sequence[list[Any]]
) -> None:
    """INSERT many rows, given column by column, in one go through the driver, skipping per-value SQLAlchemy processing.

    Values are converted here once per column instead of once per value by
    type processors (the bulk import spends half its time there otherwise):
    :class:`~core.models.UTCDateTime` values become naive UTC (on SQLite the
    same text SQLAlchemy writes), once for the whole batch when it shares one
    timestamp (an import batch does).  Every other column type in these tables (text, bytes,
    booleans, integers) is stored as the driver stores it.

    On SQLite the statement is SQLAlchemy Core's INSERT run by ``executemany``
    and the values are handed to the driver in the types it binds without its
    adaptation protocol (which costs about half a microsecond per ``bytes``,
    ``bool`` or ``None`` value): booleans as 0/1 and blobs as ``bytearray`` --
    the stored values and types are exactly those of ``True``/``False`` and
    ``bytes`` -- and a column that is NULL in every row of the batch (and has
    no default) is left out of the INSERT, which stores the same NULL.  On
    PostgreSQL with psycopg the rows go through ``COPY ... FROM STDIN`` in the
    same transaction (one stream instead of a statement per row); other
    drivers get the compiled INSERT through ``executemany``.  Driver errors
    surface as SQLAlchemy's (``IntegrityError`` for a duplicate key).
    """
    if not columns or not columns[0]:
        return
    dialect = conn.dialect
    sqlite = dialect.name == "sqlite"
    copy = dialect.name == "postgresql" and dialect.driver == "psycopg"
    by_name = dict(zip(names, columns, strict=True))
    keys = list(names)
    if sqlite:
        keys = [
            k
            for k in keys
            if not (_null_by_default(table.c[k]) and by_name[k].count(None) == len(by_name[k]))
        ]
    compiled = sa.insert(table).compile(dialect=dialect, column_keys=keys)
    order = keys if copy or not compiled.positional else list(compiled.positiontup or ())
    converted = [_column_values(table.c[k], by_name[k], sqlite=sqlite) for k in order]
    if copy:
        _copy_rows(conn, table, order, list(zip(*converted, strict=True)))
    elif compiled.positional:
        conn.exec_driver_sql(str(compiled), list(zip(*converted, strict=True)))
    else:
        conn.exec_driver_sql(
            str(compiled), [dict(zip(order, values, strict=True)) for values in zip(*converted, strict=True)]
        )


def _column_values(column: sa.Column[Any], values: list[Any], *, sqlite: bool) -> list[Any]:
    """One column of a batch, converted for the driver (see :func:`bulk_insert_columns`).

    Column-wise list comprehensions: no Python function call per value.
    """
    col_type = column.type
    if isinstance(col_type, UTCDateTime):
        if values and values.count(values[0]) == len(values):  # the batch's one timestamp
            return [_utc_naive(values[0], sqlite=sqlite)] * len(values)
        return [_utc_naive(v, sqlite=sqlite) for v in values]
    if sqlite and isinstance(col_type, sa.Boolean):
        return [None if v is None else 1 if v else 0 for v in values]
    if sqlite and isinstance(col_type, sa.LargeBinary):
        return [None if v is None else bytearray(v) for v in values]
    return values


def _utc_naive(value: dt.datetime | None, *, sqlite: bool) -> Any:
    """What SQLAlchemy binds for :class:`~core.models.UTCDateTime`: naive UTC (text on SQLite)."""
    if value is None:
        return None
    if value.tzinfo is None:
        raise ValueError("naive datetime given to a UTC column")
    naive = value.astimezone(dt.UTC).replace(tzinfo=None)
    return naive.strftime(_SQLITE_DATETIME) if sqlite else naive


def _copy_rows(
    conn: Connection, table: sa.Table, columns: Sequence[str], rows: Sequence[tuple[Any, ...]]
) -> None:
    """``COPY table (columns) FROM STDIN`` on the connection's psycopg connection, in its transaction.

    In PostgreSQL's binary format when every column's type has a known binary
    form (:func:`_binary_copy_type`): the server then reads ciphertexts and
    timestamps as they are instead of parsing hex and date text.
    """
    import psycopg
    from psycopg import sql

    types = [_binary_copy_type(table.c[c].type) for c in columns]
    binary = all(t is not None for t in types)
    name = sql.Identifier(table.schema, table.name) if table.schema else sql.Identifier(table.name)
    statement = sql.SQL("COPY {} ({}) FROM STDIN" + (" (FORMAT BINARY)" if binary else "")).format(
        name, sql.SQL(", ").join(sql.Identifier(c) for c in columns)
    )
    driver = conn.connection.driver_connection
    assert isinstance(driver, psycopg.Connection)
    try:
        with driver.cursor() as cursor, cursor.copy(statement) as stream:
            if binary:
                stream.set_types([t for t in types if t is not None])
            for row in rows:
                stream.write_row(row)
    except psycopg.Error as exc:
        raise sa.exc.DBAPIError.instance(
            f"COPY {table.name}", None, exc, psycopg.Error, dialect=conn.dialect
        ) from exc


def _binary_copy_type(col_type: sa.types.TypeEngine[Any]) -> str | None:
    """The PostgreSQL type whose binary form a column of this type reads in ``COPY``, if known.

    Binary COPY sends each value in the column type's own wire format, so the
    name must match the column exactly (an ``int8`` into an ``int4`` column is
    an error, not a conversion); text-like types share one format.
    """
    if isinstance(col_type, sa.Boolean):
        return "bool"
    if isinstance(col_type, sa.BigInteger):
        return "int8"
    if isinstance(col_type, sa.Integer):
        return "int4"
    if isinstance(col_type, sa.LargeBinary):
        return "bytea"
    if isinstance(col_type, sa.String):
        return "text"
    if isinstance(col_type, UTCDateTime):
        return "timestamp"  # naive UTC (see _utc_naive), a timestamp without time zone
    return None


_EXISTING_EXTERNAL_IDS = sa.select(customers_t.c.external_id).where(
    customers_t.c.external_id.in_(sa.bindparam("ids", expanding=True))
)  # one statement, compiled once (cached), whatever the ids
_EXISTING_SQLITE = "SELECT external_id FROM customers WHERE external_id IN (SELECT value FROM json_each(?))"
_EXISTING_POSTGRESQL = "SELECT external_id FROM customers WHERE external_id = ANY(%(ids)s::text[])"


class CustomerStore:
    """Encrypted writes and key handling for customers, notes and transactions."""

    def __init__(self, *, keyring: KeyRing, phone_region: str, screen: FieldScreen | None = None) -> None:
        self.keyring = keyring
        self.phone_region = phone_region
        self.screen = screen
        self._index_cache: tuple[bytes, HmacSha256] | None = None
        self._pseudonym_cache: tuple[bytes, HmacSha256] | None = None

    # -- keys ---------------------------------------------------------------

    def bind_keys(self, conn: Connection) -> None:
        """Check that the key source and the key store match this store; on a new store, record them.

        A wrong key raises :class:`WrongKeyError` naming the key source, a key
        store that is not the data's :class:`KeyStoreMismatchError`, before
        anything is written.  See :func:`core.keystore.bind`.
        """
        provider = self.keyring.provider
        stored = conn.execute(sa.select(meta_t.c.value).where(meta_t.c.key == "key_fingerprint")).scalar()
        if stored is None:
            conn.execute(sa.insert(meta_t).values(key="key_fingerprint", value=self.keyring.fingerprint))
        elif stored != self.keyring.fingerprint:
            raise WrongKeyError(
                f"{provider.describe()} does not match this store (root key fingerprint differs)"
            )
        keystore.bind(conn, self.keyring)
        if keystore.separate_commits(conn):
            self.destroy_leftover_keys(conn)  # an erasure that crashed between the two files' commits

    def email_index(self, email: str) -> bytes:
        return self._index_hmac().blind_index("email:" + normalise_email(email))

    def phone_index(self, phone: str) -> bytes:
        """The blind index a phone is stored under, read as :func:`resolve_phone` reads it at import."""
        normalised = resolve_phone(phone, self.phone_region)
        if normalised is None:
            raise InputError("phone is not a valid phone number")
        return self._index_hmac().blind_index("phone:" + normalised)

    # -- customers ----------------------------------------------------------

    def _index_hmac(self) -> HmacSha256:
        """The blind-index HMAC with its key schedule computed once (per key ring)."""
        key = self.keyring.index_key
        cached = self._index_cache
        if cached is None or cached[0] is not key:
            cached = self._index_cache = (key, HmacSha256(key))
        return cached[1]

    def pseudonym(self, customer_id: str) -> str:
        """:meth:`core.keys.KeyRing.pseudonym`, with the HMAC key schedule computed once (per key ring)."""
        key = self.keyring.pseudonym_key
        cached = self._pseudonym_cache
        if cached is None or cached[0] is not key:
            cached = self._pseudonym_cache = (key, HmacSha256(key))
        return "p_" + cached[1].digest(customer_id.encode()).hex()[:24]

    def prepare(
        self, inp: CustomerValues, *, now: dt.datetime | None = None, random: bytes | None = None
    ) -> PreparedCustomer:
        """Validate and encrypt one customer.  Raises :class:`InputError` (never echoing the value).

        ``random``: :data:`ROW_RANDOM_BYTES` fresh bytes from the OS CSPRNG (``os.urandom``) for
        the customer id and the data key, when the caller draws them for many rows in one call
        (:mod:`core.prepare_pool`); each row's bytes must be used for that row only.
        """
        now = now or utcnow()
        if random is not None and len(random) != ROW_RANDOM_BYTES:
            raise ValueError("prepare takes ROW_RANDOM_BYTES random bytes")
        external_id = _check_external_id(inp.external_id)
        full_name = _check_text("full_name", inp.full_name, required=True)
        owner = _check_text("owner", inp.owner, required=True) or ""
        address = _check_text("postal_address", inp.postal_address)
        email, email_key = self._contact("email", inp.email, None)
        phone, phone_key = self._contact("phone", inp.phone, address)
        birth_date = inp.birth_date
        if birth_date is not None and birth_date > now.date():
            raise InputError("birth_date is in the future")
        if random is None:
            customer_id, data_key = new_customer_id(), new_key()
        else:
            customer_id, data_key = new_customer_id(random[:ID_RANDOM_BYTES]), random[ID_RANDOM_BYTES:]
        if self.keyring.hint() is None:
            raise KeyStoreMismatchError("the key store is not open (bind_keys was not called)")
        wrapped, kek_version = self.keyring.wrap_ahead(customer_id, data_key)
        cipher = FieldCipher(data_key, table="customers", row_id=customer_id, key_version=1)
        sensitivity, analysis = self._screen({"full_name": full_name, "postal_address": address})
        name_ct, email_ct, phone_ct, address_ct, birth_ct, analysis_ct = cipher.encrypt_columns(
            (
                ("full_name", full_name),
                ("email", email),
                ("phone", phone),
                ("postal_address", address),
                ("birth_date", birth_date.isoformat() if birth_date is not None else None),
                ("text_analysis", analysis.decode() if analysis else None),
            )
        )
        index = self._index_hmac()
        flagged = sensitivity == "sensitive"
        row = (  # in the order of CUSTOMER_ROW
            customer_id,
            external_id,
            owner,
            self.pseudonym(customer_id),
            name_ct,
            email_ct,
            phone_ct,
            address_ct,
            birth_ct,
            index.blind_index("email:" + email_key) if email_key else None,
            index.blind_index("phone:" + phone_key) if phone_key else None,
            1,  # dek_version
            analysis_ct,
            sensitivity,
            bool(inp.consent_marketing_email),
            bool(inp.consent_marketing_post),
            bool(inp.consent_profiling),
            inp.do_not_contact,
            inp.deceased,
            flagged,  # under_review
            review_reason_of(analysis) if flagged else None,
            now,  # created_at
            now,  # updated_at
            None,  # erased_at
        )
        key_row = (customer_id, wrapped, kek_version, now)  # in the order of KEY_ROW
        consents = tuple(
            [
                (purpose, bool(value))
                for purpose, value in (
                    ("marketing_email", inp.consent_marketing_email),
                    ("marketing_post", inp.consent_marketing_post),
                    ("profiling", inp.consent_profiling),
                )
                if value is not None
            ]
        )
        return PreparedCustomer(
            customer_id, external_id, owner, row, key_row, consents, sensitivity, data_key
        )

    def warm_up(self, sample: Iterable[CustomerInput]) -> None:
        """Prepare ``sample`` and discard it: builds what :meth:`prepare` loads on first use.

        For a process about to fork workers (:mod:`core.prepare_pool`).  Nothing
        is stored; rows that would be refused are skipped.
        """
        now = utcnow()
        for inp in sample:
            try:
                self.prepare(inp, now=now)
            except HushError:
                continue

    def _contact(self, name: str, value: str | None, address: str | None) -> tuple[str | None, str | None]:
        """``(stored value, normalised value)`` of an email or phone; see :data:`KEPT_AS_GIVEN`.

        The normalised value is stored and blind-indexed; a value that does
        not normalise is stored as given (stripped), not indexed.  Too long or
        with control characters, it refuses the row (:class:`InputError`).
        """
        if value is None or not value.strip():
            return None, None
        if name == "email":
            try:
                email = normalise_email(value)
            except InputError:
                return _check_text(name, value), None
            return email, email
        phone = resolve_phone(value, self.phone_region, address=address)
        return (phone, phone) if phone is not None else (_check_text(name, value), None)

    def _screen(self, values: Mapping[str, str | None]) -> tuple[str, bytes | None]:
        present = {k: v for k, v in values.items() if v}
        if self.screen is None or not present:
            return "none", None
        return self.screen.screen_fields(present)

    def insert_keys(self, conn: Connection, prepared: Sequence[PreparedCustomer]) -> KekLease:
        """Store the prepared customers' data keys, wrapped under the version current in ``conn``'s transaction.

        One read of the key state per call (:func:`core.keystore.read_current`);
        a key prepared under another version is wrapped again from its data
        key.  Commit this no later than the customer rows (on SQLite: before,
        in a transaction of its own, see :func:`core.keystore.separate_commits`).
        """
        lease = keystore.read_current(conn, self.keyring)
        if not prepared:
            return lease
        rows = [
            p.key_row
            if p.key_row[2] == lease.version
            else (
                p.customer_id,
                self.keyring.wrap(p.customer_id, p.data_key, lease)[0],
                lease.version,
                p.key_row[3],
            )
            for p in prepared
        ]
        try:
            bulk_insert_rows(conn, customer_keys_t, KEY_ROW, rows)
        except IntegrityError as exc:  # a customer id (UUIDv7, 74 random bits) already has a key
            raise ConflictError("a data key for this customer id already exists") from exc
        return lease

    def delete_keys(self, conn: Connection, customer_ids: Sequence[str]) -> None:
        """Delete data keys whose customers were never stored (an import that failed after its keys)."""
        for i in range(0, len(customer_ids), 500):
            conn.execute(
                sa.delete(customer_keys_t).where(customer_keys_t.c.customer_id.in_(customer_ids[i : i + 500]))
            )

    def insert(self, conn: Connection, prepared: Sequence[PreparedCustomer], *, source: str) -> None:
        """Insert prepared customers and their keys in ``conn``'s transaction (see :func:`bulk_insert_columns`).

        For one atomic database (PostgreSQL).  On SQLite the import commits
        :meth:`insert_keys` first and :meth:`insert_customers` after, so that no
        customer row is ever committed without its key.
        """
        self.insert_keys(conn, prepared)
        self.insert_customers(conn, prepared, source=source)

    def insert_customers(
        self, conn: Connection, prepared: Sequence[PreparedCustomer], *, source: str
    ) -> None:
        """Insert prepared customers (one statement per table); their keys are stored already."""
        if not prepared:
            return
        now = prepared[0].created_at
        try:
            bulk_insert_rows(conn, customers_t, CUSTOMER_ROW, [p.row for p in prepared])
            consent_rows = [
                (p.customer_id, purpose, granted, now, source)
                for p in prepared
                for purpose, granted in p.consents
            ]
            bulk_insert_rows(conn, consent_events_t, _CONSENT_ROW, consent_rows)
        except IntegrityError as exc:
            raise ConflictError("a customer with this external_id already exists") from exc

    def existing_external_ids(self, conn: Connection, external_ids: Iterable[str]) -> set[str]:
        """Which of ``external_ids`` are stored already: one statement per batch.

        The ids travel as one parameter -- a JSON array read by ``json_each`` on
        SQLite, an array on PostgreSQL with psycopg -- so the statement is the
        same text for any number of ids and nothing is rendered per call (an
        expanding ``IN`` re-renders its placeholders on every batch of an import).
        """
        ids = list(set(external_ids))
        if not ids:
            return set()
        dialect = conn.dialect
        if dialect.name == "sqlite":
            rows = conn.exec_driver_sql(_EXISTING_SQLITE, (json.dumps(ids),))
            return {r[0] for r in rows}
        if dialect.name == "postgresql" and dialect.driver == "psycopg":
            rows = conn.exec_driver_sql(_EXISTING_POSTGRESQL, {"ids": ids})
            return {r[0] for r in rows}
        found: set[str] = set()
        for i in range(0, len(ids), 500):
            found.update(conn.execute(_EXISTING_EXTERNAL_IDS, {"ids": ids[i : i + 500]}).scalars())
        return found

    def _data_key(self, conn: Connection, customer_id: str) -> bytes:
        query = sa.select(customer_keys_t.c.wrapped_key, customer_keys_t.c.kek_version).where(
            customer_keys_t.c.customer_id == customer_id
        )
        for attempt in (1, 2):
            row = conn.execute(query).first()
            if row is None:
                raise ErasedError(f"customer {customer_id} has no data key (erased)")
            try:
                return self.keyring.unwrap(customer_id, row.wrapped_key, row.kek_version)
            except KeyUnavailableError:
                # PostgreSQL (read committed): a rotation may have re-wrapped the key and
                # retired its old version since the row was read; the next read sees the new one.
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    def update(
        self, conn: Connection, customer_id: str, changes: CustomerChanges, *, source: str
    ) -> tuple[str, ...]:
        """Apply ``changes``; returns the fields stored as given (see :data:`KEPT_AS_GIVEN`)."""
        now = utcnow()
        kept: list[str] = []
        cipher = FieldCipher(
            self._data_key(conn, customer_id), table="customers", row_id=customer_id, key_version=1
        )
        values: dict[str, Any] = {"updated_at": now}
        for name in changes.clear:
            if name not in PII_FIELDS or name == "full_name":
                raise InputError(f"cannot clear field {name}")
            values[f"{name}_ct"] = None
            if name in ("email", "phone"):
                values[f"{name}_bidx"] = None
        if changes.full_name is not None:
            values["full_name_ct"] = cipher.encrypt(
                "full_name", _check_text("full_name", changes.full_name, required=True)
            )
        if changes.postal_address is not None:
            values["postal_address_ct"] = cipher.encrypt(
                "postal_address", _check_text("postal_address", changes.postal_address)
            )
        for name in ("email", "phone"):
            given = getattr(changes, name)
            if given is None:
                continue
            address = None
            if name == "phone" and not given.strip().startswith("+"):
                address = changes.postal_address
                if address is None:  # a national number: the stored address may name its country
                    stored = conn.execute(
                        sa.select(customers_t.c.postal_address_ct).where(customers_t.c.id == customer_id)
                    ).scalar()
                    address = cipher.decrypt("postal_address", stored)
            value, key = self._contact(name, given, address)
            if value is None:
                raise InputError(f"{name} is empty (use clear to remove it)")
            values[f"{name}_ct"] = cipher.encrypt(name, value)
            values[f"{name}_bidx"] = self._index_hmac().blind_index(f"{name}:{key}") if key else None
            if key is None:
                kept.append(name)
        if changes.birth_date is not None:
            if changes.birth_date > now.date():
                raise InputError("birth_date is in the future")
            values["birth_date_ct"] = cipher.encrypt("birth_date", changes.birth_date.isoformat())
        if changes.do_not_contact is not None:
            values["do_not_contact"] = changes.do_not_contact
        if changes.deceased is not None:
            values["deceased"] = changes.deceased
        if changes.full_name is not None or changes.postal_address is not None:
            current = conn.execute(
                sa.select(customers_t.c.full_name_ct, customers_t.c.postal_address_ct).where(
                    customers_t.c.id == customer_id
                )
            ).one()
            name = changes.full_name or cipher.decrypt("full_name", current.full_name_ct) or ""
            address = changes.postal_address or cipher.decrypt("postal_address", current.postal_address_ct)
            sensitivity, analysis = self._screen({"full_name": name, "postal_address": address})
            values["text_sensitivity"] = sensitivity
            values["text_analysis_ct"] = (
                cipher.encrypt("text_analysis", analysis.decode()) if analysis else None
            )
            if sensitivity == "sensitive":
                values["under_review"] = True
                values["review_reason"] = review_reason_of(analysis)
        try:
            conn.execute(sa.update(customers_t).where(customers_t.c.id == customer_id).values(**values))
        except IntegrityError as exc:
            raise ConflictError("update conflicts with another customer") from exc
        return tuple(kept)

    def set_consent(
        self, conn: Connection, customer_id: str, consents: Mapping[str, bool], *, source: str
    ) -> None:
        now = utcnow()
        values: dict[str, Any] = {"updated_at": now}
        rows = []
        for purpose, granted in consents.items():
            if purpose not in ("marketing_email", "marketing_post", "profiling"):
                raise InputError(f"unknown consent purpose {purpose!r}")
            values[f"consent_{purpose}"] = bool(granted)
            rows.append(
                {
                    "customer_id": customer_id,
                    "purpose": purpose,
                    "granted": bool(granted),
                    "at": now,
                    "source": source,
                }
            )
        conn.execute(sa.update(customers_t).where(customers_t.c.id == customer_id).values(**values))
        if rows:
            conn.execute(sa.insert(consent_events_t), rows)

    def set_review(
        self, conn: Connection, customer_id: str, *, under_review: bool, reason: str | None
    ) -> None:
        conn.execute(
            sa.update(customers_t)
            .where(customers_t.c.id == customer_id)
            .values(under_review=under_review, review_reason=reason, updated_at=utcnow())
        )

    # -- notes --------------------------------------------------------------

    def insert_note(
        self,
        conn: Connection,
        customer_id: str,
        *,
        author: str,
        body: str,
        analysis: bytes,
        sensitivity: str,
        analyser_version: str,
        created_at: dt.datetime | None = None,
    ) -> str:
        note_id = str(uuid.uuid4())
        cipher = FieldCipher(self._data_key(conn, customer_id), table="notes", row_id=note_id, key_version=1)
        conn.execute(
            sa.insert(notes_t).values(
                id=note_id,
                customer_id=customer_id,
                author=author,
                created_at=created_at or utcnow(),
                body_ct=cipher.encrypt("body", body),
                analysis_ct=cipher.encrypt("analysis", analysis.decode()),
                sensitivity=sensitivity,
                analyser_version=analyser_version,
            )
        )
        if sensitivity == "sensitive":
            self.set_review(conn, customer_id, under_review=True, reason="sensitive note")
        return note_id

    def replace_note_analysis(
        self,
        conn: Connection,
        customer_id: str,
        note_id: str,
        *,
        analysis: bytes,
        sensitivity: str,
        version: str,
    ) -> None:
        cipher = FieldCipher(self._data_key(conn, customer_id), table="notes", row_id=note_id, key_version=1)
        conn.execute(
            sa.update(notes_t)
            .where(notes_t.c.id == note_id)
            .values(
                analysis_ct=cipher.encrypt("analysis", analysis.decode()),
                sensitivity=sensitivity,
                analyser_version=version,
            )
        )

    # -- transactions -------------------------------------------------------

    def insert_transactions(self, conn: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
        if rows:
            conn.execute(sa.insert(transactions_t), list(rows))

    @staticmethod
    def transaction_row(customer_id: str, tx: TransactionInput) -> dict[str, Any]:
        try:
            amount = Decimal(tx.amount)
        except (InvalidOperation, ValueError) as exc:
            raise InputError("amount is not a decimal number") from exc
        if not amount.is_finite() or abs(amount) >= Decimal("1e10"):
            raise InputError("amount is out of range")
        currency = (tx.currency or "").strip().upper()
        if len(currency) != 3 or not currency.isalpha():
            raise InputError("currency must be a three-letter code")
        product = (tx.product or "").strip()
        if not product or len(product) > 128:
            raise InputError("product is required (at most 128 characters)")
        return {
            "customer_id": customer_id,
            "occurred_at": tx.occurred_at,
            "amount": amount.quantize(Decimal("0.01")),
            "currency": currency,
            "product": product,
            "category": (tx.category or "").strip()[:64] or "uncategorised",
        }

    # -- erasure ------------------------------------------------------------

    def shred(self, conn: Connection, customer_id: str) -> dt.datetime:
        """Crypto-shred one customer in ``conn``'s transaction; returns ``erased_at``.

        Deletes the customer's data key in the key store (one row: no other
        key is touched, whatever the size of the store), clears ciphertexts,
        blind indexes and note bodies, and sets ``erased_at``.  Transactions
        stay, keyed by the internal id and reported under the pseudonym.
        Raises :class:`NotFoundError`, or :class:`ErasedError` when the
        customer is erased already.

        PostgreSQL commits it all at once.  SQLite commits the data file and
        then the key-store file: a crash in between leaves the data erased and
        the key behind, which :meth:`destroy_leftover_keys` removes (every
        process does on opening the store; a rerun of the erasure does too).
        """
        now = utcnow()
        cleared = {f"{name}_ct": None for name in PII_FIELDS}
        done = conn.execute(
            sa.update(customers_t)
            .where(customers_t.c.id == customer_id, customers_t.c.erased_at.is_(None))
            .values(
                **cleared,
                email_bidx=None,
                phone_bidx=None,
                text_analysis_ct=None,
                erased_at=now,
                updated_at=now,
            )
        )
        if not done.rowcount:
            found = conn.execute(sa.select(customers_t.c.id).where(customers_t.c.id == customer_id)).first()
            if found is None:
                raise NotFoundError("customer not found")
            raise ErasedError("customer is already erased")
        conn.execute(
            sa.update(notes_t)
            .where(notes_t.c.customer_id == customer_id)
            .values(body_ct=None, analysis_ct=None)
        )
        conn.execute(sa.delete(customer_keys_t).where(customer_keys_t.c.customer_id == customer_id))
        return now

    def destroy_leftover_keys(self, conn: Connection, customer_ids: Sequence[str] | None = None) -> int:
        """Delete data keys that erased customers still have (see :meth:`shred`); returns how many.

        All erased customers (found through the partial index on
        ``erased_at``), or only ``customer_ids``.
        """
        erased = sa.select(customers_t.c.id).where(customers_t.c.erased_at.is_not(None))
        if customer_ids is not None:
            erased = erased.where(customers_t.c.id.in_(list(customer_ids)))
        done = conn.execute(sa.delete(customer_keys_t).where(customer_keys_t.c.customer_id.in_(erased)))
        return int(done.rowcount or 0)

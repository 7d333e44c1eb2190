"""The relational schema of hushdb's own tables (SQLAlchemy 2.x Core ``Table``s).

Columns that hold personal data end in ``_ct``: they are AES-256-GCM
ciphertexts (see :mod:`core.crypto`).  ``*_bidx`` columns are blind indexes
(HMAC-SHA256 of a normalised value).  Behavioural data (transactions) is not
encrypted: it is keyed by the internal customer id, never by a name.

The audit tables belong to :mod:`audit.tables`; every schema change is an
Alembic migration under ``core/migrations/versions``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.types import TypeDecorator

CONSENT_PURPOSES = ("marketing_email", "marketing_post", "profiling")
SENSITIVITY_LEVELS = ("none", "personal", "sensitive")


class UTCDateTime(TypeDecorator[dt.datetime]):
    """Timezone-aware UTC datetimes, stored naive-UTC so SQLite and PostgreSQL agree."""

    impl = sa.DateTime
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: sa.Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(dt.UTC).replace(tzinfo=None)

    def process_result_value(self, value: Any, dialect: sa.Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if isinstance(value, str):
            value = dt.datetime.fromisoformat(value)
        assert isinstance(value, dt.datetime)
        return value.replace(tzinfo=dt.UTC)


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


metadata = sa.MetaData()
"""hushdb's own tables (the key store's are in :data:`keystore_metadata`); the DDL is the migrations'."""

meta_t = sa.Table(
    "meta",
    metadata,
    # store-wide facts, e.g. the fingerprint of the key source this store was made with
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)

customers_t = sa.Table(
    "customers",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("external_id", sa.String(128), nullable=False, unique=True),
    sa.Column("owner", sa.String(128), nullable=False),
    sa.Column("pseudonym", sa.String(40), nullable=False, unique=True),
    sa.Column("full_name_ct", sa.LargeBinary),
    sa.Column("email_ct", sa.LargeBinary),
    sa.Column("phone_ct", sa.LargeBinary),
    sa.Column("postal_address_ct", sa.LargeBinary),
    sa.Column("birth_date_ct", sa.LargeBinary),
    sa.Column("email_bidx", sa.LargeBinary(32), index=True),
    sa.Column("phone_bidx", sa.LargeBinary(32), index=True),
    sa.Column("dek_version", sa.Integer, nullable=False, default=1),
    # Analysis of the customer's own text fields (name, address), encrypted;
    # the level is clear so that exports can filter in SQL.
    sa.Column("text_analysis_ct", sa.LargeBinary),
    sa.Column("text_sensitivity", sa.String(16), nullable=False, default="none"),
    sa.Column("consent_marketing_email", sa.Boolean, nullable=False, default=False),
    sa.Column("consent_marketing_post", sa.Boolean, nullable=False, default=False),
    sa.Column("consent_profiling", sa.Boolean, nullable=False, default=False),
    sa.Column("do_not_contact", sa.Boolean, nullable=False, default=False),
    sa.Column("deceased", sa.Boolean, nullable=False, default=False),
    sa.Column("under_review", sa.Boolean, nullable=False, default=False),
    sa.Column("review_reason", sa.String(64)),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.Column("erased_at", UTCDateTime),
    # (owner, id): a sales rep's rows in id order (also serves owner = ? alone)
    sa.Index("ix_customers_owner_id", "owner", "id"),
    # only erased rows are worth an index entry: partial, WHERE erased_at IS NOT NULL on both
    # databases (migration 0008 creates it; tests/core/test_db.py checks the clause).  The clause
    # is not repeated here as sqlite_where/postgresql_where: naming postgresql_where loads
    # SQLAlchemy's PostgreSQL dialect (~25 ms) in every process, also on SQLite, and these
    # tables never emit DDL (the migrations do).
    sa.Index("ix_customers_erased", "erased_at"),
)

consent_events_t = sa.Table(
    "consent_events",
    metadata,
    # history of consent changes (append only by convention; the current state is on customers)
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("customer_id", sa.String(36), sa.ForeignKey("customers.id"), nullable=False, index=True),
    sa.Column("purpose", sa.String(32), nullable=False),
    sa.Column("granted", sa.Boolean, nullable=False),
    sa.Column("at", UTCDateTime, nullable=False),
    sa.Column("source", sa.String(64), nullable=False),
)

notes_t = sa.Table(
    "notes",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("customer_id", sa.String(36), sa.ForeignKey("customers.id"), nullable=False, index=True),
    sa.Column("author", sa.String(128), nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("body_ct", sa.LargeBinary),
    sa.Column("analysis_ct", sa.LargeBinary),
    sa.Column("sensitivity", sa.String(16), nullable=False, default="none"),
    sa.Column("analyser_version", sa.String(32)),
)

transactions_t = sa.Table(
    "transactions",
    metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True),
    sa.Column("customer_id", sa.String(36), sa.ForeignKey("customers.id"), nullable=False, index=True),
    sa.Column("occurred_at", UTCDateTime, nullable=False, index=True),
    sa.Column("amount", sa.Numeric(12, 2), nullable=False),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("product", sa.String(128), nullable=False),
    sa.Column("category", sa.String(64), nullable=False),
)


# -- the key store ------------------------------------------------------------------
#
# Wrapped data keys and the key-encryption-key state live apart from the data: on
# SQLite in their own database file (``keystore.sqlite3`` next to the data file,
# ATTACHed as ``keystore`` on every connection), on PostgreSQL in the schema
# ``keystore``.  Data backups copy the data only, so they hold ciphertext without
# any key to it; erasure deletes one row here.  See :mod:`core.keystore`.

KEYSTORE_SCHEMA = "keystore"
keystore_metadata = sa.MetaData(schema=KEYSTORE_SCHEMA)

key_state_t = sa.Table(
    "key_state",
    keystore_metadata,
    # one row (id = 1): which key store this is and the KEK version every wrap uses now
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("store_id", sa.String(36), nullable=False),
    sa.Column("current_version", sa.Integer, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
)

key_versions_t = sa.Table(
    "key_versions",
    keystore_metadata,
    # key-encryption-key versions: a check value per version, never the key
    sa.Column("version", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("check_value", sa.LargeBinary(32), nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("retired_at", UTCDateTime, nullable=True),
)

customer_keys_t = sa.Table(
    "customer_keys",
    keystore_metadata,
    # the customer's data key wrapped by a KEK; erasure deletes this row.  No foreign key:
    # the customer row lives in another database (SQLite) or schema (PostgreSQL).
    sa.Column("customer_id", sa.String(36), primary_key=True),
    sa.Column("wrapped_key", sa.LargeBinary, nullable=False),
    sa.Column("kek_version", sa.Integer, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Index("ix_customer_keys_kek_version", "kek_version"),
)

"""The relational schema of hushdb's own tables (SQLAlchemy 2.x declarative).

Columns that hold personal data end in ``_ct``: they are AES-256-GCM
ciphertexts (see :mod:`core.crypto`).  ``*_bidx`` columns are blind indexes
(HMAC-SHA256 of a normalised value).  Behavioural data (transactions) is not
encrypted: it is keyed by the internal customer id, never by a name.

The audit tables belong to :mod:`audit.tables`; every schema change is an
Alembic migration under ``core/migrations/versions``.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
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


class Base(DeclarativeBase):
    pass


class Meta(Base):
    """Store-wide facts, e.g. the fingerprint of the key source this store was made with."""

    __tablename__ = "meta"
    key: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    value: Mapped[str] = mapped_column(sa.Text)


class Customer(Base):
    __tablename__ = "customers"
    __table_args__ = (
        # (owner, id): a sales rep's rows in id order (also serves owner = ? alone)
        sa.Index("ix_customers_owner_id", "owner", "id"),
        # only erased rows are worth an index entry (partial; migration 0008)
        sa.Index(
            "ix_customers_erased",
            "erased_at",
            sqlite_where=sa.text("erased_at IS NOT NULL"),
            postgresql_where=sa.text("erased_at IS NOT NULL"),
        ),
    )
    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True)
    external_id: Mapped[str] = mapped_column(sa.String(128), unique=True)
    owner: Mapped[str] = mapped_column(sa.String(128))
    pseudonym: Mapped[str] = mapped_column(sa.String(40), unique=True)
    full_name_ct: Mapped[bytes | None] = mapped_column(sa.LargeBinary)
    email_ct: Mapped[bytes | None] = mapped_column(sa.LargeBinary)
    phone_ct: Mapped[bytes | None] = mapped_column(sa.LargeBinary)
    postal_address_ct: Mapped[bytes | None] = mapped_column(sa.LargeBinary)
    birth_date_ct: Mapped[bytes | None] = mapped_column(sa.LargeBinary)
    email_bidx: Mapped[bytes | None] = mapped_column(sa.LargeBinary(32), index=True)
    phone_bidx: Mapped[bytes | None] = mapped_column(sa.LargeBinary(32), index=True)
    dek_version: Mapped[int] = mapped_column(sa.Integer, default=1)
    # Analysis of the customer's own text fields (name, address), encrypted;
    # the level is clear so that exports can filter in SQL.
    text_analysis_ct: Mapped[bytes | None] = mapped_column(sa.LargeBinary)
    text_sensitivity: Mapped[str] = mapped_column(sa.String(16), default="none")
    consent_marketing_email: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    consent_marketing_post: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    consent_profiling: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    do_not_contact: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    deceased: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    under_review: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    review_reason: Mapped[str | None] = mapped_column(sa.String(64))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    erased_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class ConsentEvent(Base):
    """History of consent changes (append only by convention; the current state is on customers)."""

    __tablename__ = "consent_events"
    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    customer_id: Mapped[str] = mapped_column(sa.String(36), sa.ForeignKey("customers.id"), index=True)
    purpose: Mapped[str] = mapped_column(sa.String(32))
    granted: Mapped[bool] = mapped_column(sa.Boolean)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    source: Mapped[str] = mapped_column(sa.String(64))


class Note(Base):
    __tablename__ = "notes"
    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True)
    customer_id: Mapped[str] = mapped_column(sa.String(36), sa.ForeignKey("customers.id"), index=True)
    author: Mapped[str] = mapped_column(sa.String(128))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    body_ct: Mapped[bytes | None] = mapped_column(sa.LargeBinary)
    analysis_ct: Mapped[bytes | None] = mapped_column(sa.LargeBinary)
    sensitivity: Mapped[str] = mapped_column(sa.String(16), default="none")
    analyser_version: Mapped[str | None] = mapped_column(sa.String(32))


class Transaction(Base):
    __tablename__ = "transactions"
    id: Mapped[int] = mapped_column(sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True)
    customer_id: Mapped[str] = mapped_column(sa.String(36), sa.ForeignKey("customers.id"), index=True)
    occurred_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)
    amount: Mapped[Decimal] = mapped_column(sa.Numeric(12, 2))
    currency: Mapped[str] = mapped_column(sa.String(3))
    product: Mapped[str] = mapped_column(sa.String(128))
    category: Mapped[str] = mapped_column(sa.String(64))


meta_t = cast(sa.Table, Meta.__table__)
customers_t = cast(sa.Table, Customer.__table__)
consent_events_t = cast(sa.Table, ConsentEvent.__table__)
notes_t = cast(sa.Table, Note.__table__)
transactions_t = cast(sa.Table, Transaction.__table__)


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

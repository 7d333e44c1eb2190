"""The key store: wrapped data keys and KEK state move out of the data.

Creates the key store (PostgreSQL: the schema ``keystore``; SQLite: the
tables in the file ``keystore.sqlite3`` that every connection ATTACHes as
``keystore``, see :mod:`core.keystore`), moves every ``customer_keys`` and
``key_versions`` row there, records the current KEK version (the newest one
not retired) in ``keystore.key_state`` under a new key-store id that the data
records in ``meta.keystore_id``.

PostgreSQL drops the old tables in the same (atomic) transaction.  SQLite
commits the two files one after the other, the data file first, so here the
old tables are only renamed (``legacy_*``); :func:`core.keystore.finish_migration`
copies anything the key store lacks and drops them afterwards, in
transactions of its own.  Every existing record stays readable.

Revision ID: 0009_keystore
Revises: 0008_customer_index_diet
"""

from __future__ import annotations

import datetime as dt
import uuid

import sqlalchemy as sa
from alembic import op

revision = "0009_keystore"
down_revision = "0008_customer_index_diet"
branch_labels = None
depends_on = None

KS = "keystore"


def _create_keystore_tables() -> None:
    op.create_table(
        "key_state",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("store_id", sa.String(36), nullable=False),
        sa.Column("current_version", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        schema=KS,
        if_not_exists=True,
    )
    op.create_table(
        "key_versions",
        sa.Column("version", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("check_value", sa.LargeBinary(32), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("retired_at", sa.DateTime(), nullable=True),
        schema=KS,
        if_not_exists=True,
    )
    op.create_table(
        "customer_keys",
        sa.Column("customer_id", sa.String(36), primary_key=True),
        sa.Column("wrapped_key", sa.LargeBinary(), nullable=False),
        sa.Column("kek_version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        schema=KS,
        if_not_exists=True,
    )
    op.create_index(
        "ix_customer_keys_kek_version", "customer_keys", ["kek_version"], schema=KS, if_not_exists=True
    )


def upgrade() -> None:
    bind = op.get_bind()
    sqlite = bind.dialect.name == "sqlite"
    old = "main" if sqlite else "public"
    if not sqlite:
        op.execute(sa.text(f"CREATE SCHEMA IF NOT EXISTS {KS}"))
    _create_keystore_tables()
    ignore = "OR IGNORE " if sqlite else ""
    conflict = "" if sqlite else " ON CONFLICT DO NOTHING"
    op.execute(
        sa.text(
            f"INSERT {ignore}INTO {KS}.key_versions (version, check_value, created_at, retired_at) "
            f"SELECT version, check_value, created_at, retired_at FROM {old}.key_versions{conflict}"
        )
    )
    op.execute(
        sa.text(
            f"INSERT {ignore}INTO {KS}.customer_keys (customer_id, wrapped_key, kek_version, created_at) "
            f"SELECT customer_id, wrapped_key, kek_version, created_at FROM {old}.customer_keys{conflict}"
        )
    )
    current = bind.execute(
        sa.text(f"SELECT max(version) FROM {KS}.key_versions WHERE retired_at IS NULL")
    ).scalar()
    has_state = bind.execute(sa.text(f"SELECT count(*) FROM {KS}.key_state")).scalar()
    if current is not None and not has_state:
        # A store that was opened before: its keys move under a new key-store id.  (A store
        # never opened has no versions yet; the first open creates the state.)
        store_id = str(uuid.uuid4())
        now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
        bind.execute(
            sa.text(
                f"INSERT INTO {KS}.key_state (id, store_id, current_version, updated_at) "
                "VALUES (1, :sid, :cur, :now)"
            ),
            {"sid": store_id, "cur": int(current), "now": now},
        )
        bind.execute(
            sa.text("DELETE FROM meta WHERE key = 'keystore_id'"),
        )
        bind.execute(sa.text("INSERT INTO meta (key, value) VALUES ('keystore_id', :sid)"), {"sid": store_id})
    if sqlite:
        # dropped by core.keystore.finish_migration once the key store's commit has landed
        op.execute(sa.text("ALTER TABLE main.customer_keys RENAME TO legacy_customer_keys"))
        op.execute(sa.text("ALTER TABLE main.key_versions RENAME TO legacy_key_versions"))
    else:
        op.drop_table("customer_keys", schema=old)
        op.drop_table("key_versions", schema=old)


def downgrade() -> None:
    bind = op.get_bind()
    sqlite = bind.dialect.name == "sqlite"
    op.create_table(
        "key_versions",
        sa.Column("version", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("check_value", sa.LargeBinary(32), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("retired_at", sa.DateTime(), nullable=True),
    )
    op.create_table(
        "customer_keys",
        sa.Column(
            "customer_id",
            sa.String(36),
            sa.ForeignKey("customers.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("wrapped_key", sa.LargeBinary(), nullable=False),
        sa.Column("kek_version", sa.Integer(), nullable=False, index=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
    )
    op.execute(
        sa.text(
            "INSERT INTO key_versions (version, check_value, created_at, retired_at) "
            f"SELECT version, check_value, created_at, retired_at FROM {KS}.key_versions"
        )
    )
    op.execute(
        sa.text(
            "INSERT INTO customer_keys (customer_id, wrapped_key, kek_version, created_at) "
            f"SELECT k.customer_id, k.wrapped_key, k.kek_version, k.created_at FROM {KS}.customer_keys k "
            "JOIN customers c ON c.id = k.customer_id"
        )
    )
    op.execute(sa.text("DELETE FROM meta WHERE key = 'keystore_id'"))
    for table in ("customer_keys", "key_versions", "key_state"):
        op.drop_table(table, schema=KS)
    if not sqlite:
        op.execute(sa.text(f"DROP SCHEMA IF EXISTS {KS}"))

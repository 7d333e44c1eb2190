"""Core schema: customers, data keys, consents, notes, transactions.

Revision ID: 0001_core
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001_core"
down_revision = None
branch_labels = None
depends_on = None


def _bigint() -> sa.types.TypeEngine[int]:
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "meta",
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("value", sa.Text(), nullable=False),
    )
    op.create_table(
        "key_versions",
        sa.Column("version", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("check_value", sa.LargeBinary(32), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("retired_at", sa.DateTime(), nullable=True),
    )
    op.create_table(
        "customers",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("external_id", sa.String(128), nullable=False, unique=True),
        sa.Column("owner", sa.String(128), nullable=False, index=True),
        sa.Column("pseudonym", sa.String(40), nullable=False, unique=True),
        sa.Column("full_name_ct", sa.LargeBinary(), nullable=True),
        sa.Column("email_ct", sa.LargeBinary(), nullable=True),
        sa.Column("phone_ct", sa.LargeBinary(), nullable=True),
        sa.Column("postal_address_ct", sa.LargeBinary(), nullable=True),
        sa.Column("birth_date_ct", sa.LargeBinary(), nullable=True),
        sa.Column("email_bidx", sa.LargeBinary(32), nullable=True, index=True),
        sa.Column("phone_bidx", sa.LargeBinary(32), nullable=True, index=True),
        sa.Column("dek_version", sa.Integer(), nullable=False, server_default="1"),
        sa.Column("text_analysis_ct", sa.LargeBinary(), nullable=True),
        sa.Column("text_sensitivity", sa.String(16), nullable=False, server_default="none"),
        sa.Column("consent_marketing_email", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("consent_marketing_post", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("consent_profiling", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("do_not_contact", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("deceased", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("under_review", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("review_reason", sa.String(64), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("erased_at", sa.DateTime(), nullable=True, index=True),
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
    op.create_table(
        "consent_events",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("customer_id", sa.String(36), sa.ForeignKey("customers.id"), nullable=False, index=True),
        sa.Column("purpose", sa.String(32), nullable=False),
        sa.Column("granted", sa.Boolean(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("source", sa.String(64), nullable=False),
    )
    op.create_table(
        "notes",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("customer_id", sa.String(36), sa.ForeignKey("customers.id"), nullable=False, index=True),
        sa.Column("author", sa.String(128), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("body_ct", sa.LargeBinary(), nullable=True),
        sa.Column("analysis_ct", sa.LargeBinary(), nullable=True),
        sa.Column("sensitivity", sa.String(16), nullable=False, server_default="none"),
        sa.Column("analyser_version", sa.String(32), nullable=True),
    )
    op.create_table(
        "transactions",
        sa.Column("id", _bigint(), primary_key=True, autoincrement=True),
        sa.Column("customer_id", sa.String(36), sa.ForeignKey("customers.id"), nullable=False, index=True),
        sa.Column("occurred_at", sa.DateTime(), nullable=False, index=True),
        sa.Column("amount", sa.Numeric(12, 2), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("product", sa.String(128), nullable=False),
        sa.Column("category", sa.String(64), nullable=False),
    )


def downgrade() -> None:
    for table in (
        "transactions",
        "notes",
        "consent_events",
        "customer_keys",
        "customers",
        "key_versions",
        "meta",
    ):
        op.drop_table(table)

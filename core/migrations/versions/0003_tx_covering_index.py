"""Covering index for per-customer aggregation of transactions (RFM, CLV).

Revision ID: 0003_tx_covering_index
Revises: 0002_audit
"""

from __future__ import annotations

from alembic import op

revision = "0003_tx_covering_index"
down_revision = "0002_audit"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_transactions_customer_rfm", "transactions", ["customer_id", "occurred_at", "amount"])


def downgrade() -> None:
    op.drop_index("ix_transactions_customer_rfm", table_name="transactions")

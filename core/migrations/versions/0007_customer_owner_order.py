"""Index customers by (owner, id): a sales rep's scan pages through their own rows in id order.

Without it, ``owner = :subject AND id > :last ORDER BY id LIMIT n`` sorts every
owned row once per page.

Revision ID: 0007_customer_owner_order
Revises: 0006_audit_ref_index
"""

from __future__ import annotations

from alembic import op

revision = "0007_customer_owner_order"
down_revision = "0006_audit_ref_index"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_customers_owner_id", "customers", ["owner", "id"])


def downgrade() -> None:
    op.drop_index("ix_customers_owner_id", table_name="customers")

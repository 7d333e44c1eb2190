"""Customers: drop the index that (owner, id) already covers; index only erased rows by erased_at.

Every customer insert updates every index of the table, so an index must pay
for itself:

* ``ix_customers_owner`` (owner) is a prefix of ``ix_customers_owner_id``
  (owner, id), which serves every query the shorter one served.
* ``ix_customers_erased_at`` held an entry for every customer, almost all of
  them NULL; the queries that filter on ``erased_at IS NULL`` scan anyway.
  Only the few erased rows are worth finding by index, so the replacement is
  partial (``WHERE erased_at IS NOT NULL``; SQLite and PostgreSQL both have
  partial indexes) and an insert of a live customer no longer touches it.

Building the partial index reads the table once and holds back writes to it
meanwhile (a plain ``CREATE INDEX``); it stores only the erased rows, so on a
large table that is one sequential scan.

Revision ID: 0008_customer_index_diet
Revises: 0007_customer_owner_order
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008_customer_index_diet"
down_revision = "0007_customer_owner_order"
branch_labels = None
depends_on = None

_ERASED = sa.text("erased_at IS NOT NULL")


def upgrade() -> None:
    op.drop_index("ix_customers_owner", table_name="customers")
    op.drop_index("ix_customers_erased_at", table_name="customers")
    op.create_index(
        "ix_customers_erased",
        "customers",
        ["erased_at"],
        sqlite_where=_ERASED,
        postgresql_where=_ERASED,
    )


def downgrade() -> None:
    op.drop_index("ix_customers_erased", table_name="customers")
    op.create_index("ix_customers_erased_at", "customers", ["erased_at"])
    op.create_index("ix_customers_owner", "customers", ["owner"])

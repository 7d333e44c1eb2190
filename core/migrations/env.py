"""Alembic environment: the engine is handed in by core.db.migrate."""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Engine

engine: Engine = context.config.attributes["engine"]

with engine.connect() as connection:
    context.configure(connection=connection, transactional_ddl=True)
    with context.begin_transaction():
        context.run_migrations()
    connection.commit()

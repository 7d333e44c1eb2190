"""Engine settings: SQLite write transactions take the lock up front; read-only ones do not."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

from audit.verify import READ_ONLY_OPTION as AUDIT_READ_ONLY
from core.db import READ_ONLY_OPTION, create_db_engine, migrate


def test_read_only_option_is_shared_with_audit() -> None:
    assert READ_ONLY_OPTION == AUDIT_READ_ONLY


def test_sqlite_reader_does_not_block_writer(tmp_path: Path) -> None:
    engine = create_db_engine(f"sqlite:///{tmp_path / 'x.sqlite3'}")
    migrate(engine)
    with engine.connect().execution_options(**{READ_ONLY_OPTION: True}) as reader:
        reader.execute(sa.text("SELECT count(*) FROM meta")).scalar()
        with engine.begin() as writer:  # would wait 30 s for the lock under BEGIN IMMEDIATE
            writer.execute(sa.text("INSERT INTO meta (key, value) VALUES ('k', 'v')"))
        assert reader.execute(sa.text("SELECT count(*) FROM meta WHERE key = 'k'")).scalar() == 0  # snapshot
    engine.dispose()

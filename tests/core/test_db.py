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


LOAD = (
    "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2000) "
    "INSERT INTO big SELECT randomblob(3000) FROM n"
)  # about 6 MB: far past the 1000-page automatic checkpoint


def test_bulk_load_moves_checkpoints_off_the_commit_and_restores_them(tmp_path: Path) -> None:
    from core.db import WAL_AUTOCHECKPOINT_PAGES, bulk_load, transaction

    db = tmp_path / "x.sqlite3"
    engine = create_db_engine(f"sqlite:///{db}")
    migrate(engine)
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() == WAL_AUTOCHECKPOINT_PAGES
    before = db.stat().st_size
    with bulk_load(engine, interval=3600):  # the background round never comes in this test
        with transaction(engine) as conn:
            assert conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() == 0
            conn.exec_driver_sql("CREATE TABLE big (v BLOB)")
            conn.exec_driver_sql(LOAD)
        assert db.stat().st_size < before + 1_000_000  # committed to the log only: no checkpoint yet
    assert db.stat().st_size > before + 5_000_000  # checkpointed into the database file on the way out
    with engine.connect() as conn:  # the same pooled connection, its automatic checkpoint back
        assert conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() == WAL_AUTOCHECKPOINT_PAGES
        assert conn.exec_driver_sql("SELECT count(*) FROM big").scalar() == 2000
    engine.dispose()


def test_bulk_load_checkpoints_in_the_background(tmp_path: Path) -> None:
    import time

    from core.db import bulk_load, transaction

    db = tmp_path / "x.sqlite3"
    engine = create_db_engine(f"sqlite:///{db}")
    migrate(engine)
    before = db.stat().st_size
    with bulk_load(engine, interval=0.01):
        with transaction(engine) as conn:
            conn.exec_driver_sql("CREATE TABLE big (v BLOB)")
            conn.exec_driver_sql(LOAD)
        for _ in range(1000):  # at most 10 s: the thread copies the log while the load goes on
            if db.stat().st_size > before + 5_000_000:
                break
            time.sleep(0.01)
        assert db.stat().st_size > before + 5_000_000
    engine.dispose()


def test_bulk_load_changes_nothing_elsewhere() -> None:
    from core.db import bulk_load

    engine = sa.create_engine("postgresql+psycopg://nobody@127.0.0.1:1/none")  # never connected
    with bulk_load(engine):
        pass
    engine.dispose()


def test_migrated_customer_indexes_match_the_models(engine: sa.Engine) -> None:
    """Migrations and models agree on the customers table's indexes (SQLite and PostgreSQL).

    Every index costs each insert, so the set is deliberate: no index that
    another one covers, and erased rows only in the partial erased_at index.
    """
    from core.models import customers_t

    inspector = sa.inspect(engine)
    migrated = {
        ix["name"]: tuple(ix["column_names"])
        for ix in inspector.get_indexes("customers")
        if not ix.get("duplicates_constraint")  # PostgreSQL: the unique constraints' own indexes
    }
    declared = {ix.name: tuple(c.name for c in ix.columns) for ix in customers_t.indexes}
    assert {k: v for k, v in migrated.items() if not k.startswith("sqlite_autoindex")} == declared
    assert declared == {
        "ix_customers_owner_id": ("owner", "id"),
        "ix_customers_email_bidx": ("email_bidx",),
        "ix_customers_phone_bidx": ("phone_bidx",),
        "ix_customers_erased": ("erased_at",),
    }
    with engine.connect() as conn:
        if conn.dialect.name == "sqlite":
            sql = conn.exec_driver_sql(
                "SELECT sql FROM sqlite_master WHERE name = 'ix_customers_erased'"
            ).scalar()
        else:
            sql = conn.exec_driver_sql(
                "SELECT indexdef FROM pg_indexes WHERE indexname = 'ix_customers_erased'"
            ).scalar()
    assert "erased_at IS NOT NULL" in str(sql)


def test_bulk_load_never_changes_listeners_while_other_threads_check_out(tmp_path: Path) -> None:
    """Bulk loads beside a thread that keeps checking out connections: no listener is added or
    removed under it (SQLAlchemy iterates listeners without a lock), and nothing fails."""
    import threading

    from core.db import bulk_load

    engine = create_db_engine(f"sqlite:///{tmp_path / 'db.sqlite3'}")
    before = len(engine.pool.dispatch.checkout)
    errors: list[BaseException] = []
    stop = threading.Event()

    def churn() -> None:
        try:
            while not stop.is_set():
                with engine.connect() as conn:
                    conn.exec_driver_sql("SELECT 1")
        except BaseException as exc:  # reported below
            errors.append(exc)

    thread = threading.Thread(target=churn)
    thread.start()
    try:
        for _ in range(200):
            with bulk_load(engine, interval=3600):
                assert len(engine.pool.dispatch.checkout) == before
    finally:
        stop.set()
        thread.join()
    assert errors == []
    assert len(engine.pool.dispatch.checkout) == before
    engine.dispose()

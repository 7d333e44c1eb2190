"""Migration 0009: a store made before the key store existed keeps every record readable.

The pre-0009 store is built as the code of that time left it: key versions
with check values and the root-key fingerprint recorded, data keys wrapped
under two KEK versions (a rotation half done) in ``customer_keys`` of the data.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import command

from api.wiring import init_store
from core import keystore
from core.config import Settings
from core.db import alembic_config, create_db_engine
from core.keys import FileKeyProvider, KeyRing
from core.models import UTCDateTime, customer_keys_t, customers_t, key_state_t, meta_t, utcnow
from core.records import CustomerInput
from core.store import CUSTOMER_ROW, CustomerStore

PRE_KEYSTORE = "0008_customer_index_diet"

_old_keys = sa.table(
    "customer_keys",
    sa.column("customer_id", sa.String()),
    sa.column("wrapped_key", sa.LargeBinary()),
    sa.column("kek_version", sa.Integer()),
    sa.column("created_at", UTCDateTime()),
)
_old_versions = sa.table(
    "key_versions",
    sa.column("version", sa.Integer()),
    sa.column("check_value", sa.LargeBinary()),
    sa.column("created_at", UTCDateTime()),
)


def _build_pre_keystore_store(settings: Settings, n: int) -> dict[str, str]:
    """A store at revision 0008 with ``n`` customers; returns external id -> full name."""
    assert settings.key_source.path is not None
    provider = FileKeyProvider.create(settings.key_source.path)
    provider.add_version()
    ring = KeyRing(provider)
    stores = {}
    for v in (1, 2):
        stores[v] = CustomerStore(keyring=KeyRing(provider), phone_region="GB")
        stores[v].keyring.observe(v)
    engine = create_db_engine(settings.database_url)
    names: dict[str, str] = {}
    try:
        command.upgrade(alembic_config(engine), PRE_KEYSTORE)
        with engine.begin() as conn:
            conn.execute(sa.insert(meta_t).values(key="key_fingerprint", value=ring.fingerprint))
            for v in (1, 2):
                conn.execute(
                    sa.insert(_old_versions).values(
                        version=v, check_value=ring.check_value(v), created_at=utcnow()
                    )
                )
            for i in range(n):
                store = stores[1 if i % 3 == 0 else 2]  # some keys still under v1: a rotation half done
                ext = f"OLD{i}"
                names[ext] = f"Old Customer {i}"
                p = store.prepare(
                    CustomerInput(
                        external_id=ext, full_name=names[ext], owner="alice", email=f"old{i}@example.com"
                    )
                )
                conn.execute(sa.insert(customers_t).values(dict(zip(CUSTOMER_ROW, p.row, strict=True))))
                cid, wrapped, version, created = p.key_row
                conn.execute(
                    sa.insert(_old_keys).values(
                        customer_id=cid, wrapped_key=wrapped, kek_version=version, created_at=created
                    )
                )
    finally:
        engine.dispose()
    return names


def test_a_pre_keystore_store_migrates_and_keeps_every_record_readable(settings: Settings) -> None:
    names = _build_pre_keystore_store(settings, 9)
    hush = init_store(settings)  # migrates to head and opens the key store
    try:
        ctx = hush.context("alice", "service")
        read = {str(r.values["external_id"]): r.values["full_name"] for r in hush.gateway.scan_customers(ctx)}
        assert read == names
        found = hush.gateway.find_customers(ctx, email="old4@example.com")
        assert [r.values["full_name"] for r in found] == ["Old Customer 4"]
        with hush.engine.connect() as conn:
            assert conn.execute(sa.select(key_state_t.c.current_version)).scalar_one() == 2
            keystore.check_matches(conn)
            versions = sorted(conn.execute(sa.select(customer_keys_t.c.kek_version)).scalars())
            assert versions.count(1) == 3 and versions.count(2) == 6
            if conn.dialect.name == "sqlite":
                old = conn.exec_driver_sql(
                    "SELECT name FROM main.sqlite_master WHERE name IN "
                    "('customer_keys', 'key_versions', 'legacy_customer_keys', 'legacy_key_versions')"
                ).all()
            else:
                old = conn.exec_driver_sql(
                    "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' "
                    "AND table_name IN ('customer_keys', 'key_versions')"
                ).all()
            assert old == []
        # the half-done rotation finishes on the new layout; new customers and erasures work
        report = hush.writes.rotate_keys(hush.operator_context(), retire=True)
        assert report.resumed and report.retired_versions == (1,)
        hush.writes.create(ctx, CustomerInput(external_id="NEW1", full_name="New Customer", owner="alice"))
        hush.writes.erase(hush.context("dana", "erasure"), "OLD2")
        read = {str(r.values["external_id"]): r.values["full_name"] for r in hush.gateway.scan_customers(ctx)}
        assert read == {**{k: v for k, v in names.items() if k != "OLD2"}, "NEW1": "New Customer"}
    finally:
        hush.close()


def test_sqlite_migration_recovers_keys_whose_commit_was_lost(settings: Settings) -> None:
    """SQLite commits the data file first: if the key store's commit is lost, the old tables still hold them."""
    if not settings.is_sqlite:
        return  # PostgreSQL migrates in one atomic transaction
    names = _build_pre_keystore_store(settings, 4)
    engine = create_db_engine(settings.database_url)
    try:
        command.upgrade(alembic_config(engine), "0009_keystore")  # without the finishing step
        with engine.begin() as conn:  # the state a crash between the two files' commits leaves
            conn.execute(sa.delete(customer_keys_t))
            conn.execute(sa.delete(key_state_t))
        assert keystore.finish_migration(engine)
        assert not keystore.finish_migration(engine)  # nothing left to do
    finally:
        engine.dispose()
    hush = init_store(settings)
    try:
        read = {
            str(r.values["external_id"]): r.values["full_name"]
            for r in hush.gateway.scan_customers(hush.context("alice", "service"))
        }
        assert read == names
    finally:
        hush.close()

"""Key rotation (resumable, no re-encryption) and erasure by crypto-shredding, on both databases."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
import sqlalchemy as sa

from api.wiring import Hush, open_store
from core.config import Settings
from core.errors import ErasedError, KeyUnavailableError, NotFoundError
from core.models import customer_keys_t, customers_t
from core.records import CustomerInput


def _populate(hush: Hush, n: int) -> None:
    ctx = hush.context("alice", "service")
    rows = [
        (
            i,
            CustomerInput(
                external_id=f"R{i}", full_name=f"Person {i}", owner="alice", email=f"p{i}@example.com"
            ),
        )
        for i in range(n)
    ]
    report = hush.writes.import_customers(ctx, rows)
    assert report.imported == n


def _ciphertexts(hush: Hush) -> list[bytes]:
    with hush.engine.connect() as conn:
        return [
            bytes(b)
            for b in conn.execute(sa.select(customers_t.c.full_name_ct).order_by(customers_t.c.id)).scalars()
        ]


def test_rotation_rewraps_without_reencrypting(hush: Hush) -> None:
    _populate(hush, 30)
    before = _ciphertexts(hush)
    report = hush.writes.rotate_keys(hush.operator_context())
    assert report.target_version == 2 and report.rewrapped == 30 and not report.resumed
    assert _ciphertexts(hush) == before  # data untouched
    with hush.engine.connect() as conn:
        assert set(conn.execute(sa.select(customer_keys_t.c.kek_version)).scalars()) == {2}
    ctx = hush.context("alice", "service")
    assert {r.values["full_name"] for r in hush.gateway.scan_customers(ctx)} == {
        f"Person {i}" for i in range(30)
    }


def test_rotation_resumes_after_crash(hush: Hush) -> None:
    _populate(hush, 25)
    from core.rotation import KeyRotator

    rotator = KeyRotator(engine=hush.engine, keyring=hush.keyring, batch_size=10)
    with pytest.raises(RuntimeError, match="simulated crash"):
        rotator.rotate(_crash_after_batches=1)
    with hush.engine.connect() as conn:
        versions = list(conn.execute(sa.select(customer_keys_t.c.kek_version)).scalars())
    assert versions.count(2) == 10 and versions.count(1) == 15  # half-way
    ctx = hush.context("alice", "service")
    assert len(list(hush.gateway.scan_customers(ctx))) == 25  # readable mid-rotation
    report = rotator.rotate()
    assert report.resumed and report.target_version == 2 and report.rewrapped == 15
    assert hush.keyring.provider.versions() == (1, 2)  # no third version was started
    assert len(list(hush.gateway.scan_customers(ctx))) == 25


def test_retired_key_version_is_gone(hush: Hush) -> None:
    _populate(hush, 5)
    report = hush.writes.rotate_keys(hush.operator_context(), retire=True)
    assert report.retired_versions == (1,)
    with pytest.raises(KeyUnavailableError):
        hush.keyring.provider.kek(1)


def _backup(settings: Settings, hush: Hush, dest: Path) -> str:
    """A copy of the database as it is now; returns its URL."""
    if settings.is_sqlite:
        src = sqlite3.connect(settings.database_url.removeprefix("sqlite:///"))
        dst = sqlite3.connect(dest)
        src.backup(dst)
        src.close()
        dst.close()
        return f"sqlite:///{dest}"
    url = sa.make_url(settings.database_url)
    name = f"{url.database}_backup"
    hush.engine.dispose()
    admin = sa.create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}" TEMPLATE "{url.database}"'))
    admin.dispose()
    return url.set(database=name).render_as_string(hide_password=False)


def _drop_backup(settings: Settings, url: str) -> None:
    if settings.is_sqlite:
        return
    u = sa.make_url(url)
    admin = sa.create_engine(u.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{u.database}" WITH (FORCE)'))
    admin.dispose()


def test_erasure_shreds_live_data_and_old_backups(hush: Hush, settings: Settings, tmp_path: Path) -> None:
    _populate(hush, 6)
    backup_url = _backup(settings, hush, tmp_path / "backup.sqlite3")
    try:
        receipt = hush.writes.erase(hush.context("dana", "erasure"), "R3")
        assert receipt.backups_protected and receipt.covers["data_backups"] is True
        assert receipt.keystore_backups_clear_at > receipt.erased_at
        assert receipt.audit_seq > 0
        # live database: the customer is gone, everyone else still readable
        with pytest.raises((ErasedError, NotFoundError)):
            hush.gateway.read_customer(hush.context("alice", "service"), "R3")
        others = list(hush.gateway.scan_customers(hush.context("alice", "service")))
        assert len(others) == 5
        with hush.engine.connect() as conn:
            row = conn.execute(sa.select(customers_t).where(customers_t.c.external_id == "R3")).one()
            assert row.full_name_ct is None and row.email_bidx is None and row.erased_at is not None
            assert (
                conn.execute(
                    sa.select(customer_keys_t).where(customer_keys_t.c.customer_id == row.id)
                ).first()
                is None
            )
        # the old copy of the data holds ciphertext only: no data key of anyone
        old = sa.create_engine(backup_url)
        with old.connect() as conn:
            if conn.dialect.name == "sqlite":
                tables = set(
                    conn.exec_driver_sql("SELECT name FROM sqlite_master WHERE type='table'").scalars()
                )
            else:
                tables = set(
                    conn.exec_driver_sql(
                        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'"
                    ).scalars()
                )
            assert "customers" in tables
            assert not tables & {"customer_keys", "key_versions", "key_state"}
            old_row = conn.execute(
                sa.select(customers_t.c.full_name_ct).where(customers_t.c.id == row.id)
            ).one()
            assert old_row.full_name_ct is not None  # the ciphertext is there, its key is not
        old.dispose()
    finally:
        _drop_backup(settings, backup_url)


def test_erased_customer_events_stay_verifiable(hush: Hush, settings: Settings) -> None:
    _populate(hush, 3)
    hush.gateway.read_customer(hush.context("alice", "service"), "R1")
    hush.writes.erase(hush.context("dana", "erasure"), "R1")
    hush.close()
    reopened = open_store(settings)
    from core.compliance import ComplianceQueries

    q = ComplianceQueries(hush=reopened)
    report = q.verify(reopened.operator_context())
    assert report.ok, report.reason
    rows = q.access_report(reopened.context("cora", "compliance"), "R1")
    assert {r["action"] for r in rows} >= {"read", "erase"}
    reopened.close()

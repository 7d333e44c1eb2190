"""The encrypted store on SQLite and PostgreSQL: writes, look-ups, canaries, wrong keys."""

from __future__ import annotations

import datetime as dt
import subprocess
from pathlib import Path

import pytest
import sqlalchemy as sa

from api.wiring import Hush, init_store, open_store
from core.config import Settings, load_settings
from core.errors import AccessDenied, ConflictError, CorruptCiphertextError, NotFoundError, WrongKeyError
from core.keys import FileKeyProvider
from core.models import customers_t
from core.records import CustomerInput

CANARY_NAME = "Zebulon Canaryfield-Quist"
CANARY_EMAIL = "zebulon.canary.7731@example.org"
CANARY_PHONE = "+44 7700 900731"
CANARY_ADDRESS = "77 Canary Wharf Lane, Nowhere QQ1 1QQ"


def canary(owner: str = "alice", ext: str = "K1") -> CustomerInput:
    return CustomerInput(
        external_id=ext,
        full_name=CANARY_NAME,
        owner=owner,
        email=CANARY_EMAIL,
        phone=CANARY_PHONE,
        postal_address=CANARY_ADDRESS,
        birth_date=dt.date(1970, 5, 17),
        consent_marketing_post=True,
    )


def test_create_and_read_back_through_gateway(hush: Hush) -> None:
    ctx = hush.context("alice", "service")
    created = hush.writes.create(ctx, canary())
    assert created.pseudonym.startswith("p_")
    record = hush.gateway.read_customer(ctx, "K1")
    assert record.values["full_name"] == CANARY_NAME
    assert record.values["email"] == CANARY_EMAIL
    assert record.values["phone"] == "+447700900731"
    assert record.values["birth_date"] == "1970-05-17"
    assert record.values["consent"]["marketing_post"] is True


def test_find_by_email_and_phone_uses_blind_index(hush: Hush) -> None:
    ctx = hush.context("alice", "service")
    hush.writes.create(ctx, canary())
    assert [
        r.external_id for r in hush.gateway.find_customers(ctx, email="  ZEBULON.canary.7731@EXAMPLE.org")
    ] == ["K1"]
    assert [r.external_id for r in hush.gateway.find_customers(ctx, phone="07700 900731")] == ["K1"]
    assert hush.gateway.find_customers(ctx, email="nobody@example.org") == []


def test_duplicate_external_id_is_a_conflict(hush: Hush) -> None:
    ctx = hush.context("alice", "service")
    hush.writes.create(ctx, canary())
    with pytest.raises(ConflictError):
        hush.writes.create(ctx, canary())


def test_sales_cannot_create_for_another_owner(hush: Hush) -> None:
    with pytest.raises(AccessDenied):
        hush.writes.create(hush.context("alice", "service"), canary(owner="bob"))


def test_other_reps_customer_is_not_found(hush: Hush) -> None:
    hush.writes.create(hush.context("alice", "service"), canary())
    with pytest.raises(NotFoundError):
        hush.gateway.read_customer(hush.context("bob", "service"), "K1")


def _dump(hush: Hush, settings: Settings) -> bytes:
    if settings.is_sqlite:
        base = Path(settings.database_url.removeprefix("sqlite:///"))
        blobs = b""
        for suffix in ("", "-wal", "-shm"):
            p = Path(str(base) + suffix)
            if p.exists():
                blobs += p.read_bytes()
        return blobs
    url = sa.make_url(settings.database_url)
    return subprocess.run(
        [
            "pg_dump",
            "-h",
            url.host or "127.0.0.1",
            "-p",
            str(url.port or 5432),
            "-U",
            url.username or "postgres",
            "--data-only",
            url.database or "",
        ],
        check=True,
        capture_output=True,
    ).stdout


def test_canary_never_at_rest_in_plaintext(hush: Hush, settings: Settings) -> None:
    ctx = hush.context("alice", "service")
    hush.writes.create(ctx, canary())
    hush.gateway.read_customer(ctx, "K1")
    hush.gateway.find_customers(ctx, email=CANARY_EMAIL)
    raw = _dump(hush, settings)
    assert len(raw) > 1000
    for value in (
        CANARY_NAME,
        CANARY_EMAIL,
        "zebulon",
        "Canaryfield",
        "900731",
        "Canary Wharf",
        "1970-05-17",
    ):
        assert value.encode() not in raw, value
        assert value.encode("utf-16-le") not in raw


def test_wrong_key_is_refused_before_any_write(settings: Settings, tmp_path: Path) -> None:
    init_store(settings).close()
    other = tmp_path / "other.key"
    FileKeyProvider.create(other)
    wrong = load_settings(
        settings.data_dir, env={"HUSHDB_DATABASE_URL": settings.database_url, "HUSHDB_KEY_FILE": str(other)}
    )
    with pytest.raises(WrongKeyError, match=str(other)):
        open_store(wrong)


def test_corrupted_ciphertext_names_the_record(hush: Hush) -> None:
    ctx = hush.context("alice", "service")
    hush.writes.create(ctx, canary())
    with hush.engine.begin() as conn:
        row = conn.execute(sa.select(customers_t.c.id, customers_t.c.email_ct)).one()
        blob = bytearray(row.email_ct)
        blob[-1] ^= 0xFF
        conn.execute(sa.update(customers_t).values(email_ct=bytes(blob)))
    with pytest.raises(CorruptCiphertextError) as info:
        hush.gateway.read_customer(ctx, "K1")
    assert row.id in str(info.value)
    assert CANARY_EMAIL not in str(info.value)


def test_ciphertext_copied_to_another_row_fails(hush: Hush) -> None:
    ctx = hush.context("alice", "service")
    hush.writes.create(ctx, canary())
    hush.writes.create(ctx, canary(ext="K2"))
    with hush.engine.begin() as conn:
        src = conn.execute(
            sa.select(customers_t.c.full_name_ct).where(customers_t.c.external_id == "K1")
        ).scalar_one()
        conn.execute(sa.update(customers_t).where(customers_t.c.external_id == "K2").values(full_name_ct=src))
    hush.gateway.read_customer(ctx, "K1")
    with pytest.raises(CorruptCiphertextError):
        hush.gateway.read_customer(ctx, "K2")


def test_ciphertext_copied_to_another_column_fails(hush: Hush) -> None:
    ctx = hush.context("alice", "service")
    hush.writes.create(ctx, canary())
    with hush.engine.begin() as conn:
        src = conn.execute(sa.select(customers_t.c.email_ct)).scalar_one()
        conn.execute(sa.update(customers_t).values(postal_address_ct=src))
    with pytest.raises(CorruptCiphertextError):
        hush.gateway.read_customer(ctx, "K1")


@pytest.mark.parametrize("micro", [0, 123456])  # SQLite text form must match SQLAlchemy's, also at .000000
def test_bulk_insert_round_trips_like_sqlalchemy(hush: Hush, micro: int) -> None:
    import datetime as dt_

    from core.models import consent_events_t
    from core.store import bulk_insert

    hush.writes.create(hush.context("alice", "service"), canary())
    when = dt_.datetime(2025, 3, 4, 5, 6, 7, micro, tzinfo=dt_.timezone(dt_.timedelta(hours=2)))
    with hush.engine.begin() as conn:
        cid = conn.execute(sa.select(customers_t.c.id)).scalar_one()
        bulk_insert(
            conn,
            consent_events_t,
            [{"customer_id": cid, "purpose": "profiling", "granted": True, "at": when, "source": "t"}],
        )
        conn.execute(
            sa.insert(consent_events_t).values(
                customer_id=cid, purpose="profiling", granted=True, at=when, source="sa"
            )
        )
    with hush.engine.connect() as conn:
        rows = conn.execute(
            sa.select(consent_events_t.c.at, consent_events_t.c.granted, consent_events_t.c.source).where(
                consent_events_t.c.source.in_(["t", "sa"])
            )
        ).all()
        raw = conn.exec_driver_sql("SELECT at FROM consent_events WHERE source IN ('t', 'sa')").all()
    assert rows[0].at == rows[1].at == when
    assert rows[0].granted is True
    assert raw[0][0] == raw[1][0]  # byte-for-byte the same stored form


def test_update_is_authorized_and_audited_field_by_field(hush: Hush) -> None:
    from core.errors import InputError
    from core.records import CustomerChanges

    ctx = hush.context("alice", "service")
    hush.writes.create(ctx, canary())
    hush.writes.update(ctx, "K1", CustomerChanges(full_name="New Name", do_not_contact=True))
    with hush.engine.connect() as conn:
        fields = conn.exec_driver_sql(
            "SELECT fields FROM audit_events ORDER BY seq DESC LIMIT 1"
        ).scalar_one()
    assert "full_name" in fields and "suppression" in fields  # both changes are on record
    with pytest.raises(InputError):
        hush.writes.update(ctx, "K1", CustomerChanges())
    with pytest.raises(AccessDenied):
        hush.writes.update(ctx, "K1", CustomerChanges(clear=("owner",)))  # sales may not write owner

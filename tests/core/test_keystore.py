"""The key store: layout, key state every process agrees on, erasure without re-wrapping, crashes.

Runs on SQLite and PostgreSQL (the ``hush`` fixture).  Crashes are simulated
at the named points of :func:`core.keystore.crash_point`: an exception there
ends the run like a kill (the open transaction is rolled back, nothing after
it runs), and a rerun must finish the work.
"""

from __future__ import annotations

import shutil
import sqlite3
import stat
import threading
from pathlib import Path

import pytest
import sqlalchemy as sa

from api.wiring import Hush, open_store
from audit import queries
from core import keystore
from core.config import Settings
from core.db import READ_ONLY_OPTION, create_db_engine, migrate
from core.errors import ErasedError, KeyStoreMismatchError, NotFoundError, StoreError
from core.models import customer_keys_t, customers_t, key_state_t, key_versions_t, meta_t, utcnow
from core.records import CustomerInput


class Crash(BaseException):
    """A simulated kill: not an Exception, so nothing on the way catches it."""


@pytest.fixture
def crash_at(monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """``crash_at[point] = n`` makes the n-th passage through ``point`` from now on crash (1 = the next)."""
    plan: dict[str, int] = {}

    def point(name: str) -> None:
        if name in plan:
            plan[name] -= 1
            if plan[name] == 0:
                del plan[name]
                raise Crash(name)

    monkeypatch.setattr(keystore, "crash_point", point)
    return plan


def _populate(hush: Hush, n: int, prefix: str = "R") -> None:
    rows = [
        (i, CustomerInput(external_id=f"{prefix}{i}", full_name=f"Person {prefix}{i}", owner="alice"))
        for i in range(n)
    ]
    report = hush.writes.import_customers(hush.context("alice", "service"), rows)
    assert report.imported == n, report.rejected


def _names(hush: Hush) -> set[str]:
    return {str(r.values["full_name"]) for r in hush.gateway.scan_customers(hush.context("alice", "service"))}


def _keys(hush: Hush) -> dict[str, tuple[bytes, int]]:
    with hush.engine.connect() as conn:
        return {
            str(r.customer_id): (bytes(r.wrapped_key), int(r.kek_version))
            for r in conn.execute(sa.select(customer_keys_t))
        }


def _customers_without_key(hush: Hush) -> list[str]:
    with hush.engine.connect() as conn:
        return list(
            conn.execute(
                sa.select(customers_t.c.external_id)
                .select_from(
                    customers_t.outerjoin(customer_keys_t, customer_keys_t.c.customer_id == customers_t.c.id)
                )
                .where(customers_t.c.erased_at.is_(None), customer_keys_t.c.customer_id.is_(None))
            ).scalars()
        )


def _state(hush: Hush) -> tuple[int, dict[int, bool]]:
    with hush.engine.connect() as conn:
        current = int(conn.execute(sa.select(key_state_t.c.current_version)).scalar_one())
        versions = {
            int(r.version): r.retired_at is not None
            for r in conn.execute(sa.select(key_versions_t.c.version, key_versions_t.c.retired_at))
        }
    return current, versions


# -- layout --------------------------------------------------------------------------


def test_keystore_api_names_the_layout(tmp_path: Path) -> None:
    assert keystore.KEYSTORE_SCHEMA == "keystore"
    assert {t.name for t in keystore.keystore_tables()} == {"key_state", "key_versions", "customer_keys"}
    assert all(t.schema == "keystore" for t in keystore.keystore_tables())
    url = f"sqlite:///{tmp_path / 'd' / 'hushdb.sqlite3'}"
    assert keystore.keystore_path(url) == tmp_path / "d" / "keystore.sqlite3"
    with pytest.raises(StoreError):
        keystore.keystore_path("sqlite://")


def test_keys_live_apart_from_the_data(hush: Hush, settings: Settings) -> None:
    _populate(hush, 3)
    with hush.engine.connect() as conn:
        if conn.dialect.name == "sqlite":
            data_tables = set(
                conn.exec_driver_sql("SELECT name FROM main.sqlite_master WHERE type = 'table'").scalars()
            )
        else:
            data_tables = set(
                conn.exec_driver_sql(
                    "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'"
                ).scalars()
            )
            ks_tables = set(
                conn.exec_driver_sql(
                    "SELECT table_name FROM information_schema.tables WHERE table_schema = 'keystore'"
                ).scalars()
            )
            assert ks_tables == {"key_state", "key_versions", "customer_keys"}
    assert "customers" in data_tables
    assert not data_tables & {"customer_keys", "key_versions", "key_state", "legacy_customer_keys"}
    if settings.is_sqlite:
        path = keystore.keystore_path(settings.database_url)
        assert path.exists() and stat.S_IMODE(path.stat().st_mode) == 0o600
        raw = sqlite3.connect(path)
        try:
            assert raw.execute("SELECT count(*) FROM customer_keys").fetchone() == (3,)
            assert raw.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        finally:
            raw.close()


def test_read_only_connections_see_the_key_store(hush: Hush) -> None:
    _populate(hush, 2)
    with hush.engine.connect() as conn:
        ro = conn.execution_options(**{READ_ONLY_OPTION: True})
        with ro.begin():
            assert ro.execute(sa.select(sa.func.count()).select_from(customer_keys_t)).scalar_one() == 2


def test_a_sqlite_writer_holds_the_key_store_lock_too(hush: Hush, settings: Settings) -> None:
    """BEGIN IMMEDIATE takes the write lock of the attached key store: a rotation cannot slip in."""
    if not settings.is_sqlite:
        pytest.skip("SQLite locking")
    other = sqlite3.connect(keystore.keystore_path(settings.database_url), timeout=0.1, isolation_level=None)
    try:
        with hush.engine.begin(), pytest.raises(sqlite3.OperationalError, match="locked"):
            other.execute("BEGIN IMMEDIATE")
        other.execute("BEGIN IMMEDIATE")  # free again after the commit
        other.execute("ROLLBACK")
    finally:
        other.close()


# -- a key store that does not match the data ------------------------------------------


def test_a_key_store_of_another_store_is_refused(hush: Hush, settings: Settings) -> None:
    _populate(hush, 2)
    with hush.engine.begin() as conn:
        conn.execute(
            sa.update(meta_t).where(meta_t.c.key == keystore.META_KEYSTORE_ID).values(value="another-store")
        )
    hush.close()
    with pytest.raises(KeyStoreMismatchError, match="another-store"):
        open_store(settings)


def test_a_missing_key_store_is_refused_and_nothing_changes(hush: Hush, settings: Settings) -> None:
    _populate(hush, 2)
    hush.close()
    engine = create_db_engine(settings.database_url)
    try:
        with engine.begin() as conn:
            conn.execute(sa.delete(customer_keys_t))
            conn.execute(sa.delete(key_state_t))
            before = conn.execute(sa.select(meta_t.c.key, meta_t.c.value).order_by(meta_t.c.key)).all()
    finally:
        engine.dispose()
    with pytest.raises(KeyStoreMismatchError, match="empty or missing"):
        open_store(settings)
    engine = create_db_engine(settings.database_url)
    try:
        with engine.connect() as conn:
            assert conn.execute(sa.select(sa.func.count()).select_from(key_state_t)).scalar_one() == 0
            after = conn.execute(sa.select(meta_t.c.key, meta_t.c.value).order_by(meta_t.c.key)).all()
            assert after == before
            with pytest.raises(KeyStoreMismatchError):
                keystore.check_matches(conn)
    finally:
        engine.dispose()


def test_check_matches_names_the_key_store(hush: Hush) -> None:
    with hush.engine.connect() as conn:
        ours = keystore.check_matches(conn)
        assert ours == keystore.keystore_id(conn) == keystore.data_keystore_id(conn)


# -- key state every process agrees on ---------------------------------------------------


def test_a_process_with_stale_keys_wraps_under_the_current_version(hush: Hush, settings: Settings) -> None:
    """The issue's data loss: another process retires v1 and this one goes on creating customers."""
    other = open_store(settings)  # a second process: its key ring last saw v1
    try:
        _populate(hush, 3)
        report = hush.writes.rotate_keys(hush.operator_context(), retire=True)
        assert report.retired_versions == (1,)
        ctx = other.context("alice", "service")
        other.writes.create(ctx, CustomerInput(external_id="LATE", full_name="Late Customer", owner="alice"))
        assert {v for _, v in _keys(hush).values()} == {2}
        assert "Late Customer" in _names(hush)  # readable by the process that retired v1
    finally:
        other.close()
    hush.close()
    again = open_store(settings)  # and after a restart
    try:
        assert _names(again) == {"Person R0", "Person R1", "Person R2", "Late Customer"}
    finally:
        again.close()


def test_keys_prepared_before_a_rotation_are_stored_under_the_new_version(hush: Hush) -> None:
    """An import prepares (and wraps) ahead of its transaction; a rotation may come in between."""
    _populate(hush, 2)
    store = hush.writes.store
    prepared = [
        store.prepare(
            CustomerInput(external_id=f"P{i}", full_name=f"Prepared {i}", owner="alice"), now=utcnow()
        )
        for i in range(3)
    ]
    assert {p.key_row[2] for p in prepared} == {1}
    assert all(p.data_key.hex() not in repr(p) and repr(p.data_key) not in repr(p) for p in prepared)
    hush.writes.rotate_keys(hush.operator_context(), retire=True)  # v1 is gone from the key file
    with hush.engine.begin() as conn:
        store.insert(conn, prepared, source="test")
    assert {v for _, v in _keys(hush).values()} == {2}
    assert _names(hush) == {"Person R0", "Person R1", "Prepared 0", "Prepared 1", "Prepared 2"}


def test_rotation_and_retirement_are_recorded_in_the_key_store(hush: Hush) -> None:
    _populate(hush, 4)
    assert _state(hush) == (1, {1: False})
    hush.writes.rotate_keys(hush.operator_context())
    assert _state(hush) == (2, {1: False, 2: False})
    report = hush.writes.rotate_keys(hush.operator_context(), retire=True)
    assert report.target_version == 3 and report.retired_versions == (1, 2)
    assert _state(hush) == (3, {1: True, 2: True, 3: False})
    assert hush.keyring.provider.versions() == (3,)
    assert len(_names(hush)) == 4


def test_retirement_keeps_a_version_that_a_data_key_still_uses(hush: Hush) -> None:
    _populate(hush, 3)
    from core.rotation import KeyRotator

    rotator = KeyRotator(engine=hush.engine, keyring=hush.keyring, batch_size=2)
    with pytest.raises(RuntimeError, match="simulated crash"):
        rotator.rotate(_crash_after_batches=1)  # v2 current, one key still under v1
    assert rotator.retire() == ()  # v1 still in use: not retired, not deleted
    assert hush.keyring.provider.versions() == (1, 2)
    assert rotator.rotate(retire=True).retired_versions == (1,)
    assert len(_names(hush)) == 3


def test_concurrent_imports_and_rotations_lose_nothing(hush: Hush) -> None:
    """Threads: one imports in batches while another rotates and retires, again and again."""
    errors: list[BaseException] = []
    stop = threading.Event()

    def rotate() -> None:
        try:
            while not stop.is_set():
                hush.writes.rotate_keys(hush.operator_context(), retire=True)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    thread = threading.Thread(target=rotate)
    thread.start()
    try:
        for batch in range(6):
            _populate(hush, 15, prefix=f"B{batch}-")
    finally:
        stop.set()
        thread.join()
    assert errors == []
    hush.writes.rotate_keys(hush.operator_context(), retire=True)
    assert len(_names(hush)) == 90
    assert _customers_without_key(hush) == []


# -- erasure -------------------------------------------------------------------------------


def test_erasure_touches_one_key_and_no_key_version(hush: Hush) -> None:
    _populate(hush, 8)
    before = _keys(hush)
    versions = hush.keyring.provider.versions()
    receipt = hush.writes.erase(hush.context("dana", "erasure"), "R3")
    after = _keys(hush)
    assert len(after) == 7 and set(before) - set(after) == {next(c for c in before if c not in after)}
    assert all(after[c] == before[c] for c in after)  # no other key re-wrapped
    assert hush.keyring.provider.versions() == versions  # no rotation, no retirement
    assert receipt.backups_protected and not receipt.resumed
    assert receipt.covers["live_data"] is True and receipt.covers["data_backups"] is True
    assert receipt.covers["keystore_backups_older_than_days"] == receipt.keystore_backup_retention_days == 7
    assert len(_names(hush)) == 7
    with pytest.raises((ErasedError, NotFoundError)):
        hush.gateway.read_customer(hush.context("alice", "service"), "R3")


def test_an_old_data_backup_with_the_current_key_store_keeps_the_erased_unreadable(
    hush: Hush, settings: Settings, tmp_path: Path
) -> None:
    if not settings.is_sqlite:
        pytest.skip("file copy of the data; backup and restore on PostgreSQL are tested with them")
    _populate(hush, 5)
    data = Path(settings.database_url.removeprefix("sqlite:///"))
    copy_dir = tmp_path / "restored"
    copy_dir.mkdir()
    src = sqlite3.connect(data)
    dst = sqlite3.connect(copy_dir / data.name)
    src.backup(dst)  # the data only: keys are not in this file
    src.close()
    dst.close()
    hush.writes.erase(hush.context("dana", "erasure"), "R2")
    hush.close()
    shutil.copy2(keystore.keystore_path(settings.database_url), copy_dir / keystore.KEYSTORE_FILE_NAME)
    url = f"sqlite:///{copy_dir / data.name}"
    engine = create_db_engine(url)
    try:
        migrate(engine)
        with engine.connect() as conn:
            keystore.check_matches(conn)
            rows = conn.execute(
                sa.select(customers_t.c.external_id, customer_keys_t.c.customer_id).select_from(
                    customers_t.outerjoin(customer_keys_t, customer_keys_t.c.customer_id == customers_t.c.id)
                )
            ).all()
    finally:
        engine.dispose()
    has_key = {str(r.external_id): r.customer_id is not None for r in rows}
    assert has_key == {"R0": True, "R1": True, "R2": False, "R3": True, "R4": True}


def test_an_erasure_interrupted_before_its_commit_changes_nothing(
    hush: Hush, crash_at: dict[str, int]
) -> None:
    _populate(hush, 4)
    keys = _keys(hush)
    crash_at["erase:shredded"] = 1
    with pytest.raises(Crash):
        hush.writes.erase(hush.context("dana", "erasure"), "R1")
    with hush.engine.connect() as conn:
        row = conn.execute(sa.select(customers_t).where(customers_t.c.external_id == "R1")).one()
    assert row.erased_at is None and _keys(hush) == keys  # rolled back whole: never erased_at without receipt
    assert len(_names(hush)) == 4
    receipt = hush.writes.erase(hush.context("dana", "erasure"), "R1")
    assert not receipt.resumed
    assert _names(hush) == {"Person R0", "Person R2", "Person R3"}


def _leave_key_behind(hush: Hush, external_id: str, key: tuple[bytes, int]) -> str:
    """The state a crash between SQLite's two file commits leaves: data erased, key still stored."""
    with hush.engine.begin() as conn:
        cid = str(
            conn.execute(
                sa.select(customers_t.c.id).where(customers_t.c.external_id == external_id)
            ).scalar_one()
        )
        conn.execute(
            sa.insert(customer_keys_t).values(
                customer_id=cid, wrapped_key=key[0], kek_version=key[1], created_at=utcnow()
            )
        )
    return cid


def test_a_rerun_finishes_an_erasure_whose_key_was_left_behind(hush: Hush) -> None:
    _populate(hush, 4)
    before = _keys(hush)
    first = hush.writes.erase(hush.context("dana", "erasure"), "R1")
    cid = next(c for c in before if c not in _keys(hush))
    _leave_key_behind(hush, "R1", before[cid])
    again = hush.writes.erase(hush.context("dana", "erasure"), "R1")
    assert again.resumed and again.audit_seq == first.audit_seq and again.erased_at == first.erased_at
    assert cid not in _keys(hush)
    with pytest.raises(ErasedError):
        hush.writes.erase(hush.context("dana", "erasure"), "R1")  # nothing left to finish
    with hush.engine.connect() as conn:
        erasures = [e for e in queries.events(conn, subject="dana", limit=1000) if e["action"] == "erase"]
    assert [e["seq"] for e in erasures] == [first.audit_seq]  # one erasure, one event
    assert _names(hush) == {"Person R0", "Person R2", "Person R3"}


def test_opening_the_store_destroys_a_key_left_behind(hush: Hush, settings: Settings) -> None:
    _populate(hush, 3)
    before = _keys(hush)
    hush.writes.erase(hush.context("dana", "erasure"), "R0")
    cid = next(c for c in before if c not in _keys(hush))
    _leave_key_behind(hush, "R0", before[cid])
    hush.close()
    reopened = open_store(settings)
    try:
        assert (cid in _keys(reopened)) is (not settings.is_sqlite)  # PostgreSQL never leaves one
        assert len(_names(reopened)) == 2
    finally:
        reopened.close()


# -- rotation crashes ---------------------------------------------------------------------


@pytest.mark.parametrize("point", ["rotate:switched", "rotate:batch", "rotate:retire"])
def test_an_interrupted_rotation_is_finished_by_a_rerun(
    hush: Hush, crash_at: dict[str, int], point: str
) -> None:
    _populate(hush, 12)
    crash_at[point] = 1
    from core.rotation import KeyRotator

    rotator = KeyRotator(engine=hush.engine, keyring=hush.keyring, batch_size=5)
    with pytest.raises(Crash):
        rotator.rotate(retire=True)
    current, versions = _state(hush)
    assert current == 2  # the switch committed before any of these points
    assert not versions[1]  # v1 is not marked retired while the key file still has it
    assert 1 in hush.keyring.provider.versions()
    assert len(_names(hush)) == 12  # readable in between
    report = rotator.rotate(retire=True)  # the operator reruns `hushdb keys rotate --retire`
    if point == "rotate:retire":  # the re-wrap had finished: the rerun is a new rotation
        assert report.target_version == 3 and report.retired_versions == (1, 2) and not report.resumed
        assert _state(hush) == (3, {1: True, 2: True, 3: False})
    else:
        assert report.target_version == 2 and report.retired_versions == (1,) and report.resumed
        assert _state(hush) == (2, {1: True, 2: False})
    assert hush.keyring.provider.versions() == (report.target_version,)
    assert len(_names(hush)) == 12


def test_a_rotation_that_crashed_before_its_switch_takes_up_the_version_it_added(
    hush: Hush, crash_at: dict[str, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    _populate(hush, 3)
    provider = hush.keyring.provider
    added = provider.add_version()  # what a crash between the key file write and the commit leaves
    assert added == 2 and _state(hush)[0] == 1
    report = hush.writes.rotate_keys(hush.operator_context())
    assert report.target_version == 2 and provider.versions() == (1, 2)
    assert len(_names(hush)) == 3


def test_an_import_interrupted_after_its_keys_leaves_no_customer_without_a_key(
    hush: Hush, crash_at: dict[str, int], settings: Settings
) -> None:
    _populate(hush, 2, prefix="A")
    crash_at["import:keys"] = 1
    if settings.is_sqlite:  # the keys commit on their own first
        with pytest.raises(Crash):
            _populate(hush, 3, prefix="B")
        assert len(_keys(hush)) == 5  # orphan keys: harmless
    else:  # one atomic transaction: nothing to interrupt in between
        _populate(hush, 3, prefix="B")
    assert _customers_without_key(hush) == []
    _populate(hush, 3, prefix="C")
    assert _customers_without_key(hush) == []


def test_an_erased_key_does_not_stay_in_the_sqlite_key_store_file(hush: Hush, settings: Settings) -> None:
    if hush.engine.dialect.name != "sqlite":
        pytest.skip("the SQLite key-store file")
    _populate(hush, 5)
    before = _keys(hush)
    hush.writes.erase(hush.context("dana", "erasure"), "R3")
    (gone,) = set(before) - set(_keys(hush))
    wrapped = before[gone][0]
    path = keystore.keystore_path(settings.database_url)
    assert wrapped not in path.read_bytes()  # secure_delete zeroed it and the checkpoint reached the file

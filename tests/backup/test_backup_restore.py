"""Backup -> erase -> lose the data -> restore, full and incremental chains, on both databases."""

from __future__ import annotations

import json
from pathlib import Path

import sqlalchemy as sa

from audit.signing import load_signer
from audit.verify import verify_engine
from tests.backup.conftest import Store


def _audit_ok(store: Store) -> str:
    engine = sa.create_engine(store.settings.database_url)
    try:
        report = verify_engine(
            engine,
            checkpoints_path=store.settings.checkpoints_path,
            public_key=load_signer(store.settings.signing_key_path).public_key,
        )
    finally:
        engine.dispose()
    assert report.ok, report.reason
    return report.reason


def _restore_events(store: Store) -> list[dict[str, object]]:
    engine = sa.create_engine(store.settings.database_url)
    try:
        with engine.connect() as conn:
            rows = conn.exec_driver_sql(
                "SELECT seq, detail FROM audit_events WHERE action = 'restore' ORDER BY seq"
            ).all()
    finally:
        engine.dispose()
    return [{"seq": int(r[0]), **json.loads(r[1])} for r in rows]


def test_erased_customer_stays_unreadable_after_restore(store: Store) -> None:
    full = store.tmp / "b" / "full"
    result = store.cli("backup", "create", "--out", str(full))
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in full.iterdir()) == ["data.enc", "index.enc", "manifest.json"]

    store.erase("R3")  # after the backup: the backup still holds R3's ciphertexts
    before = store.readable()
    assert "R3" not in before and len(before) == 11

    store.lose_data()
    result = store.cli("restore", str(full))
    assert result.exit_code == 0, result.output
    assert "erasures re-applied: 1" in result.output

    after = store.readable()
    assert after == before  # the others intact, R3 not revived
    assert "R3" in store.erased()
    _audit_ok(store)
    (event,) = _restore_events(store)
    manifest = json.loads((full / "manifest.json").read_text())
    assert event["backup_id"] == manifest["id"]
    assert event["lost_from_seq"] == manifest["audit"]["head_seq"] + 1
    assert isinstance(event["lost_to_seq"], int) and event["lost_to_seq"] >= event["lost_from_seq"]
    assert event["erasures_reapplied"] == 1


def test_full_plus_incremental_chain(store: Store) -> None:
    b = store.tmp / "b"
    assert store.cli("backup", "create", "--out", str(b / "full")).exit_code == 0
    store.add(100, 5)
    store.erase("R1")
    r = store.cli("backup", "create", "--out", str(b / "inc1"), "--incremental-from", str(b / "full"))
    assert r.exit_code == 0, r.output
    store.add(200, 3)
    store.erase("R2")
    r = store.cli("backup", "create", "--out", str(b / "inc2"), "--incremental-from", str(b / "inc1"))
    assert r.exit_code == 0, r.output
    inc2 = json.loads((b / "inc2" / "manifest.json").read_text())
    assert inc2["kind"] == "incremental" and inc2["base"]["path_relative"] == "../inc1"
    assert inc2["tables"]["customers"]["copied"] == 3 + 1  # three new rows, R2 cleared
    assert inc2["tables"]["audit_events"]["copied"] < inc2["tables"]["audit_events"]["rows"]

    r = store.cli("backup", "verify", str(b / "inc2"))
    assert r.exit_code == 0, r.output
    assert "3 backup(s)" in r.output

    expected = store.readable()
    store.erase("R4")  # after the newest backup
    store.lose_data()
    r = store.cli("restore", str(b / "inc2"))
    assert r.exit_code == 0, r.output
    after = store.readable()
    assert after == {k: v for k, v in expected.items() if k != "R4"}
    assert {"R1", "R2", "R4"} <= store.erased()
    assert {f"R{i}" for i in range(200, 203)} <= set(after)
    _audit_ok(store)


def test_restore_force_over_damaged_database(store: Store) -> None:
    full = store.tmp / "full"
    assert store.cli("backup", "create", "--out", str(full)).exit_code == 0
    expected = store.readable()
    store.add(50, 2)  # lost by the restore
    r = store.cli("restore", str(full))
    assert r.exit_code == 5, r.output
    assert "not empty" in r.output
    r = store.cli("restore", str(full), "--force")
    assert r.exit_code == 0, r.output
    assert store.readable() == expected
    _audit_ok(store)
    (event,) = _restore_events(store)
    assert event["lost_to_seq"] is not None and int(str(event["lost_to_seq"])) > int(
        str(event["restored_head_seq"])
    )
    # against the witness as it was before the restore (archived beside it), the lost range is reported
    archived = list(store.settings.checkpoints_path.parent.glob("checkpoints.jsonl.before-restore-*"))
    assert len(archived) == 1
    c = store.cli("backup", "check-audit", "--json")
    assert c.exit_code == 0, c.output
    doc = json.loads(c.output)
    assert doc["ok"] and "NOT intact" in doc["reason"] and "intact:" in doc["reason"]
    (gap,) = doc["lost"]
    assert gap["from_seq"] == event["lost_from_seq"] and gap["to_seq"] is not None
    # verification against that archived witness alone reports the lost range too: never just "intact"
    engine = sa.create_engine(store.settings.database_url)
    try:
        plain = verify_engine(
            engine,
            checkpoints_path=archived[0],
            public_key=load_signer(store.settings.signing_key_path).public_key,
        )
    finally:
        engine.dispose()
    assert plain.status != "intact"
    if plain.ok:
        assert [(r.first_seq, r.last_seq) for r in plain.lost] == [(gap["from_seq"], gap["to_seq"])]
    # the store keeps working after the restore, and a new backup chain starts from it
    store.add(300, 1)
    assert "R300" in store.readable()
    assert store.cli("backup", "create", "--out", str(store.tmp / "after")).exit_code == 0
    _audit_ok(store)


def test_restore_into_freshly_initialised_store(store: Store) -> None:
    """`hushdb init` on the lost data leaves an empty store (only system events): restore needs no --force."""
    full = store.tmp / "full"
    assert store.cli("backup", "create", "--out", str(full)).exit_code == 0
    expected = store.readable()
    store.lose_data()
    assert store.cli("init").exit_code == 0
    r = store.cli("restore", str(full))
    assert r.exit_code == 0, r.output
    assert store.readable() == expected
    assert store.cli("audit", "verify").exit_code == 0


def test_force_over_garbage_sqlite_file(store: Store) -> None:
    url = store.settings.database_url
    if not url.startswith("sqlite"):
        return
    full = store.tmp / "full"
    assert store.cli("backup", "create", "--out", str(full)).exit_code == 0
    expected = store.readable()
    db = Path(sa.make_url(url).database or "")
    for suffix in ("-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    db.write_bytes(b"this is not a database" * 100)
    r = store.cli("restore", str(full))
    assert r.exit_code == 5, r.output
    r = store.cli("restore", str(full), "--force")
    assert r.exit_code == 0, r.output
    assert store.readable() == expected
    assert store.cli("audit", "verify").exit_code == 0


def _meta(store: Store, sql: str, params: dict[str, str] | None = None) -> list[tuple[str, str]]:
    engine = sa.create_engine(store.settings.database_url)
    try:
        with engine.begin() as conn:
            if sql:
                conn.execute(sa.text(sql), params or {})
            rows = conn.exec_driver_sql(
                "SELECT key, value FROM meta WHERE key IN ('test_gone', 'test_kept', 'test_born') ORDER BY key"
            ).all()
    finally:
        engine.dispose()
    return [(str(k), str(v)) for k, v in rows]


def test_incremental_carries_deleted_and_changed_rows(store: Store) -> None:
    _meta(store, "INSERT INTO meta (key, value) VALUES ('test_gone', 'x'), ('test_kept', 'old')")
    b = store.tmp / "b"
    assert store.cli("backup", "create", "--out", str(b / "full")).exit_code == 0
    after = _meta(store, "DELETE FROM meta WHERE key = 'test_gone'")
    after = _meta(store, "UPDATE meta SET value = 'new' WHERE key = 'test_kept'")
    after = _meta(store, "INSERT INTO meta (key, value) VALUES ('test_born', 'y')")
    r = store.cli("backup", "create", "--out", str(b / "inc"), "--incremental-from", str(b / "full"))
    assert r.exit_code == 0, r.output
    manifest = json.loads((b / "inc" / "manifest.json").read_text())
    assert manifest["tables"]["meta"]["deleted"] == 1 and manifest["tables"]["meta"]["copied"] == 2
    store.lose_data()
    assert store.cli("restore", str(b / "inc")).exit_code == 0
    assert _meta(store, "") == after == [("test_born", "y"), ("test_kept", "new")]

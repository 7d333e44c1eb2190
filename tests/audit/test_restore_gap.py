"""After a restore, ``hushdb audit verify`` names the audit range the restore lost (issue 14, part 3).

The story, through the real command line, on SQLite and PostgreSQL: init with a
witness outside the data directory, add customers, back up, erase one and add
more events, checkpoint (publish the witness), keep an independent copy of the
witness, lose the database, restore.  Verification then passes with status
``intact_with_restore_gap`` and the lost range (from the restore event, widened
by the witness checkpoints signed before the restore), over the CLI and HTTP,
in full and incrementally; and it still fails on real tampering afterwards.
"""

from __future__ import annotations

import json
import shutil
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from api.http import create_app
from api.wiring import init_store
from audit.checkpoints import Checkpoint, read_checkpoints_file
from core.apikeys import ApiKeys
from core.config import load_settings
from tests.backup.conftest import Store

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    from fastapi.testclient import TestClient


@dataclass
class WitnessedStore(Store):
    """A store whose witness lives outside the data directory (``HUSHDB_AUDIT_WITNESS``)."""

    witness_dir: Path = Path()

    @property
    def env(self) -> dict[str, str]:
        return {**super().env, "HUSHDB_AUDIT_WITNESS": str(self.witness_dir)}

    def json(self, *args: str, code: int = 0) -> dict[str, Any]:
        r = self.cli(*args, "--json")
        assert r.exit_code == code, r.output
        doc: dict[str, Any] = json.loads(r.stdout)
        return doc


@dataclass
class Restored:
    store: WitnessedStore
    pinned: Path  # the audit public key, exported before the loss
    independent: Path  # a copy of the witness taken before the loss (another host): never rotated
    before: tuple[Checkpoint, ...]  # the witness as it was before the loss
    backup_head: int
    restore: dict[str, Any]  # `hushdb restore --json`


def _engine(store: Store) -> Engine:
    return sa.create_engine(store.settings.database_url)


def _restore_events(store: Store) -> list[dict[str, Any]]:
    engine = _engine(store)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                sa.text("SELECT seq, detail FROM audit_events WHERE action = 'restore' ORDER BY seq")
            ).all()
    finally:
        engine.dispose()
    return [{"seq": int(r.seq), **json.loads(r.detail)} for r in rows]


@pytest.fixture
def restored(data_dir: Path, database_url: str, tmp_path: Path) -> Restored:
    witness_dir = tmp_path / "witness-host"
    witness_dir.mkdir()
    env = {
        "HUSHDB_DATABASE_URL": database_url,
        "HUSHDB_CHECKPOINT_EVERY": "5",
        "HUSHDB_AUDIT_WITNESS": str(witness_dir),
    }
    settings = load_settings(data_dir, env=env)
    init_store(settings).close()
    store = WitnessedStore(settings=settings, tmp=tmp_path, witness_dir=witness_dir)
    store.add(0, 6)
    pinned = tmp_path / "audit-public.pem"
    assert store.cli("audit", "export-key", "--out", str(pinned)).exit_code == 0
    backup = tmp_path / "full"
    assert store.cli("backup", "create", "--out", str(backup)).exit_code == 0
    backup_head = int(json.loads((backup / "manifest.json").read_text())["audit"]["head_seq"])
    # after the backup: an erasure, more customers, reads; then a verification publishes the witness
    store.erase("R1")
    store.add(100, 4)
    assert "R100" in store.readable()
    assert store.json("audit", "verify")["status"] == "intact"
    before = read_checkpoints_file(settings.checkpoints_path).checkpoints
    assert max(cp.seq for cp in before) > backup_head + 1  # the witness saw events the backup lacks
    independent = tmp_path / "other-host" / "checkpoints.jsonl"
    independent.parent.mkdir()
    shutil.copy(settings.checkpoints_path, independent)
    store.lose_data()
    doc = store.json("restore", str(backup))
    return Restored(store, pinned, independent, before, backup_head, doc)


def _gap(doc: dict[str, Any], r: Restored) -> dict[str, Any]:
    assert doc["ok"] is True and doc["status"] == "intact_with_restore_gap", doc
    assert doc["first_bad_seq"] is None
    (gap,) = doc["lost"]
    assert gap["backup_id"] == r.restore["backup"]
    assert gap["restore_seq"] == r.restore["audit_seq"]
    assert gap["lost_from_seq"] == r.restore["lost_audit_from"] == r.backup_head + 1
    newest_witnessed = max(cp.seq for cp in r.before)
    assert gap["lost_to_seq"] is not None and gap["lost_to_seq"] >= newest_witnessed
    assert "NOT intact" in doc["reason"] and f"events {gap['lost_from_seq']}.." in doc["reason"]
    return dict(gap)


def test_verify_reports_the_range_a_restore_lost(restored: Restored) -> None:
    r, store = restored, restored.store
    lost_checkpoints = sum(1 for cp in r.before if cp.seq > r.backup_head)
    assert lost_checkpoints >= 1
    # the erased customer stays erased; everyone else restored
    readable = store.readable()
    assert "R1" in store.erased() and "R1" not in readable
    assert {f"R{i}" for i in (0, 2, 3, 4, 5)} <= set(readable)
    # plain `audit verify`: the configured witness (rotated) and the copy the restore kept beside it
    gap = _gap(store.json("audit", "verify"), r)
    assert gap["witness_checkpoints"] == lost_checkpoints
    # against the independent witness (never rotated), with the pinned key
    doc = store.json("audit", "verify", "--witness", str(r.independent), "--public-key", str(r.pinned))
    assert _gap(doc, r)["witness_checkpoints"] == lost_checkpoints
    assert doc["key"].startswith("pinned")
    # the text output never says "intact" alone, and exits 0
    res = store.cli("audit", "verify", "--witness", str(r.independent), "--public-key", str(r.pinned))
    assert res.exit_code == 0, res.output
    first, *rest = res.stdout.splitlines()
    assert first.startswith("audit log verified, NOT intact: 1 restore gap(s)")
    assert not any(line.startswith("audit log intact") for line in res.stdout.splitlines())
    assert any(
        line.startswith(f"lost: events {gap['lost_from_seq']}..{gap['lost_to_seq']} lost by the restore of "
                        f"backup {r.restore['backup'][:12]}")
        for line in rest
    )  # fmt: skip
    # the verification event records the status and the gap
    engine = _engine(store)
    try:
        with engine.connect() as conn:
            detail = json.loads(
                conn.execute(
                    sa.text("SELECT detail FROM audit_events WHERE action = 'audit_verify' ORDER BY seq DESC")
                ).scalars().first() or "{}"
            )  # fmt: skip
    finally:
        engine.dispose()
    assert detail["status"] == "intact_with_restore_gap"
    assert detail["restore_seqs"] == str(r.restore["audit_seq"])
    assert detail["lost_0"].startswith(f"{gap['lost_from_seq']}..{gap['lost_to_seq']} backup ")
    # incremental: the restore before the start is still reported (from restore_seqs)
    store.add(200, 3)
    inc = store.json("audit", "verify", "--since-checkpoint")
    assert inc["since_seq"] > r.restore["audit_seq"]
    assert _gap(inc, r) == gap
    # `hushdb backup check-audit` keeps working on the same logic
    check = store.json("backup", "check-audit")
    assert check["ok"] and [(g["from_seq"], g["to_seq"]) for g in check["lost"]] == [
        (gap["lost_from_seq"], gap["lost_to_seq"])
    ]


def test_http_verify_reports_the_gap(restored: Restored) -> None:
    r = restored
    hush = r.store.open()
    try:
        token = ApiKeys(gateway=hush.gateway).create(hush.operator_context(), "cora").token
        with TestClient(create_app(hush), raise_server_exceptions=True) as client:
            res = client.get(
                "/audit/verify", headers={"Authorization": f"Bearer {token}", "X-Purpose": "compliance"}
            )
    finally:
        hush.close()
    assert res.status_code == 200, res.text
    _gap(res.json(), r)


def _rewrite_witness(path: Path, change: Any) -> None:
    lines = path.read_text().splitlines()
    path.write_text("".join(change(line) + "\n" for line in lines))


@pytest.mark.parametrize(
    "attack",
    [
        "event_before_the_gap",
        "event_after_the_restore",
        "restore_event_widened",
        "forged_lost_checkpoint",
        "tail_cut_after_the_restore",
    ],
)
def test_tampering_after_a_restore_is_still_detected(restored: Restored, attack: str, tools: Any) -> None:
    r, store = restored, restored.store
    store.add(300, 6)  # events and checkpoints after the restore
    assert store.json("audit", "verify")["status"] == "intact_with_restore_gap"
    restore_seq = int(r.restore["audit_seq"])
    witness = r.independent
    engine = _engine(store)
    try:
        with tools.rogue_admin(engine) as conn:
            if attack == "event_before_the_gap":  # an event the backup restored
                conn.exec_driver_sql("UPDATE audit_events SET subject = 'mallory' WHERE seq = 2")
            elif attack == "event_after_the_restore":
                conn.exec_driver_sql(
                    f"UPDATE audit_events SET subject = 'mallory' WHERE seq = {restore_seq + 2}"
                )
            elif attack == "restore_event_widened":  # claim more was lost, hashes recomputed (no signing key)
                detail = json.loads(
                    conn.execute(sa.text("SELECT detail FROM audit_events WHERE seq = :s"), {"s": restore_seq})
                    .scalar_one()
                )  # fmt: skip
                detail["lost_to_seq"] = int(detail["lost_to_seq"] or 0) + 1000
                conn.execute(
                    sa.text("UPDATE audit_events SET detail = :d WHERE seq = :s"),
                    {"d": json.dumps(detail, sort_keys=True, separators=(",", ":")), "s": restore_seq},
                )
                tools.rehash_from(conn, restore_seq)
            elif attack == "tail_cut_after_the_restore":  # newest events deleted, hashes and head put back
                top = int(conn.exec_driver_sql("SELECT max(seq) FROM audit_events").scalar_one())
                conn.exec_driver_sql(f"DELETE FROM audit_ref_index WHERE seq > {top - 4}")
                conn.exec_driver_sql(f"DELETE FROM audit_events WHERE seq > {top - 4}")
                conn.exec_driver_sql(f"DELETE FROM audit_checkpoints WHERE seq > {top - 4}")
                tools.rehash_from(conn, 1)
    finally:
        engine.dispose()
    if attack == "forged_lost_checkpoint":  # a checkpoint of the lost range with another hash: not signed
        lost_seq = max(cp.seq for cp in r.before)

        def forge(line: str) -> str:
            cp = Checkpoint.from_json_line(line)
            return line if cp.seq != lost_seq else line.replace(cp.hash, "0" * 64)

        _rewrite_witness(witness, forge)
    res = store.cli("audit", "verify", "--witness", str(witness), "--public-key", str(r.pinned), "--json")
    assert res.exit_code == 1, res.output
    doc = json.loads(res.stdout)
    assert doc["ok"] is False and doc["status"] == "tampered" and doc["first_bad_seq"] is not None
    if attack == "forged_lost_checkpoint":
        assert "invalid signature" in doc["reason"] and "before the restore" in doc["reason"]


def test_no_restore_no_gap(data_dir: Path, database_url: str, tmp_path: Path, tools: Any) -> None:
    """Without a restore the log is just intact, and a witness ahead of the log is tampering, not a gap."""
    (tmp_path / "w").mkdir()
    env = {
        "HUSHDB_DATABASE_URL": database_url,
        "HUSHDB_CHECKPOINT_EVERY": "5",
        "HUSHDB_AUDIT_WITNESS": str(tmp_path / "w"),
    }
    settings = load_settings(data_dir, env=env)
    init_store(settings).close()
    store = WitnessedStore(settings=settings, tmp=tmp_path, witness_dir=tmp_path / "w")
    store.add(0, 4)
    assert store.json("audit", "verify")["status"] == "intact"
    backup = tmp_path / "full"
    assert store.cli("backup", "create", "--out", str(backup)).exit_code == 0
    witness = store.settings.checkpoints_path
    store.add(10, 6)
    assert store.json("audit", "verify")["lost"] == []
    saved = witness.read_text()
    # the database put back to the backup behind the operator's back (no restore event): tampering
    engine = _engine(store)
    try:
        with tools.rogue_admin(engine) as conn:
            head = int(json.loads((backup / "manifest.json").read_text())["audit"]["head_seq"])
            conn.exec_driver_sql(f"DELETE FROM audit_ref_index WHERE seq > {head}")
            conn.exec_driver_sql(f"DELETE FROM audit_events WHERE seq > {head}")
            conn.exec_driver_sql(f"DELETE FROM audit_checkpoints WHERE seq > {head}")
            tools.rehash_from(conn, 1)
    finally:
        engine.dispose()
    witness.write_text(saved)
    doc = store.json("audit", "verify", code=1)
    assert doc["status"] == "tampered" and doc["lost"] == []

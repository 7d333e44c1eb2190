"""Migration 0010: a log written before head signing and channels keeps verifying, then gets signed."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from sqlalchemy.engine import Engine

from audit.events import GENESIS_HASH, AuditEvent, canonical_record_bytes, record_hash
from audit.log import AuditLog
from audit.signing import Ed25519Signer
from audit.verify import verify_engine
from core.db import alembic_config, create_db_engine, migrate

BEFORE = "0009_keystore"
TS = "2025-01-01T00:00:00.000000Z"


@pytest.fixture
def old_engine(database_url: str) -> Iterator[Engine]:
    engine = create_db_engine(database_url)
    command.upgrade(alembic_config(engine), BEFORE)
    yield engine
    engine.dispose()


def _write_0009_rows(engine: Engine, events: list[AuditEvent]) -> None:
    """Events as the 0009-era log stored them: no channel, no OS user, an unsigned head."""
    prev = GENESIS_HASH
    with engine.begin() as conn:
        for seq, event in enumerate(events, start=1):
            roles, fields, refs, detail = event.column_json()
            row = {
                "seq": seq, "ts": TS, "subject": event.subject, "roles": roles, "purpose": event.purpose,
                "action": event.action, "resource": event.resource, "fields": fields, "decision": event.decision,
                "row_count": event.row_count, "request_id": event.request_id, "record_refs": refs,
                "detail": detail, "prev_hash": prev,
            }  # fmt: skip
            row["hash"] = record_hash(
                canonical_record_bytes(
                    seq=seq, ts=TS, subject=event.subject, roles_json=roles, purpose=event.purpose,
                    action=event.action, resource=event.resource, fields_json=fields, decision=event.decision,
                    row_count=event.row_count, request_id=event.request_id, record_refs_json=refs,
                    detail_json=detail, prev_hash=prev,
                )
            )  # fmt: skip
            cols = ", ".join(row)
            conn.execute(sa.text(f"INSERT INTO audit_events ({cols}) VALUES (:{', :'.join(row)})"), row)
            prev = str(row["hash"])
        conn.execute(
            sa.text("UPDATE audit_head SET seq = :s, hash = :h WHERE id = 1"), {"s": len(events), "h": prev}
        )


def test_upgrade_keeps_old_hashes_and_the_first_append_signs_the_head(
    old_engine: Engine, make_event: Callable[..., AuditEvent], make_log: Callable[..., AuditLog],
    checkpoints_path: Path, signer: Ed25519Signer,
) -> None:  # fmt: skip
    _write_0009_rows(old_engine, [make_event(i, record_refs=()) for i in range(8)])
    migrate(old_engine)
    with old_engine.connect() as conn:
        head = conn.execute(sa.text("SELECT head_signature, verified_event_seq FROM audit_head")).one()
        channels = set(conn.execute(sa.text("SELECT channel || '/' || os_user FROM audit_events")).scalars())
    assert tuple(head) == ("", 0) and channels == {"/"}
    before = verify_engine(old_engine, checkpoints_path=checkpoints_path, public_key=signer.public_key)
    assert before.ok and not before.head_signed and before.unsigned_tail == 8, before.reason
    log = make_log(every=100)
    with old_engine.begin() as conn:
        assert log.append(conn, make_event(8, record_refs=(), channel="cli", os_user="ops")) == 9
    after = verify_engine(old_engine, checkpoints_path=checkpoints_path, public_key=signer.public_key)
    assert after.ok and after.head_signed and after.unsigned_tail == 0, after.reason
    # now that events carry a channel, the columns cannot be dropped
    with pytest.raises(RuntimeError, match="cannot downgrade"):
        command.downgrade(alembic_config(old_engine), BEFORE)


def test_downgrade_without_newer_events_drops_the_columns(old_engine: Engine) -> None:
    migrate(old_engine)
    command.downgrade(alembic_config(old_engine), BEFORE)
    names = {c["name"] for c in sa.inspect(old_engine).get_columns("audit_events")}
    assert "channel" not in names and "os_user" not in names
    migrate(old_engine)
    names = {c["name"] for c in sa.inspect(old_engine).get_columns("audit_head")}
    assert {"head_key_id", "head_signature", "verified_event_seq"} <= names

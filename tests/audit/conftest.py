"""Fixtures of the audit tests: a signer, a log on the migrated ``engine``, events, a rogue admin.

``engine`` (tests/conftest.py) is a fresh, fully migrated database on SQLite
and, with HUSHDB_TEST_PG_URL, on PostgreSQL.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from audit.checkpoints import Checkpoint, JsonlCheckpointSink, head_message
from audit.events import AuditEvent, canonical_record_bytes, record_hash
from audit.log import AuditLog
from audit.refs import RecordRefs
from audit.signing import Ed25519Signer, load_or_create_signer
from audit.tables import AUDIT_TABLES
from audit.verify import VerifyReport, verify

REF_KEY = b"k" * 32


class FakeClock:
    """A clock that moves only when told to."""

    def __init__(self) -> None:
        self.now = datetime(2025, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def signer(tmp_path: Path) -> Ed25519Signer:
    return load_or_create_signer(tmp_path / "audit-signing.key")


@pytest.fixture
def checkpoints_path(tmp_path: Path) -> Path:
    return tmp_path / "checkpoints.jsonl"


@pytest.fixture
def refs() -> RecordRefs:
    return RecordRefs(REF_KEY)


@pytest.fixture
def make_log(signer: Ed25519Signer, checkpoints_path: Path, clock: FakeClock) -> Callable[..., AuditLog]:
    def build(every: int = 10, seconds: float = 3600.0) -> AuditLog:
        return AuditLog(
            signer=signer,
            checkpoint_sink=JsonlCheckpointSink(checkpoints_path),
            checkpoint_every=every,
            checkpoint_seconds=seconds,
            clock=clock,
        )

    return build


@pytest.fixture
def audit_log(make_log: Callable[..., AuditLog]) -> AuditLog:
    return make_log()


@pytest.fixture
def make_event(refs: RecordRefs) -> Callable[..., AuditEvent]:
    def build(i: int = 0, **overrides: Any) -> AuditEvent:
        values: dict[str, Any] = {
            "subject": ["alice", "bob", "mailmerge-1", "carol"][i % 4],
            "roles": ("sales",) if i % 4 < 2 else ("mailmerge",),
            "purpose": "service" if i % 4 < 2 else "marketing",
            "action": "read",
            "resource": "customer",
            "fields": ("email", "full_name"),
            "decision": "deny" if i % 5 == 4 else "allow",
            "row_count": i % 3,
            "request_id": f"req-{i}",
            "record_refs": (refs.ref(f"cust-{i % 7}"), refs.ref(f"cust-{(i + 3) % 7}")) if i % 2 else (),
            "detail": {"policy": "p1", "n": i, "ok": True, "none": None},
        }
        values.update(overrides)
        return AuditEvent(**values)

    return build


class AuditTools:
    """Helpers for audit tests (a fixture, so test modules need not import conftest)."""

    @staticmethod
    def append_n(
        engine: Engine, log: AuditLog, make_event: Callable[..., AuditEvent], n: int, *, start: int = 0
    ) -> None:
        """Append n events, one transaction each, and publish checkpoints after each commit."""
        for i in range(start, start + n):
            with engine.begin() as conn:
                log.append(conn, make_event(i))
            log.publish_checkpoints(engine)

    @staticmethod
    def run_verify(engine: Engine, checkpoints_path: Path, signer: Ed25519Signer) -> VerifyReport:
        with engine.connect() as conn:
            report = verify(conn, checkpoints_path=checkpoints_path, public_key=signer.public_key)
            conn.rollback()
        return report

    @staticmethod
    @contextmanager
    def rogue_admin(engine: Engine) -> Iterator[Connection]:
        """A connection whose owner removed the append-only triggers (committed on exit)."""
        with engine.begin() as conn:
            AuditTools.drop_guards(conn)
            yield conn

    @staticmethod
    def drop_guards(conn: Connection) -> None:
        if conn.dialect.name == "sqlite":
            names: list[str] = list(
                conn.execute(
                    sa.text(
                        "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name LIKE 'audit%'"
                    )
                ).scalars()
            )
            for name in names:
                conn.exec_driver_sql(f"DROP TRIGGER {name}")
        else:
            for table in AUDIT_TABLES:
                conn.exec_driver_sql(f"ALTER TABLE {table} DISABLE TRIGGER USER")

    @staticmethod
    def rehash_from(conn: Connection, start: int, stop: int | None = None) -> None:
        """What an attacker does after a change: recompute the hashes from ``start`` (to ``stop``) and the head."""
        rows = conn.execute(
            sa.text("SELECT * FROM audit_events WHERE seq >= :s AND seq <= :e ORDER BY seq"),
            {"s": start, "e": stop if stop is not None else 2**62},
        ).mappings()
        prev_row = conn.execute(
            sa.text("SELECT hash FROM audit_events WHERE seq = :s"), {"s": start - 1}
        ).scalar()
        prev = prev_row if prev_row is not None else "0" * 64
        updates = []
        for row in list(rows):
            digest = record_hash(
                canonical_record_bytes(
                    seq=row["seq"],
                    ts=row["ts"],
                    subject=row["subject"],
                    roles_json=row["roles"],
                    purpose=row["purpose"],
                    action=row["action"],
                    resource=row["resource"],
                    fields_json=row["fields"],
                    decision=row["decision"],
                    row_count=row["row_count"],
                    request_id=row["request_id"],
                    record_refs_json=row["record_refs"],
                    detail_json=row["detail"],
                    prev_hash=prev,
                    channel=row["channel"],
                    os_user=row["os_user"],
                )
            )
            updates.append({"s": row["seq"], "p": prev, "h": digest})
            prev = digest
        for u in updates:
            conn.execute(sa.text("UPDATE audit_events SET prev_hash = :p, hash = :h WHERE seq = :s"), u)
        if stop is not None:
            return
        last = conn.execute(sa.text("SELECT max(seq) FROM audit_events")).scalar() or 0
        conn.execute(
            sa.text("UPDATE audit_head SET seq = :s, hash = :h WHERE id = 1"), {"s": last, "h": prev}
        )

    @staticmethod
    def rebuild_with(engine: Engine, rogue: Ed25519Signer, *, seq: int = 5) -> None:
        """A rebuilt log: event ``seq`` rewritten, every hash recomputed, the checkpoints and the
        head re-signed with the attacker's key ``rogue``."""
        with AuditTools.rogue_admin(engine) as conn:
            conn.execute(sa.text("UPDATE audit_events SET subject = 'mallory' WHERE seq = :s"), {"s": seq})
            AuditTools.rehash_from(conn, 1)
            conn.exec_driver_sql("DELETE FROM audit_checkpoints")
            rows = conn.execute(sa.text("SELECT seq, hash, ts FROM audit_events ORDER BY seq")).all()
            for s, digest, ts in rows:
                cp = Checkpoint(int(s), str(digest), str(ts), rogue.key_id, "")
                signature = base64.b64encode(rogue.sign(cp.message())).decode()
                conn.execute(
                    sa.text("INSERT INTO audit_checkpoints VALUES (:s, :h, :t, :k, :g)"),
                    {"s": s, "h": digest, "t": ts, "k": rogue.key_id, "g": signature},
                )
            head_seq, head_hash = conn.execute(sa.text("SELECT seq, hash FROM audit_head WHERE id = 1")).one()
            message = head_message(int(head_seq), str(head_hash), rogue.key_id)
            conn.execute(
                sa.text("UPDATE audit_head SET head_key_id = :k, head_signature = :g WHERE id = 1"),
                {"k": rogue.key_id, "g": base64.b64encode(rogue.sign(message)).decode()},
            )


@pytest.fixture
def tools() -> type[AuditTools]:
    return AuditTools

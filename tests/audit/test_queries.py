"""Compliance queries: filtered events and the per-person access report."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy.engine import Engine

from audit.events import AuditEvent
from audit.log import AuditLog
from audit.queries import access_report, events
from audit.refs import RecordRefs
from core.errors import InputError


@pytest.fixture
def filled(
    engine: Engine, audit_log: AuditLog, make_event: Callable[..., AuditEvent], refs: RecordRefs, clock: Any
) -> Engine:
    jane = refs.ref("cust-jane")
    with engine.begin() as conn:
        audit_log.append(conn, make_event(0, subject="alice", record_refs=(jane,), fields=("email", "phone")))
    clock.advance(3600)
    with engine.begin() as conn:
        audit_log.append(
            conn, make_event(1, subject="bob", decision="deny", record_refs=(jane,), row_count=0)
        )
        audit_log.append(conn, make_event(2, subject="mm", purpose="marketing", record_refs=(refs.ref("x"),)))
    clock.advance(3600)
    with engine.begin() as conn:
        audit_log.append(conn, make_event(3, subject="alice", purpose="service", record_refs=()))
    return engine


def test_access_report_lists_who_saw_one_person(filled: Engine, refs: RecordRefs) -> None:
    with filled.connect() as conn:
        report = access_report(conn, refs.ref("cust-jane"))
        conn.rollback()
    assert [(r["seq"], r["subject"], r["decision"]) for r in report] == [
        (1, "alice", "allow"),
        (2, "bob", "deny"),
    ]
    first = report[0]
    assert first["fields"] == ["email", "phone"] and first["purpose"] == "service"
    assert first["roles"] == ["sales"] and first["ts"] == "2025-01-02T03:04:05.678901Z"
    assert set(first) == {"seq", "ts", "subject", "roles", "purpose", "action", "resource", "fields",
                          "decision", "request_id"}  # fmt: skip


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({}, [1, 2, 3, 4]),  # everything
        ({"subject": "alice"}, [1, 4]),
        ({"purpose": "marketing"}, [3]),
        ({"denied_only": True}, [2]),
        ({"record_ref": "JANE"}, [1, 2]),  # placeholder replaced by jane's ref
        ({"since": "2025-01-02T04:00:00Z"}, [2, 3, 4]),  # inclusive lower bound (ISO text)
        ({"until": "2025-01-02T05:04:05.678901+00:00"}, [1, 2, 3]),  # exclusive upper bound
        ({"since": "2025-01-02T04:00:00", "until": "2025-01-02T05:00:00"}, [2, 3]),  # naive = UTC
        ({"limit": 2}, [1, 2]),
        ({"after_seq": 2, "limit": 1}, [3]),
        ({"subject": "alice", "purpose": "marketing"}, []),  # filters combine with AND
    ],
)
def test_event_filters(
    filled: Engine, refs: RecordRefs, filters: dict[str, Any], expected: list[int]
) -> None:
    if filters.get("record_ref") == "JANE":
        filters = {**filters, "record_ref": refs.ref("cust-jane")}
    with filled.connect() as conn:
        rows = events(conn, **filters)
        conn.rollback()
    assert [r["seq"] for r in rows] == expected
    for r in rows:
        assert isinstance(r["detail"], dict) and isinstance(r["record_refs"], list)


def test_bad_query_input_is_an_input_error(filled: Engine) -> None:
    with filled.connect() as conn:
        with pytest.raises(InputError):
            events(conn, record_ref="jane@example.com")
        with pytest.raises(InputError):
            events(conn, since="yesterday")
        with pytest.raises(InputError):
            access_report(conn, "not-a-ref")
        conn.rollback()

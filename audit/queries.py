"""Compliance queries over the audit log.

``events``         the filtered event list behind ``hushdb audit events`` (newest or oldest first,
                   bounded by seq on both sides for paging).
``access_report``  "who accessed this person's data, when, for what purpose,
                   which fields, with what decision" (GDPR Art. 15(1)(c)),
                   behind ``hushdb audit report --customer``.

Both take a record reference (``audit.refs.RecordRefs.ref(record_id)``), never
a plaintext identifier; the caller computes it.  A record's events are found
through ``audit_ref_index`` (:func:`audit.refindex.candidate_seqs`) and
confirmed against each event's hashed ``record_refs`` column.  Times in and out are UTC.
``since`` is inclusive, ``until`` exclusive; naive datetimes are taken as UTC.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from audit.events import REF_PATTERN, format_ts
from audit.refindex import candidate_seqs, confirm_clause
from audit.tables import audit_events
from core.errors import AuditError, InputError

DEFAULT_LIMIT = 1000


def _ts_bound(value: datetime | str | None, name: str) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError as exc:
            raise InputError(f"{name} is not an ISO 8601 date or time") from exc
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return format_ts(value)


def _check_ref(record_ref: str) -> None:
    if not REF_PATTERN.fullmatch(record_ref):
        raise InputError("record_ref must be a 32-hex record reference")


def _row_dict(row: sa.Row[Any]) -> dict[str, Any]:
    data = dict(row._mapping)
    for key in ("roles", "fields", "record_refs", "detail"):
        if key in data:
            data[key] = json.loads(data[key])
    return data


def events(
    conn: Connection,
    *,
    record_ref: str | None = None,
    subject: str | None = None,
    purpose: str | None = None,
    denied_only: bool = False,
    since: datetime | str | None = None,
    until: datetime | str | None = None,
    limit: int = DEFAULT_LIMIT,
    after_seq: int = 0,
    before_seq: int | None = None,
    newest_first: bool = False,
) -> list[dict[str, Any]]:
    """Events matching every given filter with ``after_seq < seq < before_seq``, oldest first
    (or ``newest_first``), at most ``limit``: page with the last seq as the next bound."""
    if limit <= 0:
        raise InputError("limit must be positive")
    stmt = sa.select(audit_events).where(audit_events.c.seq > after_seq)
    if before_seq is not None:
        stmt = stmt.where(audit_events.c.seq < before_seq)
    if record_ref is not None:
        _check_ref(record_ref)
        stmt = stmt.where(audit_events.c.seq.in_(candidate_seqs(record_ref)), confirm_clause(record_ref))
    if subject is not None:
        stmt = stmt.where(audit_events.c.subject == subject)
    if purpose is not None:
        stmt = stmt.where(audit_events.c.purpose == purpose)
    if denied_only:
        stmt = stmt.where(audit_events.c.decision == "deny")
    lower = _ts_bound(since, "since")
    upper = _ts_bound(until, "until")
    if lower is not None:
        stmt = stmt.where(audit_events.c.ts >= lower)
    if upper is not None:
        stmt = stmt.where(audit_events.c.ts < upper)
    order = audit_events.c.seq.desc() if newest_first else audit_events.c.seq
    stmt = stmt.order_by(order).limit(limit)
    try:
        return [_row_dict(row) for row in conn.execute(stmt)]
    except sa.exc.SQLAlchemyError as exc:
        raise AuditError("cannot read the audit log") from exc


def access_report(conn: Connection, record_ref: str) -> list[dict[str, Any]]:
    """Every event that touched one record: seq, ts, subject, roles, purpose, action, resource,
    fields, decision, request_id -- oldest first."""
    _check_ref(record_ref)
    stmt = (
        sa.select(
            audit_events.c.seq,
            audit_events.c.ts,
            audit_events.c.subject,
            audit_events.c.roles,
            audit_events.c.purpose,
            audit_events.c.action,
            audit_events.c.resource,
            audit_events.c.fields,
            audit_events.c.decision,
            audit_events.c.request_id,
        )
        .where(audit_events.c.seq.in_(candidate_seqs(record_ref)), confirm_clause(record_ref))
        .order_by(audit_events.c.seq)
    )
    try:
        return [_row_dict(row) for row in conn.execute(stmt)]
    except sa.exc.SQLAlchemyError as exc:
        raise AuditError("cannot read the audit log") from exc

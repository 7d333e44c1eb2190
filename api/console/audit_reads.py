"""The console's reads of the audit log: filtered pages newest first, one event, CSV, dashboard figures.

Every read is a governed access to resource ``audit`` (the caller's plan must
allow the field: ``events`` for listings, ``verify`` for chain status) and is
itself an audit event, like ``GET /audit/events``.  Paging is keyset on
``seq`` (``seq < before ORDER BY seq DESC``): the primary key walks backwards
from the cursor, so page 100 costs what page 1 costs.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from api.console.aggregates import Aggregates
from audit.events import format_ts
from audit.refindex import candidate_seqs, confirm_clause
from audit.tables import HEAD_ID, audit_checkpoints, audit_events, audit_head
from audit.verify import VerifyReport
from core.compliance import ComplianceQueries
from core.db import transaction
from core.errors import AuditError, InputError, NotFoundError
from core.gateway import AccessContext, Gateway
from core.models import customers_t
from core.profiling.access import AccessAnalytics
from core.profiling.anomalies import Anomaly
from policies.vocabulary import RESOURCES

PAGE_SIZE = 50
MAX_PAGE_SIZE = 200
CSV_MAX_ROWS = 100_000
CSV_BATCH = 2_000
DECISIONS = ("allow", "deny")
FILTER_NAMES = ("subject", "customer", "purpose", "action", "decision", "since", "until")
_MAX_FILTER_CHARS = 128
CSV_COLUMNS = (
    "seq",
    "ts",
    "subject",
    "roles",
    "purpose",
    "action",
    "resource",
    "fields",
    "decision",
    "row_count",
    "request_id",
    "detail",
    "hash",
)
AUDIT_FIELDS = RESOURCES["audit"].fields


def _parse_time(value: str, name: str) -> datetime:
    text = value.strip()
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise InputError(
            f"{name} is not an ISO 8601 date or time (e.g. 2026-01-31 or 2026-01-31T12:00)"
        ) from exc
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    try:
        return moment.astimezone(UTC)
    except OverflowError as exc:  # e.g. 9999-12-31T23:59-05:00 is past the last representable instant
        raise InputError(f"{name} is out of range") from exc


@dataclass(frozen=True, slots=True)
class AuditFilters:
    """The explorer's filters; all optional, all exact matches (times: ``since <= ts < until``)."""

    subject: str | None = None
    customer: str | None = None
    purpose: str | None = None
    action: str | None = None
    decision: str | None = None
    since: datetime | None = None
    until: datetime | None = None

    @classmethod
    def parse(cls, params: dict[str, str]) -> AuditFilters:
        """From query parameters; unknown names are refused (a clear 422), empty values ignored."""
        unknown = sorted(k for k in params if k not in (*FILTER_NAMES, "before", "limit"))
        if unknown:
            raise InputError(f"unknown filter {unknown[0][:32]!r}; filters are {', '.join(FILTER_NAMES)}")
        values: dict[str, Any] = {}
        for name in FILTER_NAMES:
            raw = params.get(name, "").strip()
            if not raw:
                continue
            if len(raw) > _MAX_FILTER_CHARS:
                raise InputError(f"{name} is longer than {_MAX_FILTER_CHARS} characters")
            values[name] = _parse_time(raw, name) if name in ("since", "until") else raw
        decision = values.get("decision")
        if decision is not None and decision not in DECISIONS:
            raise InputError("decision is allow or deny")
        return cls(**values)

    def query(self) -> dict[str, str]:
        """The filters as query parameters (for links to the next page and the CSV)."""
        out: dict[str, str] = {}
        for name in FILTER_NAMES:
            value = getattr(self, name)
            if value is not None:
                out[name] = value.isoformat() if isinstance(value, datetime) else str(value)
        return out

    def describe(self) -> str:
        """The filter names in use, for the audit event (never their values: a customer id is personal)."""
        return ",".join(sorted(self.query())) or "none"


@dataclass(frozen=True, slots=True)
class AuditPage:
    events: list[dict[str, Any]]
    next_before: int | None
    """The cursor of the next (older) page, or None on the last page."""


@dataclass(frozen=True, slots=True)
class ChainStatus:
    head_seq: int
    head_hash: str
    checkpoint_seq: int | None
    checkpoint_ts: datetime | None
    checkpoint_age_seconds: float | None
    witness_seq: int | None
    """The newest checkpoint published to the file outside the database (None when absent)."""
    witness_path: str
    verified: VerifyReport | None
    verified_at: datetime | None


def _row(row: sa.Row[Any]) -> dict[str, Any]:
    data = dict(row._mapping)
    for key in ("roles", "fields", "record_refs", "detail"):
        if key in data and isinstance(data[key], str):
            data[key] = json.loads(data[key])
    return data


class AuditReads:
    """Governed, audited reads of the audit log for the console pages."""

    def __init__(
        self,
        *,
        gateway: Gateway,
        compliance: ComplianceQueries,
        checkpoints_path: str,
        aggregates: Aggregates | None = None,
    ) -> None:
        self._gw = gateway
        self._compliance = compliance
        self._checkpoints_path = checkpoints_path
        self.aggregates = aggregates or Aggregates()
        self._verified: tuple[VerifyReport, datetime] | None = None

    # -- plumbing -------------------------------------------------------------------

    def authorize(self, ctx: AccessContext, what: str) -> None:
        self._gw.authorize(ctx, resource="audit", action="read", fields=[what], all_fields=AUDIT_FIELDS)

    def _audited(
        self,
        ctx: AccessContext,
        what: str,
        rows: int,
        *,
        action: str = "read",
        record_ids: list[str] | None = None,
        detail: dict[str, str | int | bool | None] | None = None,
    ) -> None:
        record_allowed(
            self._gw,
            ctx,
            resource="audit",
            fields=[what],
            rows=rows,
            action=action,
            record_ids=record_ids,
            detail={"via": "console", **(detail or {})},
        )

    def _customer_id(self, external_id: str) -> str | None:
        with transaction(self._gw.engine) as conn:
            found = conn.execute(
                sa.select(customers_t.c.id).where(customers_t.c.external_id == external_id)
            ).scalar()
        return None if found is None else str(found)

    def _where(self, filters: AuditFilters) -> tuple[list[sa.ColumnElement[bool]], str | None, bool]:
        """SQL conditions, the customer's internal id, and False when the filter can match nothing."""
        ev = audit_events.c
        conds: list[sa.ColumnElement[bool]] = []
        cid = None
        if filters.customer is not None:
            cid = self._customer_id(filters.customer)
            if cid is None:
                return conds, None, False
            ref = self._gw.refs.ref(cid)
            conds += [ev.seq.in_(candidate_seqs(ref)), confirm_clause(ref)]
        for name in ("subject", "purpose", "action", "decision"):
            value = getattr(filters, name)
            if value is not None:
                conds.append(ev[name] == value)
        if filters.since is not None:
            conds.append(ev.ts >= format_ts(filters.since))
        if filters.until is not None:
            conds.append(ev.ts < format_ts(filters.until))
        return conds, cid, True

    # -- explorer -------------------------------------------------------------------

    def page(
        self, ctx: AccessContext, filters: AuditFilters, *, before: int | None = None, limit: int = PAGE_SIZE
    ) -> AuditPage:
        """One page of matching events, newest first, older than ``before``."""
        self.authorize(ctx, "events")
        if not 1 <= limit <= MAX_PAGE_SIZE:
            raise InputError(f"limit is 1 to {MAX_PAGE_SIZE}")
        conds, cid, possible = self._where(filters)
        rows: list[dict[str, Any]] = []
        if possible:
            if before is not None:
                conds.append(audit_events.c.seq < before)
            stmt = sa.select(audit_events).where(*conds).order_by(audit_events.c.seq.desc()).limit(limit + 1)
            try:
                with self._gw.engine.connect() as conn:
                    rows = [_row(r) for r in conn.execute(stmt)]
            except sa.exc.SQLAlchemyError as exc:
                raise AuditError("cannot read the audit log") from exc
        more = len(rows) > limit
        rows = rows[:limit]
        self._audited(
            ctx,
            "events",
            len(rows),
            record_ids=[cid] if cid else [],
            detail={"view": "console_audit", "filters": filters.describe(), "before": before},
        )
        return AuditPage(events=rows, next_before=rows[-1]["seq"] if more and rows else None)

    def event(self, ctx: AccessContext, seq: int) -> dict[str, Any]:
        self.authorize(ctx, "events")
        with self._gw.engine.connect() as conn:
            row = conn.execute(sa.select(audit_events).where(audit_events.c.seq == seq)).first()
        if row is None:
            raise NotFoundError("no audit event with that sequence number")
        self._audited(ctx, "events", 1, detail={"view": "console_event", "seq": seq})
        return _row(row)

    def csv_rows(self, ctx: AccessContext, filters: AuditFilters) -> Iterator[str]:
        """CSV text of every matching event, newest first (at most CSV_MAX_ROWS), audited as an export.

        The export event is written before the first byte leaves: a download
        that is cut short is still on record.
        """
        self.authorize(ctx, "events")
        conds, cid, possible = self._where(filters)
        count = 0
        if possible:
            with self._gw.engine.connect() as conn:
                count = int(
                    conn.execute(
                        sa.select(sa.func.count()).select_from(
                            sa.select(audit_events.c.seq).where(*conds).limit(CSV_MAX_ROWS).subquery()
                        )
                    ).scalar_one()
                )
        self._audited(
            ctx,
            "events",
            count,
            action="export",
            record_ids=[cid] if cid else [],
            detail={"view": "console_csv", "filters": filters.describe(), "format": "csv"},
        )
        return self._csv(conds if possible else None, count)

    def _csv(self, conds: list[sa.ColumnElement[bool]] | None, count: int) -> Iterator[str]:
        buf = io.StringIO()
        writer = csv.writer(buf)
        writer.writerow(CSV_COLUMNS)
        yield buf.getvalue()
        if conds is None:
            return
        before: int | None = None
        left = count
        while left > 0:
            page_conds = list(conds)
            if before is not None:
                page_conds.append(audit_events.c.seq < before)
            stmt = (
                sa.select(*(audit_events.c[c] for c in CSV_COLUMNS))
                .where(*page_conds)
                .order_by(audit_events.c.seq.desc())
                .limit(min(CSV_BATCH, left))
            )
            with self._gw.engine.connect() as conn:
                rows = conn.execute(stmt).all()
            if not rows:
                return
            buf = io.StringIO()
            writer = csv.writer(buf)
            for r in rows:
                writer.writerow([_csv_cell(v) for v in r])
            yield buf.getvalue()
            left -= len(rows)
            before = int(rows[-1].seq)

    # -- dashboard ------------------------------------------------------------------

    def chain_status(self, ctx: AccessContext, *, record: bool = True) -> ChainStatus:
        """The head, the newest signed checkpoint, the witness file and the last verification."""
        self.authorize(ctx, "verify")
        with self._gw.engine.connect() as conn:
            head = conn.execute(
                sa.select(audit_head.c.seq, audit_head.c.hash).where(audit_head.c.id == HEAD_ID)
            ).first()
            cp = conn.execute(
                sa.select(audit_checkpoints.c.seq, audit_checkpoints.c.ts)
                .order_by(audit_checkpoints.c.seq.desc())
                .limit(1)
            ).first()
        cp_ts = _ts(cp.ts) if cp is not None else None
        age = (datetime.now(UTC) - cp_ts).total_seconds() if cp_ts is not None else None
        verified = self._verified
        if record:
            self._audited(ctx, "verify", 1, detail={"view": "console_chain_status"})
        return ChainStatus(
            head_seq=int(head.seq) if head is not None else 0,
            head_hash=str(head.hash) if head is not None else "",
            checkpoint_seq=int(cp.seq) if cp is not None else None,
            checkpoint_ts=cp_ts,
            checkpoint_age_seconds=age,
            witness_seq=_witness_seq(self._checkpoints_path),
            witness_path=self._checkpoints_path,
            verified=verified[0] if verified else None,
            verified_at=verified[1] if verified else None,
        )

    def verify(self, ctx: AccessContext) -> VerifyReport:
        """Verify the whole chain now (the compliance service audits it); the dashboard shows the result."""
        report = self._compliance.verify(ctx)
        self._verified = (report, datetime.now(UTC))
        return report

    def _window(self, days: int) -> tuple[int, int]:
        """(first seq, head seq) of the last ``days`` days: two index seeks (seq and ts grow together).

        The first seq is 0 when the window holds no event.
        """
        start = format_ts(datetime.now(UTC) - timedelta(days=days))
        with self._gw.engine.connect() as conn:
            head = conn.execute(sa.select(audit_head.c.seq).where(audit_head.c.id == HEAD_ID)).scalar() or 0
            first = conn.execute(
                sa.select(audit_events.c.seq)
                .where(audit_events.c.ts >= start)
                .order_by(audit_events.c.ts)
                .limit(1)
            ).scalar()
        return (0 if first is None else int(first)), int(head)

    def window_events(self, days: int) -> int:
        """About how many events the last ``days`` days hold."""
        first, head = self._window(days)
        return 0 if first == 0 else head - first + 1

    def events_per_day(
        self, ctx: AccessContext, *, days: int = 14, record: bool = True
    ) -> list[tuple[str, str, str, int]] | None:
        """(day, purpose, decision, events) over the last ``days`` days; None while first computed."""
        self.authorize(ctx, "events")
        start = (datetime.now(UTC) - timedelta(days=days - 1)).replace(
            hour=0, minute=0, second=0, microsecond=0
        )

        def compute() -> list[tuple[str, str, str, int]]:
            ev = audit_events.c
            day = sa.func.substr(ev.ts, 1, 10)
            stmt = (
                sa.select(day.label("day"), ev.purpose, ev.decision, sa.func.count().label("n"))
                .where(ev.ts >= format_ts(start))
                .group_by(day, ev.purpose, ev.decision)
                .order_by(day)
            )
            with self._gw.engine.connect() as conn:
                return [(str(r.day), str(r.purpose), str(r.decision), int(r.n)) for r in conn.execute(stmt)]

        rows = self.aggregates.get(f"per_day:{days}", compute, size=self.window_events(days))
        if record:
            self._audited(
                ctx,
                "events",
                sum(r[3] for r in rows or ()),
                detail={"view": "console_per_day", "days": days, "pending": rows is None},
            )
        return rows

    def recent_denials(
        self, ctx: AccessContext, *, days: int = 7, limit: int = 20, record: bool = True
    ) -> tuple[int | None, list[dict[str, Any]]]:
        """How many denials in the last ``days`` days (None while first computed), and the newest ``limit``.

        The newest denials are read by walking the log backwards (cheap while
        denials are not rare); counting them scans the window (``decision`` is
        not indexed), so the count is an aggregate.
        """
        self.authorize(ctx, "events")
        ev = audit_events.c
        first, head = self._window(days)
        # A seq bound, not a time bound: the primary key is walked backwards from the head.
        window = sa.and_(ev.decision == "deny", ev.seq >= first) if first else sa.false()
        with self._gw.engine.connect() as conn:
            rows = [
                _row(r)
                for r in conn.execute(
                    sa.select(audit_events).where(window).order_by(ev.seq.desc()).limit(limit)
                )
            ]

        def count() -> int:
            with self._gw.engine.connect() as conn:
                return int(conn.execute(sa.select(sa.func.count()).where(window)).scalar_one())

        total: int | None = len(rows)
        if len(rows) == limit:
            total = self.aggregates.get(f"denials:{days}", count, size=head - first + 1)
        if record:
            self._audited(ctx, "events", len(rows), detail={"view": "console_denials", "days": days})
        return total, rows

    def anomalies(
        self, ctx: AccessContext, *, days: int = 7, limit: int = 50, record: bool = True
    ) -> list[Anomaly] | None:
        """Access anomalies of the last ``days`` days, highest score first; None while first computed.

        The scan reads every event of the window, so it is kept five cache
        periods; :class:`core.profiling.access.AccessAnalytics` audits each scan
        (as the subject whose view started it), and each view is audited here.
        """
        self.authorize(ctx, "anomalies")

        def compute() -> list[Anomaly]:
            report = AccessAnalytics(gateway=self._gw).anomalies(
                ctx, since=datetime.now(UTC) - timedelta(days=days)
            )
            return sorted(report.anomalies, key=lambda a: -a.score)[:limit]

        found = self.aggregates.get(f"anomalies:{days}", compute, size=self.window_events(days), ttl_factor=5)
        if record:
            self._audited(
                ctx,
                "anomalies",
                len(found or ()),
                detail={"view": "console_anomalies", "pending": found is None},
            )
        return found

    def record_dashboard(self, ctx: AccessContext, *, fields: list[str], rows: int) -> None:
        """One audit event for a dashboard view that read ``fields`` of the audit log unrecorded."""
        record_allowed(
            self._gw,
            ctx,
            resource="audit",
            fields=sorted(fields),
            rows=rows,
            detail={"via": "console", "view": "console_dashboard"},
        )


_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def record_allowed(
    gw: Gateway,
    ctx: AccessContext,
    *,
    resource: str,
    fields: list[str],
    rows: int,
    detail: dict[str, str | int | bool | None],
    action: str = "read",
    record_ids: list[str] | None = None,
) -> None:
    """Record, in a transaction of its own, an allowed console read the gateway did not record itself."""
    gw.record_alone(
        gw.event(
            ctx,
            action=action,
            resource=resource,
            fields=fields,
            decision="allow",
            row_count=rows,
            record_ids=record_ids or [],
            detail=detail,
        )
    )


def _csv_cell(value: Any) -> Any:
    """A cell a spreadsheet would run as a formula (even after leading blanks) gets a leading ``'``."""
    if isinstance(value, str) and (
        value.startswith(_FORMULA_STARTS) or value.lstrip().startswith(_FORMULA_STARTS)
    ):
        return "'" + value
    return value


def _ts(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _witness_seq(path: str) -> int | None:
    """The seq of the last line of the checkpoints file (read from its tail only: bounded)."""
    try:
        with open(path, "rb") as fh:
            fh.seek(0, 2)
            size = fh.tell()
            fh.seek(max(0, size - 8192))
            tail = fh.read().splitlines()
    except OSError:
        return None
    for line in reversed(tail):
        try:
            doc = json.loads(line)
        except ValueError:
            continue
        if isinstance(doc, dict) and isinstance(doc.get("seq"), int):
            return int(doc["seq"])
    return None


__all__ = [
    "CSV_MAX_ROWS",
    "FILTER_NAMES",
    "PAGE_SIZE",
    "AuditFilters",
    "AuditPage",
    "AuditReads",
    "ChainStatus",
    "record_allowed",
]

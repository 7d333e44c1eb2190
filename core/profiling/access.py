"""Access analytics over the audit log (compliance): baselines and anomalies per staff subject.

Reading is governed like every audit query: ``audit``/``read`` of field ``anomalies`` (the
compliance role, purpose ``compliance``), and the analysis is itself audited.  Events in the
window are mapped to :class:`~core.profiling.anomalies.AccessRecord`:

* ``owned`` is ``False`` for an attempt the gateway refused with reason ``outside owned accounts``
  (a sales rep asking for a customer someone else owns), ``None`` otherwise;
* events written by the system itself (subject ``hushdb``) are left out.

The output names subjects, days, kinds and counts -- never a customer, a record reference or a
value.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from audit.events import format_ts
from audit.tables import audit_events
from core.db import transaction
from core.gateway import AccessContext, Gateway
from core.governance import OUTSIDE_OWNED
from core.profiling.anomalies import (
    AccessBaseline,
    AccessRecord,
    Anomaly,
    AnomalyConfig,
    daily_baselines,
    find_anomalies,
)
from core.profiling.governed import code_version, now_utc
from policies.vocabulary import SYSTEM_SUBJECT

SYSTEM_SUBJECTS = frozenset({SYSTEM_SUBJECT})
DEFAULT_WINDOW = timedelta(days=90)


@dataclass(frozen=True, slots=True)
class AnomalyReport:
    since: datetime
    until: datetime
    events: int
    baselines: list[AccessBaseline]
    anomalies: list[Anomaly]

    def as_dict(self) -> dict[str, Any]:
        return {
            "since": self.since.isoformat(),
            "until": self.until.isoformat(),
            "events": self.events,
            "baselines": [
                {
                    "subject": b.subject,
                    "active_days": b.active_days,
                    "median_rows": b.median_rows,
                    "mad_rows": b.mad_rows,
                    "median_events": b.median_events,
                }
                for b in self.baselines
            ],
            "anomalies": [
                {
                    "subject": a.subject,
                    "kind": a.kind,
                    "day": a.day.isoformat(),
                    "start": a.start.isoformat(),
                    "end": a.end.isoformat(),
                    "events": a.events,
                    "rows": a.rows,
                    "score": a.score,
                }
                for a in self.anomalies
            ],
        }


def _time(ts: str) -> datetime:
    return datetime.fromisoformat(ts.replace("Z", "+00:00"))


def _owned(decision: str, detail: str) -> bool | None:
    if decision != "deny" or OUTSIDE_OWNED not in detail:
        return None
    try:
        reason = json.loads(detail).get("reason")
    except (ValueError, AttributeError):
        return None
    return False if reason == OUTSIDE_OWNED else None


def access_records(rows: Iterable[Any]) -> Iterator[AccessRecord]:
    """Map audit rows (ts, subject, action, decision, row_count, detail) to access records."""
    for ts, subject, action, decision, row_count, detail in rows:
        if subject in SYSTEM_SUBJECTS:
            continue
        yield AccessRecord(
            subject=str(subject),
            time=_time(str(ts)),
            action=str(action),
            decision=str(decision),
            row_count=int(row_count),
            owned=_owned(str(decision), str(detail)),
        )


class AccessAnalytics:
    """Who accessed the store unusually, from the audit log."""

    def __init__(self, *, gateway: Gateway) -> None:
        self._gateway = gateway

    def anomalies(
        self,
        ctx: AccessContext,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        config: AnomalyConfig | None = None,
    ) -> AnomalyReport:
        """Baselines and anomalies over events with ``since <= ts < until`` (default: last 90 days)."""
        gw = self._gateway
        # The same policy question for everyone, the local operator (role ``operator``) included.
        gw.governance.require(ctx, resource="audit", action="read", field="anomalies")
        end = until or now_utc()
        start = since or end - DEFAULT_WINDOW
        ev = audit_events.c
        stmt = (
            sa.select(ev.ts, ev.subject, ev.action, ev.decision, ev.row_count, ev.detail)
            .where(ev.ts >= format_ts(start), ev.ts < format_ts(end))
            .order_by(ev.seq)
        )
        with transaction(gw.engine) as conn:
            records = list(access_records(conn.execute(stmt)))
        cfg = config or AnomalyConfig()
        report = AnomalyReport(
            since=start,
            until=end,
            events=len(records),
            baselines=daily_baselines(records, cfg),
            anomalies=find_anomalies(records, cfg),
        )
        gw.record_alone(
            gw.event(
                ctx,
                action="read",
                resource="audit",
                fields=["anomalies"],
                decision="allow",
                row_count=len(records),
                detail={
                    "since": start.isoformat(),
                    "until": end.isoformat(),
                    "anomalies": len(report.anomalies),
                    "code_version": code_version(),
                },
            )
        )
        return report

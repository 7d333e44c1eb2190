"""The console's person view, review queue and quarantined letters, on the gateway and the write service.

Every plaintext value comes from :class:`core.gateway.Gateway` under the
signed-in subject's plan (and is audited there); this module reads only
non-personal columns itself (external ids, review flags and reasons,
consent-event flags, profiling labels by pseudonym) and records an audit event
for each such read.  Review decisions go through :class:`core.compliance.ReviewDesk`
(policy action ``review``: nothing else a ``write`` permission would allow).

The review queue lists customers under review who are not marked deceased (no letter
can go to a deceased customer, so marking one deceased resolves its review; lifting
the flag later brings the review back).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from api.console.audit_reads import record_allowed
from core.compliance import CLEAR_CODES, FLAG_CODES, KEEP_CODES, ReviewDesk
from core.db import transaction
from core.errors import AccessDenied, HushError, InputError, NotFoundError
from core.gateway import AccessContext, CustomerRecord, Gateway, NoteRecord
from core.models import consent_events_t, customers_t
from core.profiling.results import profile_results_t, profile_runs_t
from core.records import CUSTOMER_FIELDS

QUEUE_PAGE = 50
MAX_CAMPAIGNS = 50
MAX_QUARANTINE_LINES = 2_000
MAX_QUARANTINE_BYTES = 4 * 1024 * 1024
QUEUE_FIELDS = ("external_id", "pseudonym", "suppression")


@dataclass(frozen=True, slots=True)
class QueueEntry:
    external_id: str
    pseudonym: str
    reason: str
    categories: tuple[str, ...]
    """Sensitive categories found in the customer's notes (labels, never the matched text)."""


@dataclass(frozen=True, slots=True)
class QuarantinedLetter:
    campaign: str
    job: str
    pseudonym: str
    reasons: tuple[tuple[str, str], ...]
    """(category, field) pairs."""


@dataclass(frozen=True, slots=True)
class Campaign:
    job: str
    campaign: str
    finished_at: str
    selected: int
    exported: int
    quarantined: int
    by_reason: dict[str, int]


@dataclass(frozen=True, slots=True)
class PersonView:
    record: CustomerRecord
    review_reason: str | None
    notes: list[NoteRecord]
    consent_history: list[dict[str, Any]]
    access_report: list[dict[str, Any]]
    profiling: list[dict[str, Any]]


class People:
    """Person view, review queue, quarantine and the review/suppression actions."""

    def __init__(self, *, gateway: Gateway, desk: ReviewDesk, exports_dir: Path) -> None:
        self._gw = gateway
        self._desk = desk
        self._exports_dir = exports_dir

    # -- person view ------------------------------------------------------------------

    def person(self, ctx: AccessContext, external_id: str, access_report: list[dict[str, Any]]) -> PersonView:
        record = self._gw.read_customer(ctx, external_id)
        notes = self._notes(ctx, external_id)
        history, reason, profiling = self._held(ctx, external_id, record.pseudonym)
        return PersonView(
            record=record,
            review_reason=reason,
            notes=notes,
            consent_history=history,
            access_report=access_report,
            profiling=profiling,
        )

    def _notes(self, ctx: AccessContext, external_id: str) -> list[NoteRecord]:
        try:
            return self._gw.read_notes(ctx, external_id)
        except AccessDenied:
            return []  # the denial is audited; the page shows the rest

    def _held(
        self, ctx: AccessContext, external_id: str, pseudonym: str
    ) -> tuple[list[dict[str, Any]], str | None, list[dict[str, Any]]]:
        """Consent history, the review reason and profiling labels held: one audited read."""
        plan = self._gw.authorize(
            ctx,
            resource="customer",
            action="read",
            fields=["consent", "suppression"],
            all_fields=CUSTOMER_FIELDS,
        )
        ce = consent_events_t.c
        with transaction(self._gw.engine) as conn:
            cid = self._gw.customer_id(conn, ctx, plan, external_id)
            history = [
                {"purpose": r.purpose, "granted": bool(r.granted), "at": r.at.isoformat(), "source": r.source}
                for r in conn.execute(
                    sa.select(ce.purpose, ce.granted, ce.at, ce.source)
                    .where(ce.customer_id == cid)
                    .order_by(ce.at, ce.id)
                    .limit(1000)
                )
            ]
            reason = conn.execute(
                sa.select(customers_t.c.review_reason).where(customers_t.c.id == cid)
            ).scalar()
            pr, runs = profile_results_t.c, profile_runs_t.c
            profiling = [
                {
                    "kind": r.kind,
                    "run_at": r.created_at.isoformat(),
                    "label": r.label,
                    "score": r.score,
                }
                for r in conn.execute(
                    sa.select(runs.kind, runs.created_at, pr.label, pr.score)
                    .select_from(profile_results_t.join(profile_runs_t, pr.run_id == runs.id))
                    .where(pr.pseudonym == pseudonym)
                    .order_by(runs.created_at.desc())
                    .limit(50)
                )
            ]
            self._gw.record_read(
                conn,
                ctx,
                plan,
                row_count=1,
                record_ids=[cid],
                detail={
                    "lookup": "console_person",
                    "consent_events": len(history),
                    "profiles": len(profiling),
                },
            )
        self._gw.publish()
        return history, None if reason is None else str(reason), profiling

    # -- review queue -----------------------------------------------------------------

    def count_under_review(self, ctx: AccessContext) -> int:
        """How many customers in the plan's scope are under review (one audited count, no records)."""
        plan = self._gw.authorize(
            ctx, resource="customer", action="read", fields=["suppression"], all_fields=CUSTOMER_FIELDS
        )
        c = customers_t.c
        flagged = sa.and_(
            _awaiting_review(), c.erased_at.is_(None), self._gw.scope_filter(ctx, plan, c.owner)
        )
        with transaction(self._gw.engine) as conn:
            total = int(conn.execute(sa.select(sa.func.count()).where(flagged)).scalar_one())
            self._gw.record_read(
                conn,
                ctx,
                plan,
                row_count=0,
                record_ids=[],
                detail={"lookup": "console_review_count", "count": total},
            )
        self._gw.publish()
        return total

    def under_review(
        self, ctx: AccessContext, *, after: str = "", limit: int = QUEUE_PAGE
    ) -> tuple[int, list[QueueEntry], str | None]:
        """Customers under review (count, one page by external id, the next cursor)."""
        plan = self._gw.authorize(
            ctx, resource="customer", action="read", fields=list(QUEUE_FIELDS), all_fields=CUSTOMER_FIELDS
        )
        c = customers_t.c
        flagged = sa.and_(_awaiting_review(), c.erased_at.is_(None))
        scope = self._gw.scope_filter(ctx, plan, c.owner)
        with transaction(self._gw.engine) as conn:
            total = int(conn.execute(sa.select(sa.func.count()).where(flagged, scope)).scalar_one())
            page = conn.execute(
                sa.select(c.id, c.external_id, c.review_reason)
                .where(flagged, scope, c.external_id > after)
                .order_by(c.external_id)
                .limit(limit + 1)
            ).all()
        more = len(page) > limit
        page = page[:limit]
        reasons = {str(r.external_id): str(r.review_reason or "flagged") for r in page}
        ids = [str(r.id) for r in page]
        records = (
            list(
                self._gw.scan_customers(ctx, fields=list(QUEUE_FIELDS), where=c.id.in_(ids), batch_size=limit)
            )
            if ids
            else []
        )
        entries = []
        for rec in sorted(records, key=lambda r: r.external_id):
            categories: set[str] = set()
            if "note" in reasons.get(rec.external_id, ""):
                for note in self._notes_findings(ctx, rec.external_id):
                    categories.update(note)
            entries.append(
                QueueEntry(
                    external_id=rec.external_id,
                    pseudonym=rec.pseudonym,
                    reason=reasons.get(rec.external_id, "flagged"),
                    categories=tuple(sorted(categories)),
                )
            )
        return total, entries, (str(page[-1].external_id) if more and page else None)

    def _notes_findings(self, ctx: AccessContext, external_id: str) -> list[set[str]]:
        try:
            notes = self._gw.read_notes(ctx, external_id, fields=["findings"])
        except HushError:
            return []
        out = []
        for n in notes:
            if n.values.get("sensitivity") != "sensitive":
                continue
            out.append({str(f.get("category")) for f in n.values.get("findings", []) if f.get("category")})
        return out

    # -- quarantined letters -------------------------------------------------------------

    def _authorize_pseudonyms(self, ctx: AccessContext) -> None:
        self._gw.authorize(
            ctx, resource="customer", action="read", fields=["pseudonym"], all_fields=CUSTOMER_FIELDS
        )

    def _audit_pseudonyms(
        self, ctx: AccessContext, rows: int, detail: dict[str, str | int | bool | None]
    ) -> None:
        """Audit a read of ``rows`` pseudonyms (the only customer field these views show)."""
        record_allowed(self._gw, ctx, resource="customer", fields=["pseudonym"], rows=rows, detail=detail)

    def campaigns(self, ctx: AccessContext) -> list[Campaign]:
        """Finished mail-merge jobs of this server (newest first) that quarantined letters."""
        self._authorize_pseudonyms(ctx)
        out = []
        for job_dir in self._job_dirs():
            manifest = _read_json(job_dir / "manifest.json")
            if manifest is None:
                continue
            counts = manifest.get("counts", {})
            quarantined = int(counts.get("quarantined", 0) or 0)
            if quarantined <= 0:
                continue
            out.append(
                Campaign(
                    job=job_dir.name,
                    campaign=str(manifest.get("campaign", "")),
                    finished_at=str(manifest.get("finished_at", "")),
                    selected=int(counts.get("selected", 0) or 0),
                    exported=int(counts.get("exported", 0) or 0),
                    quarantined=quarantined,
                    by_reason={
                        str(k): int(v) for k, v in dict(counts.get("quarantined_by_reason", {})).items()
                    },
                )
            )
        self._audit_pseudonyms(
            ctx,
            sum(c.quarantined for c in out),
            {"lookup": "console_campaigns", "campaigns": len(out)},
        )
        return out

    def quarantined(
        self, ctx: AccessContext, *, limit: int = MAX_QUARANTINE_LINES
    ) -> list[QuarantinedLetter]:
        """Letters withheld by the outbound gate: pseudonym and (category, field) reasons, never text."""
        self._authorize_pseudonyms(ctx)
        out: list[QuarantinedLetter] = []
        for job_dir in self._job_dirs():
            manifest = _read_json(job_dir / "manifest.json")
            path = job_dir / "quarantine.jsonl"
            if manifest is None or not path.is_file():
                continue
            campaign = str(manifest.get("campaign", ""))
            with path.open("rb") as fh:
                for raw in fh.read(MAX_QUARANTINE_BYTES).splitlines():
                    if len(out) >= limit:
                        break
                    try:
                        doc = json.loads(raw)
                    except ValueError:
                        continue
                    reasons = tuple(
                        (str(r.get("category", "")), str(r.get("field", "")))
                        for r in doc.get("reasons", [])
                        if isinstance(r, dict)
                    )
                    out.append(
                        QuarantinedLetter(campaign, job_dir.name, str(doc.get("pseudonym", "")), reasons)
                    )
        self._audit_pseudonyms(ctx, len(out), {"lookup": "console_quarantine"})
        return out

    def _job_dirs(self) -> list[Path]:
        try:
            dirs = [
                Path(e.path)
                for e in os.scandir(self._exports_dir)
                if e.is_dir(follow_symlinks=False) and not e.name.startswith(".")
            ]
        except OSError:
            return []
        dirs.sort(key=lambda p: p.stat().st_mtime, reverse=True)
        return dirs[:MAX_CAMPAIGNS]

    def resolve_pseudonym(self, ctx: AccessContext, pseudonym: str) -> CustomerRecord:
        """The customer behind a pseudonym, read through the gateway (audited; scope as the plan says)."""
        if not pseudonym or len(pseudonym) > 40:
            raise InputError("a pseudonym is 1 to 40 characters")
        found = list(
            self._gw.scan_customers(
                ctx,
                fields=["external_id", "pseudonym", "suppression"],
                where=customers_t.c.pseudonym == pseudonym,
                batch_size=2,
            )
        )
        if not found:
            raise NotFoundError("no customer with that pseudonym (erased, or outside your scope)")
        return found[0]

    # -- actions: review decisions (core.compliance.ReviewDesk, action ``review``) -------------

    def may_decide(self, ctx: AccessContext) -> bool:
        """Whether to offer the decision forms (each decision is authorised and audited when posted)."""
        return self._desk.may_decide(ctx)

    def decide(
        self, ctx: AccessContext, external_id: str, decision: str, reason_code: str, reason: str
    ) -> int:
        """Resolve a review: ``clear``, ``keep`` (suppressed) or ``deceased``; returns the event's seq."""
        if decision == "clear":
            return self._desk.clear(ctx, external_id, reason_code=reason_code, reason=reason)
        if decision == "keep":
            return self._desk.keep(ctx, external_id, reason_code=reason_code, reason=reason)
        if decision == "deceased":
            return self._desk.mark(ctx, external_id, "deceased", reason_code=reason_code, reason=reason)
        raise InputError("choose clear, keep suppressed or mark deceased")

    def mark(self, ctx: AccessContext, external_id: str, flag: str, reason_code: str, reason: str) -> int:
        """Set deceased or do-not-contact (with a reason); returns the event's seq."""
        return self._desk.mark(ctx, external_id, flag, reason_code=reason_code, reason=reason)


def _awaiting_review() -> sa.ColumnElement[bool]:
    """Under review and not marked deceased (a deceased customer gets no letter: nothing to decide)."""
    c = customers_t.c
    return sa.and_(c.under_review.is_(True), c.deceased.is_(False))


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        if path.stat().st_size > 1024 * 1024:
            return None
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return doc if isinstance(doc, dict) else None


__all__ = [
    "CLEAR_CODES",
    "FLAG_CODES",
    "KEEP_CODES",
    "Campaign",
    "People",
    "PersonView",
    "QuarantinedLetter",
    "QueueEntry",
]

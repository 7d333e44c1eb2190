"""Compliance queries over the audit log: verify, list events, per-person access reports.

Reading the audit log is itself governed (resource ``audit``) and audited;
so is every verification: its event (action ``audit_verify``) records the
result, the head it verified and whether the key was pinned, and a successful
one becomes the start of the next incremental verification (:mod:`audit.verify`).
After a restore the report's status is ``intact_with_restore_gap`` and the
event names the ranges restores lost (``lost_0``, ...) and the restore events
(``restore_seqs``) an incremental run starting there must still account for.

Event listings are newest first and paged by sequence number: ``after`` and
``before`` bound the seqs (exclusive), ``next`` of a page is the seq to pass as
``before`` for the following page (as ``after`` when listing oldest first),
None when there is no more.  HTTP wraps that seq in an opaque cursor
(:func:`encode_cursor`).
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import datetime as dt
import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypedDict, Unpack

import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from audit import queries
from audit.checkpoints import witness_file
from audit.events import AuditEvent
from audit.signing import key_id_for, load_public_key
from audit.verify import VERIFY_ACTION, VerifyReport, verify_engine
from core.db import transaction
from core.errors import AuditWriteError, InvalidCursorError, KeySourceError
from core.gateway import AccessContext
from core.models import customers_t

if TYPE_CHECKING:
    from api.wiring import Hush

log = logging.getLogger(__name__)
CURSOR_VERSION = 1
MAX_CURSOR_CHARS = 200
MAX_RECORDED_GAPS = 20  # lost ranges named in a verification's event (all are counted in restore_seqs)


@dataclass(frozen=True, slots=True)
class EventPage:
    """One page of events: ``next`` is the seq to continue from (None: no more)."""

    events: list[dict[str, Any]]
    next: int | None
    newest_first: bool = True


class EventFilters(TypedDict, total=False):
    """The keyword arguments of :meth:`ComplianceQueries.events_page` (defaults there)."""

    customer: str | None
    subject: str | None
    purpose: str | None
    denied_only: bool
    since: dt.datetime | None
    until: dt.datetime | None
    limit: int
    after: int | None
    before: int | None
    newest_first: bool


@dataclass(frozen=True, slots=True)
class VerifyOptions:
    """How to verify: a pinned public key file, a witness location, incremental or full."""

    public_key: Path | None = None
    witness: Path | None = None
    incremental: bool = False


def encode_cursor(before: int, after: int | None) -> str:
    """The opaque HTTP cursor of the page that lists events with seq < ``before`` (> ``after``)."""
    body = {"v": CURSOR_VERSION, "before": before, "after": after}
    return base64.urlsafe_b64encode(json.dumps(body, separators=(",", ":")).encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[int, int | None]:
    """(before, after) of a cursor from :func:`encode_cursor`; InvalidCursorError (400) otherwise."""
    try:
        if len(cursor) > MAX_CURSOR_CHARS:
            raise ValueError("too long")
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        body = json.loads(raw)
        before, after = body["before"], body["after"]
        ok = (
            body.get("v") == CURSOR_VERSION
            and set(body) == {"v", "before", "after"}
            and isinstance(before, int)
            and not isinstance(before, bool)
            and before > 0
            and (after is None or (isinstance(after, int) and not isinstance(after, bool) and after >= 0))
        )
    except (ValueError, TypeError, KeyError, UnicodeDecodeError, binascii.Error, AttributeError):
        ok = False
    if not ok:
        raise InvalidCursorError("invalid cursor: use the `next` value of a previous page")
    return before, after


def load_pinned_key(path: Path) -> Ed25519PublicKey:
    """The pinned audit public key (PEM); a missing or unreadable file is a one-line error (exit 2)."""
    try:
        pem = path.read_bytes()
    except FileNotFoundError as exc:
        raise KeySourceError(f"pinned audit public key file {path} does not exist") from exc
    except OSError as exc:
        raise KeySourceError(f"pinned audit public key file {path} cannot be read: {exc.strerror}") from exc
    try:
        return load_public_key(pem)
    except KeySourceError as exc:
        raise KeySourceError(f"pinned audit public key file {path}: {exc.message}") from exc


class ComplianceQueries:
    def __init__(self, *, hush: Hush) -> None:
        self._hush = hush
        self._gateway = hush.gateway

    def _authorize(self, ctx: AccessContext, field: str) -> None:
        # One policy question for everyone, the local operator (role ``operator``) included.
        self._gateway.governance.require(ctx, resource="audit", action="read", field=field)

    def _audited(self, ctx: AccessContext, field: str, rows: int, customer_ids: list[str]) -> None:
        self._gateway.record_alone(
            self._gateway.event(
                ctx,
                action="read",
                resource="audit",
                fields=[field],
                decision="allow",
                row_count=rows,
                record_ids=customer_ids,
            )
        )

    def verify(self, ctx: AccessContext, options: VerifyOptions | None = None) -> VerifyReport:
        """Verify the log (options: pinned key, witness, incremental) and record the verification.

        The configured witness is brought up to date first (publishing committed
        checkpoints); a witness named in ``options`` is only read.  A pinned key
        (``options.public_key``, else the ``HUSHDB_AUDIT_PUBLIC_KEY`` setting) replaces
        the key of the data directory.  A witness named here or configured outside the
        data directory must exist (else a one-line AuditError).
        """
        opts = options or VerifyOptions()
        self._authorize(ctx, "verify")
        settings = self._hush.settings
        pinned_path = opts.public_key or settings.audit_public_key
        public_key = load_pinned_key(pinned_path) if pinned_path else self._hush.signer.public_key
        witness = witness_file(opts.witness) if opts.witness else settings.checkpoints_path
        self._gateway.publish()
        report = verify_engine(
            self._hush.engine,
            checkpoints_path=witness,
            public_key=public_key,
            incremental=opts.incremental,
            witness_required=opts.witness is not None or settings.audit_witness is not None,
        )
        local_key = self._hush.signer.key_id
        if not report.ok and pinned_path and key_id_for(public_key) != local_key:
            report = _with_reason(
                report,
                f"{report.reason} (the pinned key {key_id_for(public_key)} is not the data directory's "
                f"signing key {local_key}: the signing key was replaced?)",
            )
        self._record_verification(ctx, report, pinned=pinned_path is not None, witness=witness)
        return report

    def _record_verification(
        self, ctx: AccessContext, report: VerifyReport, *, pinned: bool, witness: Path
    ) -> None:
        detail: dict[str, str | int | bool | None] = {
            "ok": report.ok,
            "head_seq": report.head_seq,
            "first_bad_seq": report.first_bad_seq,
            "events_checked": report.events_checked,
            "since_seq": report.since_seq,
            "pinned_key": pinned,
            "key_id": report.key_id,
            "witness_external": not witness.is_relative_to(self._hush.settings.data_dir),
            "witness_seq": report.witness_seq,
            "status": report.status,
        }
        for number, gap in enumerate(report.lost[:MAX_RECORDED_GAPS]):
            detail[f"lost_{number}"] = (
                f"{gap.first_seq}..{'' if gap.last_seq is None else gap.last_seq} backup {gap.backup_id}"
            )
        if report.ok and report.head_seq > 0:  # where the next incremental verification starts
            detail.update(
                verified_seq=report.head_seq,
                verified_hash=report.head_hash,
                ref_part=report.ref_part,
                ref_fill=report.ref_fill,
                restore_seqs=",".join(str(gap.restore_seq) for gap in report.lost),
            )
        event: AuditEvent = self._gateway.event(
            ctx, action=VERIFY_ACTION, resource="audit", fields=["verify"], decision="allow", detail=detail
        )
        try:
            with self._hush.engine.begin() as conn:
                if "verified_seq" in detail:
                    self._hush.audit.append_verification(conn, event)
                else:
                    self._hush.audit.append(conn, event)
        except AuditWriteError:
            if report.ok:
                raise
            # a tampered log may refuse every append (an unsigned head): the report still stands
            log.warning("the failed audit verification could not be recorded in the audit log")
            return
        self._gateway.publish()

    def _customer_id(self, external_id: str) -> str | None:
        with transaction(self._hush.engine) as conn:
            row = conn.execute(
                sa.select(customers_t.c.id).where(customers_t.c.external_id == external_id)
            ).first()
        return None if row is None else str(row.id)

    def events(self, ctx: AccessContext, **filters: Unpack[EventFilters]) -> list[dict[str, Any]]:
        """The events of :meth:`events_page` (one page, newest first unless told otherwise)."""
        return self.events_page(ctx, **filters).events

    def events_page(
        self,
        ctx: AccessContext,
        *,
        customer: str | None = None,
        subject: str | None = None,
        purpose: str | None = None,
        denied_only: bool = False,
        since: dt.datetime | None = None,
        until: dt.datetime | None = None,
        limit: int = 1000,
        after: int | None = None,
        before: int | None = None,
        newest_first: bool = True,
    ) -> EventPage:
        """Up to ``limit`` matching events with ``after < seq < before``; ``next`` continues the listing."""
        self._authorize(ctx, "events")
        for name, bound in (("after", after), ("before", before)):
            if bound is not None and bound < 0:
                raise InvalidCursorError(f"{name} must be a sequence number (0 or more)")
        ref = None
        cid = None
        rows: list[dict[str, Any]] = []
        more = False
        if customer is not None:
            cid = self._customer_id(customer)
            if cid is not None:
                ref = self._gateway.refs.ref(cid)
        if customer is None or cid is not None:
            with self._hush.engine.connect() as conn:
                rows = queries.events(
                    conn,
                    record_ref=ref,
                    subject=subject,
                    purpose=purpose,
                    denied_only=denied_only,
                    since=since,
                    until=until,
                    limit=limit + 1,  # one more than shown: is there a next page?
                    after_seq=after or 0,
                    before_seq=before,
                    newest_first=newest_first,
                )
            more = len(rows) > limit
            rows = rows[:limit]
        self._audited(ctx, "events", len(rows), [cid] if cid else [])
        return EventPage(events=rows, next=int(rows[-1]["seq"]) if more else None, newest_first=newest_first)

    def access_report(self, ctx: AccessContext, external_id: str) -> list[dict[str, Any]]:
        """Who accessed this person's data (GDPR Art. 15(1)(c)); works after erasure too."""
        self._authorize(ctx, "report")
        cid = self._customer_id(external_id)
        if cid is None:
            from core.errors import NotFoundError

            raise NotFoundError("customer not found")
        with self._hush.engine.connect() as conn:
            rows = queries.access_report(conn, self._gateway.refs.ref(cid))
        self._audited(ctx, "report", len(rows), [cid])
        return rows


def _with_reason(report: VerifyReport, reason: str) -> VerifyReport:
    return dataclasses.replace(report, reason=reason)

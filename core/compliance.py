"""Compliance queries over the audit log: verify, list events, per-person access reports.

Reading the audit log is itself governed (resource ``audit``) and audited;
so is every verification: its event (action ``audit_verify``) records the
result, the head it verified and whether the key was pinned, and a successful
one becomes the start of the next incremental verification (:mod:`audit.verify`).
After a restore the report's status is ``intact_with_restore_gap`` and the
event names the ranges restores lost (``lost_0``, ...) and the restore events
(``restore_seqs``) an incremental run starting there must still account for.

Review decisions (:class:`ReviewDesk`) are the one place that asks the policy for
action ``review`` on a customer's ``suppression``: clear a review or keep it (each
with a reason code and a written reason), mark a customer deceased or
do-not-contact.  A role granted ``review`` gets exactly these and nothing else;
creating, changing or erasing customers is ``write``/``erase``, asked elsewhere.

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
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, TypedDict, Unpack

import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from audit import queries
from audit.checkpoints import witness_file
from audit.events import AuditEvent
from audit.signing import key_id_for, load_public_key
from audit.verify import VERIFY_ACTION, VerifyReport, verify_engine
from core.db import transaction
from core.errors import AuditWriteError, ConflictError, InputError, InvalidCursorError, KeySourceError
from core.gateway import AccessContext, Gateway
from core.models import customers_t, utcnow
from core.records import CUSTOMER_FIELDS
from policies.plan import AccessPlan

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


# -- review decisions ------------------------------------------------------------------

REVIEW_ACTION: Final = "review"
"""The policy action of a review decision (resource ``customer``, field ``suppression``)."""
REVIEW_FIELD: Final = "suppression"

CLEAR_CODES: Final[Mapping[str, str]] = {
    "false_positive": "The flagged content is not sensitive (false positive)",
    "reviewed_ok": "Reviewed: the content does not stop letters to this customer",
    "customer_request": "The customer asked to be contacted again",
}
"""Reason codes for clearing a review (letters may go to the customer again)."""
KEEP_CODES: Final[Mapping[str, str]] = {
    "sensitive_confirmed": "The content is sensitive: keep letters suppressed",
    "awaiting_information": "Waiting for more information before deciding",
}
"""Reason codes for keeping a customer under review (letters stay suppressed)."""
FLAG_CODES: Final[Mapping[str, Mapping[str, str]]] = {
    "deceased": {
        "death_notified": "We were notified that the customer has died",
        "death_registered": "A register or records check shows the customer has died",
    },
    "do_not_contact": {
        "customer_objected": "The customer objected to being contacted",
        "regulator_or_legal": "Contact stopped on legal or regulatory grounds",
        "review_outcome": "The review concluded the customer must not be contacted",
    },
}
"""Reason codes for marking a customer, by flag."""
FLAGS: Final = tuple(FLAG_CODES)
REASON_MIN, REASON_MAX = 10, 300
_LONG_NUMBER = re.compile(r"\d(?:[\s.\-/]?\d){4,}")


def check_reason(
    code: str,
    reason: str,
    *,
    codes: Mapping[str, str],
    implied: frozenset[str] = frozenset(),
) -> str:
    """The written reason of a decision, checked; InputError (422) otherwise.

    A known code, 10-300 characters after whitespace is folded, no e-mail address or
    run of five or more digits, and nothing the sensitive-content screen finds except
    the categories in ``implied`` (what the decision itself records: marking someone
    deceased may say why without repeating anything else).  The reason is kept in the
    append-only audit log, which must never hold personal data: the officer describes
    the decision, not the person.  Bounded: at most 300 characters reach the screen.
    """
    if code not in codes:
        raise InputError("choose one of the listed reasons for this decision")
    text = " ".join(reason.split()) if len(reason) <= 4 * REASON_MAX else ""
    if not REASON_MIN <= len(text) <= REASON_MAX:
        raise InputError(f"write a reason of {REASON_MIN} to {REASON_MAX} characters")
    if "@" in text or _LONG_NUMBER.search(text) is not None:
        raise InputError("the reason must not contain contact details or numbers; describe the decision only")
    from core.pii.screen import SensitiveScreen  # the screen's term tables load on first use only

    if any(f.category not in implied for f in SensitiveScreen.shared().findings(text)):
        raise InputError("the reason must not repeat sensitive content; describe the decision only")
    return text


class ReviewDesk:
    """Review decisions on one customer's suppression, each authorised as ``customer``/``review``.

    Every decision is one transaction: the customer is found within the plan's row
    scope (outside it: 404 and a ``deny`` event), the state is checked and changed,
    and one ``review`` event records the operation, the reason code and the written
    reason.  A refusal by the policy is a ``deny`` event (the gateway records it).
    Nothing here writes a personal field or lifts a flag: clearing a review is the one
    decision that lets letters go again, and it needs a written reason.
    """

    def __init__(self, *, gateway: Gateway) -> None:
        self._gw = gateway

    def may_decide(self, ctx: AccessContext) -> bool:
        """Whether ``ctx`` may make review decisions (to offer the forms; nothing is recorded)."""
        plan = self._gw.governance.policies.current.plan(
            subject=ctx.subject,
            roles=ctx.roles,
            purpose=ctx.purpose,
            resource="customer",
            action=REVIEW_ACTION,
            fields=(REVIEW_FIELD,),
        )
        return REVIEW_FIELD in plan.allowed and not plan.denied

    def clear(self, ctx: AccessContext, external_id: str, *, reason_code: str, reason: str) -> int:
        """Lift ``under_review``: letters may go to the customer again.  Returns the event's seq."""
        plan = self._authorize(ctx)
        text = check_reason(reason_code, reason, codes=CLEAR_CODES)
        return self._decide(
            ctx,
            plan,
            external_id,
            operation="review_cleared",
            detail={"reason_code": reason_code, "reason": text},
            values={"under_review": False, "review_reason": None},
            require_review=True,
        )

    def keep(self, ctx: AccessContext, external_id: str, *, reason_code: str, reason: str) -> int:
        """Record that a person looked and the customer stays under review (letters stay suppressed)."""
        plan = self._authorize(ctx)
        text = check_reason(reason_code, reason, codes=KEEP_CODES)
        return self._decide(
            ctx,
            plan,
            external_id,
            operation="review_kept",
            detail={"reason_code": reason_code, "reason": text},
            values=None,
            require_review=True,
        )

    def mark(self, ctx: AccessContext, external_id: str, flag: str, *, reason_code: str, reason: str) -> int:
        """Set ``deceased`` or ``do_not_contact`` (never lift one: that is a ``write``).

        A review, if any, stays as it is: a deceased customer is never selected for a
        letter and leaves the review queue, and lifting the flag later brings the review back.
        """
        plan = self._authorize(ctx)
        if flag not in FLAG_CODES:
            raise InputError(f"the flag is {' or '.join(FLAGS)}")
        implied = frozenset({"bereavement"}) if flag == "deceased" else frozenset()
        text = check_reason(reason_code, reason, codes=FLAG_CODES[flag], implied=implied)
        return self._decide(
            ctx,
            plan,
            external_id,
            operation=f"{flag}_set",
            detail={"reason_code": reason_code, "reason": text},
            values={flag: True},
            require_review=False,
            already=flag,
        )

    def _authorize(self, ctx: AccessContext) -> AccessPlan:
        return self._gw.authorize(
            ctx, resource="customer", action=REVIEW_ACTION, fields=[REVIEW_FIELD], all_fields=CUSTOMER_FIELDS
        )

    def _decide(
        self,
        ctx: AccessContext,
        plan: AccessPlan,
        external_id: str,
        *,
        operation: str,
        detail: dict[str, str | int | bool | None],
        values: dict[str, Any] | None,
        require_review: bool,
        already: str | None = None,
    ) -> int:
        c = customers_t.c
        with self._gw.governance.transaction() as conn:
            cid = self._gw.customer_id(conn, ctx, plan, external_id)
            state = conn.execute(
                sa.select(c.under_review, c.deceased, c.do_not_contact).where(c.id == cid).with_for_update()
            ).one()
            if require_review and not state.under_review:
                raise ConflictError("the customer is not under review")
            if already is not None and getattr(state, already):
                raise ConflictError(f"the customer is already marked {already.replace('_', '-')}")
            if values is not None:
                conn.execute(sa.update(customers_t).where(c.id == cid).values(**values, updated_at=utcnow()))
            seq = self._gw.record(
                conn,
                self._gw.event(
                    ctx,
                    action=REVIEW_ACTION,
                    resource="customer",
                    fields=[REVIEW_FIELD],
                    decision="allow",
                    row_count=1,
                    record_ids=[cid],
                    detail={"operation": operation, **detail},
                ),
            )
        self._gw.publish()
        return seq

"""Governance: the one place that decides, denies and records.

Every service (writes, notes, profiling, compliance, API keys) and the gateway's
reads ask :class:`Governance` the same three things:

* **authorize** -- one access plan per request from the policy in force (any error
  while deciding is a denial); a refusal is audited and raised as
  :class:`~core.errors.AccessDenied`;
* **resolve** -- a customer's internal id inside the plan's row scope.  A customer
  outside it (someone else's, or one that does not exist) answers exactly like a
  missing one (404, no existence oracle) but leaves a ``deny`` event, reason
  ``outside owned accounts`` or ``not found``: ownership probes are counted;
* **record** -- append an audit event in the caller's transaction (fail closed) or
  in one of its own.

Privileged actions have no switch that skips the policy: the local operator (who
holds the key file) acts in the ``operator`` role and hushdb's own checks in the
``system`` role, and ``policies/policy.csv`` says what those roles may do, like any
other role's.  The gateway keeps the read path (SQL, decryption, masking).
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from audit.events import AuditEvent
from audit.log import AuditLog
from audit.refs import RecordRefs
from core.db import transaction
from core.errors import (
    AccessDenied,
    AuditError,
    AuditWriteError,
    ErasedError,
    InvalidPurposeError,
    NotFoundError,
)
from core.models import customers_t, meta_t
from policies.holder import PolicyHolder, ReloadResult
from policies.plan import AccessPlan
from policies.vocabulary import SYSTEM_ROLE, SYSTEM_SUBJECT

if TYPE_CHECKING:
    from core.gateway import AccessContext

log = logging.getLogger(__name__)

OUTSIDE_OWNED = "outside owned accounts"
"""The reason of a denial for a customer outside the caller's row scope (counted by ``audit anomalies``)."""
NOT_FOUND = "not found"
"""The reason of a denial for a customer that does not exist (or was never visible)."""

_EVENT_FIELDS = frozenset(f.name for f in dataclasses.fields(AuditEvent))


class UnrecordedDenial(NotFoundError):
    """A customer outside the plan's scope: answered as not found, its denial still to be recorded.

    Raised inside a transaction (which rolls back); :meth:`Governance.transaction`
    records :attr:`denial` in a transaction of its own once the first one is gone,
    and every front door's error boundary does the same for callers that used a
    plain transaction (see :meth:`Governance.settle`).
    """

    def __init__(self, message: str, denial: AuditEvent) -> None:
        super().__init__(message)
        self.denial: AuditEvent | None = denial

    def __repr__(self) -> str:
        return f"UnrecordedDenial({self.message!r})"


class Governance:
    """Authorize, deny and audit over the policy in force and the audit log."""

    def __init__(self, *, engine: Engine, policies: PolicyHolder, audit: AuditLog, refs: RecordRefs) -> None:
        self.engine = engine
        self.policies = policies
        self.audit = audit
        self.refs = refs

    # -- events -----------------------------------------------------------------------

    def event(
        self,
        ctx: AccessContext,
        *,
        action: str,
        resource: str,
        fields: Sequence[str],
        decision: str,
        row_count: int = 0,
        record_ids: Sequence[str] = (),
        detail: Mapping[str, str | int | bool | None] | None = None,
    ) -> AuditEvent:
        """The event of one decision.  Context attributes the event also records (e.g. the
        channel) are copied over by name."""
        extra: dict[str, Any] = {
            name: getattr(ctx, name)
            for name in ("channel", "os_user")
            if name in _EVENT_FIELDS and hasattr(ctx, name)
        }
        return AuditEvent(
            subject=ctx.subject,
            roles=tuple(sorted(ctx.roles)),
            purpose=ctx.purpose,
            action=action,
            resource=resource,
            fields=tuple(fields),
            decision=decision,
            row_count=row_count,
            request_id=ctx.request_id,
            record_refs=self.refs.refs(record_ids),
            detail=dict(detail or {}),
            **extra,
        )

    def publish(self) -> None:
        """Copy committed signed checkpoints to the external file (after commit).

        A failure here does not undo the access (its event is committed); the
        next publish from any process catches up.
        """
        try:
            self.audit.publish_checkpoints(self.engine)
        except AuditError as exc:
            log.warning("audit checkpoints not published yet: %s", type(exc).__name__)

    def record(self, conn: Connection, event: AuditEvent) -> int:
        """Append ``event`` in ``conn``'s transaction (fail closed: raises AuditWriteError)."""
        return self.audit.append(conn, event)

    def record_alone(self, event: AuditEvent) -> int:
        """Append ``event`` in a transaction of its own."""
        try:
            with self.engine.begin() as conn:
                seq = self.audit.append(conn, event)
        except AuditWriteError:
            raise
        except Exception as exc:
            raise AuditWriteError("the audit event could not be written") from exc
        self.publish()
        return seq

    def settle(self, exc: BaseException) -> None:
        """Record the pending denial of an :class:`UnrecordedDenial` (once); other errors are ignored."""
        if isinstance(exc, UnrecordedDenial) and exc.denial is not None:
            denial, exc.denial = exc.denial, None
            self.record_alone(denial)

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        """A database transaction whose out-of-scope denials are recorded after it rolls back."""
        try:
            with transaction(self.engine) as conn:
                yield conn
        except UnrecordedDenial as exc:
            self.settle(exc)
            raise

    # -- decisions --------------------------------------------------------------------

    def deny(
        self,
        ctx: AccessContext,
        *,
        action: str,
        resource: str,
        fields: Sequence[str],
        reason: str,
        record_ids: Sequence[str] = (),
    ) -> AccessDenied:
        """Audit a denial (in a transaction of its own) and return the error to raise."""
        self.record_alone(
            self.event(
                ctx,
                action=action,
                resource=resource,
                fields=fields,
                decision="deny",
                record_ids=record_ids,
                detail={"reason": reason},
            )
        )
        return AccessDenied(f"{ctx.subject} may not {action} {resource} for purpose {ctx.purpose}: {reason}")

    def authorize(
        self,
        ctx: AccessContext,
        *,
        resource: str,
        action: str,
        fields: Sequence[str] | None,
        all_fields: Sequence[str],
    ) -> AccessPlan:
        """One plan per request.  ``fields=None`` asks for whatever the plan allows.

        Explicitly requested fields must all be allowed; otherwise the request is
        denied (audited) naming the forbidden fields.  Any exception while
        deciding is a denial.
        """
        asked = tuple(all_fields if fields is None else fields)
        unknown = [f for f in asked if f not in all_fields]
        if unknown:
            raise self.deny(
                ctx, action=action, resource=resource, fields=asked, reason=f"unknown field {unknown[0]}"
            )
        try:
            plan = self.policies.current.plan(
                subject=ctx.subject,
                roles=ctx.roles,
                purpose=ctx.purpose,
                resource=resource,
                action=action,
                fields=asked,
            )
        except InvalidPurposeError:
            raise
        except Exception as exc:  # fail closed: any error while deciding is a deny
            raise self.deny(
                ctx,
                action=action,
                resource=resource,
                fields=asked,
                reason=f"policy error ({type(exc).__name__})",
            ) from exc
        if fields is None and plan.allowed and plan.denied:
            # "whatever I may see": narrow the plan to exactly that (a cached policy answer).
            return self.authorize(
                ctx, resource=resource, action=action, fields=sorted(plan.allowed), all_fields=all_fields
            )
        if not plan.allowed or (fields is not None and plan.denied):
            forbidden = sorted(plan.denied) or list(asked)
            raise self.deny(
                ctx,
                action=action,
                resource=resource,
                fields=asked,
                reason=f"field {', '.join(forbidden)} is forbidden",
            )
        return plan

    def require(self, ctx: AccessContext, *, resource: str, action: str, field: str) -> AccessPlan:
        """A single permission (``admin``/``manage`` of ``keys``, ``audit``/``read`` of ``events``, ...).

        The same question for every subject, the local operator included: its role is
        ``operator`` and the policy says what that role may do.
        """
        return self.authorize(ctx, resource=resource, action=action, fields=[field], all_fields=(field,))

    def scope_filter(
        self, ctx: AccessContext, plan: AccessPlan, owner_col: sa.ColumnElement[str]
    ) -> sa.ColumnElement[bool]:
        """The plan's row filter as SQL."""
        if plan.scope == "all":
            return sa.true()
        return owner_col == ctx.subject

    def resolve_customer(
        self, conn: Connection, ctx: AccessContext, plan: AccessPlan, external_id: str
    ) -> str:
        """The internal id of ``external_id`` within the plan's row scope.

        Outside it, :class:`UnrecordedDenial` (a 404) carrying the ``deny`` event of the
        attempt: reason ``outside owned accounts`` when the customer exists but belongs to
        someone else, ``not found`` otherwise.  An erased customer is :class:`ErasedError`.
        """
        row = conn.execute(
            sa.select(customers_t.c.id, customers_t.c.owner, customers_t.c.erased_at).where(
                customers_t.c.external_id == external_id
            )
        ).first()
        if row is not None and plan.covers_row(row.owner):
            if row.erased_at is not None:
                raise ErasedError("customer was erased")
            return str(row.id)
        reason = NOT_FOUND if row is None else OUTSIDE_OWNED
        denial = self.event(
            ctx,
            action=plan.action,
            resource=plan.resource,
            fields=sorted(plan.allowed) or list(plan.fields),
            decision="deny",
            record_ids=[] if row is None else [str(row.id)],
            detail={"reason": reason},
        )
        raise UnrecordedDenial("customer not found", denial)

    def denial_in(self, conn: Connection, exc: UnrecordedDenial) -> None:
        """Record ``exc``'s denial in ``conn``'s transaction (for a batch that goes on and commits)."""
        if exc.denial is not None:
            denial, exc.denial = exc.denial, None
            self.record(conn, denial)

    # -- the policy in force --------------------------------------------------------------

    def reload_policy(self, ctx: AccessContext | None = None) -> ReloadResult:
        """Re-read the policy files atomically; a broken file keeps the policy in force.

        Both outcomes are audit events: ``policy_reload`` (allow, with the new and the
        previous hash) or ``policy_reload_failed`` (deny, with the reason).  ``ctx`` is who
        asked (an administrator over HTTP); a signal is recorded as the system.
        """
        who = ctx if ctx is not None else _system_context()
        trigger = "request" if ctx is not None else "signal"

        def record(result: ReloadResult) -> None:
            detail: dict[str, str | int | bool | None] = {
                "policy_hash": result.policy_hash,
                "previous_hash": result.previous_hash,
                "trigger": trigger,
            }
            if result.error is not None:
                detail["reason"] = result.error.message
            event = self.event(
                who,
                action="policy_reload" if result.ok else "policy_reload_failed",
                resource="admin",
                fields=["policy"],
                decision="allow" if result.ok else "deny",
                detail=detail,
            )
            if not result.changed:
                self.record_alone(event)
                return
            try:
                with self.engine.begin() as conn:
                    # the hash in force, as the start-up check reads it (api.wiring)
                    updated = conn.execute(
                        sa.update(meta_t)
                        .where(meta_t.c.key == "policy_hash")
                        .values(value=result.policy_hash)
                    ).rowcount
                    if not updated:
                        conn.execute(sa.insert(meta_t).values(key="policy_hash", value=result.policy_hash))
                    self.audit.append(conn, event)
            except AuditWriteError:
                raise
            except Exception as exc:
                raise AuditWriteError("the audit event could not be written") from exc
            self.publish()

        # The event is written before the new policy is swapped in: none is in force unrecorded.
        return self.policies.reload(record=record)


def _system_context() -> AccessContext:
    from core.gateway import AccessContext

    return AccessContext(subject=SYSTEM_SUBJECT, roles=frozenset({SYSTEM_ROLE}), purpose="compliance")


def system_context(purpose: str, request_id: str | None = None) -> AccessContext:
    """hushdb's own reads (record-aware detection, data-quality checks): role ``system``."""
    from core.gateway import AccessContext

    if request_id:
        return AccessContext(
            subject=SYSTEM_SUBJECT, roles=frozenset({SYSTEM_ROLE}), purpose=purpose, request_id=request_id
        )
    return AccessContext(subject=SYSTEM_SUBJECT, roles=frozenset({SYSTEM_ROLE}), purpose=purpose)


__all__ = [
    "NOT_FOUND",
    "OUTSIDE_OWNED",
    "Governance",
    "UnrecordedDenial",
    "system_context",
]

"""The DPO's requests, the analyst's profiling page and the policy page (administrator reload)."""

from __future__ import annotations

import json
from dataclasses import asdict

import sqlalchemy as sa
from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from api.console.charts import bars_png, histogram_png
from api.console.sessions import Session
from api.console.web import ERASURE, PROFILING, SERVICE, Console, external_id_of, flash_of
from audit.tables import audit_events
from core.errors import InputError, NotFoundError
from core.gateway import AccessContext
from core.records import CUSTOMER_FIELDS

PROFILE_TITLES = {
    "rfm": "RFM segments",
    "clv": "Customer lifetime value",
    "churn": "Churn risk",
    "cross_sell": "Cross-sell",
}


def add_other_routes(router: APIRouter, console: Console) -> None:
    hush = console.svc.hush

    @router.get("/requests")
    def requests_page(request: Request) -> Response:
        def produce(session: Session, ctx: AccessContext) -> Response:
            hush.gateway.authorize(
                ctx, resource="customer", action="erase", fields=None, all_fields=tuple(CUSTOMER_FIELDS)
            )
            console.allow(ctx, action="console_view", detail={"view": "requests"})
            return console.render(
                request,
                "requests.html",
                session=session,
                active="/requests",
                title="Requests",
                receipts=[session.receipts[k] for k in sorted(session.receipts, reverse=True)],
                flash=None,
            )

        return console.page(request, ERASURE, produce)

    @router.post("/requests/export")
    async def dsar(request: Request) -> Response:
        def act(session: Session, ctx: AccessContext) -> Response:
            xid = external_id_of(request.state.form.get("external_id", ""))
            doc = console.svc.dsar.export(ctx, xid)
            body = json.dumps(doc, ensure_ascii=False, indent=2, sort_keys=True, default=str)
            return Response(
                body,
                media_type="application/json",
                headers={"Content-Disposition": f'attachment; filename="dsar-{xid}.json"'},
            )

        return await console.post(request, ERASURE, act)

    @router.post("/requests/erase")
    async def erase(request: Request) -> Response:
        def act(session: Session, ctx: AccessContext) -> Response:
            form: dict[str, str] = request.state.form
            xid = external_id_of(form.get("external_id", ""))
            if form.get("confirm", "").strip() != xid:
                raise InputError("type the same external id in both boxes to confirm the erasure")
            receipt = hush.writes.erase(ctx, xid)
            doc: dict[str, object] = {k: _jsonable(v) for k, v in asdict(receipt).items()}
            console.sessions.add_receipt(session, receipt.audit_seq, doc)
            return console.render(
                request,
                "receipt.html",
                session=session,
                active="/requests",
                title="Erasure receipt",
                r=doc,
                flash="The customer was erased.",
            )

        return await console.post(request, ERASURE, act)

    @router.get("/requests/receipts/{name}")
    def receipt(request: Request, name: str) -> Response:
        def produce(session: Session, ctx: AccessContext) -> Response:
            seq = name.removesuffix(".json")
            doc = session.receipts.get(int(seq)) if seq.isdigit() and len(seq) < 19 else None
            if doc is None:
                raise NotFoundError("no receipt of that erasure in this session")
            return Response(
                json.dumps(doc, indent=2, sort_keys=True),
                media_type="application/json",
                headers={"Content-Disposition": f'attachment; filename="erasure-receipt-{seq}.json"'},
            )

        return console.page(request, ERASURE, produce)

    # -- profiling (analyst) ---------------------------------------------------------

    @router.get("/profiling")
    def profiling(request: Request) -> Response:
        def produce(session: Session, ctx: AccessContext) -> Response:
            runs = console.profiling.latest(ctx)
            return console.render(
                request,
                "profiling.html",
                session=session,
                active="/profiling",
                title="Profiling",
                runs=runs,
                titles=PROFILE_TITLES,
            )

        return console.page(request, PROFILING, produce)

    @router.get("/charts/profiling-{what}.png")
    def profiling_chart(request: Request, what: str) -> Response:
        def produce(session: Session, ctx: AccessContext) -> Response:
            if what == "segments":
                runs = {r.kind: r for r in console.profiling.latest(ctx)}
                counts = dict((runs["rfm"].summary.get("segments") or {}) if "rfm" in runs else {})
                png = bars_png(
                    list(counts),
                    [float(v) for v in counts.values()],
                    title="RFM segment sizes",
                    ylabel="customers",
                )
            elif what == "clv":
                png = histogram_png(
                    console.profiling.scores(ctx, "clv"), title="Predicted lifetime value", xlabel="value"
                )
            elif what == "churn":
                png = histogram_png(
                    console.profiling.scores(ctx, "churn"), title="Churn risk", xlabel="risk score"
                )
            else:
                raise NotFoundError("no such chart")
            return Response(png, media_type="image/png")

        return console.page(request, PROFILING, produce)

    # -- policy ----------------------------------------------------------------------

    @router.get("/policy")
    def policy(request: Request) -> Response:
        def produce(session: Session, ctx: AccessContext) -> Response:
            authorizer = hush.policies.current
            policy_set = authorizer.policy
            rows = [
                {
                    "role": r.role,
                    "purpose": r.purpose,
                    "resource": r.resource,
                    "field": r.field,
                    "action": r.action,
                    "effect": r.effect,
                    "mask": r.mask or "-",
                    "scope": r.scope or "-",
                    "line": r.line,
                }
                for r in policy_set.rules
            ]
            holders: dict[str, list[str]] = {}
            for subject, subject_roles in authorizer.subjects().items():
                for role in subject_roles:
                    holders.setdefault(role, []).append(subject)
            with hush.engine.connect() as conn:
                loaded = conn.execute(
                    sa.select(audit_events.c.seq, audit_events.c.ts)
                    .where(
                        audit_events.c.subject == "hushdb",
                        audit_events.c.resource == "admin",
                        audit_events.c.action.in_(("policy_load", "policy_reload")),
                        audit_events.c.decision == "allow",
                    )
                    .order_by(audit_events.c.seq.desc())
                    .limit(1)
                ).first()
            console.allow(
                ctx, action="console_view", detail={"view": "policy", "policy_hash": policy_set.policy_hash}
            )
            return console.render(
                request,
                "policy.html",
                session=session,
                active="/policy",
                title="Policy",
                policy_hash=policy_set.policy_hash,
                holders={role: sorted(names) for role, names in sorted(holders.items())},
                loaded={"seq": loaded.seq, "ts": loaded.ts} if loaded is not None else None,
                policy_dir=str(hush.policies.policy_dir),
                can_reload="admin" in ctx.roles,
                rows=rows,
                flash=flash_of(request),
            )

        return console.page(request, SERVICE, produce)

    @router.post("/policy/reload")
    async def policy_reload(request: Request) -> Response:
        def act(session: Session, ctx: AccessContext) -> Response:
            gw = hush.gateway
            gw.authorize(
                ctx,
                resource="admin",
                action="manage",
                fields=["policy"],
                all_fields=("keys", "policy", "apikeys"),
            )
            result = hush.policies.reload()
            gw.record_alone(
                gw.event(
                    ctx,
                    action="policy_reload",
                    resource="admin",
                    fields=["policy"],
                    decision="allow" if result.ok else "deny",
                    detail={
                        "via": "console",
                        "policy_hash": result.policy_hash,
                        "previous_hash": result.previous_hash,
                        "error": None if result.error is None else type(result.error).__name__,
                    },
                )
            )
            if result.error is not None:
                raise InputError(f"the policy files were refused, the previous policy stays: {result.error}")
            return RedirectResponse(f"{console.prefix}/policy?done=policy-reloaded", status_code=303)

        return await console.post(request, SERVICE, act)


def _jsonable(value: object) -> object:
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, (tuple, list)):
        return [_jsonable(v) for v in value]
    return str(value)


__all__ = ["add_other_routes"]

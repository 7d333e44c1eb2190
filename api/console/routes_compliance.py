"""The compliance officer's pages: dashboard, audit explorer, person view and review queue."""

from __future__ import annotations

from collections.abc import Iterator

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response, StreamingResponse
from starlette.background import BackgroundTask

from api.console.audit_reads import CSV_MAX_ROWS, AuditFilters
from api.console.charts import events_per_day_png, series_by_day
from api.console.people import CLEAR_CODES, FLAG_CODES, KEEP_CODES
from api.console.sessions import Session
from api.console.web import COMPLIANCE, Console, age_text, external_id_of, flash_of
from core.errors import AccessDenied, ErasedError, InputError
from core.gateway import PURPOSES, AccessContext

CHART_DAYS = 14
ANOMALY_DAYS = 7


def add_compliance_routes(router: APIRouter, console: Console) -> None:

    @router.get("/dashboard")
    def dashboard(request: Request) -> Response:
        def produce(session: Session, ctx: AccessContext) -> Response:
            # The audit log's parts are read unrecorded, then recorded as one event for the view.
            chain = console.audit.chain_status(ctx, record=False)
            rows = console.audit.events_per_day(ctx, days=CHART_DAYS, record=False)
            days, series = series_by_day(rows or [])
            denial_total, denials = console.audit.recent_denials(ctx, days=ANOMALY_DAYS, record=False)
            read = ["verify", "events"]
            try:
                anomalies = console.audit.anomalies(ctx, days=ANOMALY_DAYS, record=False)
                anomalies_allowed = True
                read.append("anomalies")
            except AccessDenied:  # audited by the gateway; the rest of the page is still shown
                anomalies, anomalies_allowed = None, False
            console.audit.record_dashboard(ctx, fields=read, rows=len(denials) + len(anomalies or ()))
            under_review = console.people.count_under_review(ctx)
            campaigns = console.people.campaigns(ctx)
            return console.render(
                request,
                "dashboard.html",
                session=session,
                active="/dashboard",
                title="Dashboard",
                chain=chain,
                age=age_text,
                days=CHART_DAYS,
                per_day_pending=rows is None,
                series_names=list(series),
                per_day_rows=[(d, [series[n][i] for n in series]) for i, d in enumerate(days)],
                denial_total=denial_total,
                denials=denials,
                anomalies=anomalies,
                anomalies_allowed=anomalies_allowed,
                under_review=under_review,
                campaigns=campaigns,
                flash="Verification finished." if request.query_params.get("verified") else None,
                background=BackgroundTask(console.audit.aggregates.start_queued),
            )

        return console.page(request, COMPLIANCE, produce)

    @router.post("/dashboard/verify")
    async def verify(request: Request) -> Response:
        def act(session: Session, ctx: AccessContext) -> Response:
            console.audit.verify(ctx)
            return RedirectResponse(console.prefix + "/dashboard?verified=1", status_code=303)

        return await console.post(request, COMPLIANCE, act)

    @router.get("/charts/events-per-day.png")
    def chart(request: Request) -> Response:
        def produce(session: Session, ctx: AccessContext) -> Response:
            rows = console.audit.events_per_day(ctx, days=CHART_DAYS)
            return Response(
                events_per_day_png(rows or []),
                media_type="image/png",
                background=BackgroundTask(console.audit.aggregates.start_queued),
            )

        return console.page(request, COMPLIANCE, produce)

    # -- audit explorer --------------------------------------------------------------

    def _filters(request: Request) -> tuple[AuditFilters, int | None]:
        params = dict(request.query_params)
        filters = AuditFilters.parse(params)
        before = params.get("before", "").strip()
        if before and not (before.isdigit() and len(before) < 19):
            raise InputError("before is an event sequence number")
        return filters, int(before) if before else None

    @router.get("/audit")
    def audit_explorer(request: Request) -> Response:
        def produce(session: Session, ctx: AccessContext) -> Response:
            filters, before = _filters(request)
            result = console.audit.page(ctx, filters, before=before)
            return console.render(
                request,
                "audit.html",
                session=session,
                active="/audit",
                title="Audit explorer",
                f=filters,
                query=filters.query(),
                purposes=PURPOSES,
                events=result.events,
                before=before,
                next_before=result.next_before,
                csv_max=f"{CSV_MAX_ROWS:,}",
                flash=None,
            )

        return console.page(request, COMPLIANCE, produce)

    @router.get("/audit/events/{seq}")
    def audit_event(request: Request, seq: str) -> Response:
        def produce(session: Session, ctx: AccessContext) -> Response:
            if not seq.isdigit() or len(seq) > 18:
                raise InputError("an event is named by its sequence number")
            event = console.audit.event(ctx, int(seq))
            return console.render(
                request,
                "event.html",
                session=session,
                active="/audit",
                title=f"Event {seq}",
                e=event,
                keys=list(event),
                flash=None,
            )

        return console.page(request, COMPLIANCE, produce)

    @router.get("/audit/export.csv")
    def audit_csv(request: Request) -> Response:
        def produce(session: Session, ctx: AccessContext) -> Response:
            filters, _ = _filters(request)
            chunks: Iterator[str] = console.audit.csv_rows(ctx, filters)
            return StreamingResponse(
                chunks,
                media_type="text/csv; charset=utf-8",
                headers={"Content-Disposition": 'attachment; filename="audit-events.csv"'},
            )

        return console.page(request, COMPLIANCE, produce)

    # -- person ----------------------------------------------------------------------

    @router.get("/people")
    def person_lookup(request: Request) -> Response:
        def produce(session: Session, ctx: AccessContext) -> Response:
            given = request.query_params.get("external_id")
            if given:
                target = f"{console.prefix}/people/{external_id_of(given)}"
                return RedirectResponse(target, status_code=303)
            return console.render(
                request, "person_lookup.html", session=session, active="/people", title="Person", flash=None
            )

        return console.page(request, COMPLIANCE, produce)

    @router.get("/people/{external_id}")
    def person(request: Request, external_id: str) -> Response:
        def produce(session: Session, ctx: AccessContext) -> Response:
            xid = external_id_of(external_id)
            report = console.svc.compliance.access_report(ctx, xid)
            try:
                view = console.people.person(ctx, xid, report)
            except ErasedError:
                # Erased: nothing is left to read, but who saw the data stays answerable (Art. 15(1)(c)).
                return console.render(
                    request,
                    "person_erased.html",
                    session=session,
                    active="/people",
                    title=f"Customer {xid}",
                    external_id=xid,
                    report=report,
                )
            values = view.record.values
            shown = [
                (k, "—" if v is None else v)
                for k, v in values.items()
                if k not in ("consent", "suppression", "external_id", "pseudonym")
            ]
            if "consent" in values and isinstance(values["consent"], dict):
                shown += [
                    (f"consent: {k.replace('_', ' ')}", "yes" if v else "no")
                    for k, v in values["consent"].items()
                ]
            return console.render(
                request,
                "person.html",
                session=session,
                active="/people",
                title=f"Customer {xid}",
                p=view,
                values=shown,
                suppression=dict(values.get("suppression") or {}),
                can_act=console.people.may_decide(ctx),
                clear_codes=CLEAR_CODES,
                keep_codes=KEEP_CODES,
                flag_codes=FLAG_CODES,
                flash=flash_of(request),
            )

        return console.page(request, COMPLIANCE, produce)

    @router.post("/people/{external_id}/review")
    async def resolve_review(request: Request, external_id: str) -> Response:
        """Clear, keep suppressed or mark deceased (from the person page or the review queue)."""

        def act(session: Session, ctx: AccessContext) -> Response:
            xid = external_id_of(external_id)
            form: dict[str, str] = request.state.form
            decision = form.get("decision", "")
            console.people.decide(ctx, xid, decision, form.get("reason_code", ""), form.get("reason", ""))
            note = {"clear": "review-cleared", "keep": "review-kept", "deceased": "review-deceased"}[decision]
            if form.get("back") == "queue":
                return RedirectResponse(f"{console.prefix}/review?done={note}", status_code=303)
            return RedirectResponse(f"{console.prefix}/people/{xid}?done={note}", status_code=303)

        return await console.post(request, COMPLIANCE, act)

    @router.post("/people/{external_id}/flags")
    async def set_flag(request: Request, external_id: str) -> Response:
        def act(session: Session, ctx: AccessContext) -> Response:
            xid = external_id_of(external_id)
            form: dict[str, str] = request.state.form
            if form.get("confirm") != "yes":
                raise InputError("tick the confirmation box")
            console.people.mark(
                ctx, xid, form.get("flag", ""), form.get("reason_code", ""), form.get("reason", "")
            )
            return RedirectResponse(f"{console.prefix}/people/{xid}?done=flag-set", status_code=303)

        return await console.post(request, COMPLIANCE, act)

    # -- review queue ----------------------------------------------------------------

    @router.get("/review")
    def review(request: Request) -> Response:
        def produce(session: Session, ctx: AccessContext) -> Response:
            after = request.query_params.get("after", "")
            if after:
                after = external_id_of(after)
            total, entries, next_after = console.people.under_review(ctx, after=after)
            letters = console.people.quarantined(ctx)
            return console.render(
                request,
                "review.html",
                session=session,
                active="/review",
                title="Review queue",
                total=total,
                entries=entries,
                next_after=next_after,
                letters=letters,
                can_act=console.people.may_decide(ctx),
                clear_codes=CLEAR_CODES,
                keep_codes=KEEP_CODES,
                flag_codes=FLAG_CODES,
                flash=flash_of(request),
            )

        return console.page(request, COMPLIANCE, produce)

    @router.get("/review/pseudonyms/{pseudonym}")
    def resolve_pseudonym(request: Request, pseudonym: str) -> Response:
        def produce(session: Session, ctx: AccessContext) -> Response:
            record = console.people.resolve_pseudonym(ctx, pseudonym)
            return RedirectResponse(f"{console.prefix}/people/{record.external_id}", status_code=303)

        return console.page(request, COMPLIANCE, produce)

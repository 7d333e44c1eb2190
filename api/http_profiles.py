"""HTTP endpoints for profiling results and access anomalies.

``GET /profiles/{rfm,clv,churn,cross-sell,quality}`` return the latest **stored** run of that kind
(``hushdb profile ...`` or ``POST /profiles/{kind}/runs`` writes runs), keyed by pseudonym and
paged with ``limit``/``offset``; ``POST /profiles/{kind}/runs`` starts a new run (analyst,
``X-Purpose: profiling``, or ``data_quality`` for quality).  ``GET /audit/anomalies`` computes
the access anomalies over the audit log (compliance).  Authentication, the ``X-Purpose`` header
and problem+json errors come from :mod:`api.http.deps` and :mod:`api.http.problems`.

A CLV or churn run whose model fit is not usable (a parameter on a bound, no convergence, a
parameter the data cannot identify; see :mod:`core.profiling.fit_check`) is never served as a
result: ``POST /profiles/{clv,churn}/runs`` stores the run without results and answers 422
``application/problem+json`` with ``type`` ``urn:hushdb:problem:model-unusable``, ``title``
"Model unusable" and the reason, run id and audit event in ``detail``; ``GET /profiles/{clv,churn}``
answers the same while the latest stored run of that kind is not usable.

Mount with ``api.http.app.include(app, api.http_profiles.router)`` or
``create_app(hush, extra_routers=[build_router()])``.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query

from api.http.deps import Access, Services
from api.http.problems import error_responses
from core.profiling.access import AccessAnalytics
from core.profiling.quality_service import DataQualityService
from core.profiling.reader import MAX_LIMIT, StoredProfiles
from core.profiling.service import ProfilingService

Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Results per page.")]
Offset = Annotated[int, Query(ge=0)]
AsOf = Annotated[dt.datetime | None, Query(description="ISO 8601; later transactions are ignored.")]


def _stored(svc: Any, ctx: Any, kind: str, limit: int, offset: int) -> dict[str, Any]:
    return StoredProfiles(gateway=svc.hush.gateway).latest(ctx, kind, limit=limit, offset=offset)


def build_router() -> APIRouter:
    """The profiling router (stateless: the store comes from the app's services per request)."""
    r = APIRouter(tags=["profiling"])

    @r.get("/profiles/rfm", summary="Latest RFM segments per pseudonym")
    def get_rfm(ctx: Access, svc: Services, limit: Limit = 1000, offset: Offset = 0) -> dict[str, Any]:
        return _stored(svc, ctx, "rfm", limit, offset)

    unusable = error_responses(422)  # includes urn:hushdb:problem:model-unusable

    @r.get(
        "/profiles/clv",
        summary="Latest lifetime values per pseudonym, with the fitted parameters",
        responses=unusable,
    )
    def get_clv(ctx: Access, svc: Services, limit: Limit = 1000, offset: Offset = 0) -> dict[str, Any]:
        return _stored(svc, ctx, "clv", limit, offset)

    @r.get("/profiles/churn", summary="Latest churn candidates (pseudonyms)", responses=unusable)
    def get_churn(ctx: Access, svc: Services, limit: Limit = 1000, offset: Offset = 0) -> dict[str, Any]:
        return _stored(svc, ctx, "churn", limit, offset)

    @r.get("/profiles/cross-sell", summary="Latest item rules and recommendations per pseudonym")
    def get_cross_sell(ctx: Access, svc: Services, limit: Limit = 1000, offset: Offset = 0) -> dict[str, Any]:
        return _stored(svc, ctx, "cross_sell", limit, offset)

    @r.get("/profiles/quality", summary="Latest data-quality findings (purpose data_quality)")
    def get_quality(ctx: Access, svc: Services, limit: Limit = 1000, offset: Offset = 0) -> dict[str, Any]:
        return _stored(svc, ctx, "quality", limit, offset)

    @r.post(
        "/profiles/{kind}/runs", status_code=201, summary="Run and store a profile now", responses=unusable
    )
    def post_run(
        kind: Literal["rfm", "clv", "churn", "cross-sell", "quality"],
        ctx: Access,
        svc: Services,
        as_of: AsOf = None,
        time_unit: Annotated[Literal["week", "day"], Query()] = "week",
        horizon: Annotated[float, Query(ge=0)] = 52.0,
        discount: Annotated[float, Query(gt=-1)] = 0.01,
        threshold: Annotated[float, Query(ge=0, le=1)] = 0.3,
        top: Annotated[int, Query(ge=1, le=100)] = 3,
    ) -> dict[str, Any]:
        gateway = svc.hush.gateway
        if kind == "quality":
            return DataQualityService(gateway=gateway).run(ctx).receipt.as_dict()
        profiles = ProfilingService(gateway=gateway)
        if kind == "rfm":
            return profiles.rfm(ctx, as_of=as_of).receipt.as_dict()
        if kind == "clv":
            run = profiles.clv(ctx, as_of=as_of, time_unit=time_unit, horizon=horizon, discount=discount)
            return {**run.receipt.as_dict(), **run.model.params_dict(), "fit": run.model.fit_dict()}
        if kind == "churn":
            return profiles.churn(ctx, threshold=threshold, as_of=as_of).receipt.as_dict()
        return profiles.cross_sell(ctx, top_n=top, as_of=as_of).receipt.as_dict()

    @r.get("/audit/anomalies", tags=["compliance"], summary="Unusual staff access in the audit log")
    def get_anomalies(
        ctx: Access,
        svc: Services,
        since: Annotated[dt.datetime | None, Query(description="ISO 8601 (default: 90 days ago).")] = None,
        until: Annotated[dt.datetime | None, Query(description="ISO 8601, exclusive (default: now).")] = None,
    ) -> dict[str, Any]:
        def utc(v: dt.datetime | None) -> dt.datetime | None:
            return None if v is None else (v if v.tzinfo else v.replace(tzinfo=dt.UTC))

        report = AccessAnalytics(gateway=svc.hush.gateway).anomalies(ctx, since=utc(since), until=utc(until))
        return report.as_dict()

    return r


router = build_router()

__all__ = ["build_router", "router"]

"""Governed profiling runs: RFM, lifetime value, churn and cross-sell, keyed by pseudonym.

Each method takes an :class:`~core.gateway.AccessContext` (purpose ``profiling``), authorizes
through the gateway (:class:`~core.profiling.governed.ProfileRunner`), reads behaviour in SQL for
customers who have not objected to profiling (joined to their pseudonym; no name is ever read or
decrypted), runs the pure functions of this package, and stores the results with one audit event.

    service = ProfilingService(gateway=hush.gateway)
    run = service.rfm(hush.context("ana", "profiling"))
    run.receipt.population.left_out, run.counts, run.scores[0].customer_id  # a pseudonym
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from core.db import transaction
from core.errors import InputError, ModelUnusableError
from core.gateway import AccessContext, Gateway
from core.models import customers_t, transactions_t
from core.profiling.bgnbd import fit_bgnbd, probability_alive
from core.profiling.churn import ChurnFlag, churn_candidates, gap_stats
from core.profiling.clv import ClvModel, ClvResult, build_summary, fit_clv, score_clv
from core.profiling.clv_summary import TimeUnit, unit_days
from core.profiling.cross_sell import ItemPair, Recommendation, build_baskets, item_pairs, recommend
from core.profiling.governed import Grant, Population, ProfileRunner, RunReceipt, now_utc
from core.profiling.results import ResultRow
from core.profiling.rfm import RfmScore, rfm_sql, score_rfm, segment_counts

PURCHASE_FIELDS = ("occurred_at", "amount")
CUSTOMER_INPUTS = ("pseudonym", "consent")
CHURN_LABEL = "churn"


@dataclass(frozen=True, slots=True)
class RfmRun:
    receipt: RunReceipt
    as_of: datetime
    scores: list[RfmScore]
    counts: dict[str, int]


@dataclass(frozen=True, slots=True)
class ClvRun:
    receipt: RunReceipt
    as_of: datetime
    model: ClvModel
    results: list[ClvResult]


@dataclass(frozen=True, slots=True)
class ChurnRun:
    receipt: RunReceipt
    as_of: datetime
    flags: list[ChurnFlag]
    scored: int


@dataclass(frozen=True, slots=True)
class CrossSellRun:
    receipt: RunReceipt
    pairs: list[ItemPair]
    recommendations: dict[str, list[Recommendation]]


def _utc(moment: datetime | None) -> datetime:
    if moment is None:
        return now_utc()
    return moment.astimezone(UTC) if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _joined() -> sa.FromClause:
    return transactions_t.join(customers_t, customers_t.c.id == transactions_t.c.customer_id)


class ProfilingService:
    """RFM, CLV, churn and cross-sell runs under the gateway's policy and the customers' consent."""

    def __init__(self, *, gateway: Gateway) -> None:
        self._runner = ProfileRunner(gateway=gateway)
        self._engine = gateway.engine

    # -- reading -----------------------------------------------------------------------------

    def _purchases(self, conn: Connection, grant: Grant, as_of: datetime) -> list[tuple[str, datetime, Any]]:
        stmt = (
            sa.select(customers_t.c.pseudonym, transactions_t.c.occurred_at, transactions_t.c.amount)
            .select_from(_joined())
            .where(grant.where, transactions_t.c.occurred_at <= as_of)
        )
        return [(str(r[0]), r[1], r[2]) for r in conn.execute(stmt)]

    def _unusable(
        self,
        grant: Grant,
        *,
        population: Population,
        parameters: dict[str, Any],
        summary: dict[str, Any],
        reason: str,
        as_of: datetime,
    ) -> ModelUnusableError:
        """Store the run (audited) with ``usable: false`` and no results; the error to raise."""
        receipt = self._runner.store(
            grant,
            population=population,
            parameters=parameters,
            results=[],
            summary={**summary, "usable": False, "reason": reason},
            as_of=as_of,
            outcome={"usable": False, "reason": reason},
        )
        return ModelUnusableError(
            f"{reason}; run {receipt.run_id} was stored without results (audit event {receipt.audit_seq})",
            run_id=receipt.run_id,
            audit_seq=receipt.audit_seq,
            fit=summary.get("fit"),
        )

    # -- runs --------------------------------------------------------------------------------

    def rfm(self, ctx: AccessContext, *, as_of: datetime | None = None) -> RfmRun:
        """Recency, frequency, monetary scores and segments (aggregated in SQL)."""
        moment = _utc(as_of)
        grant = self._runner.grant(
            ctx, "rfm", customer_fields=CUSTOMER_INPUTS, transaction_fields=PURCHASE_FIELDS
        )
        with transaction(self._engine) as conn:
            population = self._runner.population(conn, grant)
            rows = rfm_sql(
                conn,
                transactions_t,
                as_of=moment,
                customer_filter=grant.where,
                key=customers_t.c.pseudonym,
                source=_joined(),
            )
        scores = score_rfm(rows)
        counts = segment_counts(scores)
        results = [
            ResultRow(
                s.customer_id,
                s.segment,
                float(s.r * 100 + s.f * 10 + s.m),
                {
                    "recency_days": s.recency_days,
                    "frequency": s.frequency,
                    "monetary": str(s.monetary),
                    "r": s.r,
                    "f": s.f,
                    "m": s.m,
                },
            )
            for s in scores
        ]
        receipt = self._runner.store(
            grant,
            population=population,
            parameters={"as_of": moment.isoformat()},
            results=results,
            summary={"segments": counts},
            as_of=moment,
        )
        return RfmRun(receipt, moment, scores, counts)

    def clv(
        self,
        ctx: AccessContext,
        *,
        as_of: datetime | None = None,
        time_unit: TimeUnit = "week",
        horizon: float = 52.0,
        months: int = 12,
        discount: float = 0.01,
    ) -> ClvRun:
        """BG/NBD + Gamma-Gamma fitted on purchases up to ``as_of`` (the calibration period).

        A fit that is not usable (:mod:`core.profiling.fit_check`) is stored as a run with
        ``usable: false``, its reason and no results, and :class:`ModelUnusableError` is raised.
        """
        unit_days(time_unit)
        if horizon < 0:
            raise InputError("horizon must not be negative")
        moment = _utc(as_of)
        grant = self._runner.grant(
            ctx, "clv", customer_fields=CUSTOMER_INPUTS, transaction_fields=PURCHASE_FIELDS
        )
        with transaction(self._engine) as conn:
            population = self._runner.population(conn, grant)
            rows = self._purchases(conn, grant, moment)
        summary = build_summary(rows, as_of=moment, time_unit=time_unit)
        model = fit_clv(summary)
        params = {
            "as_of": moment.isoformat(),
            "time_unit": time_unit,
            "horizon": horizon,
            "months": months,
            "discount": discount,
        }
        run_summary = {"model": model.params_dict(), "time_unit": time_unit, "fit": model.fit_dict()}
        if not model.usable:
            raise self._unusable(
                grant,
                population=population,
                parameters=params,
                summary=run_summary,
                reason=model.reason or "the model fit is not usable",
                as_of=moment,
            )
        scored = score_clv(model, summary, horizon=horizon, months=months, monthly_discount_rate=discount)
        results = [
            ResultRow(
                r.customer_id,
                None,
                r.clv,
                r.figures(),
            )
            for r in scored
        ]
        receipt = self._runner.store(
            grant,
            population=population,
            parameters=params,
            results=results,
            summary={**run_summary, "usable": True},
            as_of=moment,
        )
        return ClvRun(receipt, moment, model, scored)

    def churn(
        self,
        ctx: AccessContext,
        *,
        threshold: float = 0.3,
        k: float = 3.0,
        as_of: datetime | None = None,
        time_unit: TimeUnit = "week",
    ) -> ChurnRun:
        """Customers with P(alive) under ``threshold`` or overdue by ``k`` of their median gaps.

        When the BG/NBD fit is not usable the run is stored with ``usable: false``, its reason and
        no results, and :class:`ModelUnusableError` is raised (no customer is flagged on it).
        """
        if not 0.0 <= threshold <= 1.0:
            raise InputError("churn threshold must be between 0 and 1")
        moment = _utc(as_of)
        grant = self._runner.grant(
            ctx, "churn", customer_fields=CUSTOMER_INPUTS, transaction_fields=PURCHASE_FIELDS
        )
        with transaction(self._engine) as conn:
            population = self._runner.population(conn, grant)
            rows = self._purchases(conn, grant, moment)
        summary = build_summary(rows, as_of=moment, time_unit=time_unit)
        bgnbd = fit_bgnbd(summary)
        params = {"as_of": moment.isoformat(), "threshold": threshold, "k": k, "time_unit": time_unit}
        fitted = {"r": bgnbd.r, "alpha": bgnbd.alpha, "a": bgnbd.a, "b": bgnbd.b}
        reason = bgnbd.diagnostics.reason if bgnbd.diagnostics is not None else None
        fit: dict[str, Any] = {"usable": bgnbd.usable, "reason": reason}
        if bgnbd.diagnostics is not None:
            fit["bgnbd"] = bgnbd.diagnostics.as_dict()
        if not bgnbd.usable:
            raise self._unusable(
                grant,
                population=population,
                parameters=params,
                summary={"scored": 0, "flagged": 0, "bgnbd": fitted, "fit": fit},
                reason=reason or "the BG/NBD fit is not usable",
                as_of=moment,
            )
        p_alive = dict(zip(summary.customer_ids, probability_alive(bgnbd, summary).tolist(), strict=True))
        gaps = gap_stats(((p, t) for p, t, _ in rows), as_of=moment)
        flags = churn_candidates(probability_alive=p_alive, threshold=threshold, gaps=gaps, k=k)
        results = [
            ResultRow(
                f.customer_id,
                CHURN_LABEL,
                f.probability_alive,
                {
                    "reasons": list(f.reasons),
                    "probability_alive": f.probability_alive,
                    "days_since_last": f.days_since_last,
                    "median_gap_days": f.median_gap_days,
                },
            )
            for f in flags
        ]
        receipt = self._runner.store(
            grant,
            population=population,
            parameters=params,
            results=results,
            summary={
                "scored": len(p_alive),
                "flagged": len(flags),
                "bgnbd": fitted,
                "usable": True,
                "fit": fit,
            },
            as_of=moment,
        )
        return ChurnRun(receipt, moment, flags, len(p_alive))

    def cross_sell(
        self, ctx: AccessContext, *, top_n: int = 3, min_count: int = 2, as_of: datetime | None = None
    ) -> CrossSellRun:
        """Item co-occurrence rules and each customer's top-N products not yet bought."""
        if top_n < 1:
            raise InputError("top must be at least 1")
        moment = _utc(as_of)
        grant = self._runner.grant(
            ctx, "cross_sell", customer_fields=CUSTOMER_INPUTS, transaction_fields=("occurred_at", "product")
        )
        with transaction(self._engine) as conn:
            population = self._runner.population(conn, grant)
            pairs_sql = (
                sa.select(customers_t.c.pseudonym, transactions_t.c.product)
                .select_from(_joined())
                .where(grant.where, transactions_t.c.occurred_at <= moment)
                .distinct()
            )
            bought = [(str(p), str(product)) for p, product in conn.execute(pairs_sql)]
        baskets = build_baskets(bought)
        rules = item_pairs(baskets, min_count=min_count)
        recs = recommend(baskets, top_n=top_n)
        results = [
            ResultRow(
                pseudonym,
                items[0].product if items else None,
                items[0].score if items else None,
                {"products": [i.product for i in items], "scores": [i.score for i in items]},
            )
            for pseudonym, items in sorted(recs.items())
        ]
        top_rules = [
            {
                "antecedent": r.antecedent,
                "consequent": r.consequent,
                "count": r.count,
                "support": r.support,
                "confidence": r.confidence,
                "lift": r.lift,
            }
            for r in rules[:50]
        ]
        receipt = self._runner.store(
            grant,
            population=population,
            parameters={"as_of": moment.isoformat(), "top": top_n, "min_count": min_count},
            results=results,
            summary={"rules": top_rules, "products": len(baskets.products)},
            as_of=moment,
        )
        return CrossSellRun(receipt, rules, recs)


__all__ = ["ChurnRun", "ClvRun", "CrossSellRun", "Population", "ProfilingService", "RfmRun"]

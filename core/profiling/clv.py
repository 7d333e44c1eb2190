"""Customer lifetime value: BG/NBD purchases times Gamma-Gamma spend, discounted monthly.

Pipeline (all pure, over plain rows keyed by the caller's pseudonymous ids)::

    summary = build_summary(rows, as_of=..., time_unit="week")   # core.profiling.clv_summary
    model = fit_clv(summary)                                     # BG/NBD + Gamma-Gamma, MLE
    results = score_clv(model, summary, horizon=52, months=12, monthly_discount_rate=0.01)

CLV formula (the one ``lifetimes`` uses, with a month of 365.25/12 days)::

    CLV_i = sum_{k=1..months}  E[M_i] * (E[Y_i(k s)] - E[Y_i((k-1) s)]) / (1 + d)^k

where ``s`` is the number of time units in a month (30.4375 days, 4.348 weeks), ``E[Y_i(t)]`` the
BG/NBD conditional expected repeat purchases in the next ``t`` time units, ``E[M_i]`` the
Gamma-Gamma conditional expected value of a purchase, and ``d`` the monthly discount rate.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from core.errors import InputError
from core.profiling.bgnbd import BgNbdParams, expected_purchases, fit_bgnbd, probability_alive
from core.profiling.clv_summary import CustomerSummary, FloatArray, TimeUnit, build_summary, unit_days
from core.profiling.gamma_gamma import GammaGammaParams, expected_average_value, fit_gamma_gamma

__all__ = [
    "DAYS_PER_MONTH",
    "BgNbdParams",
    "ClvModel",
    "ClvResult",
    "CustomerSummary",
    "GammaGammaParams",
    "build_summary",
    "customer_lifetime_value",
    "expected_average_value",
    "expected_purchases",
    "fit_bgnbd",
    "fit_clv",
    "fit_gamma_gamma",
    "probability_alive",
    "score_clv",
]

DAYS_PER_MONTH = 365.25 / 12


@dataclass(frozen=True, slots=True)
class ClvModel:
    """Both fitted models, in the time unit of the summary they were fitted on."""

    bgnbd: BgNbdParams
    gamma_gamma: GammaGammaParams
    time_unit: TimeUnit

    @property
    def usable(self) -> bool:
        """Both fits usable (see :mod:`core.profiling.fit_check`)."""
        return self.bgnbd.usable and self.gamma_gamma.usable

    @property
    def reason(self) -> str | None:
        """Why the model is not usable (every failing fit's reason), or None."""
        reasons = [
            d.reason
            for d in (self.bgnbd.diagnostics, self.gamma_gamma.diagnostics)
            if d is not None and d.reason is not None
        ]
        return "; ".join(reasons) or None

    def fit_dict(self) -> dict[str, Any]:
        """``{"usable", "reason", "bgnbd": diagnostics, "gamma_gamma": diagnostics}`` (JSON-ready)."""
        doc: dict[str, Any] = {"usable": self.usable, "reason": self.reason}
        for name, params in (("bgnbd", self.bgnbd), ("gamma_gamma", self.gamma_gamma)):
            if params.diagnostics is not None:
                doc[name] = params.diagnostics.as_dict()
        return doc

    def params_dict(self) -> dict[str, dict[str, float]]:
        """``{"bgnbd": {"r", "alpha", "a", "b"}, "gamma_gamma": {"p", "q", "gamma"}}``."""
        return {
            "bgnbd": {"r": self.bgnbd.r, "alpha": self.bgnbd.alpha, "a": self.bgnbd.a, "b": self.bgnbd.b},
            "gamma_gamma": {
                "p": self.gamma_gamma.p,
                "q": self.gamma_gamma.q,
                "gamma": self.gamma_gamma.gamma,
            },
        }


@dataclass(frozen=True, slots=True)
class ClvResult:
    """One customer's summary and predictions; ``customer_id`` is the caller's pseudonymous id."""

    customer_id: str
    frequency: float
    recency: float
    T: float
    monetary_value: float
    probability_alive: float
    expected_purchases: float
    expected_value: float
    clv: float

    def figures(self) -> dict[str, float]:
        """The summary and the predictions by name (stored with the result, printed by ``--json``)."""
        return {
            "frequency": self.frequency,
            "recency": self.recency,
            "T": self.T,
            "monetary_value": self.monetary_value,
            "probability_alive": self.probability_alive,
            "expected_purchases": self.expected_purchases,
            "expected_value": self.expected_value,
            "clv": self.clv,
        }


def fit_clv(summary: CustomerSummary) -> ClvModel:
    """Fit BG/NBD on all customers and Gamma-Gamma on the returning ones."""
    return ClvModel(fit_bgnbd(summary), fit_gamma_gamma(summary), summary.time_unit)


def customer_lifetime_value(
    model: ClvModel, summary: CustomerSummary, *, months: int, monthly_discount_rate: float
) -> FloatArray:
    """Discounted expected value of each customer's purchases over the next ``months`` months."""
    if months < 0:
        raise InputError("months must not be negative")
    if monthly_discount_rate <= -1.0:
        raise InputError("discount rate must be greater than -1")
    if model.time_unit != summary.time_unit:
        raise InputError("model and summary use different time units")
    step = DAYS_PER_MONTH / unit_days(summary.time_unit)
    spend = expected_average_value(model.gamma_gamma, summary)
    total = np.zeros(len(summary), dtype=np.float64)
    previous = np.zeros(len(summary), dtype=np.float64)
    for k in range(1, months + 1):
        current = expected_purchases(model.bgnbd, summary, k * step)
        total += spend * (current - previous) / (1.0 + monthly_discount_rate) ** k
        previous = current
    return total


def score_clv(
    model: ClvModel,
    summary: CustomerSummary,
    *,
    horizon: float,
    months: int = 12,
    monthly_discount_rate: float = 0.01,
) -> list[ClvResult]:
    """Per-customer P(alive), expected purchases over ``horizon`` time units, spend and CLV."""
    alive = probability_alive(model.bgnbd, summary)
    purchases = expected_purchases(model.bgnbd, summary, horizon)
    spend = expected_average_value(model.gamma_gamma, summary)
    value = customer_lifetime_value(
        model, summary, months=months, monthly_discount_rate=monthly_discount_rate
    )
    columns = zip(
        summary.customer_ids,
        summary.frequency.tolist(),
        summary.recency.tolist(),
        summary.T.tolist(),
        summary.monetary_value.tolist(),
        alive.tolist(),
        purchases.tolist(),
        spend.tolist(),
        value.tolist(),
        strict=True,
    )
    return [ClvResult(*row) for row in columns]

"""Gamma-Gamma spend model (Fader, Hardie & Lee 2005, "RFM and CLV", and Hardie's note 025).

Each customer's transaction values are gamma(p, nu) with nu ~ gamma(q, gamma) across customers.
Fitted by maximum likelihood over the customers with at least one repeat purchase, using
``x = frequency`` and ``m = monetary_value`` (the mean repeat-purchase value) of the summary.
The spend parameters do not depend on the time unit.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
from numpy.typing import NDArray
from scipy.optimize import minimize
from scipy.special import gammaln, psi

from core.errors import InputError
from core.profiling.clv_summary import CustomerSummary
from core.profiling.fit_check import SCALE_BOUNDS, SHAPE_BOUNDS, FitDiagnostics, diagnose

FloatArray = NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class GammaGammaParams:
    """Fitted Gamma-Gamma parameters, the mean log-likelihood per customer at the optimum, and how
    the fit ended (``diagnostics``; None for parameters given by hand)."""

    p: float
    q: float
    gamma: float
    log_likelihood: float = float("nan")
    diagnostics: FitDiagnostics | None = field(default=None, compare=False, repr=False)

    @property
    def usable(self) -> bool:
        """False when the fit is not usable (see :mod:`core.profiling.fit_check`) or ``q <= 1``."""
        return self.diagnostics is None or self.diagnostics.usable


def _objective(
    log_params: FloatArray, x: FloatArray, m: FloatArray, w: FloatArray
) -> tuple[float, FloatArray]:
    p, q, g = np.exp(log_params)
    px = p * x
    log_xm_g = np.log(x * m + g)
    ll = (
        gammaln(px + q)
        - gammaln(px)
        - gammaln(q)
        + q * np.log(g)
        + (px - 1.0) * np.log(m)
        + px * np.log(x)
        - (px + q) * log_xm_g
    )
    psi_pq = psi(px + q)
    d_p = x * (psi_pq - psi(px) + np.log(m) + np.log(x) - log_xm_g)
    d_q = psi_pq - psi(q) + np.log(g) - log_xm_g
    d_g = q / g - (px + q) / (x * m + g)
    total = w.sum()
    grad = -np.array([p * float(np.dot(w, d_p)), q * float(np.dot(w, d_q)), g * float(np.dot(w, d_g))])
    return -float(np.dot(w, ll)) / total, grad / total


#: The log-space search box of (p, q, gamma): shapes in [1e-4, 1e4], the money scale gamma wider.
BOUNDS = (SHAPE_BOUNDS, SHAPE_BOUNDS, SCALE_BOUNDS)


def fit_gamma_gamma(summary: CustomerSummary) -> GammaGammaParams:
    """Maximum-likelihood Gamma-Gamma parameters from the returning customers of ``summary``.

    Customers with ``frequency == 0`` or a non-positive ``monetary_value`` are ignored.  Raises
    :class:`InputError` when no customer is left.  A fit that ends on a bound, does not converge,
    leaves a parameter unidentified or has ``q <= 1`` (an infinite mean spend) is returned with
    ``usable`` False and the reason in ``diagnostics``.
    """
    keep = (summary.frequency > 0) & (summary.monetary_value > 0)
    if not np.any(keep):
        raise InputError("Gamma-Gamma needs customers with a repeat purchase of positive value")
    stacked = np.column_stack((summary.frequency[keep], summary.monetary_value[keep]))
    unique, counts = np.unique(stacked, axis=0, return_counts=True)
    x, m, w = unique[:, 0].copy(), unique[:, 1].copy(), counts.astype(np.float64)
    # Start from p = q = 1 and gamma at the mean spend: scale-aware and inside the q > 1 region.
    start = np.array([0.0, np.log(2.0), np.log(float(np.average(m, weights=w)))])
    start = np.clip(start, [lo for lo, _ in BOUNDS], [hi for _, hi in BOUNDS])
    result = minimize(
        _objective,
        start,
        args=(x, m, w),
        jac=True,
        method="L-BFGS-B",
        bounds=BOUNDS,
        options={"maxiter": 2000, "ftol": 1e-13, "gtol": 1e-9},
    )
    diagnostics = diagnose(
        "Gamma-Gamma",
        ("p", "q", "gamma"),
        result,
        objective=_objective,
        args=(x, m, w),
        bounds=BOUNDS,
        customers=float(w.sum()),
    )
    p, q, g = (float(v) for v in np.exp(result.x))
    if not q > 1.0:
        problem = f"q = {q:.4g} is not above 1, so the mean spend is not finite"
        diagnostics = replace(diagnostics, problems=(*diagnostics.problems, problem))
    return GammaGammaParams(p=p, q=q, gamma=g, log_likelihood=-float(result.fun), diagnostics=diagnostics)


def expected_average_value(params: GammaGammaParams, summary: CustomerSummary) -> FloatArray:
    """E[M | x, m]: ``(p (gamma + x m)) / (p x + q - 1)`` per customer.

    For ``x = 0`` this is the population mean ``p gamma / (q - 1)``.  Requires ``q > 1`` (the
    population mean spend is otherwise infinite); raises :class:`InputError` if not.
    """
    p, q, g = params.p, params.q, params.gamma
    if q <= 1.0:
        raise InputError("Gamma-Gamma expected value needs q > 1")
    x = summary.frequency
    m = np.where(x > 0, summary.monetary_value, 0.0)
    result: FloatArray = p * (g + x * m) / (p * x + q - 1.0)
    return result

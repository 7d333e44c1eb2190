"""Gamma-Gamma spend model (Fader, Hardie & Lee 2005, "RFM and CLV", and Hardie's note 025).

Each customer's transaction values are gamma(p, nu) with nu ~ gamma(q, gamma) across customers.
Fitted by maximum likelihood over the customers with at least one repeat purchase, using
``x = frequency`` and ``m = monetary_value`` (the mean repeat-purchase value) of the summary.
The spend parameters do not depend on the time unit.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy.optimize import minimize
from scipy.special import gammaln, psi

from core.errors import InputError
from core.profiling.clv_summary import CustomerSummary

FloatArray = NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class GammaGammaParams:
    """Fitted Gamma-Gamma parameters and the mean log-likelihood per customer at the optimum."""

    p: float
    q: float
    gamma: float
    log_likelihood: float = float("nan")


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


def fit_gamma_gamma(summary: CustomerSummary) -> GammaGammaParams:
    """Maximum-likelihood Gamma-Gamma parameters from the returning customers of ``summary``.

    Customers with ``frequency == 0`` or a non-positive ``monetary_value`` are ignored.  Raises
    :class:`InputError` when no customer is left or the optimiser does not converge.
    """
    keep = (summary.frequency > 0) & (summary.monetary_value > 0)
    if not np.any(keep):
        raise InputError("Gamma-Gamma needs customers with a repeat purchase of positive value")
    stacked = np.column_stack((summary.frequency[keep], summary.monetary_value[keep]))
    unique, counts = np.unique(stacked, axis=0, return_counts=True)
    x, m, w = unique[:, 0].copy(), unique[:, 1].copy(), counts.astype(np.float64)
    # Start from p = q = 1 and gamma at the mean spend: scale-aware and inside the q > 1 region.
    start = np.array([0.0, np.log(2.0), np.log(float(np.average(m, weights=w)))])
    result = minimize(
        _objective,
        start,
        args=(x, m, w),
        jac=True,
        method="L-BFGS-B",
        bounds=[(-20.0, 20.0)] * 3,
        options={"maxiter": 2000, "ftol": 1e-13, "gtol": 1e-9},
    )
    if not np.all(np.isfinite(result.x)):
        raise InputError("Gamma-Gamma fit did not converge")
    p, q, g = (float(v) for v in np.exp(result.x))
    return GammaGammaParams(p=p, q=q, gamma=g, log_likelihood=-float(result.fun))


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

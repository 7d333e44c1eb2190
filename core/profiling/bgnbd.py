"""BG/NBD purchase model (Fader, Hardie & Lee 2005, "Counting your customers the easy way").

Fitted by maximum likelihood with numpy/scipy: the log-likelihood of section 7 of the paper and
its analytic gradient are vectorised over the *distinct* ``(x, t_x, T)`` triples of the summary
(weighted by how many customers share each triple), and minimised over the log-parameters with
L-BFGS-B.  Predictions use equation (10) (conditional expected purchases) and the probability
that a customer is still alive (Fader, Hardie & Lee 2008 note "Computing P(alive)").

Parameters are expressed in the summary's time unit: ``alpha`` scales with it (a ``week`` fit has
``alpha`` seven times smaller than a ``day`` fit of the same data); ``r``, ``a`` and ``b`` do not.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray
from scipy.optimize import minimize
from scipy.special import expit, gammaln, hyp2f1, psi

from core.errors import InputError
from core.profiling.clv_summary import CustomerSummary
from core.profiling.fit_check import SCALE_BOUNDS, SHAPE_BOUNDS, FitDiagnostics, diagnose

FloatArray = NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class BgNbdParams:
    """Fitted BG/NBD parameters, the mean log-likelihood per customer at the optimum, and how the
    fit ended (``diagnostics``; None for parameters given by hand)."""

    r: float
    alpha: float
    a: float
    b: float
    log_likelihood: float = float("nan")
    diagnostics: FitDiagnostics | None = field(default=None, compare=False, repr=False)

    @property
    def usable(self) -> bool:
        """False when the fit ended on a bound, did not converge or cannot identify a parameter."""
        return self.diagnostics is None or self.diagnostics.usable


def _distinct(*columns: FloatArray) -> tuple[list[FloatArray], FloatArray]:
    stacked = np.column_stack(columns)
    unique, counts = np.unique(stacked, axis=0, return_counts=True)
    return [unique[:, k].copy() for k in range(unique.shape[1])], counts.astype(np.float64)


def _objective(
    log_params: FloatArray, x: FloatArray, t_x: FloatArray, T: FloatArray, w: FloatArray
) -> tuple[float, FloatArray]:
    """Negative weighted mean log-likelihood and its gradient in the log-parameters."""
    r, alpha, a, b = np.exp(log_params)
    repeat = x > 0
    a1 = gammaln(r + x) - gammaln(r) + r * np.log(alpha)
    a2 = gammaln(a + b) + gammaln(b + x) - gammaln(b) - gammaln(a + b + x)
    log_aT = np.log(alpha + T)
    log_at = np.log(alpha + t_x)
    a3 = -(r + x) * log_aT
    a4 = np.where(repeat, np.log(a) - np.log(b + np.maximum(x, 1.0) - 1.0) - (r + x) * log_at, -np.inf)
    top = np.maximum(a3, a4)
    e3 = np.exp(a3 - top)
    e4 = np.exp(a4 - top)
    norm = e3 + e4
    ll = a1 + a2 + top + np.log(norm)
    w3 = e3 / norm
    w4 = e4 / norm
    d_r = psi(r + x) - psi(r) + np.log(alpha) - w3 * log_aT - w4 * log_at
    d_alpha = r / alpha - (r + x) * (w3 / (alpha + T) + w4 / (alpha + t_x))
    psi_ab = psi(a + b)
    psi_abx = psi(a + b + x)
    d_a = psi_ab - psi_abx + w4 / a
    d_b = psi_ab + psi(b + x) - psi(b) - psi_abx - w4 / (b + np.maximum(x, 1.0) - 1.0)
    total = w.sum()
    value = -float(np.dot(w, ll)) / total
    grad = np.array(
        [
            -r * float(np.dot(w, d_r)),
            -alpha * float(np.dot(w, d_alpha)),
            -a * float(np.dot(w, d_a)),
            -b * float(np.dot(w, d_b)),
        ]
    )
    return value, grad / total


#: The log-space search box of (r, alpha, a, b): shapes in [1e-4, 1e4], the scale alpha wider.
BOUNDS = (SHAPE_BOUNDS, SCALE_BOUNDS, SHAPE_BOUNDS, SHAPE_BOUNDS)


def fit_bgnbd(summary: CustomerSummary) -> BgNbdParams:
    """Maximum-likelihood BG/NBD parameters for ``summary``, with their fit diagnostics.

    Raises :class:`InputError` when the data cannot identify the model at all (no customers,
    nobody with a repeat purchase).  A fit that ends on a bound of the search box, does not
    converge or leaves a parameter unidentified is returned with ``usable`` False and the reason
    in ``diagnostics`` (see :mod:`core.profiling.fit_check`); never use its predictions.
    """
    if len(summary) == 0 or not np.any(summary.frequency > 0):
        raise InputError("BG/NBD needs customers with at least one repeat purchase")
    (x, t_x, T), w = _distinct(summary.frequency, summary.recency, summary.T)
    # Start from r = a = b = 1 and alpha at the mean customer age: a scale-aware starting point.
    start = np.array([0.0, np.log(max(float(np.average(T, weights=w)), 1e-6)), 0.0, 0.0])
    start = np.clip(start, [lo for lo, _ in BOUNDS], [hi for _, hi in BOUNDS])
    result = minimize(
        _objective,
        start,
        args=(x, t_x, T, w),
        jac=True,
        method="L-BFGS-B",
        bounds=BOUNDS,
        options={"maxiter": 2000, "ftol": 1e-13, "gtol": 1e-9},
    )
    diagnostics = diagnose(
        "BG/NBD",
        ("r", "alpha", "a", "b"),
        result,
        objective=_objective,
        args=(x, t_x, T, w),
        bounds=BOUNDS,
        customers=float(w.sum()),
    )
    r, alpha, a, b = (float(v) for v in np.exp(result.x))
    return BgNbdParams(r=r, alpha=alpha, a=a, b=b, log_likelihood=-float(result.fun), diagnostics=diagnostics)


def log_likelihood(params: BgNbdParams, summary: CustomerSummary) -> float:
    """Mean log-likelihood per customer of ``summary`` under ``params``."""
    log_params = np.log(np.array([params.r, params.alpha, params.a, params.b]))
    w = np.ones_like(summary.frequency)
    value, _ = _objective(log_params, summary.frequency, summary.recency, summary.T, w)
    return -value


def probability_alive(params: BgNbdParams, summary: CustomerSummary) -> FloatArray:
    """P(alive | x, t_x, T) per customer: ``1 / (1 + [x>0] a/(b+x-1) ((alpha+T)/(alpha+t_x))^(r+x))``."""
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    x, t_x, T = summary.frequency, summary.recency, summary.T
    log_odds_dead = (
        np.log(a) - np.log(b + np.maximum(x, 1.0) - 1.0) + (r + x) * (np.log(alpha + T) - np.log(alpha + t_x))
    )
    return np.where(x > 0, expit(-log_odds_dead), 1.0)


def expected_purchases(params: BgNbdParams, summary: CustomerSummary, horizon: float) -> FloatArray:
    """E[Y(horizon) | x, t_x, T]: expected repeat purchases in the next ``horizon`` time units (eq. 10)."""
    if horizon < 0:
        raise InputError("horizon must not be negative")
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    x, t_x, T = summary.frequency, summary.recency, summary.T
    if horizon == 0:
        return np.zeros_like(x)
    if abs(a - 1.0) < 1e-9:
        raise InputError("BG/NBD expectation is undefined for a = 1")
    big = alpha + T + horizon
    head = (a + b + x - 1.0) / (a - 1.0)
    tail = np.exp((r + x) * (np.log(alpha + T) - np.log(big))) * hyp2f1(
        r + x, b + x, a + b + x - 1.0, horizon / big
    )
    numerator = head * (1.0 - tail)
    odds = np.where(
        x > 0,
        np.exp(
            np.log(a)
            - np.log(b + np.maximum(x, 1.0) - 1.0)
            + (r + x) * (np.log(alpha + T) - np.log(alpha + t_x))
        ),
        0.0,
    )
    result: FloatArray = numerator / (1.0 + odds)
    return result

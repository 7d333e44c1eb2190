"""Is a maximum-likelihood fit usable?  Diagnostics for the BG/NBD and Gamma-Gamma fits.

A fit is **not usable** (and its predictions are never stored or served as results) when any of
these holds; each becomes one sentence of the reason:

* the optimiser did not report success (``scipy.optimize.minimize``'s flag and message);
* the log-likelihood or a parameter is not finite;
* a parameter ended on (within :data:`BOUND_TOLERANCE` in log space of) a bound of the search
  box: shape parameters are searched in ``[1e-4, 1e4]`` (:data:`SHAPE_BOUNDS`; beyond it the
  model has collapsed into a limit, e.g. BG/NBD ``a, b -> inf`` is "everyone has the same
  dropout probability" and ``a -> 0`` is "nobody ever drops out"), scale parameters in
  ``exp(+-20)`` (:data:`SCALE_BOUNDS`);
* the Hessian of the log-likelihood at the optimum (central differences of the analytic
  gradient, in the log-parameters) is not negative definite: the optimum is flat or a saddle;
* a parameter is not identified: the asymptotic standard error of its logarithm,
  ``sqrt(diag(H^-1) / n)`` for ``n`` customers, exceeds :data:`MAX_LOG_STD_ERROR` (a 95%
  interval wider than a factor of about 50 either way).

On the CDNOW sample (2357 customers) the largest standard error of a log-parameter is 0.29; on the
old demo data, whose purchases had no dropout process, the BG/NBD ``a`` and ``b`` had standard
errors above 15 or ran to the edge of the box.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from core.errors import ModelUnusableError

FloatArray = NDArray[np.float64]
Objective = Callable[..., tuple[float, FloatArray]]

SHAPE_BOUNDS = (math.log(1e-4), math.log(1e4))
"""Search box (log space) for shape parameters (BG/NBD r, a, b; Gamma-Gamma p, q)."""
SCALE_BOUNDS = (-20.0, 20.0)
"""Search box (log space) for scale parameters (BG/NBD alpha, Gamma-Gamma gamma)."""
BOUND_TOLERANCE = 1e-3
"""A log-parameter this close to a bound of its box has ended on the bound."""
MAX_LOG_STD_ERROR = 2.0
"""Largest acceptable standard error of a log-parameter."""
_HESSIAN_STEP = 1e-5


@dataclass(frozen=True, slots=True)
class FitDiagnostics:
    """How one maximum-likelihood fit ended; ``problems`` is empty when the fit is usable."""

    model: str
    converged: bool
    message: str
    iterations: int
    log_likelihood: float
    std_errors: tuple[tuple[str, float], ...]
    problems: tuple[str, ...]

    @property
    def usable(self) -> bool:
        return not self.problems

    @property
    def reason(self) -> str | None:
        """One sentence naming the model and every problem (None when usable)."""
        if not self.problems:
            return None
        return f"{self.model} fit is not usable: " + "; ".join(self.problems)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready: ``usable``, ``reason``, optimiser outcome and log-parameter standard errors."""
        return {
            "usable": self.usable,
            "reason": self.reason,
            "converged": self.converged,
            "message": self.message,
            "iterations": self.iterations,
            "log_likelihood": _finite_or_none(self.log_likelihood),
            "log_std_errors": {k: _finite_or_none(v) for k, v in self.std_errors},
        }


def _finite_or_none(value: float) -> float | None:
    return value if math.isfinite(value) else None


def _hessian(objective: Objective, point: FloatArray, args: Sequence[Any]) -> FloatArray:
    """Central differences of the analytic gradient, symmetrised."""
    n = point.size
    hess = np.zeros((n, n), dtype=np.float64)
    for j in range(n):
        step = np.zeros(n, dtype=np.float64)
        step[j] = _HESSIAN_STEP
        ahead, behind = objective(point + step, *args)[1], objective(point - step, *args)[1]
        hess[:, j] = (ahead - behind) / (2 * _HESSIAN_STEP)
    result: FloatArray = (hess + hess.T) / 2.0
    return result


def _bound_word(value: float, low: float, high: float) -> str | None:
    if value <= low + BOUND_TOLERANCE:
        return "lower"
    if value >= high - BOUND_TOLERANCE:
        return "upper"
    return None


def _curvature_problems(
    names: Sequence[str], free: list[int], full: FloatArray, customers: float, std_errors: list[float]
) -> list[str]:
    """Problems of the Hessian over the ``free`` parameters; fills in their ``std_errors``."""
    hess = full[np.ix_(free, free)]
    if not np.all(np.isfinite(hess)):
        return ["the curvature of the log-likelihood at the optimum is not finite"]
    eigen = np.linalg.eigvalsh(hess)
    if eigen[0] <= 1e-12 * max(abs(float(eigen[-1])), 1.0):
        return ["the log-likelihood is flat or not at a maximum (Hessian not positive definite)"]
    problems = []
    variances = np.diag(np.linalg.inv(hess)) / max(customers, 1.0)
    for k, variance in zip(free, variances.tolist(), strict=True):
        std_errors[k] = math.sqrt(max(variance, 0.0))
        if std_errors[k] > MAX_LOG_STD_ERROR:
            problems.append(
                f"{names[k]} is not identified by the data "
                f"(standard error of log {names[k]} = {std_errors[k]:.2g})"
            )
    return problems


def diagnose(
    model: str,
    names: Sequence[str],
    result: Any,
    *,
    objective: Objective,
    args: Sequence[Any],
    bounds: Sequence[tuple[float, float]],
    customers: float,
) -> FitDiagnostics:
    """Diagnostics of a ``scipy.optimize.minimize`` ``result`` over log-parameters ``names``.

    ``objective`` is the negative mean log-likelihood and its gradient (as minimised), ``args``
    its extra arguments, ``bounds`` the log-space box searched and ``customers`` the number of
    customers the mean is over.
    """
    x = np.asarray(result.x, dtype=np.float64)
    value = float(result.fun)
    message = str(getattr(result, "message", "")).strip().rstrip(":").strip()
    problems: list[str] = []
    converged = bool(result.success)
    if not converged:
        problems.append(f"the optimiser did not converge ({message})")
    if not (np.all(np.isfinite(x)) and math.isfinite(value)):
        problems.append("the log-likelihood or a parameter is not finite")
        std = tuple((name, float("nan")) for name in names)
        return FitDiagnostics(model, converged, message, int(result.nit), -value, std, tuple(problems))
    free: list[int] = []
    for k, (name, log_value, (low, high)) in enumerate(zip(names, x.tolist(), bounds, strict=True)):
        word = _bound_word(log_value, low, high)
        if word is None:
            free.append(k)
            continue
        limit = math.exp(low if word == "lower" else high)
        problems.append(f"{name} ended on its {word} bound ({limit:.4g}): the data cannot identify it")
    std_errors = [float("nan")] * len(names)
    # The curvature over the parameters that did not end on a bound (the others are not at a
    # stationary point, so their curvature says nothing).
    if free:
        problems.extend(_curvature_problems(names, free, _hessian(objective, x, args), customers, std_errors))
    return FitDiagnostics(
        model,
        converged,
        message,
        int(result.nit),
        -value,
        tuple(zip(names, std_errors, strict=True)),
        tuple(problems),
    )


__all__ = [
    "BOUND_TOLERANCE",
    "MAX_LOG_STD_ERROR",
    "SCALE_BOUNDS",
    "SHAPE_BOUNDS",
    "FitDiagnostics",
    "ModelUnusableError",
    "diagnose",
]

"""Fit diagnostics: sound fits are usable, degenerate ones are reported unusable with the reason.

Pure functions here; the governed paths (service, CLI, HTTP, console view) are in
``test_model_unusable.py``.
"""

from __future__ import annotations

import csv
import random
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest
from scipy.optimize import OptimizeResult

from core.demo_data import DEMO_PURCHASE_PROCESS, gen_customers, gen_transactions, write_demo_data
from core.profiling.bgnbd import fit_bgnbd, probability_alive
from core.profiling.churn import churn_candidates, gap_stats
from core.profiling.clv import CustomerSummary, build_summary, fit_clv
from core.profiling.fit_check import MAX_LOG_STD_ERROR, diagnose
from core.profiling.gamma_gamma import fit_gamma_gamma
from core.profiling.rfm import HIBERNATING, LOST, RfmRow, score_rfm
from tests.profiling.conftest import write_steady_transactions

UNTIL = date(2026, 1, 1)
AS_OF = datetime(2026, 1, 1, 9, tzinfo=UTC)

Rows = list[tuple[str, datetime, float]]


def _demo_rows(customers: int, seed: int) -> Rows:
    """The demo's purchases of the customers who consent to profiling (as the service reads them)."""
    consenting = {c["external_id"] for c in gen_customers(customers, seed) if c["consent_profiling"] == "1"}
    return [
        (t["external_id"], datetime.fromisoformat(t["occurred_at"]), float(t["amount"]))
        for t in gen_transactions(customers, seed, until=UNTIL)
        if t["external_id"] in consenting
    ]


@pytest.fixture(scope="module")
def demo_rows() -> Rows:
    return _demo_rows(2000, 7)


def test_cdnow_fits_are_usable_and_well_determined(cdnow_rows: Rows) -> None:
    model = fit_clv(build_summary(cdnow_rows, as_of=datetime(1997, 9, 30, tzinfo=UTC)))
    assert model.usable and model.reason is None
    for params in (model.bgnbd, model.gamma_gamma):
        assert params.diagnostics is not None and params.diagnostics.converged
        assert all(0 < se < 0.5 for _, se in params.diagnostics.std_errors)
    fit = model.fit_dict()
    assert fit["usable"] is True and set(fit["bgnbd"]["log_std_errors"]) == {"r", "alpha", "a", "b"}


def test_demo_data_fits_soundly_near_its_generating_process(demo_rows: Rows) -> None:
    summary = build_summary(demo_rows, as_of=AS_OF, time_unit="week")
    model = fit_clv(summary)
    assert model.usable, model.reason
    fitted = {**model.params_dict()["bgnbd"], **model.params_dict()["gamma_gamma"]}
    truth = {**DEMO_PURCHASE_PROCESS, "p": DEMO_PURCHASE_PROCESS["p_spend"]}
    for name, value in fitted.items():
        assert value == pytest.approx(truth[name], rel=0.35), name


def test_demo_data_fits_soundly_at_a_modest_size_for_several_seeds() -> None:
    usable = [fit_clv(build_summary(_demo_rows(300, seed), as_of=AS_OF)).usable for seed in range(1, 7)]
    assert sum(usable) >= 5, usable


def test_churn_on_demo_data_flags_lost_and_hibernating_not_champions(demo_rows: Rows) -> None:
    summary = build_summary(demo_rows, as_of=AS_OF, time_unit="week")
    bgnbd = fit_bgnbd(summary)
    assert bgnbd.usable
    alive = dict(zip(summary.customer_ids, probability_alive(bgnbd, summary).tolist(), strict=True))
    flags = churn_candidates(
        probability_alive=alive, threshold=0.3, gaps=gap_stats(((c, t) for c, t, _ in demo_rows), as_of=AS_OF)
    )
    flagged = {f.customer_id for f in flags}
    last: dict[str, datetime] = {}
    count: Counter[str] = Counter()
    spend: dict[str, Decimal] = {}
    for customer, moment, amount in demo_rows:
        last[customer] = max(last.get(customer, moment), moment)
        count[customer] += 1
        spend[customer] = spend.get(customer, Decimal(0)) + Decimal(str(amount))
    scores = score_rfm(
        [RfmRow(c, (AS_OF.date() - last[c].date()).days, count[c], spend[c], last[c]) for c in last]
    )
    repeat = {c for c, x in zip(summary.customer_ids, summary.frequency.tolist(), strict=True) if x > 0}
    # BG/NBD holds a customer with one purchase day alive and the overdue rule needs two: among
    # the Lost and Hibernating customers who bought more than once, most are flagged.
    dormant = {s.customer_id for s in scores if s.segment in (LOST, HIBERNATING)} & repeat
    champions = {s.customer_id for s in scores if s.segment == "Champions"}
    assert len(dormant) > 100 and len(champions) > 100
    assert len(dormant & flagged) / len(dormant) > 0.8
    assert len(champions & flagged) / len(champions) < 0.15
    assert len(flagged) < len(summary)


def test_degenerate_purchases_are_not_usable_with_the_reason(tmp_path: Path) -> None:
    path = tmp_path / "steady.csv"
    write_steady_transactions(path, customers=30, until=AS_OF)
    with path.open(encoding="utf-8") as handle:
        rows = [
            (r["external_id"], datetime.fromisoformat(r["occurred_at"]), float(r["amount"]))
            for r in csv.DictReader(handle)
        ]
    bgnbd = fit_bgnbd(build_summary(rows, as_of=AS_OF))
    assert not bgnbd.usable and bgnbd.diagnostics is not None
    reason = bgnbd.diagnostics.reason or ""
    assert reason.startswith("BG/NBD fit is not usable: ") and "bound" in reason
    assert bgnbd.diagnostics.as_dict()["usable"] is False


def test_purchases_without_dropout_are_not_usable() -> None:
    # The old demo generator: purchase days uniform over the window, nobody ever stops buying.
    rng = random.Random(8)
    start = datetime(2024, 1, 1, tzinfo=UTC)
    rows = [
        (f"c{i}", start + timedelta(minutes=rng.randint(0, 60 * 24 * 690)), rng.lognormvariate(3.5, 0.6))
        for i in range(1500)
        for _ in range(int(rng.expovariate(1 / 5.0)))
    ]
    for as_of in (start + timedelta(days=690), start + timedelta(days=1070)):
        bgnbd = fit_bgnbd(build_summary(rows, as_of=as_of))
        assert not bgnbd.usable, (as_of, bgnbd)
        assert bgnbd.diagnostics is not None and bgnbd.diagnostics.reason


def test_identical_spend_makes_gamma_gamma_unusable() -> None:
    summary = CustomerSummary(
        tuple(f"c{i}" for i in range(40)),
        np.array([1.0 + i % 4 for i in range(40)]),
        np.full(40, 10.0),
        np.full(40, 20.0),
        np.full(40, 25.0),
        "week",
    )
    gg = fit_gamma_gamma(summary)
    assert not gg.usable and gg.diagnostics is not None
    assert (gg.diagnostics.reason or "").startswith("Gamma-Gamma fit is not usable: ")


def _quadratic(x: np.ndarray, curvature: np.ndarray) -> tuple[float, np.ndarray]:
    return 0.5 * float(x @ curvature @ x), curvature @ x


def _result(x: list[float], *, success: bool = True) -> OptimizeResult:
    return OptimizeResult(x=np.array(x), fun=0.0, success=success, message="done", nit=3)


def test_standard_errors_come_from_the_curvature_and_the_number_of_customers() -> None:
    curvature = np.diag([1.0, 1e-3])
    box = [(-20.0, 20.0)] * 2
    few = diagnose(
        "M", ("u", "v"), _result([0.0, 0.0]), objective=_quadratic, args=(curvature,), bounds=box, customers=1
    )
    assert dict(few.std_errors)["u"] == pytest.approx(1.0, rel=1e-6)
    assert dict(few.std_errors)["v"] == pytest.approx(1e3**0.5, rel=1e-6)
    assert few.problems == (f"v is not identified by the data (standard error of log v = {1e3**0.5:.2g})",)
    many = diagnose(
        "M",
        ("u", "v"),
        _result([0.0, 0.0]),
        objective=_quadratic,
        args=(curvature,),
        bounds=box,
        customers=1e6,
    )
    assert many.usable and many.reason is None and max(se for _, se in many.std_errors) < MAX_LOG_STD_ERROR


def test_bounds_flat_optima_and_failed_optimisers_are_problems() -> None:
    box = [(-1.0, 1.0)] * 2
    flat = np.diag([1.0, 0.0])
    on_bound = diagnose(
        "M",
        ("u", "v"),
        _result([0.0, 1.0]),
        objective=_quadratic,
        args=(np.eye(2),),
        bounds=box,
        customers=100,
    )
    assert on_bound.problems == ("v ended on its upper bound (2.718): the data cannot identify it",)
    saddle = diagnose(
        "M", ("u", "v"), _result([0.0, 0.0]), objective=_quadratic, args=(flat,), bounds=box, customers=100
    )
    assert saddle.problems == (
        "the log-likelihood is flat or not at a maximum (Hessian not positive definite)",
    )
    failed = diagnose(
        "M",
        ("u", "v"),
        _result([0.0, 0.0], success=False),
        objective=_quadratic,
        args=(np.eye(2),),
        bounds=box,
        customers=100,
    )
    assert failed.reason == "M fit is not usable: the optimiser did not converge (done)"
    assert not failed.as_dict()["usable"] and failed.as_dict()["converged"] is False


def test_demo_data_is_deterministic_for_seed_and_end_date(tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    for out in (a, b):
        write_demo_data(out, customers=30, seed=3, until=UNTIL)
    assert (a / "transactions.csv").read_bytes() == (b / "transactions.csv").read_bytes()
    with (a / "transactions.csv").open(encoding="utf-8") as handle:
        moments = [datetime.fromisoformat(r["occurred_at"]) for r in csv.DictReader(handle)]
    end = datetime(2026, 1, 1, tzinfo=UTC)
    assert moments and all(end - timedelta(days=730) <= m < end for m in moments)

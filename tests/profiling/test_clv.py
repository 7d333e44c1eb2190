"""BG/NBD + Gamma-Gamma: CDNOW validation against the published estimates, and model properties."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from core.errors import InputError
from core.profiling.clv import (
    ClvModel,
    CustomerSummary,
    build_summary,
    customer_lifetime_value,
    expected_average_value,
    expected_purchases,
    fit_bgnbd,
    fit_clv,
    fit_gamma_gamma,
    probability_alive,
    score_clv,
)

# Fader, Hardie & Lee (2005), "Counting your customers the easy way", and Hardie's note 025.
PUBLISHED_BGNBD = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
PUBLISHED_GAMMA_GAMMA = {"p": 6.25, "q": 3.74, "gamma": 15.44}


CALIBRATION_END = datetime(1997, 9, 30, tzinfo=UTC)  # 39 weeks from 1997-01-01


@pytest.fixture(scope="module")
def cdnow_summary(cdnow_rows: list[tuple[str, datetime, float]]) -> CustomerSummary:
    return build_summary(cdnow_rows, as_of=CALIBRATION_END, time_unit="week")


@pytest.fixture(scope="module")
def cdnow_model(cdnow_summary: CustomerSummary) -> ClvModel:
    return fit_clv(cdnow_summary)


def test_summary_from_raw_transactions_matches_published_summary(
    cdnow_summary: CustomerSummary, cdnow_published: CustomerSummary
) -> None:
    published = cdnow_published
    assert len(cdnow_summary) == 2357
    mine = dict(zip(cdnow_summary.customer_ids, range(len(cdnow_summary)), strict=True))
    order = np.array([mine[c] for c in published.customer_ids])
    np.testing.assert_array_equal(cdnow_summary.frequency[order], published.frequency)
    # The published file rounds to two decimals.
    np.testing.assert_allclose(cdnow_summary.recency[order], published.recency, atol=0.006)
    np.testing.assert_allclose(cdnow_summary.T[order], published.T, atol=0.006)
    np.testing.assert_allclose(cdnow_summary.monetary_value[order], published.monetary_value, atol=0.006)


@pytest.mark.parametrize("name", sorted(PUBLISHED_BGNBD))
def test_bgnbd_reproduces_published_estimates_within_one_percent(cdnow_model: ClvModel, name: str) -> None:
    fitted = getattr(cdnow_model.bgnbd, name)
    assert fitted == pytest.approx(PUBLISHED_BGNBD[name], rel=0.01)


@pytest.mark.parametrize("name", sorted(PUBLISHED_GAMMA_GAMMA))
def test_gamma_gamma_reproduces_published_estimates_within_one_percent(
    cdnow_model: ClvModel, name: str
) -> None:
    fitted = getattr(cdnow_model.gamma_gamma, name)
    assert fitted == pytest.approx(PUBLISHED_GAMMA_GAMMA[name], rel=0.01)


def test_fit_on_published_summary_file_agrees(cdnow_published: CustomerSummary) -> None:
    summary = cdnow_published
    bg, gg = fit_bgnbd(summary), fit_gamma_gamma(summary)
    for name, value in PUBLISHED_BGNBD.items():
        assert getattr(bg, name) == pytest.approx(value, rel=0.01)
    for name, value in PUBLISHED_GAMMA_GAMMA.items():
        assert getattr(gg, name) == pytest.approx(value, rel=0.01)


def test_bgnbd_log_likelihood_matches_paper(cdnow_model: ClvModel) -> None:
    # The paper reports LL = -9582.4 for the 2357 customers.
    assert cdnow_model.bgnbd.log_likelihood * 2357 == pytest.approx(-9582.4, abs=0.5)


def test_conditional_expectation_matches_paper_example(cdnow_model: ClvModel) -> None:
    # FHL 2005, section 5: x=2, t_x=30.43, T=38.86 expects 1.226 purchases in the next 39 weeks.
    one = CustomerSummary(
        ("c",), np.array([2.0]), np.array([30.43]), np.array([38.86]), np.array([22.35]), "week"
    )
    assert expected_purchases(cdnow_model.bgnbd, one, 39.0)[0] == pytest.approx(1.226, abs=0.001)


def test_probability_alive_is_one_without_repeat_and_falls_with_silence(cdnow_model: ClvModel) -> None:
    summary = CustomerSummary(
        ("none", "recent", "silent"),
        np.array([0.0, 3.0, 3.0]),
        np.array([0.0, 38.0, 5.0]),
        np.array([38.86, 38.86, 38.86]),
        np.array([0.0, 20.0, 20.0]),
        "week",
    )
    alive = probability_alive(cdnow_model.bgnbd, summary)
    assert alive[0] == 1.0
    assert 0.0 < alive[2] < alive[1] < 1.0


def test_expected_purchases_grow_with_horizon(cdnow_model: ClvModel, cdnow_summary: CustomerSummary) -> None:
    short = expected_purchases(cdnow_model.bgnbd, cdnow_summary, 10.0)
    long = expected_purchases(cdnow_model.bgnbd, cdnow_summary, 52.0)
    assert np.all(short > 0)
    assert np.all(long > short)
    assert np.all(expected_purchases(cdnow_model.bgnbd, cdnow_summary, 0.0) == 0.0)


def test_expected_value_shrinks_towards_population_mean(cdnow_model: ClvModel) -> None:
    gg = cdnow_model.gamma_gamma
    population = gg.p * gg.gamma / (gg.q - 1.0)
    summary = CustomerSummary(
        ("new", "one", "many"),
        np.array([0.0, 1.0, 20.0]),
        np.zeros(3),
        np.full(3, 38.0),
        np.array([0.0, 100.0, 100.0]),
        "week",
    )
    value = expected_average_value(gg, summary)
    assert value[0] == pytest.approx(population)
    assert population < value[1] < value[2] < 100.0


def test_clv_is_discounted_sum(cdnow_model: ClvModel, cdnow_summary: CustomerSummary) -> None:
    plain = customer_lifetime_value(cdnow_model, cdnow_summary, months=12, monthly_discount_rate=0.0)
    discounted = customer_lifetime_value(cdnow_model, cdnow_summary, months=12, monthly_discount_rate=0.05)
    spend = expected_average_value(cdnow_model.gamma_gamma, cdnow_summary)
    year = expected_purchases(cdnow_model.bgnbd, cdnow_summary, 12 * 365.25 / 12 / 7)
    np.testing.assert_allclose(plain, spend * year, rtol=1e-9)
    assert np.all(discounted < plain)
    assert np.all(
        customer_lifetime_value(cdnow_model, cdnow_summary, months=0, monthly_discount_rate=0.1) == 0
    )


def test_day_and_week_fits_differ_only_in_alpha_scale(cdnow_rows: list[tuple[str, datetime, float]]) -> None:
    rows = cdnow_rows
    week = fit_bgnbd(build_summary(rows, as_of=CALIBRATION_END, time_unit="week"))
    day = fit_bgnbd(build_summary(rows, as_of=CALIBRATION_END, time_unit="day"))
    assert day.alpha == pytest.approx(7 * week.alpha, rel=1e-3)
    assert (day.r, day.a, day.b) == pytest.approx((week.r, week.a, week.b), rel=1e-3)


def test_transactions_after_as_of_are_ignored() -> None:
    start = datetime(2024, 1, 1, tzinfo=UTC)
    rows = [
        ("a", start, 10.0),
        ("a", start + timedelta(days=7), 20.0),
        ("a", start + timedelta(days=30), 99.0),
    ]
    summary = build_summary(rows, as_of=start + timedelta(days=14), time_unit="day")
    assert summary.customer_ids == ("a",)
    assert (summary.frequency[0], summary.recency[0], summary.T[0]) == (1.0, 7.0, 14.0)
    assert summary.monetary_value[0] == 20.0  # the first purchase is left out of the mean


def test_same_day_purchases_count_once_with_their_total() -> None:
    day = datetime(2024, 3, 1, 9, tzinfo=UTC)
    rows = [
        ("a", day, 5.0),
        ("a", day + timedelta(days=2), 4.0),
        ("a", day + timedelta(days=2, hours=3), 6.0),
    ]
    summary = build_summary(rows, as_of=day + timedelta(days=7), time_unit="day")
    assert summary.frequency[0] == 1.0
    assert summary.monetary_value[0] == 10.0


def test_score_clv_keys_results_by_caller_ids(cdnow_model: ClvModel, cdnow_summary: CustomerSummary) -> None:
    results = score_clv(cdnow_model, cdnow_summary, horizon=39.0, months=6, monthly_discount_rate=0.01)
    assert [r.customer_id for r in results] == list(cdnow_summary.customer_ids)
    assert all(r.clv >= 0 and 0 <= r.probability_alive <= 1 for r in results)
    assert set(cdnow_model.params_dict()) == {"bgnbd", "gamma_gamma"}


def test_fit_without_repeat_buyers_is_an_input_error() -> None:
    start = datetime(2024, 1, 1, tzinfo=UTC)
    summary = build_summary([("a", start, 1.0), ("b", start, 2.0)], as_of=start + timedelta(days=3))
    with pytest.raises(InputError):
        fit_bgnbd(summary)
    with pytest.raises(InputError):
        fit_gamma_gamma(summary)


def test_unknown_time_unit_is_an_input_error() -> None:
    with pytest.raises(InputError):
        build_summary([], as_of=datetime(2024, 1, 1, tzinfo=UTC), time_unit="month")  # type: ignore[arg-type]

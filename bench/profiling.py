"""Profiling benchmark: RFM (SQL), BG/NBD + Gamma-Gamma, cross-sell, each against a pandas baseline.

    .venv/bin/python bench/profiling.py            # 100k customers, 1M transactions
    .venv/bin/python bench/profiling.py --quick    # 10k customers, 100k transactions

Data are synthetic and deterministic (numpy seed 7), written to a SQLite file with Core
executemany.  Each step is timed end to end from the database (query + compute) for hushdb's
implementation and for a pandas implementation of the same step in the same run; the ratio is
pandas time / hushdb time (> 1 means hushdb is faster).  Target: the whole hushdb profile run
(RFM + CLV + cross-sell) under 30 s, and the BG/NBD fit on CDNOW no slower than lifetimes'
(about 0.1 s on this machine; measured here too when ``lifetimes`` happens to be importable, e.g.
``pip install --target /tmp/ltpkgs --no-deps lifetimes autograd dill`` then ``PYTHONPATH=/tmp/ltpkgs``;
it is never a dependency of hushdb).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import uuid
import warnings
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import pandas as pd
import sqlalchemy as sa
from scipy.optimize import minimize
from scipy.special import gammaln

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from core.profiling.clv import build_summary, fit_bgnbd, fit_clv, score_clv  # noqa: E402
from core.profiling.cross_sell import build_baskets, item_pairs, recommend  # noqa: E402
from core.profiling.rfm import SEGMENT_GRID, rfm_sql, score_rfm, segment_counts  # noqa: E402

T = TypeVar("T")
START = datetime(2023, 1, 1, tzinfo=UTC)
AS_OF = datetime(2024, 12, 31, 23, 59, tzinfo=UTC)
N_PRODUCTS = 200

metadata = sa.MetaData()
transactions = sa.Table(
    "transactions",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("customer_id", sa.String(36), nullable=False, index=True),
    sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("amount", sa.Numeric(12, 2), nullable=False),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("product", sa.String(128), nullable=False),
    sa.Column("category", sa.String(64), nullable=False),
)


def timed(fn: Callable[[], T]) -> tuple[T, float]:
    t0 = time.perf_counter()
    value = fn()
    return value, time.perf_counter() - t0


def generate(engine: sa.Engine, n_customers: int, n_tx: int) -> None:
    """Deterministic synthetic customers with heterogeneous purchase rates, spend and tastes."""
    rng = np.random.default_rng(7)
    ids = [str(uuid.UUID(int=int(v))) for v in rng.integers(0, 2**62, size=n_customers)]
    rate = rng.gamma(0.6, 1.0, size=n_customers)
    who = rng.choice(n_customers, size=n_tx, p=rate / rate.sum())
    first = rng.uniform(0, 700, size=n_customers)  # first purchase day per customer
    life = rng.exponential(300, size=n_customers)  # active span in days
    day = first[who] + rng.uniform(0, 1, size=n_tx) * np.minimum(life[who], 730 - first[who])
    seconds = (day * 86_400).astype(np.int64)
    spend = rng.lognormal(3.0, 0.6, size=n_customers)
    amount = np.round(spend[who] * rng.gamma(4.0, 0.25, size=n_tx) + 0.5, 2)
    taste = rng.integers(0, N_PRODUCTS // 20, size=n_customers)
    popularity = 1.0 / np.arange(1, 21)
    within = rng.choice(20, size=n_tx, p=popularity / popularity.sum())
    own_category = rng.uniform(size=n_tx) < 0.7
    category = np.where(own_category, taste[who], rng.integers(0, N_PRODUCTS // 20, size=n_tx))
    product = category * 20 + within
    names = [f"product-{k:03d}" for k in range(N_PRODUCTS)]
    metadata.create_all(engine)
    batch = 50_000
    with engine.begin() as conn:
        for lo in range(0, n_tx, batch):
            hi = min(lo + batch, n_tx)
            conn.execute(
                transactions.insert(),
                [
                    {
                        "customer_id": ids[c],
                        "occurred_at": START + timedelta(seconds=s),
                        "amount": a,
                        "currency": "EUR",
                        "product": names[p],
                        "category": f"category-{p // 20:02d}",
                    }
                    for c, s, a, p in zip(
                        who[lo:hi].tolist(),
                        seconds[lo:hi].tolist(),
                        amount[lo:hi].tolist(),
                        product[lo:hi].tolist(),
                        strict=True,
                    )
                ],
            )


# --- hushdb implementations -------------------------------------------------------------------


def ours_rfm(engine: sa.Engine) -> dict[str, int]:
    with engine.connect() as conn:
        rows = rfm_sql(conn, transactions, as_of=AS_OF)
    return segment_counts(score_rfm(rows))


def fetch_rows(engine: sa.Engine) -> list[Any]:
    c = transactions.c
    with engine.connect() as conn:
        stmt = sa.select(c.customer_id, c.occurred_at, c.amount).where(c.occurred_at <= AS_OF)
        return list(conn.execute(stmt).all())


def ours_clv(engine: sa.Engine) -> tuple[dict[str, dict[str, float]], dict[str, float]]:
    parts: dict[str, float] = {}
    rows, parts["fetch"] = timed(lambda: fetch_rows(engine))
    summary, parts["summary"] = timed(lambda: build_summary(rows, as_of=AS_OF, time_unit="week"))
    model, parts["fit"] = timed(lambda: fit_clv(summary))
    _, parts["score"] = timed(
        lambda: score_clv(model, summary, horizon=52, months=12, monthly_discount_rate=0.01)
    )
    return model.params_dict(), parts


def ours_cross_sell(engine: sa.Engine) -> int:
    c = transactions.c
    with engine.connect() as conn:
        pairs = [(str(a), str(b)) for a, b in conn.execute(sa.select(c.customer_id, c.product).distinct())]
    baskets = build_baskets(pairs)
    rules = item_pairs(baskets, min_count=5)
    recs = recommend(baskets, top_n=3)
    return len(rules) + len(recs)


# --- pandas baselines -------------------------------------------------------------------------

_SEGMENT_LOOKUP = {(r, fm): SEGMENT_GRID[r][fm - 1] for r in SEGMENT_GRID for fm in range(1, 6)}


def _quintile(series: pd.Series[float], higher_is_better: bool) -> pd.Series[int]:
    n = len(series)
    ranks = series.rank(method="min", ascending=higher_is_better) - 1  # customers strictly worse
    return (1 + (5 * ranks.astype("int64")) // n).astype("int64")


def pandas_rfm(engine: sa.Engine) -> dict[str, int]:
    frame = pd.read_sql_query(
        sa.select(transactions.c.customer_id, transactions.c.occurred_at, transactions.c.amount).where(
            transactions.c.occurred_at <= AS_OF
        ),
        engine,
    )
    frame["occurred_at"] = pd.to_datetime(frame["occurred_at"], utc=True)
    agg = frame.groupby("customer_id").agg(
        last=("occurred_at", "max"), frequency=("amount", "size"), monetary=("amount", "sum")
    )
    as_of_day = pd.Timestamp(AS_OF).normalize()
    agg["recency"] = (as_of_day - agg["last"].dt.normalize()).dt.days
    r = _quintile(agg["recency"].astype(float), higher_is_better=False)
    f = _quintile(agg["frequency"].astype(float), higher_is_better=True)
    m = _quintile(agg["monetary"].astype(float), higher_is_better=True)
    fm = (f + m + 1) // 2
    segments = [_SEGMENT_LOOKUP[(ri, fi)] for ri, fi in zip(r.tolist(), fm.tolist(), strict=True)]
    return {str(k): int(v) for k, v in pd.Series(segments).value_counts().items()}


def _bgnbd_nll(log_params: np.ndarray[Any, Any], x: Any, t_x: Any, big_t: Any) -> float:
    r, alpha, a, b = np.exp(log_params)
    a1 = gammaln(r + x) - gammaln(r) + r * np.log(alpha)
    a2 = gammaln(a + b) + gammaln(b + x) - gammaln(b) - gammaln(a + b + x)
    a3 = -(r + x) * np.log(alpha + big_t)
    a4 = np.log(a) - np.log(b + np.maximum(x, 1) - 1) - (r + x) * np.log(alpha + t_x)
    ll = a1 + a2 + np.logaddexp(a3, np.where(x > 0, a4, -np.inf))
    return -float(np.mean(ll))


def _gg_nll(log_params: np.ndarray[Any, Any], x: Any, m: Any) -> float:
    p, q, g = np.exp(log_params)
    ll = (
        gammaln(p * x + q)
        - gammaln(p * x)
        - gammaln(q)
        + q * np.log(g)
        + (p * x - 1) * np.log(m)
        + p * x * np.log(x)
        - (p * x + q) * np.log(x * m + g)
    )
    return -float(np.mean(ll))


def pandas_clv(engine: sa.Engine) -> tuple[dict[str, float], dict[str, float]]:
    """lifetimes-style: pandas summary, Nelder-Mead on per-customer arrays without gradients."""
    parts: dict[str, float] = {}

    def load() -> pd.DataFrame:
        c = transactions.c
        stmt = sa.select(c.customer_id, c.occurred_at, c.amount).where(c.occurred_at <= AS_OF)
        frame = pd.read_sql_query(stmt, engine)
        frame["occurred_at"] = pd.to_datetime(frame["occurred_at"], utc=True)
        return frame

    frame, parts["fetch"] = timed(load)

    def summarise() -> pd.DataFrame:
        frame["day"] = frame["occurred_at"].dt.floor("D")
        daily = pd.DataFrame(frame.groupby(["customer_id", "day"], as_index=False)["amount"].sum())
        daily["amount"] = daily["amount"].astype(float)
        per = daily.groupby("customer_id").agg(
            first=("day", "min"), last=("day", "max"), n=("day", "size"), total=("amount", "sum")
        )
        first_amount = daily.sort_values("day").groupby("customer_id")["amount"].first()
        as_of_day = pd.Timestamp(AS_OF).normalize()
        per["frequency"] = per["n"] - 1
        per["recency"] = (per["last"] - per["first"]).dt.days / 7.0
        per["T"] = (as_of_day - per["first"]).dt.days / 7.0
        repeat = per["total"] - first_amount
        per["monetary"] = np.where(per["frequency"] > 0, repeat / per["frequency"].clip(lower=1), 0.0)
        return per

    per, parts["summary"] = timed(summarise)
    x, t_x, big_t = per["frequency"].to_numpy(float), per["recency"].to_numpy(float), per["T"].to_numpy(float)

    def fit() -> dict[str, float]:
        bg = minimize(
            _bgnbd_nll, np.zeros(4), args=(x, t_x, big_t), method="Nelder-Mead", options={"maxiter": 4000}
        )
        ret = per[per["frequency"] > 0]
        gg = minimize(
            _gg_nll,
            np.zeros(3),
            args=(ret["frequency"].to_numpy(float), ret["monetary"].to_numpy(float)),
            method="Nelder-Mead",
            options={"maxiter": 4000},
        )
        r, alpha, a, b = np.exp(bg.x)
        p, q, g = np.exp(gg.x)
        return {"r": r, "alpha": alpha, "a": a, "b": b, "p": p, "q": q, "gamma": g}

    params, parts["fit"] = timed(fit)
    return params, parts


def pandas_cross_sell(engine: sa.Engine) -> int:
    frame = pd.read_sql_query(sa.select(transactions.c.customer_id, transactions.c.product), engine)
    basket = pd.crosstab(frame["customer_id"], frame["product"]).clip(upper=1).astype(float)
    co = basket.T.dot(basket)
    n = len(basket)
    buyers = pd.Series(np.diag(co), index=co.index)
    conf = co.div(buyers, axis=0)
    lift = conf.div(buyers / n, axis=1)
    stacked = pd.DataFrame({"count": co.stack(), "lift": lift.stack()})
    rules = stacked[stacked["count"] >= 5]
    conf_no_diag = conf.copy()
    np.fill_diagonal(conf_no_diag.values, 0.0)
    scores = basket.dot(conf_no_diag).mask(basket > 0, 0.0)
    long = pd.DataFrame({"score": scores.stack()}).reset_index()
    long = long[long["score"] > 0].sort_values(
        ["customer_id", "score", "product"], ascending=[True, False, True]
    )
    top = long.groupby("customer_id").head(3)
    return len(rules) + top["customer_id"].nunique()


# --- CDNOW fit time ---------------------------------------------------------------------------


def cdnow_fit_time() -> tuple[float, float | None]:
    rows = []
    with (ROOT / "tests" / "data" / "CDNOW_sample.txt").open(encoding="ascii") as handle:
        for line in handle:
            _m, sample_id, day, _n, dollars = line.split()
            rows.append((sample_id, datetime.strptime(day, "%Y%m%d").replace(tzinfo=UTC), float(dollars)))
    summary = build_summary(rows, as_of=datetime(1997, 9, 30, tzinfo=UTC), time_unit="week")
    ours = min(timed(lambda: fit_bgnbd(summary))[1] for _ in range(7))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # lifetimes 0.11 is unmaintained and noisy on numpy 2
        try:
            from lifetimes import BetaGeoFitter  # type: ignore[import-not-found]
        except ImportError:
            return ours, None
        freq, rec, age = (pd.Series(a) for a in (summary.frequency, summary.recency, summary.T))
        theirs = min(timed(lambda: BetaGeoFitter().fit(freq, rec, age))[1] for _ in range(3))
    return ours, theirs


def line(name: str, ours: float, pandas_s: float) -> None:
    print(f"{name:<28} hushdb {ours:7.2f} s   pandas {pandas_s:7.2f} s   ratio {pandas_s / ours:5.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10k customers, 100k transactions")
    parser.add_argument("--db", type=Path, help="SQLite file to use (generated if missing)")
    args = parser.parse_args()
    n_customers, n_tx = (10_000, 100_000) if args.quick else (100_000, 1_000_000)
    with tempfile.TemporaryDirectory() as tmp:
        db = args.db or Path(tmp) / "profiling.sqlite3"
        engine = sa.create_engine(f"sqlite:///{db}")
        if not db.exists() or not sa.inspect(engine).has_table("transactions"):
            _, gen = timed(lambda: generate(engine, n_customers, n_tx))
            print(f"generated {n_customers:,} customers, {n_tx:,} transactions in {gen:.1f} s ({db.name})")
        print()
        counts, t_rfm = timed(lambda: ours_rfm(engine))
        pcounts, p_rfm = timed(lambda: pandas_rfm(engine))
        assert {k: v for k, v in counts.items() if v} == pcounts, "RFM baseline disagrees"
        line("RFM (SQL GROUP BY + scores)", t_rfm, p_rfm)
        (params, parts), t_clv = timed(lambda: ours_clv(engine))
        (pparams, pparts), p_clv = timed(lambda: pandas_clv(engine))
        line("CLV fetch+summary+fit+score", t_clv, p_clv)
        for key in ("fetch", "summary", "fit"):
            line(f"  {key}", parts[key], pparts[key])
        print(f"  {'score':<26} hushdb {parts['score']:7.2f} s")
        bg = params["bgnbd"]
        print(
            f"  fitted r={bg['r']:.4f} alpha={bg['alpha']:.3f} a={bg['a']:.4f} b={bg['b']:.4f}"
            f"  (pandas/Nelder-Mead r={pparams['r']:.4f} alpha={pparams['alpha']:.3f})"
        )
        _, t_xs = timed(lambda: ours_cross_sell(engine))
        _, p_xs = timed(lambda: pandas_cross_sell(engine))
        line("cross-sell (pairs + top-3)", t_xs, p_xs)
        total = t_rfm + t_clv + t_xs
        print(
            f"\nwhole profile run (hushdb): {total:.2f} s  (target < 30 s: {'OK' if total < 30 else 'MISSED'})"
        )
        engine.dispose()
    ours_cdnow, theirs_cdnow = cdnow_fit_time()
    ref = (
        f"lifetimes {theirs_cdnow:.3f} s (measured)"
        if theirs_cdnow
        else "lifetimes ~0.1 s (reference, not installed)"
    )
    base = theirs_cdnow or 0.1
    print(f"BG/NBD fit on CDNOW: hushdb {ours_cdnow:.4f} s   {ref}   ratio {base / ours_cdnow:.1f}x")


if __name__ == "__main__":
    main()

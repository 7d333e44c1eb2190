"""Per-customer purchase summaries for the lifetime-value models (BG/NBD, Gamma-Gamma).

The summary follows Fader, Hardie & Lee (2005) and the CDNOW files they published:

* transactions are truncated to **UTC calendar days**; several purchases on one day count as one
  purchase whose amount is the day's total;
* only transactions with ``occurred_at <= as_of`` are used (``as_of`` ends the calibration period);
* ``frequency`` (x) is the number of *repeat* purchase days (distinct days minus one);
* ``recency`` (t_x) is the time from the first to the last purchase day;
* ``T`` is the time from the first purchase day to the day of ``as_of``;
* ``monetary_value`` is the mean day total of the *repeat* purchase days (the first day is left
  out, as in the published CDNOW summary), and 0 for customers without a repeat purchase.

Times are measured in ``time_unit``: ``"day"`` (1 day) or ``"week"`` (7 days).  Customers are
keyed by the opaque pseudonymous id the caller supplies; nothing else about them is kept.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from core.errors import InputError

TimeUnit = Literal["day", "week"]
UNIT_DAYS: dict[str, float] = {"day": 1.0, "week": 7.0}
_SECONDS_PER_DAY = 86_400

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]


@dataclass(frozen=True, slots=True, eq=False)
class CustomerSummary:
    """Column-oriented summary: element ``i`` of every array belongs to ``customer_ids[i]``."""

    customer_ids: tuple[str, ...]
    frequency: FloatArray
    recency: FloatArray
    T: FloatArray
    monetary_value: FloatArray
    time_unit: TimeUnit

    def __len__(self) -> int:
        return len(self.customer_ids)

    def returning(self) -> CustomerSummary:
        """The customers with at least one repeat purchase (the Gamma-Gamma fitting set)."""
        keep = self.frequency > 0
        ids = tuple(c for c, k in zip(self.customer_ids, keep.tolist(), strict=True) if k)
        return CustomerSummary(
            ids,
            self.frequency[keep],
            self.recency[keep],
            self.T[keep],
            self.monetary_value[keep],
            self.time_unit,
        )


def unit_days(time_unit: str) -> float:
    """Days in one ``time_unit``; raises :class:`InputError` for anything but day or week."""
    try:
        return UNIT_DAYS[time_unit]
    except KeyError as exc:
        raise InputError("time unit must be 'day' or 'week'") from exc


def utc_day(moment: datetime) -> int:
    """Days since 1970-01-01 of ``moment`` in UTC; a naive datetime is taken to be UTC."""
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    return int(aware.timestamp() // _SECONDS_PER_DAY)


def build_summary(
    rows: Iterable[tuple[str, datetime, Decimal | float]],
    *,
    as_of: datetime,
    time_unit: TimeUnit = "week",
) -> CustomerSummary:
    """Summarise ``(customer_id, occurred_at, amount)`` rows; rows after ``as_of`` are ignored."""
    unit_days(time_unit)
    limit = as_of if as_of.tzinfo is not None else as_of.replace(tzinfo=UTC)
    materialised = list(rows)
    if not materialised:
        ids: tuple[str, ...] = ()
        times: tuple[datetime, ...] = ()
        values: tuple[Decimal | float, ...] = ()
    else:
        ids, times, values = zip(*materialised, strict=True)
    seconds = np.array(
        [(t if t.tzinfo is not None else t.replace(tzinfo=UTC)).timestamp() for t in times], dtype=np.float64
    )
    index: dict[str, int] = {}
    codes = np.array([index.setdefault(c, len(index)) for c in ids], dtype=np.int64)
    amounts = np.array([float(v) for v in values], dtype=np.float64)
    keep = seconds <= limit.timestamp()
    days = np.floor_divide(seconds[keep], _SECONDS_PER_DAY).astype(np.int64)
    return build_summary_arrays(
        list(index), codes[keep], days, amounts[keep], as_of_day=utc_day(limit), time_unit=time_unit
    )


def build_summary_arrays(
    customer_ids: Sequence[str],
    codes: IntArray,
    days: IntArray,
    amounts: FloatArray,
    *,
    as_of_day: int,
    time_unit: TimeUnit = "week",
) -> CustomerSummary:
    """The vectorised core of :func:`build_summary`.

    ``codes[k]`` indexes ``customer_ids`` for transaction ``k``; ``days`` are UTC day numbers.
    Transactions on days after ``as_of_day`` are dropped.  Customers without any transaction up
    to ``as_of_day`` are left out of the summary.
    """
    scale = unit_days(time_unit)
    if not (len(codes) == len(days) == len(amounts)):
        raise InputError("codes, days and amounts must have the same length")
    keep = days <= as_of_day
    codes, days, amounts = codes[keep], days[keep], amounts[keep]
    if codes.size == 0:
        empty = np.zeros(0, dtype=np.float64)
        return CustomerSummary((), empty, empty.copy(), empty.copy(), empty.copy(), time_unit)
    # One purchase per (customer, day): sort by customer then day and collapse equal pairs.
    order = np.lexsort((days, codes))
    c, d, amt = codes[order], days[order], amounts[order]
    new_pair = np.ones(c.size, dtype=bool)
    new_pair[1:] = (c[1:] != c[:-1]) | (d[1:] != d[:-1])
    pair_start = np.flatnonzero(new_pair)
    pair_customer = c[pair_start]
    pair_day = d[pair_start]
    pair_amount = np.add.reduceat(amt, pair_start)
    # Group the (customer, day) purchases per customer.
    new_customer = np.ones(pair_customer.size, dtype=bool)
    new_customer[1:] = pair_customer[1:] != pair_customer[:-1]
    first_idx = np.flatnonzero(new_customer)
    last_idx = np.append(first_idx[1:] - 1, pair_customer.size - 1)
    n_days = (last_idx - first_idx + 1).astype(np.float64)
    first_day = pair_day[first_idx]
    last_day = pair_day[last_idx]
    total = np.add.reduceat(pair_amount, first_idx)
    repeat_total = total - pair_amount[first_idx]
    frequency = n_days - 1.0
    monetary = np.divide(repeat_total, frequency, out=np.zeros_like(repeat_total), where=frequency > 0)
    ids = tuple(customer_ids[int(k)] for k in pair_customer[first_idx].tolist())
    return CustomerSummary(
        customer_ids=ids,
        frequency=frequency,
        recency=(last_day - first_day).astype(np.float64) / scale,
        T=(as_of_day - first_day).astype(np.float64) / scale,
        monetary_value=monetary,
        time_unit=time_unit,
    )

"""Access analytics over audit events: per-subject daily baselines and four kinds of anomaly.

Input is plain :class:`AccessRecord` values (the caller maps audit events to them), so this
module knows nothing about how the audit log is stored.  Days and hours are taken in
``config.timezone`` (UTC by default); a naive time is taken to be UTC.

Anomaly kinds (each reported once per subject and day, or once per burst):

``volume``        a day on which the subject read far more records than usual: robust z-score
                  ``(x - median) / (1.4826 * MAD)`` over the subject's active days above
                  ``volume_z`` *and* at least ``volume_min_ratio`` times the median.  The scale is
                  floored at ``max(1, 5% of the median)`` so that perfectly regular subjects are
                  not flagged for tiny changes.  Subjects with fewer than ``min_history_days``
                  active days have no baseline and are not judged.
``denial_burst``  at least ``burst_denials`` denied requests within ``burst_window``.
``not_owned``     reads (allowed or refused) of records the subject does not own (``owned is False``);
                  the gateway audits an attempt outside a sales rep's own accounts as a denial.
``unusual_hour``  events in an hour of day that, with its two neighbouring hours, holds less than
                  ``unusual_hour_share`` of the subject's events (needs ``min_hour_history`` events).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo

import numpy as np

VOLUME = "volume"
DENIAL_BURST = "denial_burst"
NOT_OWNED = "not_owned"
UNUSUAL_HOUR = "unusual_hour"
_MAD_TO_SIGMA = 1.4826


@dataclass(frozen=True, slots=True)
class AccessRecord:
    """One audit event as profiling sees it; ``subject`` is a staff id, never a customer name."""

    subject: str
    time: datetime
    action: str
    decision: str
    row_count: int
    owned: bool | None


@dataclass(frozen=True, slots=True)
class AnomalyConfig:
    read_actions: frozenset[str] = frozenset({"read", "export"})
    deny_decisions: frozenset[str] = frozenset({"deny"})
    volume_z: float = 3.5
    volume_min_ratio: float = 3.0
    min_history_days: int = 5
    burst_denials: int = 5
    burst_window: timedelta = timedelta(minutes=10)
    unusual_hour_share: float = 0.02
    min_hour_history: int = 50
    timezone: tzinfo = UTC


@dataclass(frozen=True, slots=True)
class AccessBaseline:
    """A subject's ordinary day: median and MAD of records read per active day, median events."""

    subject: str
    active_days: int
    median_rows: float
    mad_rows: float
    median_events: float


@dataclass(frozen=True, slots=True)
class Anomaly:
    subject: str
    kind: str
    day: date
    start: datetime
    end: datetime
    events: int
    rows: int
    score: float


def _local(moment: datetime, zone: tzinfo) -> datetime:
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    return aware.astimezone(zone)


def _by_subject(
    records: Iterable[AccessRecord], zone: tzinfo
) -> dict[str, list[tuple[datetime, AccessRecord]]]:
    grouped: dict[str, list[tuple[datetime, AccessRecord]]] = defaultdict(list)
    for record in records:
        grouped[record.subject].append((_local(record.time, zone), record))
    for events in grouped.values():
        events.sort(key=lambda item: item[0])
    return grouped


def _daily(
    events: Sequence[tuple[datetime, AccessRecord]], config: AnomalyConfig
) -> dict[date, tuple[int, int]]:
    """Per active day: (records read by allowed read actions, events)."""
    days: dict[date, tuple[int, int]] = {}
    for moment, record in events:
        rows, count = days.get(moment.date(), (0, 0))
        if record.action in config.read_actions and record.decision not in config.deny_decisions:
            rows += max(record.row_count, 0)
        days[moment.date()] = (rows, count + 1)
    return days


def _baseline(subject: str, days: dict[date, tuple[int, int]]) -> AccessBaseline:
    rows = np.array([v[0] for v in days.values()], dtype=np.float64)
    counts = np.array([v[1] for v in days.values()], dtype=np.float64)
    median = float(np.median(rows))
    return AccessBaseline(
        subject=subject,
        active_days=len(days),
        median_rows=median,
        mad_rows=float(np.median(np.abs(rows - median))),
        median_events=float(np.median(counts)),
    )


def daily_baselines(
    records: Iterable[AccessRecord], config: AnomalyConfig | None = None
) -> list[AccessBaseline]:
    """Each subject's daily access baseline, ordered by subject."""
    cfg = config or AnomalyConfig()
    grouped = _by_subject(records, cfg.timezone)
    return [_baseline(subject, _daily(grouped[subject], cfg)) for subject in sorted(grouped)]


def _volume(
    subject: str, events: Sequence[tuple[datetime, AccessRecord]], cfg: AnomalyConfig
) -> list[Anomaly]:
    days = _daily(events, cfg)
    if len(days) < cfg.min_history_days:
        return []
    base = _baseline(subject, days)
    scale = max(_MAD_TO_SIGMA * base.mad_rows, 0.05 * base.median_rows, 1.0)
    found = []
    for day, (rows, count) in sorted(days.items()):
        z = (rows - base.median_rows) / scale
        if z > cfg.volume_z and rows >= cfg.volume_min_ratio * base.median_rows:
            times = [m for m, _ in events if m.date() == day]
            found.append(Anomaly(subject, VOLUME, day, times[0], times[-1], count, rows, z))
    return found


def _denial_bursts(
    subject: str, events: Sequence[tuple[datetime, AccessRecord]], cfg: AnomalyConfig
) -> list[Anomaly]:
    denials = [m for m, r in events if r.decision in cfg.deny_decisions]
    n, need = len(denials), cfg.burst_denials
    if n < need or need < 1:
        return []
    seconds = np.array([m.timestamp() for m in denials])
    window = cfg.burst_window.total_seconds()
    starts = np.flatnonzero(seconds[need - 1 :] - seconds[: n - need + 1] <= window)
    marked = np.zeros(n + 1, dtype=np.int64)
    np.add.at(marked, starts, 1)
    np.add.at(marked, starts + need, -1)
    in_burst = np.cumsum(marked[:n]) > 0
    found = []
    k = 0
    while k < n:
        if not in_burst[k]:
            k += 1
            continue
        end = k
        while end + 1 < n and in_burst[end + 1] and seconds[end + 1] - seconds[end] <= window:
            end += 1
        size = end - k + 1
        first, last = denials[k], denials[end]
        found.append(Anomaly(subject, DENIAL_BURST, first.date(), first, last, size, 0, size / need))
        k = end + 1
    return found


def _grouped_by_day(
    subject: str, kind: str, hits: Sequence[tuple[datetime, AccessRecord, float]]
) -> list[Anomaly]:
    by_day: dict[date, list[tuple[datetime, AccessRecord, float]]] = defaultdict(list)
    for hit in hits:
        by_day[hit[0].date()].append(hit)
    return [
        Anomaly(
            subject,
            kind,
            day,
            group[0][0],
            group[-1][0],
            len(group),
            sum(max(r.row_count, 0) for _, r, _ in group),
            max(score for _, _, score in group),
        )
        for day, group in sorted(by_day.items())
    ]


def _not_owned(
    subject: str, events: Sequence[tuple[datetime, AccessRecord]], cfg: AnomalyConfig
) -> list[Anomaly]:
    hits = [(m, r, 1.0) for m, r in events if r.owned is False and r.action in cfg.read_actions]
    return _grouped_by_day(subject, NOT_OWNED, hits)


def _unusual_hours(
    subject: str, events: Sequence[tuple[datetime, AccessRecord]], cfg: AnomalyConfig
) -> list[Anomaly]:
    if len(events) < cfg.min_hour_history:
        return []
    hours = np.array([m.hour for m, _ in events], dtype=np.int64)
    counts = np.bincount(hours, minlength=24).astype(np.float64)
    share = (np.roll(counts, 1) + counts + np.roll(counts, -1)) / len(events)
    rare = share < cfg.unusual_hour_share
    hits = [(m, r, 1.0 - float(share[m.hour])) for m, r in events if rare[m.hour]]
    return _grouped_by_day(subject, UNUSUAL_HOUR, hits)


def find_anomalies(records: Iterable[AccessRecord], config: AnomalyConfig | None = None) -> list[Anomaly]:
    """All anomalies of all subjects, ordered by start time, subject and kind."""
    cfg = config or AnomalyConfig()
    found: list[Anomaly] = []
    for subject, events in _by_subject(records, cfg.timezone).items():
        found += _volume(subject, events, cfg)
        found += _denial_bursts(subject, events, cfg)
        found += _not_owned(subject, events, cfg)
        found += _unusual_hours(subject, events, cfg)
    return sorted(found, key=lambda a: (a.start, a.subject, a.kind))

"""Charts for the console, drawn on the server with matplotlib (PNG; no script in the browser).

matplotlib is imported on first use (it costs about half a second), with the
non-interactive Agg backend; drawing is serialised because pyplot's state is
global.  Each chart also has its numbers as a table on the page (the image's
text alternative).
"""

from __future__ import annotations

import io
import threading
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

_LOCK = threading.Lock()
WIDTH_IN, HEIGHT_IN, DPI = 9.0, 3.2, 100
_COLOURS = ("#1f5f8b", "#e07b39", "#5b8c3a", "#8e44ad", "#7f8c8d", "#c0392b", "#16a085")


def series_by_day(rows: Sequence[tuple[str, str, str, int]]) -> tuple[list[str], dict[str, list[int]]]:
    """Days in order and one count series per "purpose / decision" (denials kept apart)."""
    days = sorted({r[0] for r in rows})
    index = {d: i for i, d in enumerate(days)}
    series: dict[str, list[int]] = defaultdict(lambda: [0] * len(days))
    for day, purpose, decision, n in rows:
        series[f"{purpose} / {decision}"][index[day]] += n
    return days, dict(sorted(series.items()))


def events_per_day_png(rows: Sequence[tuple[str, str, str, int]]) -> bytes:
    """Stacked bars: events per day by purpose and decision."""
    days, series = series_by_day(rows)
    with _LOCK:
        import matplotlib

        matplotlib.use("Agg")
        from matplotlib.figure import Figure

        fig = Figure(figsize=(WIDTH_IN, HEIGHT_IN), dpi=DPI)
        ax = fig.add_subplot()
        bottom = [0] * len(days)
        labels = [d[5:] for d in days]
        for i, (name, counts) in enumerate(series.items()):
            colour = _COLOURS[i % len(_COLOURS)]
            hatch = "//" if name.endswith("/ deny") else None
            ax.bar(labels, counts, bottom=bottom, label=name, color=colour, hatch=hatch, edgecolor="white")
            bottom = [b + c for b, c in zip(bottom, counts, strict=True)]
        if not days:
            ax.text(0.5, 0.5, "no events in this period", ha="center", va="center", transform=ax.transAxes)
        ax.set_ylabel("events")
        ax.set_title("Audit events per day (UTC) by purpose and decision")
        ax.spines[["top", "right"]].set_visible(False)
        if series:
            ax.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)
        fig.tight_layout()
        out = io.BytesIO()
        fig.savefig(out, format="png")
    return out.getvalue()


def _figure() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    return Figure(figsize=(WIDTH_IN * 0.75, HEIGHT_IN), dpi=DPI)


def _png(fig: Any) -> bytes:
    fig.tight_layout()
    out = io.BytesIO()
    fig.savefig(out, format="png")
    return out.getvalue()


def bars_png(labels: Sequence[str], values: Sequence[float], *, title: str, ylabel: str) -> bytes:
    """A bar chart (e.g. RFM segment sizes)."""
    with _LOCK:
        fig = _figure()
        ax = fig.add_subplot()
        ax.bar(list(labels), list(values), color=_COLOURS[0])
        ax.set_title(title)
        ax.set_ylabel(ylabel)
        ax.tick_params(axis="x", labelrotation=30, labelsize="small")
        ax.spines[["top", "right"]].set_visible(False)
        if not labels:
            ax.text(0.5, 0.5, "no run yet", ha="center", va="center", transform=ax.transAxes)
        return _png(fig)


def histogram_png(values: Sequence[float], *, title: str, xlabel: str, bins: int = 30) -> bytes:
    """A histogram (e.g. the CLV or churn-risk distribution)."""
    with _LOCK:
        fig = _figure()
        ax = fig.add_subplot()
        if values:
            ax.hist(list(values), bins=bins, color=_COLOURS[1], edgecolor="white")
        else:
            ax.text(0.5, 0.5, "no run yet", ha="center", va="center", transform=ax.transAxes)
        ax.set_title(title)
        ax.set_xlabel(xlabel)
        ax.set_ylabel("customers")
        ax.spines[["top", "right"]].set_visible(False)
        return _png(fig)


__all__ = ["bars_png", "events_per_day_png", "histogram_png", "series_by_day"]

"""``hushdb profile ...``: segments, lifetime value, churn, cross-sell, data quality (analyst).

Every run is authorized by the policy, leaves out customers who objected to profiling (the count
is printed), is audited with its inputs and stored (see ``core.profiling.results``).  Output names
customers only by pseudonym.

``profile clv`` and ``profile churn`` whose model fit is not usable (a parameter on a bound, no
convergence, a parameter the data cannot identify) print one line ``error: <reason>; run ... was
stored without results`` on stderr and exit with code 9; with ``--json`` they also print
``{"usable": false, "reason", "run_id", "audit_seq", "fit"}`` on stdout.  No result is printed.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from api.cli.options import AsAnalyst, AsOf, DataDir, JsonFlag, parse_as_of, typer_app
from api.cli.output import out, print_json
from api.cli.root import Services, opened
from core.errors import InputError

if TYPE_CHECKING:  # the store's modules load when a command runs, not for `hushdb --help`
    from core.errors import ModelUnusableError
    from core.gateway import AccessContext
    from core.profiling.governed import RunReceipt

profile_app = typer_app(
    "Profiling: segments, lifetime value, churn, cross-sell, data quality.", no_args_is_help=False
)


def analyst_context(svc: Services, as_subject: str | None, purpose: str) -> AccessContext:
    """The acting subject's context; without ``--as``, the single analyst named in the policy files."""
    if as_subject is None:
        analysts = sorted(s for s, roles in svc.policies.current.subjects().items() if "analyst" in roles)
        if len(analysts) != 1:
            raise InputError(f"give --as SUBJECT ({len(analysts)} subjects hold the analyst role)")
        as_subject = analysts[0]
    return svc.context(as_subject, purpose)


def _line(text: str) -> None:
    out.print(text, markup=False, highlight=False)


def _receipt_line(receipt: RunReceipt) -> None:
    pop = receipt.population
    _line(
        f"run {receipt.run_id} (audit event {receipt.audit_seq}): {receipt.row_count} customers; "
        f"left out {pop.left_out} ({pop.objected} objected to profiling, {pop.erased} erased)"
    )


def _report_unusable(exc: ModelUnusableError, json_out: bool) -> None:
    """With ``--json``, the unusable fit as a document on stdout (the error line follows on stderr)."""
    if json_out:
        print_json(
            {
                "usable": False,
                "reason": exc.message,
                "run_id": exc.run_id,
                "audit_seq": exc.audit_seq,
                "fit": exc.fit,
            }
        )


def rfm(
    as_subject: AsAnalyst = None,
    as_of: AsOf = None,
    chart: Annotated[Path | None, typer.Option("--chart", help="Write a PNG of segment sizes.")] = None,
    data_dir: DataDir = None,
    json_out: JsonFlag = False,
) -> None:
    """RFM scores and segments per pseudonym."""
    from core.profiling.rfm import render_chart

    with opened(data_dir) as svc:
        moment = parse_as_of(as_of)
        run = svc.profiling.rfm(analyst_context(svc, as_subject, "profiling"), as_of=moment)
        if chart is not None:
            render_chart(run.counts, chart)
        if json_out:
            print_json(
                {
                    **run.receipt.as_dict(),
                    "as_of": run.as_of.isoformat(),
                    "segments": run.counts,
                    "customers": {
                        s.customer_id: {
                            "segment": s.segment,
                            "r": s.r,
                            "f": s.f,
                            "m": s.m,
                            "recency_days": s.recency_days,
                            "frequency": s.frequency,
                            "monetary": str(s.monetary),
                        }
                        for s in run.scores
                    },
                }
            )
            return
        _receipt_line(run.receipt)
        for name, size in run.counts.items():
            _line(f"{name:<20} {size:>8}")
        if chart is not None:
            _line(f"chart written to {chart}")


def clv(
    as_subject: AsAnalyst = None,
    as_of: AsOf = None,
    time_unit: Annotated[str, typer.Option("--time-unit", help="week or day")] = "week",
    horizon: Annotated[float, typer.Option("--horizon", help="Time units ahead.", min=0)] = 52.0,
    discount: Annotated[float, typer.Option("--discount", help="Monthly discount rate.")] = 0.01,
    months: Annotated[int, typer.Option("--months", help="Months of lifetime value.", min=0)] = 12,
    data_dir: DataDir = None,
    json_out: JsonFlag = False,
) -> None:
    """BG/NBD + Gamma-Gamma lifetime value (purchases after --as-of are ignored)."""
    from core.errors import ModelUnusableError

    with opened(data_dir) as svc:
        if time_unit not in ("week", "day"):
            raise InputError("--time-unit must be week or day")
        unit: Any = time_unit
        try:
            run = svc.profiling.clv(
                analyst_context(svc, as_subject, "profiling"),
                as_of=parse_as_of(as_of),
                time_unit=unit,
                horizon=horizon,
                months=months,
                discount=discount,
            )
        except ModelUnusableError as exc:
            _report_unusable(exc, json_out)
            raise
        params = run.model.params_dict()
        if json_out:
            print_json(
                {
                    **run.receipt.as_dict(),
                    **params,
                    "fit": run.model.fit_dict(),
                    "as_of": run.as_of.isoformat(),
                    "time_unit": time_unit,
                    "customers": {r.customer_id: r.figures() for r in run.results},
                }
            )
            return
        _receipt_line(run.receipt)
        bg, gg = params["bgnbd"], params["gamma_gamma"]
        _line(
            f"BG/NBD ({time_unit}): r={bg['r']:.4f} alpha={bg['alpha']:.4f} a={bg['a']:.4f} b={bg['b']:.4f}"
        )
        _line(f"Gamma-Gamma: p={gg['p']:.4f} q={gg['q']:.4f} gamma={gg['gamma']:.4f}")
        total = sum(r.clv for r in run.results)
        _line(f"total {months}-month CLV {total:.2f} over {len(run.results)} customers")


def churn(
    as_subject: AsAnalyst = None,
    threshold: Annotated[float, typer.Option("--threshold", help="P(alive) under this is churn.")] = 0.3,
    k: Annotated[float, typer.Option("--k", help="Overdue after k times the median gap.")] = 3.0,
    as_of: AsOf = None,
    data_dir: DataDir = None,
    json_out: JsonFlag = False,
) -> None:
    """Churn candidates (pseudonyms) by P(alive) or overdue purchases."""
    from core.errors import ModelUnusableError

    with opened(data_dir) as svc:
        try:
            run = svc.profiling.churn(
                analyst_context(svc, as_subject, "profiling"),
                threshold=threshold,
                k=k,
                as_of=parse_as_of(as_of),
            )
        except ModelUnusableError as exc:
            _report_unusable(exc, json_out)
            raise
        if json_out:
            print_json(
                {
                    **run.receipt.as_dict(),
                    "as_of": run.as_of.isoformat(),
                    "scored": run.scored,
                    "customers": {
                        f.customer_id: {
                            "reasons": list(f.reasons),
                            "probability_alive": f.probability_alive,
                            "days_since_last": f.days_since_last,
                            "median_gap_days": f.median_gap_days,
                        }
                        for f in run.flags
                    },
                }
            )
            return
        _receipt_line(run.receipt)
        for f in run.flags:
            _line(f"{f.customer_id} {','.join(f.reasons)}")
        _line(f"{len(run.flags)} of {run.scored} customers flagged")


def cross_sell(
    as_subject: AsAnalyst = None,
    top: Annotated[int, typer.Option("--top", help="Products per customer.", min=1)] = 3,
    as_of: AsOf = None,
    data_dir: DataDir = None,
    json_out: JsonFlag = False,
) -> None:
    """Item co-occurrence (support, confidence, lift) and top-N products per pseudonym."""
    with opened(data_dir) as svc:
        run = svc.profiling.cross_sell(
            analyst_context(svc, as_subject, "profiling"), top_n=top, as_of=parse_as_of(as_of)
        )
        rules = [
            {
                "antecedent": r.antecedent,
                "consequent": r.consequent,
                "count": r.count,
                "support": r.support,
                "confidence": r.confidence,
                "lift": r.lift,
            }
            for r in run.pairs
        ]
        recs = {
            p: [{"product": i.product, "score": i.score} for i in items]
            for p, items in run.recommendations.items()
        }
        if json_out:
            print_json({**run.receipt.as_dict(), "rules": rules, "customers": recs})
            return
        _receipt_line(run.receipt)
        for r in run.pairs[:10]:
            _line(
                f"{r.antecedent} -> {r.consequent}: support {r.support:.3f} confidence {r.confidence:.3f} lift {r.lift:.2f}"
            )
        _line(f"{len(run.pairs)} rules; recommendations for {len(recs)} customers")


def quality(
    as_subject: AsAnalyst = None,
    threshold: Annotated[float, typer.Option("--name-threshold", help="Name similarity, 0..1.")] = 0.9,
    data_dir: DataDir = None,
    json_out: JsonFlag = False,
) -> None:
    """Duplicate candidates, near-identical names, completeness, invalid values (purpose data_quality)."""
    with opened(data_dir) as svc:
        run = svc.quality.run(analyst_context(svc, as_subject, "data_quality"), name_threshold=threshold)
        doc = {
            **run.receipt.as_dict(),
            "duplicates": [
                {"customers": list(g.customer_ids), "reasons": list(g.reasons)} for g in run.duplicates
            ],
            "similar_names": [
                {"first": p.first, "second": p.second, "similarity": p.similarity} for p in run.similar_names
            ],
            "completeness": {
                f.field: {"present": f.present, "total": f.total, "ratio": f.ratio} for f in run.completeness
            },
            "invalid": [{"customer": i.customer_id, "field": i.field, "rule": i.rule} for i in run.invalid],
            "not_checked": list(run.not_checked),
        }
        if json_out:
            print_json(doc)
            return
        _receipt_line(run.receipt)
        _line(f"duplicate groups (same email or phone): {len(run.duplicates)}")
        _line(f"near-identical names: {len(run.similar_names)} pairs")
        for f in run.completeness:
            _line(f"completeness {f.field}: {f.present}/{f.total} ({f.ratio:.1%})")
        _line(
            f"invalid values: {len(run.invalid)}"
            + (f" (not checked: {', '.join(run.not_checked)})" if run.not_checked else "")
        )


profile_app.command("rfm")(rfm)
profile_app.command("clv")(clv)
profile_app.command("churn")(churn)
profile_app.command("cross-sell")(cross_sell)
profile_app.command("quality")(quality)


def register(app: typer.Typer) -> None:
    """Mount ``profile`` on ``app`` (its commands are registered once, when this module loads)."""
    app.add_typer(profile_app, name="profile")


__all__ = ["analyst_context", "profile_app", "register"]

"""What an erasure reaches beyond the live record: profiling results and exports the server holds;
and the data-subject export lists the profiling results held under the person's pseudonym."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from api.wiring import Hush
from core.compliance import ComplianceQueries
from core.db import transaction
from core.dsar import DataSubjectExport
from core.profiling.results import profile_results_t
from core.profiling.service import ProfilingService
from tests.profiling.conftest import load_demo


def _profiled_customer(hush: Hush) -> tuple[str, str]:
    """Run RFM; return (external_id, pseudonym) of a customer it labelled."""
    ProfilingService(gateway=hush.gateway).rfm(hush.context("ana", "profiling"))
    with transaction(hush.gateway.engine) as conn:
        row = conn.execute(
            sa.text(
                "SELECT c.external_id, c.pseudonym FROM customers c JOIN profile_results r "
                "ON r.pseudonym = c.pseudonym ORDER BY c.external_id LIMIT 1"
            )
        ).one()
    return str(row[0]), str(row[1])


def _results_for(hush: Hush, pseudonym: str) -> int:
    with transaction(hush.gateway.engine) as conn:
        return int(
            conn.execute(
                sa.select(sa.func.count())
                .select_from(profile_results_t)
                .where(profile_results_t.c.pseudonym == pseudonym)
            ).scalar_one()
        )


def _held_export(exports_dir: Path, pseudonyms: list[str]) -> Path:
    """A finished export as the job runner leaves it (recipients.csv, letters/, manifest.json)."""
    out = exports_dir / "job-1"
    (out / "letters").mkdir(parents=True)
    with (out / "recipients.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["pseudonym", "full_name"])
        for p in pseudonyms:
            writer.writerow([p, "Someone"])
            (out / "letters" / f"{p}.txt").write_text("Dear Someone\n", encoding="utf-8")
    (out / "manifest.json").write_text(
        json.dumps({"files": {}, "recipients": len(pseudonyms)}), encoding="utf-8"
    )
    return out


def test_erasure_deletes_profiling_results_and_held_export_rows(hush: Any, tmp_path: Path) -> None:
    load_demo(hush, tmp_path / "demo", customers=60)
    external_id, pseudonym = _profiled_customer(hush)
    assert _results_for(hush, pseudonym) >= 1
    exports_dir = tmp_path / "exports"
    export = _held_export(exports_dir, [pseudonym, "p_someoneelse0000000000000"])
    hush.writes.exports_dir = exports_dir

    receipt = hush.writes.erase(hush.context("dana", "erasure"), external_id)

    assert _results_for(hush, pseudonym) == 0
    assert receipt.profiling_results_deleted >= 1
    assert receipt.exports_reached == 1 and receipt.export_rows_removed == 1
    recipients = (export / "recipients.csv").read_text(encoding="utf-8")
    assert pseudonym not in recipients and "p_someoneelse" in recipients
    assert not (export / "letters" / f"{pseudonym}.txt").exists()
    assert receipt.to_dict()["covers"]["profiling_results"] is True  # type: ignore[index]


def test_dsar_lists_the_profiling_results_held_under_the_pseudonym(hush: Any, tmp_path: Path) -> None:
    load_demo(hush, tmp_path / "demo", customers=60)
    external_id, pseudonym = _profiled_customer(hush)
    held = _results_for(hush, pseudonym)
    doc = DataSubjectExport(gateway=hush.gateway, reports=ComplianceQueries(hush=hush)).export(
        hush.context("dana", "erasure"), external_id
    )
    assert len(doc["profiling"]) == held >= 1
    assert {r["kind"] for r in doc["profiling"]} >= {"rfm"}
    assert all("run_id" in r and "label" in r for r in doc["profiling"])

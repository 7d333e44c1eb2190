"""The derived fields segment and recommended_product come from stored profiling runs, through the policy."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest

from api.wiring import Hush, init_store
from core.config import load_settings, shipped_policy_dir
from core.errors import AccessDenied
from core.export import MailmergeRequest, MailmergeService
from core.profiling.service import ProfilingService
from core.records import TransactionInput

from .conftest import add_customers, customer, read_jsonl  # type: ignore[import-not-found]


def test_segment_is_merged_after_an_rfm_run(store: Hush, service: MailmergeService, tmp_path: Path) -> None:
    add_customers(store, [customer("P1", consent_profiling=True), customer("P2", consent_profiling=True)])
    rows = [
        (
            i + 2,
            TransactionInput(ext, dt.datetime(2025, 1, 1 + i, tzinfo=dt.UTC), "10.00", "GBP", "mug", "home"),
        )
        for i, ext in enumerate(["P1", "P1", "P2"])
    ]
    store.writes.import_transactions(store.operator_context("service"), rows)
    ProfilingService(gateway=store.gateway).rfm(store.context("ana", "profiling"))
    ctx = store.context("mailer", "marketing")
    request = MailmergeRequest(campaign="seg", fields=("first_name", "segment"), format="jsonl")
    service.run(ctx, request, tmp_path / "out")
    segments = {r["segment"] for r in read_jsonl(tmp_path / "out" / "recipients.jsonl")}
    assert segments and all(segments)  # every recipient got a named segment


def test_segment_needs_the_policy_to_allow_profile_results(tmp_path: Path, database_url: str) -> None:
    policy = tmp_path / "policies"
    shutil.copytree(shipped_policy_dir(), policy, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    text = (policy / "policy.csv").read_text()
    (policy / "policy.csv").write_text(
        "\n".join(
            line for line in text.splitlines() if not line.startswith("p, mailmerge, marketing, profile")
        )
        + "\n"
    )
    hush = init_store(
        load_settings(
            tmp_path / "data", env={"HUSHDB_DATABASE_URL": database_url, "HUSHDB_POLICY_DIR": str(policy)}
        )
    )
    try:
        service = MailmergeService(gateway=hush.gateway, pii=None, settings=hush.settings)
        request = MailmergeRequest(campaign="seg", fields=("first_name", "segment"))
        with pytest.raises(AccessDenied, match="results"):
            service.check(hush.context("mailer", "marketing"), request)
    finally:
        hush.close()

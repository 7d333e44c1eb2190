"""A degenerate purchase history: CLV and churn are reported not usable, never served as results.

The store holds demo customers whose transactions are :func:`write_steady_transactions` (every
customer buys every week and nobody stops): the BG/NBD fit runs to the bounds of its box.  The
service stores such a run with ``usable: false`` and no results and raises ModelUnusableError;
the CLI prints one line and exits 9; the HTTP API answers 422 ``model-unusable``; the console's
view reads the reason.  SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from api.cli import app
from api.console.profiling_view import ProfilingView
from api.http import create_app
from api.http_profiles import build_router
from api.wiring import Hush, open_store
from audit.tables import audit_events
from core.apikeys import ApiKeys
from core.config import load_settings
from core.errors import ModelUnusableError
from core.profiling.reader import StoredProfiles
from core.profiling.results import profile_results_t, profile_runs_t
from core.profiling.service import ProfilingService

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # starlette warns about httpx on import (any warning class)
    from fastapi.testclient import TestClient

runner = CliRunner()


@pytest.fixture
def steady(hush: Hush, tmp_path: Path, demo_loader: Callable[..., dict[str, int]]) -> Hush:
    demo_loader(hush, tmp_path / "demo", customers=40, steady_until=datetime.now(UTC))
    return hush


def _run_row(hush: Hush, run_id: str) -> Any:
    with hush.engine.connect() as conn:
        run = conn.execute(sa.select(profile_runs_t).where(profile_runs_t.c.id == run_id)).one()
        results = conn.execute(
            sa.select(sa.func.count()).where(profile_results_t.c.run_id == run_id)
        ).scalar_one()
        event = conn.execute(sa.select(audit_events).where(audit_events.c.seq == run.audit_seq)).one()
    return run, results, event


@pytest.mark.parametrize("kind", ["clv", "churn"])
def test_service_stores_the_run_without_results_and_raises(steady: Hush, kind: str) -> None:
    svc = ProfilingService(gateway=steady.gateway)
    ctx = steady.context("ana", "profiling")
    with pytest.raises(ModelUnusableError) as caught:
        svc.clv(ctx) if kind == "clv" else svc.churn(ctx)
    error = caught.value
    assert error.exit_code == 9 and error.http_status == 422 and error.title == "Model unusable"
    assert error.message.startswith("BG/NBD fit is not usable: ") and "bound" in error.message
    assert error.run_id is not None and error.run_id in error.message
    run, results, event = _run_row(steady, error.run_id)
    summary = json.loads(run.summary)
    assert summary["usable"] is False and summary["reason"].startswith("BG/NBD fit is not usable")
    assert summary["fit"]["bgnbd"]["usable"] is False
    assert results == 0 and run.row_count == 0 and run.kind == kind
    detail = json.loads(event.detail)
    assert (event.action, event.row_count, detail["usable"], detail["run_id"]) == (
        "profile",
        0,
        False,
        run.id,
    )
    # Reading the latest run of the kind reports it as not usable, never as an (empty) result.
    with pytest.raises(ModelUnusableError, match="has no results: BG/NBD fit is not usable"):
        StoredProfiles(gateway=steady.gateway).latest(ctx, kind)
    # The console shows the reason.
    shown = {r.kind: r for r in ProfilingView(gateway=steady.gateway).latest(ctx)}
    assert (shown[kind].not_usable or "").startswith("BG/NBD fit is not usable")


def test_a_usable_run_records_its_diagnostics(demo: Hush) -> None:
    svc = ProfilingService(gateway=demo.gateway)
    ctx = demo.context("ana", "profiling")
    run = svc.clv(ctx)
    assert run.model.usable and run.results
    stored, results, event = _run_row(demo, run.receipt.run_id)
    summary = json.loads(stored.summary)
    assert summary["usable"] is True and summary["fit"]["bgnbd"]["usable"] is True
    assert results == len(run.results) and "usable" not in json.loads(event.detail)
    churn = svc.churn(ctx)
    assert churn.scored > 0
    view = {r.kind: r for r in ProfilingView(gateway=demo.gateway).latest(ctx)}
    assert view["clv"].not_usable is None and view["churn"].not_usable is None


def test_cli_prints_one_line_and_exits_9(tmp_path: Path, database_url: str) -> None:
    from tests.profiling.conftest import load_demo

    d = tmp_path / "home"
    env = {"HUSHDB_DATABASE_URL": database_url}
    assert runner.invoke(app, ["init", "--data-dir", str(d)], env=env).exit_code == 0
    hush = open_store(load_settings(d, env=env))
    try:
        load_demo(hush, tmp_path / "demo", customers=40, steady_until=datetime.now(UTC))
    finally:
        hush.close()
    for kind in ("clv", "churn"):
        result = runner.invoke(app, ["profile", kind, "--as", "ana", "--data-dir", str(d)], env=env)
        assert result.exit_code == 9, (kind, result.stdout, result.stderr)
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: BG/NBD fit is not usable: ")
        assert "stored without results" in lines[0] and result.stdout == ""
    result = runner.invoke(app, ["profile", "clv", "--as", "ana", "--json", "--data-dir", str(d)], env=env)
    assert result.exit_code == 9
    doc = json.loads(result.stdout)
    assert doc["usable"] is False and doc["run_id"] and "customers" not in doc
    assert doc["fit"]["bgnbd"]["usable"] is False


def test_http_answers_422_model_unusable(steady: Hush) -> None:
    app_ = create_app(steady, extra_routers=[build_router()])
    token = ApiKeys(gateway=steady.gateway).create(steady.operator_context(), "ana").token
    headers = {"Authorization": f"Bearer {token}", "X-Purpose": "profiling"}
    with TestClient(app_, raise_server_exceptions=True) as client:
        for kind in ("clv", "churn"):
            posted = client.post(f"/profiles/{kind}/runs", headers=headers)
            assert posted.status_code == 422, posted.text
            assert posted.headers["content-type"].startswith("application/problem+json")
            problem = posted.json()
            assert problem["type"] == "urn:hushdb:problem:model-unusable"
            assert problem["title"] == "Model unusable"
            assert problem["detail"].startswith("BG/NBD fit is not usable: ")
            got = client.get(f"/profiles/{kind}", headers=headers)
            assert got.status_code == 422 and got.json()["type"] == "urn:hushdb:problem:model-unusable"
            assert "results" not in got.json()
        assert client.post("/profiles/rfm/runs", headers=headers).status_code == 201  # no model fit

"""``hushdb profile ...`` and ``hushdb audit anomalies`` through the real CLI on a demo store."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from api.cli import app
from api.wiring import open_store
from core.config import load_settings
from core.errors import AccessDenied, NotFoundError
from core.models import customers_t
from core.profiling.results import latest_recommendations, latest_segments
from core.profiling.rfm import SEGMENTS

runner = CliRunner()
Home = tuple[Path, dict[str, str]]


def run(home: Home, *args: str) -> tuple[int, str, str]:
    d, env = home
    result = runner.invoke(app, [*args, "--data-dir", str(d)], env=env)
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def home(tmp_path: Path, database_url: str, demo_loader: Callable[..., dict[str, int]]) -> Home:
    d = tmp_path / "home"
    env = {"HUSHDB_DATABASE_URL": database_url}
    result = runner.invoke(app, ["init", "--data-dir", str(d)], env=env)
    assert result.exit_code == 0, result.stderr
    hush = open_store(load_settings(d, env=env))
    try:
        demo_loader(hush, tmp_path / "demo", customers=200)
    finally:
        hush.close()
    return d, env


def _json(home: Home, *args: str) -> Any:
    code, out, err = run(home, *args, "--json")
    assert code == 0, err
    return json.loads(out)


def test_profile_commands_print_pseudonymous_results(home: Home, tmp_path: Path) -> None:
    chart = tmp_path / "segments.png"
    # The demo purchases end at the start of today (UTC); a bare --as-of date means its end.
    today = dt.datetime.now(dt.UTC).date().isoformat()
    rfm = _json(home, "profile", "rfm", "--as", "ana", "--as-of", today, "--chart", str(chart))
    assert set(rfm["segments"]) == set(SEGMENTS) and sum(rfm["segments"].values()) == len(rfm["customers"])
    assert rfm["left_out"]["objected"] > 0 and rfm["audit_seq"] > 0
    assert all(p.startswith("p_") for p in rfm["customers"])
    assert chart.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    clv = _json(home, "profile", "clv", "--as", "ana", "--as-of", today, "--time-unit", "day")
    assert set(clv["bgnbd"]) == {"r", "alpha", "a", "b"} and set(clv["gamma_gamma"]) == {"p", "q", "gamma"}
    assert clv["time_unit"] == "day" and set(clv["customers"]) <= set(rfm["customers"])
    assert clv["parameters"]["horizon"] == 52.0

    churn = _json(home, "profile", "churn", "--as", "ana", "--threshold", "0.5")
    assert all(set(c["reasons"]) <= {"p_alive", "overdue"} for c in churn["customers"].values())

    xs = _json(home, "profile", "cross-sell", "--as", "ana", "--top", "2")
    assert all(len(items) <= 2 for items in xs["customers"].values())
    assert {"antecedent", "consequent", "support", "confidence", "lift"} <= set(xs["rules"][0])

    quality = _json(home, "profile", "quality", "--as", "ana")
    assert set(quality["completeness"]) == {"full_name", "email", "phone"}
    assert quality["not_checked"] == ["birth_date"]

    d, env = home
    hush = open_store(load_settings(d, env=env))
    try:
        with hush.engine.connect() as conn:
            assert set(latest_segments(conn)) == set(rfm["customers"]) - set()  # the latest RFM run
            assert latest_recommendations(conn) == {
                p: items[0]["product"] for p, items in xs["customers"].items() if items
            }
            names = set(conn.execute(sa.select(customers_t.c.external_id)).scalars())
    finally:
        hush.close()
    for doc in (rfm, clv, churn, xs, quality):
        assert not names & set(json.dumps(doc).split('"'))


def test_profile_plain_output_reports_left_out(home: Home) -> None:
    code, out, err = run(home, "profile", "rfm", "--as", "ana")
    assert code == 0, err
    assert "objected to profiling" in out and "Champions" in out


def test_profile_is_refused_outside_the_policy(home: Home) -> None:
    code, _, err = run(home, "profile", "rfm", "--as", "alice")
    assert code != 0 and err.startswith("error:")
    code, _, err = run(home, "profile", "clv", "--as", "ana", "--time-unit", "month")
    assert code != 0 and "time-unit" in err
    code, _, err = run(home, "profile", "rfm", "--as", "ana", "--as-of", "yesterday")
    assert code != 0 and "--as-of" in err


def test_planted_anomalies_are_found_and_ordinary_users_are_not_flagged(home: Home) -> None:
    d, env = home
    hush = open_store(load_settings(d, env=env))
    try:
        with hush.engine.connect() as conn:
            alices = list(
                conn.execute(
                    sa.select(customers_t.c.external_id).where(customers_t.c.owner == "alice").limit(3)
                ).scalars()
            )
        bob = hush.context("bob", "service")
        for external_id in alices:  # bob tries to read accounts alice owns
            with pytest.raises(NotFoundError):
                hush.gateway.read_customer(bob, external_id)
        for _ in range(6):  # a burst of refused profiling attempts
            with pytest.raises(AccessDenied):
                hush.gateway.authorize(
                    hush.context("mailer", "marketing"),
                    resource="profile",
                    action="run",
                    fields=["rfm"],
                    all_fields=("rfm",),
                )
    finally:
        hush.close()
    report = _json(home, "audit", "anomalies", "--as", "cora", "--since", "2000-01-01")
    found = {(a["subject"], a["kind"]) for a in report["anomalies"]}
    assert ("bob", "not_owned") in found
    assert ("mailer", "denial_burst") in found
    assert {s for s, _ in found} == {"bob", "mailer"}  # alice's imports, ana, cora: ordinary
    assert report["events"] > 0
    blob = json.dumps(report)
    for external_id in alices:
        assert external_id not in blob
    code, out, err = run(home, "audit", "anomalies", "--as", "cora")
    assert code == 0 and "not_owned" in out, err
    code, _, err = run(home, "audit", "anomalies", "--as", "ana")
    assert code != 0 and err.startswith("error:")


def test_profile_without_as_runs_as_the_single_analyst(tmp_path: Path, database_url: str) -> None:
    env = {"HUSHDB_DATABASE_URL": database_url}
    d = str(tmp_path / "home")
    runner = CliRunner()
    assert runner.invoke(app, ["init", "--data-dir", d], env=env).exit_code == 0
    result = runner.invoke(app, ["profile", "rfm", "--json", "--data-dir", d], env=env)
    assert result.exit_code == 0, result.stderr
    events = json.loads(runner.invoke(app, ["audit", "events", "--json", "--data-dir", d], env=env).stdout)[
        "events"
    ]
    assert any(e["subject"] == "ana" and e["action"] == "profile" for e in events)

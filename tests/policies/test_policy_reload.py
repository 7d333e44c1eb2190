"""Policy reload in a running server: ``POST /admin/policy/reload`` and SIGHUP.

Both reload the files atomically (copy, load, swap); a broken file keeps the policy in
force and the refusal is an audit event; the reload and the new policy hash are audit
events; only an administrator may ask over HTTP; ``kill -HUP`` never terminates the server.
The signal test starts a real ``hushdb serve`` and reloads while requests are running.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from api.wiring import Hush, init_store, open_store
from audit import queries
from core.config import Settings, load_settings
from core.models import meta_t
from core.records import CustomerInput
from policies.loader import POLICY_FILES

ROOT = Path(__file__).resolve().parents[2]
HUSHDB = (sys.executable, "-c", "from api.cli import main; main()")  # the `hushdb` console script
BROKEN_LINE = "p, sales, service, customer, emial, read, allow, full, own\n"
ERIN = "g, erin, sales\n"


def _events(hush: Hush, action: str) -> list[dict[str, Any]]:
    with hush.engine.connect() as conn:
        rows: list[dict[str, Any]] = queries.events(conn, limit=100_000)
    return [r for r in rows if r["action"] == action]


def _detail(row: dict[str, Any]) -> dict[str, Any]:
    value = row["detail"]
    doc = json.loads(value) if isinstance(value, str) else value
    assert isinstance(doc, dict)
    return doc


@pytest.fixture
def reloadable(settings: Settings, policy_copy: Path) -> Any:
    """An API over a store whose policy directory is a writable copy."""
    sys.path.insert(0, str(ROOT / "tests" / "http"))
    from http_tools import make_api

    hush = init_store(replace(settings, policy_dir=policy_copy))
    api = make_api(hush)
    try:
        with api.client:
            yield api, policy_copy
    finally:
        hush.close()


def test_admin_reloads_and_the_new_hash_is_audited(reloadable: Any) -> None:
    api, policy_dir = reloadable
    old_hash = api.hush.policies.policy_hash
    with (policy_dir / "roles.csv").open("a") as fh:
        fh.write(ERIN)
    r = api.post("/admin/policy/reload", "adm", "service")
    assert r.status_code == 200, r.text
    doc = r.json()
    assert doc["changed"] is True and doc["previous_hash"] == old_hash != doc["policy_hash"]
    assert api.hush.policies.policy_hash == doc["policy_hash"]
    assert api.hush.context("erin", "service").roles == frozenset({"sales"})  # in force at once
    [event] = _events(api.hush, "policy_reload")
    assert event["subject"] == "adm" and event["decision"] == "allow"
    assert _detail(event)["policy_hash"] == doc["policy_hash"]
    assert _detail(event)["previous_hash"] == old_hash
    with api.hush.engine.connect() as conn:  # the hash in force, for the next start's check
        stored = conn.execute(sa.select(meta_t.c.value).where(meta_t.c.key == "policy_hash")).scalar_one()
    assert stored == doc["policy_hash"]


def test_a_broken_file_keeps_the_policy_in_force_and_is_audited(reloadable: Any) -> None:
    api, policy_dir = reloadable
    old_hash = api.hush.policies.policy_hash
    with (policy_dir / "policy.csv").open("a") as fh:
        fh.write(BROKEN_LINE)
    r = api.post("/admin/policy/reload", "adm", "service")
    assert r.status_code == 422, r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert "emial" in r.json()["detail"] and "previous one stays in force" in r.json()["detail"]
    assert api.hush.policies.policy_hash == old_hash
    assert api.get("/customers", "alice", "service", params={"email": "x@example.com"}).status_code == 200
    [event] = _events(api.hush, "policy_reload_failed")
    assert event["decision"] == "deny" and "emial" in _detail(event)["reason"]
    assert _detail(event)["policy_hash"] == old_hash


@pytest.mark.parametrize(
    ("subject", "purpose"), [("bob", "service"), ("cora", "compliance"), ("adm", "compliance")]
)
def test_only_an_administrator_may_reload(reloadable: Any, subject: str, purpose: str) -> None:
    api, _ = reloadable
    r = api.post("/admin/policy/reload", subject, purpose)
    assert r.status_code == 403
    assert not _events(api.hush, "policy_reload")
    denials = api.audit_rows(subject=subject, denied_only=True)
    assert any(d["resource"] == "admin" for d in denials)


# -- a real server -------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _cli(args: list[str], env: dict[str, str]) -> str:
    done = subprocess.run(
        [*HUSHDB, *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def _get(url: str, token: str) -> int:
    r = httpx.get(url, headers={"Authorization": f"Bearer {token}", "X-Purpose": "service"}, timeout=10)
    return r.status_code


def initialised(tmp_path: Path, database_url: str, policy_copy: Path) -> tuple[Path, dict[str, str]]:
    """A data directory made by `hushdb init`, and the environment a server over it runs with."""
    data_dir = tmp_path / "data"
    env = {
        **os.environ,
        "HUSHDB_DATABASE_URL": database_url,
        "HUSHDB_POLICY_DIR": str(policy_copy),
        "HUSHDB_LOG_LEVEL": "WARNING",
    }
    env.pop("HUSHDB_MASTER_KEY", None)
    _cli(["init", "--data-dir", str(data_dir)], env)
    return data_dir, env


def test_sighup_reloads_a_running_server_under_load(
    tmp_path: Path, database_url: str, policy_copy: Path
) -> None:
    data_dir, env = initialised(tmp_path, database_url, policy_copy)
    settings = load_settings(data_dir, env=env)
    hush = open_store(settings)
    try:
        hush.writes.create(
            hush.context("alice", "service"),
            CustomerInput(external_id="S-1", full_name="Sig Hup", owner="alice"),
        )
    finally:
        hush.close()
    token = json.loads(
        _cli(["apikeys", "create", "--subject", "alice", "--json", "--data-dir", str(data_dir)], env)
    )["token"]
    port = _free_port()
    log = (tmp_path / "server.log").open("wb")
    server = subprocess.Popen(
        [*HUSHDB, "serve", "--port", str(port), "--data-dir", str(data_dir)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=log,
    )
    url = f"http://127.0.0.1:{port}/customers/S-1"
    statuses: list[int] = []
    stop = threading.Event()
    try:
        deadline = time.monotonic() + 60
        while True:
            assert server.poll() is None, (tmp_path / "server.log").read_text()
            try:
                if _get(f"http://127.0.0.1:{port}/health", token) == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.2)

        def load() -> None:
            while not stop.is_set():
                statuses.append(_get(url, token))

        worker = threading.Thread(target=load)
        worker.start()
        time.sleep(0.5)
        with (policy_copy / "roles.csv").open("a") as fh:
            fh.write(ERIN)
        server.send_signal(signal.SIGHUP)
        time.sleep(1.5)
        assert server.poll() is None, "SIGHUP terminated the server"
        with (policy_copy / "policy.csv").open("a") as fh:
            fh.write(BROKEN_LINE)
        server.send_signal(signal.SIGHUP)
        time.sleep(1.5)
        assert server.poll() is None, "SIGHUP with a broken policy terminated the server"
        stop.set()
        worker.join(timeout=30)
        assert statuses and set(statuses) == {200}, sorted(set(statuses))
    finally:
        stop.set()
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()
    # The signal reloads are in the log: the new hash, then the refused file.
    with (policy_copy / "policy.csv").open() as fh:
        lines = fh.readlines()
    (policy_copy / "policy.csv").write_text("".join(line for line in lines if line != BROKEN_LINE))
    hush = open_store(load_settings(data_dir, env=env))
    try:
        [reload] = _events(hush, "policy_reload")
        [failed] = _events(hush, "policy_reload_failed")
        assert _detail(reload)["trigger"] == "signal" and reload["subject"] == "hushdb"
        assert _detail(reload)["policy_hash"] != _detail(reload)["previous_hash"]
        assert _detail(failed)["policy_hash"] == _detail(reload)["policy_hash"]  # the good one stayed
        assert "emial" in _detail(failed)["reason"]
        assert reload["seq"] < failed["seq"]
    finally:
        hush.close()


def test_policy_files_are_the_three_the_loader_reads() -> None:
    assert set(POLICY_FILES) == {"model.conf", "policy.csv", "roles.csv"}

"""Policy reload with ``hushdb serve --workers 2``: every worker reloads, none is left behind.

SIGHUP to the server (the supervisor) is forwarded to each worker, which reloads in place
and records its own event; ``POST /admin/policy/reload`` on one worker makes the others
reload too.  After either, a subject added to the roles is known to every worker.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from api.wiring import open_store
from core.config import load_settings

sys.path.insert(0, str(Path(__file__).resolve().parent))  # the suite imports in importlib mode
from test_policy_reload import ERIN, HUSHDB, ROOT, _cli, _detail, _events, _free_port, initialised

WORKERS = 2


def _status(port: int, token: str, path: str, purpose: str = "service") -> int:
    with httpx.Client(timeout=10) as client:  # a new connection each time: any worker may answer
        r = client.get(
            f"http://127.0.0.1:{port}{path}",
            headers={"Authorization": f"Bearer {token}", "X-Purpose": purpose},
        )
        return r.status_code


def _reload_events(env: dict[str, str], data_dir: Path) -> list[dict[str, Any]]:
    hush = open_store(load_settings(data_dir, env=env))
    try:
        return _events(hush, "policy_reload")
    finally:
        hush.close()


def _wait_for(predicate: Any, what: str, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        assert time.monotonic() < deadline, what
        time.sleep(0.3)


def test_every_worker_reloads_on_sighup_and_on_the_endpoint(
    tmp_path: Path, database_url: str, policy_copy: Path
) -> None:
    data_dir, env = initialised(tmp_path, database_url, policy_copy)

    def token(subject: str) -> str:
        out = _cli(["apikeys", "create", "--subject", subject, "--json", "--data-dir", str(data_dir)], env)
        value: str = json.loads(out)["token"]
        return value

    alice, adm = token("alice"), token("adm")
    port = _free_port()
    log = (tmp_path / "server.log").open("wb")
    server = subprocess.Popen(
        [*HUSHDB, "serve", "--port", str(port), "--workers", str(WORKERS), "--data-dir", str(data_dir)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=log,
    )
    try:

        def up() -> bool:
            assert server.poll() is None, (tmp_path / "server.log").read_text()
            try:
                return _status(port, alice, "/health") == 200
            except httpx.TransportError:
                return False

        _wait_for(up, "the server did not start", 90)
        time.sleep(2)  # both workers serving

        # 1. SIGHUP to the supervisor: each worker reloads and records it.
        with (policy_copy / "roles.csv").open("a") as fh:
            fh.write(ERIN)
        server.send_signal(signal.SIGHUP)
        _wait_for(
            lambda: len(_reload_events(env, data_dir)) >= WORKERS,
            "not every worker recorded a reload after SIGHUP",
        )
        assert server.poll() is None, "SIGHUP terminated the server"
        signal_events = _reload_events(env, data_dir)
        assert len(signal_events) == WORKERS
        hashes = {_detail(e)["policy_hash"] for e in signal_events}
        assert len(hashes) == 1 and all(_detail(e)["trigger"] == "signal" for e in signal_events)

        # 2. The endpoint on one worker: the others follow.
        with (policy_copy / "roles.csv").open("a") as fh:
            fh.write("g, fred, sales\n")
        with httpx.Client(timeout=10) as client:
            r = client.post(
                f"http://127.0.0.1:{port}/admin/policy/reload",
                headers={"Authorization": f"Bearer {adm}", "X-Purpose": "service"},
            )
        assert r.status_code == 200, r.text
        new_hash = r.json()["policy_hash"]
        assert new_hash not in hashes
        _wait_for(
            lambda: (
                sum(1 for e in _reload_events(env, data_dir) if _detail(e)["policy_hash"] == new_hash)
                >= WORKERS
            ),
            "a worker kept the old policy after the endpoint reload",
        )
        fred = token("fred")
        # every worker knows fred now: a subject with no role would be refused (403)
        statuses = {_status(port, fred, "/customers?email=nobody@example.com") for _ in range(12)}
        assert statuses == {200}, statuses
        assert server.poll() is None
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()

"""``hushdb serve --workers 2``: a console session made on one worker works on every worker.

A real server with two worker processes on one SQLite store (the two-app test in
test_console_session_workers.py covers both databases).  Every request below opens a new
connection, so the kernel hands them to either worker; with sessions kept per process
about half of them would be sent to sign in.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
HUSHDB = (sys.executable, "-c", "from api.cli import main; main()")  # the `hushdb` console script
REQUESTS = 24


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'hushdb.sqlite3'}"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


def _cli(args: list[str], env: dict[str, str]) -> str:
    done = subprocess.run([*HUSHDB, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_a_console_session_works_on_every_worker(tmp_path: Path, database_url: str) -> None:
    data_dir = tmp_path / "data"
    env = {**os.environ, "HUSHDB_DATABASE_URL": database_url, "HUSHDB_LOG_LEVEL": "WARNING"}
    env.pop("HUSHDB_MASTER_KEY", None)
    _cli(["init", "--data-dir", str(data_dir)], env)
    out = _cli(["apikeys", "create", "--subject", "cora", "--json", "--data-dir", str(data_dir)], env)
    token = json.loads(out)["token"]
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    with (tmp_path / "server.log").open("wb") as log:
        server = subprocess.Popen(
            [*HUSHDB, "serve", "--port", str(port), "--workers", "2", "--data-dir", str(data_dir)],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=log,
        )
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                if httpx.get(f"{base}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert server.poll() is None, (tmp_path / "server.log").read_text()
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.3)
        with httpx.Client(base_url=base, timeout=30) as client:
            page = client.get("/console/sign-in")
            csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
            assert csrf
            signed = client.post("/console/sign-in", data={"api_key": token, "csrf": csrf.group(1)})
            assert signed.status_code == 303, signed.text
            cookie = client.cookies.get("hush_console")
        assert cookie
        statuses = []
        for _ in range(REQUESTS):  # a new connection each time: either worker may answer
            with httpx.Client(base_url=base, timeout=30, cookies={"hush_console": cookie}) as one:
                statuses.append(one.get("/console/audit", follow_redirects=False).status_code)
        assert statuses == [200] * REQUESTS, statuses
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()

"""Erasures and key rotations from the command line while a real ``hushdb serve`` creates customers.

The story of issue 14: with the server running, ``hushdb erase ... --as dana``
and ``hushdb keys rotate --retire`` used to retire a KEK that the server went
on wrapping new customers' keys under, and those customers were lost.  Here
the server (its own process) creates customers over HTTP the whole time while
the CLI erases and rotates with retirement again and again; afterwards every
customer the server acknowledged is readable by the CLI, by the running
server and by a restarted one, and every erased customer by none.  On SQLite
and PostgreSQL.
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
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from api.cli import app

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def _server(data_dir: Path, env: dict[str, str], log: Path) -> Iterator[str]:
    """``hushdb serve`` in its own process; its log lines go to ``log`` (a pipe would fill and stall it)."""
    port = _free_port()
    log_file = log.open("ab")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from api.cli import main; main()",
            "serve",
            "--port",
            str(port),
            "--data-dir",
            str(data_dir),
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=log_file,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                raise AssertionError(f"hushdb serve exited: {log.read_text(errors='replace')[-2000:]}")
            try:
                if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError("hushdb serve did not come up within 60 s")
            time.sleep(0.2)
        yield base
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:  # pragma: no cover - a hung server
            proc.kill()
            proc.wait()
        log_file.close()


def test_cli_erasures_and_rotations_beside_a_live_server_lose_nobody(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data_dir = tmp_path / "data"
    env = {**os.environ, "HUSHDB_DATABASE_URL": database_url, "HUSHDB_HOME": str(data_dir)}
    env.pop("HUSHDB_MASTER_KEY", None)
    monkeypatch.setenv("HUSHDB_DATABASE_URL", database_url)
    monkeypatch.delenv("HUSHDB_MASTER_KEY", raising=False)
    runner = CliRunner()

    def cli(*args: str, ok: tuple[int, ...] = (0,)) -> str:
        result = runner.invoke(app, [*args, "--data-dir", str(data_dir)])
        assert result.exit_code in ok, (args, result.exit_code, result.output)
        return result.stdout

    cli("init")
    token = cli("apikeys", "create", "--subject", "alice").strip().splitlines()[-1]
    headers = {"Authorization": f"Bearer {token}", "X-Purpose": "service"}

    created: list[str] = []
    failures: list[str] = []
    stop = threading.Event()

    def create_customers(base: str) -> None:
        with httpx.Client(base_url=base, headers=headers, timeout=30) as client:
            i = 0
            while not stop.is_set() and i < 250:
                ext = f"S{i:04d}"
                r = client.post("/customers", json={"external_id": ext, "full_name": f"Served {ext}"})
                if r.status_code == 201:
                    created.append(ext)
                else:
                    failures.append(f"{ext}: {r.status_code} {r.text[:200]}")
                i += 1

    erased: list[str] = []
    with _server(data_dir, env, tmp_path / "server.log") as base:
        creator = threading.Thread(target=create_customers, args=(base,))
        creator.start()
        try:
            deadline = time.monotonic() + 30
            while len(created) < 12 and time.monotonic() < deadline:
                time.sleep(0.05)
            assert len(created) >= 12, failures
            for round_ in range(4):
                target = created[round_ * 3]
                receipt = json.loads(cli("erase", target, "--as", "dana", "--json"))
                assert receipt["external_id"] == target and receipt["backups_protected"] is True
                erased.append(target)
                cli("keys", "rotate", "--retire")
        finally:
            stop.set()
            creator.join()
        assert failures == []
        live = [e for e in created if e not in erased]
        assert len(live) >= 10
        with httpx.Client(base_url=base, headers=headers, timeout=30) as client:
            for ext in live:  # the running server, which never restarted through the rotations
                r = client.get(f"/customers/{ext}")
                assert r.status_code == 200 and r.json()["full_name"] == f"Served {ext}", (ext, r.text)
            for ext in erased:
                assert client.get(f"/customers/{ext}").status_code in (404, 410)
    # the command line, as a new process would
    for ext in live[-3:] + live[:2]:
        shown = json.loads(cli("customers", "show", ext, "--as", "alice", "--purpose", "service", "--json"))
        assert shown["full_name"] == f"Served {ext}"
    for ext in erased:
        cli("customers", "show", ext, "--as", "alice", "--purpose", "service", ok=(4,))
    from api.wiring import open_store
    from core.config import load_settings

    hush = open_store(load_settings(data_dir))
    try:
        names = {
            str(r.values["external_id"]): r.values["full_name"]
            for r in hush.gateway.scan_customers(hush.context("alice", "service"))
        }
    finally:
        hush.close()
    assert names == {e: f"Served {e}" for e in live}
    # a restarted server
    with (
        _server(data_dir, env, tmp_path / "server.log") as base,
        httpx.Client(base_url=base, headers=headers, timeout=30) as client,
    ):
        for ext in live:
            r = client.get(f"/customers/{ext}")
            assert r.status_code == 200 and r.json()["full_name"] == f"Served {ext}", (ext, r.text)
        for ext in erased:
            assert client.get(f"/customers/{ext}").status_code in (404, 410)

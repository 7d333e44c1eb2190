"""``kill -9`` in the middle of ``hushdb keys rotate --retire``: a rerun finishes, nothing is lost.

The kill lands right after the rotation's first batch of re-wrapped keys
commits (the test watches the key store), so the process dies while
re-wrapping.  Wherever it lands, a
rerun must leave every data key under one current version, retire the old
one and keep every customer readable.  On SQLite and PostgreSQL.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import sqlalchemy as sa

from api.wiring import Hush, open_store
from core.config import Settings
from core.db import READ_ONLY_OPTION
from core.models import customer_keys_t, key_state_t
from core.records import CustomerInput

ROOT = Path(__file__).resolve().parents[2]
N = 5000


def _rotate_process(settings: Settings) -> subprocess.Popen[bytes]:
    env = {**os.environ, "HUSHDB_DATABASE_URL": settings.database_url}
    env.pop("HUSHDB_MASTER_KEY", None)
    return subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from api.cli import main; main()",
            "keys",
            "rotate",
            "--retire",
            "--data-dir",
            str(settings.data_dir),
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def test_kill_9_during_rotation_then_rerun(hush: Hush, settings: Settings) -> None:
    hush.writes.store.screen = None  # filling the store is not what is tested
    rows = [(i, CustomerInput(external_id=f"K{i}", full_name=f"Kept {i}", owner="alice")) for i in range(N)]
    assert hush.writes.import_customers(hush.context("alice", "service"), rows).imported == N
    proc = _rotate_process(settings)
    deadline = time.monotonic() + 60
    started = False
    rewrapped = (
        sa.select(sa.func.count()).select_from(customer_keys_t).where(customer_keys_t.c.kek_version == 2)
    )
    while time.monotonic() < deadline and proc.poll() is None:
        with hush.engine.connect() as conn:
            ro = conn.execution_options(**{READ_ONLY_OPTION: True})  # never competes for the write lock
            with ro.begin():
                started = ro.execute(rewrapped).scalar_one() > 0  # the first batch is re-wrapped
        if started:
            break
        time.sleep(0.002)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert started, "the rotation never re-wrapped a key"
    with hush.engine.connect() as conn:
        half = dict(
            conn.execute(
                sa.select(customer_keys_t.c.kek_version, sa.func.count()).group_by(
                    customer_keys_t.c.kek_version
                )
            ).all()
        )
    assert sum(half.values()) == N  # no key lost, whatever the kill interrupted
    rerun = _rotate_process(settings)
    assert rerun.wait(timeout=120) == 0
    hush.close()
    again = open_store(settings)
    try:
        with again.engine.connect() as conn:
            versions = set(conn.execute(sa.select(customer_keys_t.c.kek_version)).scalars())
            current = conn.execute(sa.select(key_state_t.c.current_version)).scalar_one()
        # 2 when the kill interrupted the re-wrap (the rerun resumed); 3 if it came too late
        assert versions == {current} and current in (2, 3)
        assert again.keyring.provider.versions() == (current,)
        names = {
            r.values["full_name"] for r in again.gateway.scan_customers(again.context("alice", "service"))
        }
        assert names == {f"Kept {i}" for i in range(N)}
    finally:
        again.close()

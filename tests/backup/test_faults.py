"""kill -9 in the middle of a backup or a restore: nothing looks complete, nothing half-applied, a rerun finishes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.backup.conftest import Store
from tests.backup.crash_runner import KILLED

ROOT = Path(__file__).resolve().parents[2]


def _run(store: Store, *args: str) -> int:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUSHDB_")}
    proc = subprocess.run(
        [sys.executable, "-m", "tests.backup.crash_runner", args[0], args[1], str(store.settings.data_dir),
         store.settings.database_url, *args[2:]],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode in (0, KILLED), proc.stderr[-2000:]
    return proc.returncode


def _leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name.startswith("."))


@pytest.mark.parametrize(
    "point", ["started", "snapshot_taken", "table:customers", "before_manifest", "before_rename"]
)
def test_killed_full_backup_leaves_nothing_complete(store: Store, point: str) -> None:
    out = store.tmp / "b" / "full"
    code = _run(store, "backup", point, str(out))
    if code == 0:
        pytest.skip(f"{point} is not on this engine's path")
    assert not out.exists()  # only a hidden partial directory may remain
    assert all(".partial-" in name for name in _leftovers(out.parent))
    r = store.cli("backup", "create", "--out", str(out))  # the rerun finishes and tidies up
    assert r.exit_code == 0, r.output
    assert _leftovers(out.parent) == []
    assert not [p for p in Path(store.settings.database_url.split("///")[-1]).parent.glob(".hushdb-backup-*")]
    assert store.cli("backup", "verify", str(out)).exit_code == 0


@pytest.mark.parametrize("point", ["table:customers", "before_rename"])
def test_killed_incremental_backup_leaves_nothing_complete(store: Store, point: str) -> None:
    b = store.tmp / "b"
    assert store.cli("backup", "create", "--out", str(b / "full")).exit_code == 0
    store.add(70, 2)
    assert _run(store, "backup", point, str(b / "inc"), str(b / "full")) == KILLED
    assert not (b / "inc").exists()
    r = store.cli("backup", "create", "--out", str(b / "inc"), "--incremental-from", str(b / "full"))
    assert r.exit_code == 0, r.output
    assert store.cli("backup", "verify", str(b / "inc")).exit_code == 0


@pytest.mark.parametrize(
    "point", ["staging_written", "full_loaded", "incrementals_applied", "before_swap", "swap"]
)
def test_killed_restore_changes_nothing_and_rerun_finishes(store: Store, point: str) -> None:
    b = store.tmp / "b"
    assert store.cli("backup", "create", "--out", str(b / "full")).exit_code == 0
    store.erase("R0")
    store.add(80, 2)
    r = store.cli("backup", "create", "--out", str(b / "inc"), "--incremental-from", str(b / "full"))
    assert r.exit_code == 0, r.output
    expected = store.readable()
    store.add(90, 1)  # after the newest backup: lost by the restore
    store.erase("R1")  # after the newest backup: stays erased
    before = store.fingerprint_of_data()
    code = _run(store, "restore", point, str(b / "inc"))
    if code == 0:
        pytest.skip(f"{point} is not on this engine's path")
    assert store.fingerprint_of_data() == before  # the old data, untouched
    r = store.cli("restore", str(b / "inc"), "--force")
    assert r.exit_code == 0, r.output
    assert store.readable() == {k: v for k, v in expected.items() if k != "R1"}
    assert {"R0", "R1"} <= store.erased()
    v = store.cli("audit", "verify")
    assert v.exit_code == 0, v.output
    data_dir = Path(store.settings.database_url.split("///")[-1]).parent
    if store.settings.database_url.startswith("sqlite"):
        assert not list(data_dir.glob(".hushdb-restore-*"))

"""Fixtures for the console: the app on a fresh store (SQLite and PostgreSQL), keys per subject.

The store runs on a copy of the shipped policy files, as shipped: the compliance
officer's review decisions rest on the shipped line
``p, compliance, compliance, customer, suppression, review, allow, -, all``.
"""

from __future__ import annotations

import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

# console_tools sits next to this file; --import-mode=importlib adds no path
if str(Path(__file__).parent) not in sys.path:
    sys.path.insert(0, str(Path(__file__).parent))

from console_tools import Console, make_console

from core.config import Settings, load_settings, shipped_policy_dir


@pytest.fixture
def policy_dir(tmp_path: Path) -> Path:
    d = tmp_path / "policies"
    shutil.copytree(shipped_policy_dir(), d, ignore=shutil.ignore_patterns("*.py", "__pycache__", "*.md"))
    return d


@pytest.fixture
def settings(data_dir: Path, database_url: str, policy_dir: Path) -> Settings:
    env = {
        "HUSHDB_DATABASE_URL": database_url,
        "HUSHDB_CHECKPOINT_EVERY": "50",
        "HUSHDB_POLICY_DIR": str(policy_dir),
    }
    return load_settings(data_dir, env=env)


@pytest.fixture
def console(hush: Any) -> Iterator[Console]:
    c = make_console(hush)
    with c.client:
        yield c

"""Fixtures for the HTTP API: an app on the ``hush`` fixture (SQLite and PostgreSQL), keys per subject.

Every test here also captures the server's logs (JSON lines, DEBUG and up) and
fails if any canary value — personal data that the tests send — shows up in them.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

# http_tools sits next to this file; --import-mode=importlib adds no path
if str(Path(__file__).parent) not in sys.path:
    sys.path.insert(0, str(Path(__file__).parent))

from http_tools import CANARIES, Api, LogCapture, make_api


@pytest.fixture(autouse=True)
def server_logs() -> Iterator[LogCapture]:
    """Every log line written during the test, formatted as the server writes it."""
    handler = LogCapture()
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)
    leaked = [c for c in CANARIES if c.lower() in handler.text.lower()]
    assert not leaked, f"personal data in the server logs: {leaked}"


@pytest.fixture
def api(hush: Any) -> Iterator[Api]:
    a = make_api(hush)
    with a.client:
        yield a

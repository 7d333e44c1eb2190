"""Fixtures for core.pii tests: one shared engine, and no network for any test here."""

from __future__ import annotations

import socket
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.pii import PiiEngine

# corpus_tools (shared with bench/pii.py) sits next to this file; --import-mode=importlib adds no path
if str(Path(__file__).parent) not in sys.path:
    sys.path.insert(0, str(Path(__file__).parent))


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Any connection attempt fails the test: analysis must run offline (spaCy, tldextract)."""

    def refuse(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("core.pii tried to use the network")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    return


@pytest.fixture(scope="session")
def engine() -> PiiEngine:
    return PiiEngine.create()

"""Fixtures for core.pii tests: one shared engine, and no network for any test here."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from core.pii import PiiEngine


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Any connection attempt fails the test: analysis must run offline (spaCy, tldextract)."""

    def refuse(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("core.pii tried to use the network")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    yield


@pytest.fixture(scope="session")
def engine() -> PiiEngine:
    return PiiEngine.create()

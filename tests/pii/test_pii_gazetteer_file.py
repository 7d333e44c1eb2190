"""The shipped lists are read line by line, and a damaged file is a configuration error."""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

import core.pii.gazetteer as gz
from core.errors import ConfigError


class _Files:
    def __init__(self, path: Path) -> None:
        self._path = path

    def joinpath(self, _name: str) -> Path:
        return self._path


@contextmanager
def shipped(monkeypatch: pytest.MonkeyPatch, path: Path) -> Iterator[None]:
    monkeypatch.setattr(gz.resources, "files", lambda _pkg: _Files(path))
    yield


def test_lines_are_read_one_by_one(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "list.txt.gz"
    path.write_bytes(gzip.compress(b"country\tfrance\nplace\tleeds\n"))
    with shipped(monkeypatch, path):
        assert list(gz.read_tagged_lines("list.txt.gz", "the list")) == [
            ("country", "france"),
            ("place", "leeds"),
        ]


@pytest.mark.parametrize(
    "damage",
    [
        lambda data: data[: len(data) // 2],  # cut short
        lambda data: data[:12] + bytes(b ^ 0xFF for b in data[12:40]) + data[40:],  # corrupt stream
        lambda data: b"not a gzip file",
    ],
)
def test_a_damaged_list_is_a_configuration_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, damage: object
) -> None:
    data = gzip.compress(("place\t" + "x" * 20 + "\n").encode() * 2000)
    path = tmp_path / "list.txt.gz"
    path.write_bytes(damage(data))  # type: ignore[operator]
    with (
        shipped(monkeypatch, path),
        pytest.raises(ConfigError, match=r"the list core/pii/data/list\.txt\.gz"),
    ):
        list(gz.read_tagged_lines("list.txt.gz", "the list"))

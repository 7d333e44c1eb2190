"""Key sources: file mode checks, env keys, wrong keys, rotation of versions."""

from __future__ import annotations

import base64
import os
from pathlib import Path

import pytest

from core.config import load_settings
from core.errors import KeySourceError, KeyUnavailableError, WrongKeyError
from core.keys import EnvKeyProvider, FileKeyProvider, KeyRing, StaticKeyProvider


def test_key_file_created_0600_and_reloads(tmp_path: Path) -> None:
    path = tmp_path / "master.key"
    p = FileKeyProvider.create(path)
    assert (path.stat().st_mode & 0o777) == 0o600
    again = FileKeyProvider(path)
    assert again.root_key() == p.root_key()
    assert again.kek(1) == p.kek(1)


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o660])
def test_world_or_group_readable_key_file_refused(tmp_path: Path, mode: int) -> None:
    path = tmp_path / "master.key"
    FileKeyProvider.create(path)
    os.chmod(path, mode)
    with pytest.raises(KeySourceError, match="0600"):
        FileKeyProvider(path)


def test_missing_key_file_names_the_path(tmp_path: Path) -> None:
    with pytest.raises(KeySourceError, match="does not exist"):
        FileKeyProvider(tmp_path / "nope.key")


def test_garbage_key_file_refused(tmp_path: Path) -> None:
    path = tmp_path / "master.key"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    os.write(fd, b"not json")
    os.close(fd)
    with pytest.raises(KeySourceError, match="not a valid"):
        FileKeyProvider(path)


def test_add_and_retire_versions(tmp_path: Path) -> None:
    path = tmp_path / "master.key"
    p = FileKeyProvider.create(path)
    assert p.add_version() == 2
    assert FileKeyProvider(path).versions() == (1, 2)
    assert p.retire_versions_below(2) == (1,)
    with pytest.raises(KeyUnavailableError):
        FileKeyProvider(path).kek(1)


def test_env_key_source_read_only() -> None:
    raw = os.urandom(32)
    settings = load_settings("/tmp/x", env={"HUSHDB_MASTER_KEY": base64.b64encode(raw).decode()})
    assert settings.key_source.kind == "env"
    p = EnvKeyProvider(raw)
    assert not p.rotatable
    with pytest.raises(KeySourceError, match="cannot rotate"):
        p.add_version()


@pytest.mark.parametrize("value", ["%%%", base64.b64encode(b"short").decode()])
def test_bad_env_key_refused(value: str) -> None:
    with pytest.raises(KeySourceError, match="HUSHDB_MASTER_KEY"):
        load_settings("/tmp/x", env={"HUSHDB_MASTER_KEY": value})


def test_wrap_bound_to_customer_and_version() -> None:
    ring = KeyRing(StaticKeyProvider())
    wrapped, version = ring.wrap("c1", b"k" * 32)
    assert ring.unwrap("c1", wrapped, version) == b"k" * 32
    with pytest.raises(WrongKeyError):
        ring.unwrap("c2", wrapped, version)
    other = KeyRing(StaticKeyProvider())
    with pytest.raises(WrongKeyError, match="in-memory key provider"):
        other.unwrap("c1", wrapped, version)


def test_static_provider_repr_hides_keys() -> None:
    p = StaticKeyProvider()
    assert p.root.hex() not in repr(p)
    assert all(k.hex() not in repr(p) for k in p.keks.values())

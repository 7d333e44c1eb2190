"""Key sources: file mode checks, env keys, wrong keys, rotation of versions."""

from __future__ import annotations

import base64
import os
from pathlib import Path

import pytest

from core.config import load_settings
from core.errors import KeySourceError, KeyUnavailableError, WrongKeyError
from core.keys import EnvKeyProvider, FileKeyProvider, KekLease, KeyRing, StaticKeyProvider


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
    assert p.retire_versions([1]) == (1,)
    with pytest.raises(KeyUnavailableError):
        FileKeyProvider(path).kek(1)
    with pytest.raises(KeySourceError, match="every key version"):
        p.retire_versions([2])
    assert FileKeyProvider(path).versions() == (2,)


def test_provider_rereads_the_key_file_for_a_version_it_lacks(tmp_path: Path) -> None:
    """Another process rotated: this one finds the new version by re-reading the file."""
    path = tmp_path / "master.key"
    here = FileKeyProvider.create(path)
    there = FileKeyProvider(path)
    assert there.add_version() == 2
    assert here.versions() == (1,)
    assert here.kek(2) == there.kek(2)
    assert here.versions() == (1, 2)


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
    wrapped, version = ring.wrap("c1", b"k" * 32, ring.observe(1))
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


def test_wrap_refuses_a_retired_or_superseded_version() -> None:
    provider = StaticKeyProvider()
    provider.add_version()
    ring = KeyRing(provider)
    old = ring.observe(1)
    new = ring.observe(2)  # the key store moved on: v1 is no longer current
    assert ring.wrap("c1", b"k" * 32, new)[1] == 2
    with pytest.raises(KeyUnavailableError, match="no longer current"):
        ring.wrap("c1", b"k" * 32, old)
    with pytest.raises(KeyUnavailableError):
        ring.observe(1)  # the key store never goes back
    ring.observe(2, retired=[1])
    with pytest.raises(KeyUnavailableError):
        ring.wrap("c1", b"k" * 32, KekLease(1))


def _key_bytes(provider: FileKeyProvider | StaticKeyProvider | EnvKeyProvider) -> list[bytes]:
    return [provider.root_key(), *(provider.kek(v) for v in provider.versions())]


def _leaks(text: str, secrets: list[bytes]) -> list[str]:
    forms = []
    for b in secrets:
        forms += [b.hex(), base64.b64encode(b).decode(), repr(b)[2:-1][:40]]
    return [f for f in forms if f in text]


def test_repr_of_key_sources_providers_and_rings_shows_no_key_bytes(tmp_path: Path) -> None:
    raw = os.urandom(32)
    settings = load_settings(tmp_path, env={"HUSHDB_MASTER_KEY": base64.b64encode(raw).decode()})
    assert _leaks(repr(settings.key_source), [raw]) == []
    assert _leaks(repr(settings), [raw]) == []
    env = EnvKeyProvider(raw)
    file = FileKeyProvider.create(tmp_path / "master.key")
    file.add_version()
    static = StaticKeyProvider()
    for provider in (env, file, static):
        secrets = _key_bytes(provider)
        ring = KeyRing(provider)
        ring.observe(provider.current_version())
        secrets += [ring.index_key, ring.audit_key, ring.pseudonym_key, ring.mask_hash_key]
        for text in (repr(provider), str(provider), repr(ring), str(ring), repr(ring.provider)):
            assert _leaks(text, secrets) == [], text

"""The checkpoint signing key: file mode, reload, public key export."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from audit.signing import (
    key_id_for,
    load_or_create_signer,
    load_public_key,
    load_signer,
    verify_signature,
)
from core.errors import KeySourceError


def test_key_file_is_created_0600_and_reloads_the_same_key(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "audit-signing.key"
    signer = load_or_create_signer(path)
    assert path.stat().st_mode & 0o777 == 0o600
    again = load_signer(path)
    assert again.key_id == signer.key_id == key_id_for(signer.public_key)
    message = b"checkpoint"
    assert verify_signature(again.public_key, message, signer.sign(message))
    assert not verify_signature(again.public_key, b"other", signer.sign(message))


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o644, 0o700, 0o666])
def test_key_file_with_a_wider_mode_is_refused(tmp_path: Path, mode: int) -> None:
    path = tmp_path / "audit-signing.key"
    load_or_create_signer(path)
    os.chmod(path, mode)
    with pytest.raises(KeySourceError):
        load_signer(path)
    with pytest.raises(KeySourceError):
        load_or_create_signer(path)


def test_read_only_key_file_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "audit-signing.key"
    signer = load_or_create_signer(path)
    os.chmod(path, 0o400)
    assert load_signer(path).key_id == signer.key_id


def test_public_key_export_round_trips_and_never_contains_the_private_key(tmp_path: Path) -> None:
    signer = load_or_create_signer(tmp_path / "k")
    pem = signer.public_key_pem()
    assert b"PRIVATE" not in pem
    assert key_id_for(load_public_key(pem)) == signer.key_id
    assert "PRIVATE" not in repr(signer)


def test_garbage_key_file_is_a_key_source_error(tmp_path: Path) -> None:
    path = tmp_path / "k"
    path.write_bytes(b"not a key")
    os.chmod(path, 0o600)
    with pytest.raises(KeySourceError):
        load_signer(path)
    with pytest.raises(KeySourceError):
        load_public_key(b"not a key")


def test_concurrent_creation_yields_one_complete_key(tmp_path: Path) -> None:
    import threading

    from audit.signing import load_or_create_signer

    path = tmp_path / "audit-signing.key"
    ids: list[str] = []
    threads = [
        threading.Thread(target=lambda: ids.append(load_or_create_signer(path).key_id)) for _ in range(8)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(ids)) == 1  # everyone uses the one key that won
    assert not list(tmp_path.glob(".*.tmp"))  # no temporary files left behind

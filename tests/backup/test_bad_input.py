"""Tampered, truncated, foreign, base-less backups and non-empty targets: one clear line, nothing changed."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from api.wiring import init_store
from core.config import load_settings
from core.keystore import keystore_path
from tests.backup.conftest import Store, one_line


@pytest.fixture
def chain(store: Store) -> tuple[Path, Path]:
    b = store.tmp / "b"
    assert store.cli("backup", "create", "--out", str(b / "full")).exit_code == 0
    store.add(40, 2)
    r = store.cli("backup", "create", "--out", str(b / "inc"), "--incremental-from", str(b / "full"))
    assert r.exit_code == 0, r.output
    return b / "full", b / "inc"


def _refused(store: Store, backup: Path, *extra: str, code: int | None = None) -> str:
    """`backup verify` and `restore` (over the live data, with --force) both refuse; the data is unchanged."""
    before = store.fingerprint_of_data()
    v = store.cli("backup", "verify", str(backup))
    assert v.exit_code != 0
    r = store.cli("restore", str(backup), "--force", *extra)
    assert r.exit_code != 0
    if code is not None:
        assert r.exit_code == code and v.exit_code == code
    assert store.fingerprint_of_data() == before
    assert not list(store.settings.data_dir.glob(".hushdb-restore-*"))
    return one_line(r)


def test_tampered_byte_is_refused(store: Store, chain: tuple[Path, Path]) -> None:
    full, _ = chain
    data = full / "data.enc"
    raw = bytearray(data.read_bytes())
    raw[len(raw) // 2] ^= 0x01
    data.write_bytes(bytes(raw))
    assert "modified" in _refused(store, full, code=1)


def test_tampered_chunk_with_matching_manifest_hash_still_fails_authentication(
    store: Store, chain: tuple[Path, Path]
) -> None:
    """Even with the manifest's hash check out of the way, AES-GCM refuses the flipped byte."""
    full, _ = chain
    from core.backup import check_chain
    from core.backup.errors import BackupIntegrityError
    from core.backup.sealed import read_sealed

    data = full / "data.enc"
    raw = bytearray(data.read_bytes())
    raw[100] ^= 0x80
    data.write_bytes(bytes(raw))
    manifest = json.loads((full / "manifest.json").read_text())
    with pytest.raises(BackupIntegrityError, match="authentication"):
        for _ in read_sealed(data, b"\0" * 32, bytes.fromhex(manifest["id"])):
            pass
    del check_chain


def test_truncated_file_is_refused(store: Store, chain: tuple[Path, Path]) -> None:
    _, inc = chain
    data = inc / "data.enc"
    data.write_bytes(data.read_bytes()[:-7])
    assert "truncated" in _refused(store, inc, code=1)


def test_edited_manifest_is_refused(store: Store, chain: tuple[Path, Path]) -> None:
    full, _ = chain
    manifest = json.loads((full / "manifest.json").read_text())
    manifest["audit"]["head_seq"] += 1
    (full / "manifest.json").write_text(json.dumps(manifest))
    assert "signature" in _refused(store, full, code=1)


def test_missing_base_is_refused_and_found_with_base_dir(store: Store, chain: tuple[Path, Path]) -> None:
    full, inc = chain
    elsewhere = store.tmp / "archive"
    elsewhere.mkdir()
    shutil.move(str(full), str(elsewhere / "monday"))
    line = _refused(store, inc, code=1)
    assert "base backup" in line and "not found" in line
    ok = store.cli("backup", "verify", str(inc), "--base-dir", str(elsewhere))
    assert ok.exit_code == 0, ok.output


def test_mismatched_base_is_refused(store: Store, chain: tuple[Path, Path]) -> None:
    full, inc = chain
    shutil.rmtree(full)
    other = store.cli("backup", "create", "--out", str(full))  # a different full backup at the same place
    assert other.exit_code == 0
    line = _refused(store, inc, code=1)
    assert "not found" in line  # another id: the recorded base is missing


def test_backup_of_another_store_is_refused(store: Store, chain: tuple[Path, Path], tmp_path: Path) -> None:
    full, _ = chain
    other_dir = tmp_path / "other"
    other_dir.mkdir(mode=0o700)
    url = store.settings.database_url
    if url.startswith("sqlite"):
        url = f"sqlite:///{other_dir / 'hushdb.sqlite3'}"
        other = load_settings(other_dir, env={"HUSHDB_DATABASE_URL": url})
        init_store(other).close()
        env = {"HUSHDB_DATABASE_URL": url}
    else:
        pytest.skip("one PostgreSQL database per test: the other store is covered on SQLite")
    from typer.testing import CliRunner

    from api.cli import app

    r = CliRunner().invoke(app, ["restore", str(full), "--force", "--data-dir", str(other_dir)], env=env)
    assert r.exit_code == 2  # a backup of another store (README: exit 2), whichever key tells
    line = one_line(r)
    assert "another" in line  # signed by another store's key / another store's keys
    # and the same backup copied into a directory with the other store's signing key but our keys:
    shutil.copy(store.settings.signing_key_path, other_dir / "audit-signing.key")
    r = CliRunner().invoke(app, ["restore", str(full), "--force", "--data-dir", str(other_dir)], env=env)
    assert r.exit_code == 2
    assert "belongs to another store" in one_line(r)


def test_non_empty_target_is_refused_without_force(store: Store, chain: tuple[Path, Path]) -> None:
    full, _ = chain
    before = store.fingerprint_of_data()
    r = store.cli("restore", str(full))
    assert r.exit_code == 5
    assert "not empty" in one_line(r)
    assert store.fingerprint_of_data() == before


def test_out_directory_that_exists_is_refused(store: Store, chain: tuple[Path, Path]) -> None:
    full, _ = chain
    r = store.cli("backup", "create", "--out", str(full))
    assert r.exit_code == 2
    assert "already exists" in one_line(r)


def test_key_store_of_another_store_is_refused(
    store: Store, chain: tuple[Path, Path], tmp_path: Path
) -> None:
    """The backup's data names key store A; the key store present is another one: refused, nothing changed."""
    if not store.settings.database_url.startswith("sqlite"):
        pytest.skip("the PostgreSQL key store shares the database; covered on SQLite")
    full, _ = chain
    other_dir = tmp_path / "other"
    other_dir.mkdir(mode=0o700)
    other = load_settings(other_dir, env={"HUSHDB_DATABASE_URL": f"sqlite:///{other_dir / 'hushdb.sqlite3'}"})
    init_store(other).close()
    ours = keystore_path(store.settings.database_url)
    shutil.copy(other_dir / "keystore.sqlite3", ours)
    for suffix in ("-wal", "-shm"):
        Path(f"{ours}{suffix}").unlink(missing_ok=True)
    store.lose_data()
    r = store.cli("restore", str(full))
    assert r.exit_code == 2, r.output
    assert "key store" in one_line(r)
    assert not ours.with_name("hushdb.sqlite3").exists()

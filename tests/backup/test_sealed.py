"""The sealed file format and the row stream, without a database."""

from __future__ import annotations

import datetime as dt
import os
from decimal import Decimal
from pathlib import Path

import pytest

from audit.signing import Ed25519Signer
from core.backup.create import BackupMaker
from core.backup.errors import BackupIntegrityError
from core.backup.rows import (
    END_OF_STREAM,
    Section,
    encode_values,
    read_stream,
    section_end,
    section_header,
)
from core.backup.sealed import CHUNK_BYTES, SealedWriter, backup_key, read_sealed


def _seal(path: Path, key: bytes, bid: bytes, payload: bytes) -> None:
    w = SealedWriter(path, key, bid)
    w.write(payload)
    w.close()


def test_round_trip_across_chunks(tmp_path: Path) -> None:
    key, bid = os.urandom(32), os.urandom(16)
    payload = os.urandom(CHUNK_BYTES * 2 + 123)
    _seal(tmp_path / "data.enc", key, bid, payload)
    assert b"".join(read_sealed(tmp_path / "data.enc", key, bid)) == payload
    assert os.stat(tmp_path / "data.enc").st_mode & 0o777 == 0o600


@pytest.mark.parametrize("cut", [1, 17, CHUNK_BYTES + 40])
def test_a_file_cut_at_any_chunk_boundary_or_inside_fails(tmp_path: Path, cut: int) -> None:
    key, bid = os.urandom(32), os.urandom(16)
    path = tmp_path / "data.enc"
    _seal(path, key, bid, os.urandom(CHUNK_BYTES * 2))
    raw = path.read_bytes()
    path.write_bytes(raw[: len(raw) - cut])
    with pytest.raises(BackupIntegrityError):
        b"".join(read_sealed(path, key, bid))


def test_dropping_whole_trailing_chunks_fails(tmp_path: Path) -> None:
    """A file cut exactly after a non-final chunk: no chunk says it is the last."""
    key, bid = os.urandom(32), os.urandom(16)
    path = tmp_path / "data.enc"
    _seal(path, key, bid, os.urandom(CHUNK_BYTES * 2 + 5))
    raw = path.read_bytes()
    first_chunk_end = 24 + 4 + 12 + CHUNK_BYTES + 16
    path.write_bytes(raw[:first_chunk_end])
    with pytest.raises(BackupIntegrityError, match="truncated"):
        b"".join(read_sealed(path, key, bid))


def _chunks(raw: bytes) -> tuple[bytes, list[bytes]]:
    """(header, [whole chunk records]) of a sealed file."""
    head, rest, chunks = raw[:24], raw[24:], []
    while rest:
        n = 4 + 12 + int.from_bytes(rest[:4], "big")
        chunks.append(rest[:n])
        rest = rest[n:]
    return head, chunks


def test_reordered_or_removed_middle_chunks_fail(tmp_path: Path) -> None:
    key, bid = os.urandom(32), os.urandom(16)
    path = tmp_path / "data.enc"
    _seal(path, key, bid, os.urandom(CHUNK_BYTES * 3 + 9))
    head, chunks = _chunks(path.read_bytes())
    assert len(chunks) == 4
    for variant in (
        [chunks[1], chunks[0], chunks[2], chunks[3]],  # swapped
        [chunks[0], chunks[2], chunks[3]],  # one removed from the middle
        [chunks[0], chunks[1], chunks[2], chunks[2], chunks[3]],  # one repeated
        [chunks[0], chunks[3]],  # the last chunk moved up
    ):
        path.write_bytes(head + b"".join(variant))
        with pytest.raises(BackupIntegrityError, match="authentication"):
            b"".join(read_sealed(path, key, bid))


def test_a_file_relabelled_with_another_backup_id_fails(tmp_path: Path) -> None:
    """Same store key, another backup: rewriting the header's id does not make its chunks ours."""
    key, ours, theirs = os.urandom(32), os.urandom(16), os.urandom(16)
    path = tmp_path / "data.enc"
    _seal(path, key, theirs, b"their rows")
    raw = path.read_bytes()
    path.write_bytes(raw[:8] + ours + raw[24:])
    with pytest.raises(BackupIntegrityError, match="authentication"):
        list(read_sealed(path, key, ours))


def test_a_file_of_another_backup_or_name_fails(tmp_path: Path) -> None:
    key, bid = os.urandom(32), os.urandom(16)
    _seal(tmp_path / "data.enc", key, bid, b"hello")
    with pytest.raises(BackupIntegrityError, match="another backup"):
        list(read_sealed(tmp_path / "data.enc", key, os.urandom(16)))
    (tmp_path / "data.enc").rename(tmp_path / "index.enc")  # moved to another file name
    with pytest.raises(BackupIntegrityError, match="authentication"):
        list(read_sealed(tmp_path / "index.enc", key, bid))
    with pytest.raises(BackupIntegrityError, match="authentication"):
        list(read_sealed(tmp_path / "index.enc", backup_key(os.urandom(32)), bid))


def test_row_stream_round_trip_and_framing() -> None:
    section = Section("t", ("id", "a", "b", "c", "d", "e", "f"), (0,))
    row = (7, None, True, "zeé\u4e2d", b"\x00\xff", Decimal("12.30"), dt.datetime(2024, 5, 1, 12, 0, 0))
    stream = section_header(section) + b"R" + encode_values(row) + section_end(1) + END_OF_STREAM
    records = list(read_stream([stream[:5], stream[5:]]))
    assert [r.kind for r in records] == ["T", "R", "E"]
    assert records[1].values == row
    with pytest.raises(BackupIntegrityError, match="end marker"):
        list(read_stream([stream[:-1]]))
    bad_count = section_header(section) + b"R" + encode_values(row) + section_end(2) + END_OF_STREAM
    with pytest.raises(BackupIntegrityError, match="holds 1 records, not 2"):
        list(read_stream([bad_count]))


def test_key_material_never_in_repr(tmp_path: Path) -> None:
    import sqlalchemy as sa

    root = os.urandom(32)
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'x.sqlite3'}")
    try:
        maker = BackupMaker(engine=engine, root_key=root, signer=Ed25519Signer.generate())
        text = repr(maker)
    finally:
        engine.dispose()
    for form in (root.hex(), repr(root), root.hex()[:16]):
        assert form not in text

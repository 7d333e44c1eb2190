"""Encrypted, integrity-protected backup files (AES-256-GCM in authenticated chunks).

A sealed file is::

    MAGIC (8 bytes) | backup id (16 bytes) | chunk* |

and each chunk is ``u32 length | 12-byte nonce | ciphertext+tag`` of at most
:data:`CHUNK_BYTES` of plaintext.  The associated data of chunk ``i`` binds the
backup id, the file's name, ``i`` and whether it is the last chunk, so chunks
cannot be reordered, dropped, moved between files or backups, and a file cut
after any chunk fails (no chunk flagged last).  A file always has at least one
chunk (possibly empty) so that an empty payload is still authenticated.

The store's backup key is derived with HKDF from the key provider's root key
(:func:`backup_key`), which never rotates: any backup of this store decrypts
with the current key file, and nothing else does.  Each backup's files are
sealed under a key derived from that one and the backup id
(:func:`_backup_file_key`), so the random 96-bit nonces of one key are spent
by one backup only, however many backups the store makes.
"""

from __future__ import annotations

import hashlib
import os
import struct
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from core.backup.errors import BackupIntegrityError
from core.crypto import NONCE_BYTES, hkdf

MAGIC = b"HUSHBK1\n"
ID_BYTES = 16
CHUNK_BYTES = 1 << 20
_LEN = struct.Struct(">I")
_TAG_BYTES = 16


def backup_key(root: bytes) -> bytes:
    """The key that seals every backup file of the store with root key ``root``."""
    return hkdf(root, "hushdb/backup/v1")


def _backup_file_key(key: bytes, backup_id: bytes) -> bytes:
    return hkdf(key, "hushdb/backup/v1/files/" + backup_id.hex())


def _aad(backup_id: bytes, name: str, index: int, last: bool) -> bytes:
    return b"hushdb-backup/1|" + backup_id + b"|" + name.encode() + struct.pack(">QB", index, int(last))


class SealedWriter:
    """Write a sealed file; :meth:`close` writes the last chunk, fsyncs and returns (sha256, bytes)."""

    def __init__(self, path: Path, key: bytes, backup_id: bytes) -> None:
        self._aead = AESGCM(_backup_file_key(key, backup_id))
        self._id = backup_id
        self._name = path.name
        self._buffer = bytearray()
        self._index = 0
        self._hash = hashlib.sha256()
        self._size = 0
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        self._fh: BinaryIO = os.fdopen(fd, "wb")
        self._emit(MAGIC + backup_id)
        self.plain_bytes = 0

    def _emit(self, data: bytes) -> None:
        self._fh.write(data)
        self._hash.update(data)
        self._size += len(data)

    def _seal(self, plain: bytes, last: bool) -> None:
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._aead.encrypt(nonce, plain, _aad(self._id, self._name, self._index, last))
        self._emit(_LEN.pack(len(sealed)) + nonce + sealed)
        self._index += 1

    def write(self, data: bytes) -> None:
        self.plain_bytes += len(data)
        self._buffer += data
        while len(self._buffer) > CHUNK_BYTES:
            self._seal(bytes(self._buffer[:CHUNK_BYTES]), last=False)
            del self._buffer[:CHUNK_BYTES]

    def close(self) -> tuple[str, int]:
        self._seal(bytes(self._buffer), last=True)
        self._buffer.clear()
        self._fh.flush()
        os.fsync(self._fh.fileno())
        self._fh.close()
        return self._hash.hexdigest(), self._size

    def abort(self) -> None:
        self._fh.close()


def read_sealed(path: Path, key: bytes, backup_id: bytes) -> Iterator[bytes]:
    """The plaintext chunks of a sealed file; any damage raises :class:`BackupIntegrityError`."""
    name = path.name
    aead = AESGCM(_backup_file_key(key, backup_id))
    try:
        fh = path.open("rb")
    except OSError as exc:
        raise BackupIntegrityError(f"backup file {name} cannot be read: {exc.strerror}") from exc
    with fh:
        head = fh.read(len(MAGIC) + ID_BYTES)
        if len(head) < len(MAGIC) + ID_BYTES:
            raise BackupIntegrityError(f"backup file {name} is truncated (no header)")
        if head[: len(MAGIC)] != MAGIC:
            raise BackupIntegrityError(f"backup file {name} is not a hushdb backup file")
        if head[len(MAGIC) :] != backup_id:
            raise BackupIntegrityError(f"backup file {name} belongs to another backup")
        index = 0
        while True:
            raw_len = fh.read(_LEN.size)
            if not raw_len:
                raise BackupIntegrityError(f"backup file {name} is truncated (chunk {index} missing)")
            if len(raw_len) != _LEN.size:
                raise BackupIntegrityError(f"backup file {name} is truncated in chunk {index}")
            (length,) = _LEN.unpack(raw_len)
            if length < _TAG_BYTES or length > CHUNK_BYTES + _TAG_BYTES:
                raise BackupIntegrityError(f"backup file {name} is damaged at chunk {index}")
            nonce = fh.read(NONCE_BYTES)
            sealed = fh.read(length)
            if len(nonce) != NONCE_BYTES or len(sealed) != length:
                raise BackupIntegrityError(f"backup file {name} is truncated in chunk {index}")
            plain: bytes | None = None
            last = False
            for flag in (False, True):
                try:
                    plain = aead.decrypt(nonce, sealed, _aad(backup_id, name, index, flag))
                except InvalidTag:
                    continue
                last = flag
                break
            if plain is None:
                raise BackupIntegrityError(
                    f"backup file {name} fails authentication at chunk {index} (tampered, or another store's key)"
                )
            yield plain
            index += 1
            if last:
                if fh.read(1):
                    raise BackupIntegrityError(f"backup file {name} has data after its last chunk")
                return


def file_sha256(path: Path) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    try:
        with path.open("rb") as fh:
            while block := fh.read(1 << 20):
                digest.update(block)
                size += len(block)
    except OSError as exc:
        raise BackupIntegrityError(f"backup file {path.name} cannot be read: {exc.strerror}") from exc
    return digest.hexdigest(), size

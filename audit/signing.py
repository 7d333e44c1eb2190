"""The Ed25519 key that signs audit checkpoints (its own key, not the data key).

The private key lives in a PEM file created with mode 0600 and refused when its
mode is wider.  The public key can be exported (PEM) and pinned outside the
data directory, so that ``verify`` does not have to trust a file that an
attacker could replace.  A key id is the first 16 hex characters of
``sha256(raw public key)``.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import secrets
import stat
from pathlib import Path

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from core.errors import KeySourceError

KEY_ID_HEX_CHARS = 16


def key_id_for(public_key: Ed25519PublicKey) -> str:
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:KEY_ID_HEX_CHARS]


def public_key_pem(public_key: Ed25519PublicKey) -> bytes:
    return public_key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def load_public_key(pem: bytes) -> Ed25519PublicKey:
    """An Ed25519 public key from PEM (as written by :func:`public_key_pem`)."""
    try:
        key = serialization.load_pem_public_key(pem)
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
        raise KeySourceError("audit public key is not a valid PEM public key") from exc
    if not isinstance(key, Ed25519PublicKey):
        raise KeySourceError("audit public key is not an Ed25519 key")
    return key


def verify_signature(public_key: Ed25519PublicKey, message: bytes, signature: bytes) -> bool:
    try:
        public_key.verify(signature, message)
    except InvalidSignature:
        return False
    return True


class Ed25519Signer:
    """Signs checkpoint messages; implements :class:`audit.interfaces.CheckpointSigner`."""

    __slots__ = ("_private", "key_id", "public_key")

    def __init__(self, private_key: Ed25519PrivateKey) -> None:
        self._private = private_key
        self.public_key: Ed25519PublicKey = private_key.public_key()
        self.key_id: str = key_id_for(self.public_key)

    @classmethod
    def generate(cls) -> Ed25519Signer:
        return cls(Ed25519PrivateKey.generate())

    def sign(self, message: bytes) -> bytes:
        return self._private.sign(message)

    def public_key_pem(self) -> bytes:
        return public_key_pem(self.public_key)

    def __repr__(self) -> str:
        return f"Ed25519Signer(key_id={self.key_id!r})"


def _check_mode(path: Path) -> None:
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except OSError as exc:
        raise KeySourceError(f"cannot read audit signing key file {path}") from exc
    if mode & ~0o600:
        raise KeySourceError(
            f"audit signing key file {path} has mode {mode:04o}; it must be 0600 or narrower"
        )


def load_signer(path: Path) -> Ed25519Signer:
    """Load the signing key from ``path`` (refused unless mode 0600 or narrower)."""
    _check_mode(path)
    try:
        data = path.read_bytes()
        key = serialization.load_pem_private_key(data, password=None)
    except (OSError, ValueError, TypeError, UnsupportedAlgorithm) as exc:
        raise KeySourceError(f"audit signing key file {path} cannot be read as a PEM private key") from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise KeySourceError(f"audit signing key file {path} is not an Ed25519 key")
    return Ed25519Signer(key)


def load_or_create_signer(path: Path) -> Ed25519Signer:
    """Load the signing key, creating it (mode 0600) when the file does not exist.

    The key is written to a private temporary file and linked into place, so a
    concurrent process never reads a half-written key and a failed write leaves
    no empty key file behind.  If another process wins the race, its key is used.
    """
    if not path.exists():
        private = Ed25519PrivateKey.generate()
        pem = private.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as handle:
                handle.write(pem)
                handle.flush()
                os.fsync(handle.fileno())
            with contextlib.suppress(FileExistsError):  # another process created the key first: use it
                os.link(tmp, path)  # atomic create-if-absent
        except OSError as exc:
            raise KeySourceError(f"cannot create audit signing key file {path}") from exc
        finally:
            tmp.unlink(missing_ok=True)
    return load_signer(path)

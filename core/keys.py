"""Key management: master-key sources, key-encryption keys and derived keys.

Keys live outside the database.  A :class:`KeyProvider` hands out

* a *root* secret that never rotates, from which independent keys are
  derived with HKDF (blind indexes, audit record references, pseudonyms,
  hashed masks), and
* versioned *key-encryption keys* (KEKs) that wrap each customer's data key.

Providers: :class:`FileKeyProvider` (a JSON key file written by
``hushdb init``, refused unless mode 0600; rotatable),
:class:`EnvKeyProvider` (``HUSHDB_MASTER_KEY``; one fixed KEK, read-only) and
:class:`StaticKeyProvider` (in memory, for tests).  A KMS plugs in by
implementing the same Protocol.

:class:`KeyRing` is what the store uses: it wraps and unwraps data keys with
the associated data ``customer_keys|wrapped_key|<customer id>|<kek version>``,
and it checks that the key source matches the store before anything is
written (a wrong key is a clear error, never silent corruption).

Which KEK version is *current* is not the provider's opinion but the key
store's (:mod:`core.keystore`): every writing transaction reads it once and
gets a :class:`KekLease`, and :meth:`KeyRing.wrap` wraps under the leased
version only.  A version this process has seen superseded or retired is
refused, so a wrap under a retired version cannot happen.

Nothing here shows key bytes in ``repr()``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
import stat
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, runtime_checkable

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from core.config import KeySource
from core.crypto import NONCE_BYTES, associated_data, hkdf, new_key, seal
from core.errors import KeySourceError, KeyUnavailableError, WrongKeyError

KEY_FILE_FORMAT = "hushdb-keys/1"


@runtime_checkable
class KeyProvider(Protocol):
    def describe(self) -> str: ...

    def root_key(self) -> bytes: ...

    def kek(self, version: int) -> bytes: ...

    def current_version(self) -> int: ...

    def versions(self) -> tuple[int, ...]: ...

    @property
    def rotatable(self) -> bool: ...

    def add_version(self) -> int: ...

    def retire_versions(self, versions: Iterable[int]) -> tuple[int, ...]: ...

    def refresh(self) -> None: ...


@dataclass(frozen=True, slots=True)
class KekLease:
    """The KEK version that the key store says is current, read inside one writing transaction.

    Made by :func:`core.keystore.read_current` only; valid for that
    transaction (PostgreSQL holds the state row ``FOR SHARE`` until commit,
    SQLite the write lock), so a rotation cannot switch versions under it.
    """

    version: int


@dataclass
class StaticKeyProvider:
    """In-memory keys for tests: rotatable, never touches disk."""

    root: bytes = field(default_factory=new_key, repr=False)
    keks: dict[int, bytes] = field(default_factory=lambda: {1: new_key()}, repr=False)

    def describe(self) -> str:
        return "in-memory key provider"

    def root_key(self) -> bytes:
        return self.root

    def kek(self, version: int) -> bytes:
        try:
            return self.keks[version]
        except KeyError as exc:
            raise KeyUnavailableError(f"key version {version} is not held by {self.describe()}") from exc

    def current_version(self) -> int:
        return max(self.keks)

    def versions(self) -> tuple[int, ...]:
        return tuple(sorted(self.keks))

    @property
    def rotatable(self) -> bool:
        return True

    def add_version(self) -> int:
        version = self.current_version() + 1
        self.keks[version] = new_key()
        return version

    def retire_versions(self, versions: Iterable[int]) -> tuple[int, ...]:
        gone = tuple(v for v in sorted(set(versions)) if v in self.keks)
        for v in gone:
            del self.keks[v]
        return gone

    def refresh(self) -> None:
        return None


class EnvKeyProvider:
    """Keys from ``HUSHDB_MASTER_KEY``: root = that key, KEK v1 derived from it. Read-only."""

    def __init__(self, master: bytes) -> None:
        if len(master) != 32:
            raise KeySourceError("environment variable HUSHDB_MASTER_KEY must decode to 32 bytes")
        self._root = master
        self._kek = hkdf(master, "hushdb/kek/v1")

    def describe(self) -> str:
        return "environment variable HUSHDB_MASTER_KEY"

    def root_key(self) -> bytes:
        return self._root

    def kek(self, version: int) -> bytes:
        if version != 1:
            raise KeyUnavailableError(f"key version {version} is not held by {self.describe()}")
        return self._kek

    def current_version(self) -> int:
        return 1

    def versions(self) -> tuple[int, ...]:
        return (1,)

    @property
    def rotatable(self) -> bool:
        return False

    def add_version(self) -> int:
        raise KeySourceError(f"{self.describe()} cannot rotate keys; use a key file or a KMS")

    def retire_versions(self, versions: Iterable[int]) -> tuple[int, ...]:
        raise KeySourceError(f"{self.describe()} cannot retire keys; use a key file or a KMS")

    def refresh(self) -> None:
        return None

    def __repr__(self) -> str:
        return "EnvKeyProvider(<key material hidden>)"


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(text: object, what: str, source: str) -> bytes:
    if not isinstance(text, str):
        raise KeySourceError(f"{source}: {what} is missing")
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise KeySourceError(f"{source}: {what} is not valid base64") from exc
    if len(raw) != 32:
        raise KeySourceError(f"{source}: {what} must be 32 bytes")
    return raw


def write_secret_file(path: Path, content: bytes) -> None:
    """Write ``content`` to ``path`` atomically with mode 0600 (tmp file, fsync, rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    if tmp.exists():
        tmp.unlink()
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, content)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def check_secret_file_mode(path: Path, what: str) -> None:
    """Refuse a secret file that others could read or write (fail closed)."""
    try:
        st = path.stat()
    except FileNotFoundError as exc:
        raise KeySourceError(f"{what} {path} does not exist (run `hushdb init`)") from exc
    except OSError as exc:
        raise KeySourceError(f"{what} {path} cannot be read: {exc.strerror}") from exc
    if stat.S_IMODE(st.st_mode) & 0o077:
        raise KeySourceError(f"{what} {path} has mode {stat.S_IMODE(st.st_mode):04o}; it must be 0600")


class FileKeyProvider:
    """Keys in a JSON key file (mode 0600): a root secret and versioned KEKs."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._root = b""
        self._keks: dict[int, bytes] = {}
        self._load()

    @classmethod
    def create(cls, path: Path) -> FileKeyProvider:
        if path.exists():
            raise KeySourceError(f"key file {path} already exists; refusing to overwrite it")
        doc = {"format": KEY_FILE_FORMAT, "root": _b64(new_key()), "keks": {"1": _b64(new_key())}}
        write_secret_file(path, json.dumps(doc, indent=2).encode())
        return cls(path)

    def _load(self) -> None:
        source = self.describe()
        check_secret_file_mode(self._path, "key file")
        try:
            doc = json.loads(self._path.read_bytes())
        except (OSError, ValueError) as exc:
            raise KeySourceError(f"{source} is not a valid hushdb key file") from exc
        if not isinstance(doc, dict) or doc.get("format") != KEY_FILE_FORMAT:
            raise KeySourceError(f"{source} is not a {KEY_FILE_FORMAT} key file")
        keks = doc.get("keks")
        if not isinstance(keks, dict) or not keks:
            raise KeySourceError(f"{source} holds no key-encryption keys")
        parsed: dict[int, bytes] = {}
        for name, value in keks.items():
            if not str(name).isdigit():
                raise KeySourceError(f"{source}: key version {name!r} is not a number")
            parsed[int(name)] = _unb64(value, f"key version {name}", source)
        self._root = _unb64(doc.get("root"), "root key", source)
        self._keks = parsed

    def _save(self) -> None:
        doc = {
            "format": KEY_FILE_FORMAT,
            "root": _b64(self._root),
            "keks": {str(v): _b64(k) for v, k in sorted(self._keks.items())},
        }
        write_secret_file(self._path, json.dumps(doc, indent=2).encode())

    def describe(self) -> str:
        return f"key file {self._path}"

    def root_key(self) -> bytes:
        return self._root

    def kek(self, version: int) -> bytes:
        if version not in self._keks:
            self._load()  # another process may have rotated
        try:
            return self._keks[version]
        except KeyError as exc:
            raise KeyUnavailableError(f"key version {version} is not held by {self.describe()}") from exc

    def current_version(self) -> int:
        return max(self._keks)

    def versions(self) -> tuple[int, ...]:
        return tuple(sorted(self._keks))

    @property
    def rotatable(self) -> bool:
        return True

    def add_version(self) -> int:
        self._load()
        version = max(self._keks) + 1
        self._keks[version] = new_key()
        self._save()
        return version

    def retire_versions(self, versions: Iterable[int]) -> tuple[int, ...]:
        """Delete these versions from the key file (the caller has checked that nothing uses them)."""
        self._load()
        gone = tuple(v for v in sorted(set(versions)) if v in self._keks)
        if len(gone) == len(self._keks):
            raise KeySourceError(f"refusing to delete every key version from {self.describe()}")
        for v in gone:
            del self._keks[v]
        if gone:
            self._save()
        return gone

    def refresh(self) -> None:
        """Re-read the key file (another process may have added a version)."""
        self._load()

    def __repr__(self) -> str:
        return f"FileKeyProvider({str(self._path)!r}, versions={list(self.versions())})"


def open_key_provider(source: KeySource) -> KeyProvider:
    if source.kind == "env":
        assert source.env_key is not None
        return EnvKeyProvider(source.env_key)
    assert source.path is not None
    return FileKeyProvider(source.path)


class KeyRing:
    """The keys the store works with, derived from one :class:`KeyProvider`."""

    def __init__(self, provider: KeyProvider) -> None:
        self.provider = provider
        root = provider.root_key()
        self.index_key = hkdf(root, "hushdb/blind-index/v1")
        self.audit_key = hkdf(root, "hushdb/audit-refs/v1")
        self.pseudonym_key = hkdf(root, "hushdb/pseudonym/v1")
        self.mask_hash_key = hkdf(root, "hushdb/mask-hash/v1")
        self.fingerprint = hkdf(root, "hushdb/fingerprint/v1").hex()
        self._aeads: dict[int, AESGCM] = {}
        self._current = 0  # the newest current version the key store has shown this process
        self._retired: set[int] = set()

    def __repr__(self) -> str:
        return f"KeyRing({self.provider.describe()}, current={self._current or None})"

    # -- the key store's view (see core.keystore) -------------------------------------

    def observe(self, current: int, retired: Iterable[int] = ()) -> KekLease:
        """Record what the key store says (current version, retired versions); return a lease on current.

        Refuses a "current" version that this process already knows to be
        retired or older than a current version it has seen (the key store
        never goes back), and makes sure the provider holds the version,
        re-reading the key file first when it does not.
        """
        self._retired.update(retired)
        for v in retired:
            self.forget(v)
        if current in self._retired:
            raise KeyUnavailableError(f"key version {current} is retired; the key store is inconsistent")
        if current < self._current:
            raise KeyUnavailableError(
                f"the key store names key version {current} as current after version {self._current}"
            )
        self._aead(current)  # FileKeyProvider re-reads its file for a version it does not hold yet
        self._current = current
        return KekLease(current)

    def hint(self) -> KekLease | None:
        """The newest lease this process has seen: for work prepared ahead of its transaction.

        A key wrapped under it is stored only if the writing transaction
        reads the same version (see :meth:`core.store.CustomerStore.insert_keys`).
        """
        return KekLease(self._current) if self._current else None

    def is_current(self, version: int) -> bool:
        return version == self._current and version not in self._retired

    def _aead(self, version: int) -> AESGCM:
        aead = self._aeads.get(version)
        if aead is None:
            aead = self._aeads[version] = AESGCM(self.provider.kek(version))
        return aead

    def forget(self, version: int) -> None:
        self._aeads.pop(version, None)

    def check_value(self, version: int) -> bytes:
        """A value that proves possession of KEK ``version`` without revealing it."""
        return hmac.new(self.provider.kek(version), b"hushdb/kek-check/v1", hashlib.sha256).digest()

    def pseudonym(self, customer_id: str) -> str:
        return "p_" + hmac.new(self.pseudonym_key, customer_id.encode(), hashlib.sha256).hexdigest()[:24]

    def wrap_ahead(self, customer_id: str, data_key: bytes) -> tuple[bytes, int]:
        """Wrap under the newest version seen (:meth:`hint`), for work prepared before its transaction.

        Provisional: :meth:`core.store.CustomerStore.insert_keys` stores such
        a key only when its transaction reads the same version, and wraps it
        again otherwise; nothing wrapped here is stored under a stale version.
        """
        v = self._current
        if not v:
            raise KeyUnavailableError("no current key version yet: the key store was not read")
        aad = associated_data("customer_keys", "wrapped_key", customer_id, v)
        return seal(self._aead(v), data_key, aad), v

    def wrap(self, customer_id: str, data_key: bytes, lease: KekLease) -> tuple[bytes, int]:
        """Wrap ``data_key`` under the leased (current) KEK version; never under a retired or older one."""
        v = lease.version
        if v in self._retired or v < self._current:
            raise KeyUnavailableError(f"key version {v} is no longer current; refusing to wrap under it")
        aad = associated_data("customer_keys", "wrapped_key", customer_id, v)
        return seal(self._aead(v), data_key, aad), v

    def unwrap(self, customer_id: str, wrapped: bytes, version: int) -> bytes:
        aad = associated_data("customer_keys", "wrapped_key", customer_id, version)
        aead = self._aeads.get(version) or self._aead(version)
        blob = bytes(wrapped)
        if len(blob) >= 1 + NONCE_BYTES + 16 and blob[0] == 1:
            try:
                return aead.decrypt(blob[1 : 1 + NONCE_BYTES], blob[1 + NONCE_BYTES :], aad)
            except InvalidTag:
                pass
        raise WrongKeyError(
            f"{self.provider.describe()} cannot unwrap the data key of customer {customer_id} "
            f"(key version {version}): wrong key or corrupted key record"
        )

"""The signed ``manifest.json`` of a backup and the chain of incremental bases.

The manifest is one JSON object; ``signature`` is the base64 Ed25519
signature (the audit signing key, :mod:`audit.signing`) over the canonical
JSON of every other field, and ``key_id`` names the key.  It records the
format, backup id, kind (full/incremental), engine, schema (Alembic)
version, the store's key fingerprint, the audit head and latest checkpoint,
row counts per table, the sha256 and size of every file, the creation time
and, for an incremental, its base: id, sha256 of the base's manifest file,
and where the base was (relative to this backup's directory, and absolute).

Locating bases: for each link the restore looks in every ``--base-dir``
given (the directory itself, then each of its subdirectories) for a backup
with the recorded id, then at the recorded relative path, then at the
recorded absolute path.  The first candidate whose manifest id matches is
used; its manifest's sha256 must equal the recorded one.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import stat
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from audit.events import canonical_json
from audit.signing import Ed25519Signer, key_id_for, verify_signature
from core.backup.errors import BackupChainError, BackupError, BackupIntegrityError, ForeignBackupError
from core.backup.sealed import file_sha256

FORMAT = "hushdb-backup/1"
MANIFEST_NAME = "manifest.json"
DATA_NAME = "data.enc"
INDEX_NAME = "index.enc"
MAX_MANIFEST_BYTES = 4 << 20
MAX_CHAIN = 10_000


def sign_manifest(body: dict[str, Any], signer: Ed25519Signer) -> bytes:
    doc = dict(body)
    doc["key_id"] = signer.key_id
    doc.pop("signature", None)
    signature = signer.sign(canonical_json(doc).encode("utf-8"))
    doc["signature"] = base64.b64encode(signature).decode("ascii")
    return (json.dumps(doc, sort_keys=True, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


@dataclass(frozen=True, slots=True)
class Backup:
    """A backup directory whose manifest parsed and whose signature verified."""

    path: Path
    manifest: dict[str, Any]
    manifest_sha256: str

    @property
    def id(self) -> str:
        return str(self.manifest["id"])

    @property
    def kind(self) -> str:
        return str(self.manifest["kind"])

    @property
    def raw_id(self) -> bytes:
        return bytes.fromhex(self.id)

    @property
    def base(self) -> dict[str, Any] | None:
        base = self.manifest.get("base")
        return base if isinstance(base, dict) else None

    @property
    def head_seq(self) -> int:
        return int(self.manifest["audit"]["head_seq"])

    def file(self, name: str) -> Path:
        return self.path / name

    def check_files(self) -> None:
        """Every file the manifest names has its recorded size and sha256."""
        files = self.manifest.get("files")
        if not isinstance(files, dict) or not files:
            raise BackupIntegrityError(f"backup {self.path} lists no files")
        for name in (DATA_NAME, *([INDEX_NAME] if INDEX_NAME in files else [])):
            if not isinstance(files.get(name), dict):
                raise BackupIntegrityError(f"backup {self.path} does not list its file {name}")
        for name, info in files.items():
            if not isinstance(name, str) or name in ("", ".", "..") or Path(name).name != name:
                raise BackupIntegrityError(f"backup {self.path} names a file outside itself")
            path = self.path / name
            try:
                st = path.stat()
            except OSError:
                st = None
            if st is None or not stat.S_ISREG(st.st_mode):
                raise BackupIntegrityError(f"backup {self.path} is missing its file {name}")
            if not isinstance(info, dict) or st.st_size != info.get("bytes"):  # before reading it: bounded
                raise BackupIntegrityError(f"backup file {name} in {self.path} is truncated or extended")
            digest, size = file_sha256(path)
            if size != info.get("bytes"):
                raise BackupIntegrityError(f"backup file {name} in {self.path} is truncated or extended")
            if not hmac.compare_digest(digest, str(info.get("sha256"))):
                raise BackupIntegrityError(f"backup file {name} in {self.path} was modified")


_REQUIRED = (
    "format",
    "id",
    "kind",
    "engine",
    "schema_version",
    "store",
    "audit",
    "tables",
    "files",
    "created_at",
)


def load_backup(path: Path, public_key: Ed25519PublicKey) -> Backup:
    """Read and authenticate ``path/manifest.json`` (signature, format, required fields)."""
    mpath = path / MANIFEST_NAME
    if not path.is_dir():
        raise BackupError(f"backup directory {path} does not exist")
    try:
        # O_NONBLOCK: a FIFO (or a device) named manifest.json must not block the reader
        fd = os.open(mpath, os.O_RDONLY | os.O_NONBLOCK)
    except FileNotFoundError:
        raise BackupIntegrityError(
            f"{path} has no {MANIFEST_NAME} (not a backup, or an incomplete one)"
        ) from None
    except OSError as exc:
        raise BackupError(f"cannot read {mpath}: {exc.strerror}") from exc
    try:
        with os.fdopen(fd, "rb") as fh:
            if not stat.S_ISREG(os.fstat(fh.fileno()).st_mode):
                raise BackupIntegrityError(f"{mpath} is not a regular file")
            raw = fh.read(MAX_MANIFEST_BYTES + 1)
    except OSError as exc:
        raise BackupError(f"cannot read {mpath}: {exc.strerror}") from exc
    if len(raw) > MAX_MANIFEST_BYTES:
        raise BackupIntegrityError(f"{mpath} is too large to be a manifest")
    try:
        doc = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise BackupIntegrityError(f"{mpath} is not valid JSON (damaged or truncated)") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise BackupIntegrityError(f"{mpath} is not a {FORMAT} manifest")
    signature = doc.pop("signature", None)
    if not isinstance(signature, str):
        raise BackupIntegrityError(f"{mpath} is not signed")
    if doc.get("key_id") != key_id_for(public_key):
        raise ForeignBackupError(f"{mpath} is signed by another audit signing key (another store's backup)")
    try:
        sig = base64.b64decode(signature, validate=True)
    except ValueError:
        raise BackupIntegrityError(f"{mpath} has a malformed signature") from None
    if not verify_signature(public_key, canonical_json(doc).encode("utf-8"), sig):
        raise BackupIntegrityError(f"{mpath} signature does not verify (the manifest was modified)")
    missing = [k for k in _REQUIRED if k not in doc]
    if missing or doc["kind"] not in ("full", "incremental"):
        raise BackupIntegrityError(f"{mpath} lacks {', '.join(missing) or 'a valid kind'}")
    try:
        bytes.fromhex(str(doc["id"]))
    except ValueError:
        raise BackupIntegrityError(f"{mpath} has a malformed backup id") from None
    return Backup(path=path, manifest=doc, manifest_sha256=hashlib.sha256(raw).hexdigest())


def _candidates(child: Backup, base_dirs: Sequence[Path]) -> list[Path]:
    link = child.base or {}
    base_id = str(link.get("id", ""))
    found: list[Path] = []
    for d in base_dirs:
        if (d / MANIFEST_NAME).is_file():
            found.append(d)
        if d.is_dir():
            found.extend(sorted(p for p in d.iterdir() if p.is_dir() and (p / MANIFEST_NAME).is_file()))
    rel = link.get("path_relative")
    if isinstance(rel, str):
        found.append((child.path / rel).resolve())
    absolute = link.get("path_absolute")
    if isinstance(absolute, str):
        found.append(Path(absolute))
    # the id check happens when a candidate's manifest is read
    return found if base_id else []


def find_base(child: Backup, public_key: Ed25519PublicKey, base_dirs: Sequence[Path]) -> Backup:
    link = child.base
    if link is None:
        raise BackupChainError(f"backup {child.path} is incremental but names no base")
    base_id = str(link.get("id"))
    for candidate in _candidates(child, base_dirs):
        if not (candidate / MANIFEST_NAME).is_file():
            continue
        try:
            base = load_backup(candidate, public_key)
        except BackupError:
            continue
        if base.id != base_id:
            continue
        if base.manifest_sha256 != link.get("manifest_sha256"):
            raise BackupChainError(
                f"base backup {base_id} at {candidate} does not match the one backup {child.id} was made on"
            )
        return base
    raise BackupChainError(
        f"base backup {base_id} of {child.path} not found (looked at {link.get('path_relative')!r}, "
        f"{link.get('path_absolute')!r} and --base-dir)"
    )


def resolve_chain(newest: Backup, public_key: Ed25519PublicKey, base_dirs: Sequence[Path]) -> list[Backup]:
    """[full, incremental, ..., newest]; every link authenticated and matched by id and manifest hash."""
    chain = [newest]
    while chain[-1].kind == "incremental":
        if len(chain) > MAX_CHAIN:
            raise BackupChainError("backup chain is too long (a loop?)")
        child = chain[-1]
        base = find_base(child, public_key, base_dirs)
        if any(b.id == base.id for b in chain):
            raise BackupChainError(f"backup chain loops at {base.id}")
        if int(base.head_seq) > int(child.head_seq):
            raise BackupChainError(f"base backup {base.id} is newer than {child.id}")
        chain.append(base)
    chain.reverse()
    return chain

"""Signed checkpoints of the audit chain, the signed head, and the witness file.

A checkpoint says "the chain had ``seq`` events and its head hash was
``hash`` at ``ts``", signed with the audit signing key over
:func:`checkpoint_message`.  Each one is stored in ``audit_checkpoints`` (in
the same transaction as the events it covers) and later appended to the
WITNESS: a JSON-lines file outside the database (``checkpoints.jsonl``; by
default in the data directory, better on another host: ``HUSHDB_AUDIT_WITNESS``,
see the README's audit section).

The signed head (:func:`head_message`, another domain, so a checkpoint's
signature can never pass for a head's or the reverse) is re-signed by every
transaction that appends events and lives in ``audit_head``: it vouches for
the newest event at all times, so there is no unsigned tail.  Deleting the
newest events AND putting back an older signed head is only detectable
against the witness (or a pinned copy of a newer head), which is why the
witness belongs on storage that the database's administrators cannot rewrite.

The database row is the outbox: :meth:`audit.log.AuditLog.publish_checkpoints`
copies rows that are already *committed* to the file, so a checkpoint of an
event that was rolled back can never reach the file.  The file is what
detects a truncated tail or an older copy of the database restored.
"""

from __future__ import annotations

import base64
import binascii
import fcntl
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from audit.events import canonical_json
from core.errors import AuditError

MESSAGE_DOMAIN = "hushdb.audit.checkpoint.v1"
HEAD_DOMAIN = "hushdb.audit.head.v1"
WITNESS_FILE_NAME = "checkpoints.jsonl"
ARCHIVE_INFIX = ".before-restore-"
"""A restore keeps the witness it replaced as ``<witness>.before-restore-<backup id>`` (never modified)."""


def head_message(seq: int, head_hash: str, key_id: str) -> bytes:
    """The exact bytes signed for the chain head (``audit_head.head_signature``)."""
    body = {"domain": HEAD_DOMAIN, "hash": head_hash, "key_id": key_id, "seq": seq}
    return canonical_json(body).encode("utf-8")


def witness_file(location: Path) -> Path:
    """The witness file of a location: ``DIR/checkpoints.jsonl`` for a directory, else the file itself."""
    return location / WITNESS_FILE_NAME if location.is_dir() else location


def archived_witness(witness: Path, backup_id: str) -> Path:
    """Where a restore of ``backup_id`` keeps the witness as it was (``<witness>.before-restore-<id12>``)."""
    return witness.with_name(f"{witness.name}{ARCHIVE_INFIX}{backup_id[:12]}")


def archived_witnesses(witness: Path) -> list[Path]:
    """The witness copies that restores set aside beside ``witness`` (see :func:`archived_witness`)."""
    try:
        prefix = f"{witness.name}{ARCHIVE_INFIX}"
        return sorted(p for p in witness.parent.iterdir() if p.name.startswith(prefix) and p.is_file())
    except OSError as exc:
        raise AuditError(f"audit witness location {witness.parent} cannot be listed: {_reason(exc)}") from exc


def _reason(exc: OSError) -> str:
    return exc.strerror or type(exc).__name__


def check_witness_reachable(path: Path, *, must_exist: bool) -> None:
    """Raise a one-line :class:`AuditError` when the witness file's directory (or the file) is not there.

    The directory is never created: a witness on an unmounted network share must
    fail loudly, not quietly land on the local disk under the mount point.
    """
    parent = path.parent
    try:
        if not parent.is_dir():
            raise AuditError(f"audit witness location {parent} is unreachable: no such directory")
        if must_exist and not path.is_file():
            raise AuditError(f"audit witness file {path} does not exist")
        if path.exists():
            with path.open("rb"):
                pass
    except OSError as exc:
        raise AuditError(f"audit witness location {path} is unreachable: {_reason(exc)}") from exc


def checkpoint_message(seq: int, head_hash: str, ts: str, key_id: str) -> bytes:
    """The exact bytes that are signed for one checkpoint."""
    body = {"domain": MESSAGE_DOMAIN, "hash": head_hash, "key_id": key_id, "seq": seq, "ts": ts}
    return canonical_json(body).encode("utf-8")


@dataclass(frozen=True, slots=True)
class Checkpoint:
    seq: int
    hash: str
    ts: str
    key_id: str
    signature: str  # base64 of the Ed25519 signature

    def message(self) -> bytes:
        return checkpoint_message(self.seq, self.hash, self.ts, self.key_id)

    def signature_bytes(self) -> bytes:
        return base64.b64decode(self.signature, validate=True)

    def to_json_line(self) -> str:
        return canonical_json(
            {
                "hash": self.hash,
                "key_id": self.key_id,
                "seq": self.seq,
                "signature": self.signature,
                "ts": self.ts,
            }
        )

    @classmethod
    def from_json_line(cls, line: str) -> Checkpoint:
        """Parse one line; raises ValueError (or KeyError/TypeError) when malformed."""
        obj = json.loads(line)
        seq = obj["seq"]
        if not isinstance(seq, int) or isinstance(seq, bool):
            raise ValueError("seq is not an integer")
        values = [obj["hash"], obj["ts"], obj["key_id"], obj["signature"]]
        if not all(isinstance(v, str) for v in values):
            raise ValueError("checkpoint fields must be strings")
        return cls(seq=seq, hash=obj["hash"], ts=obj["ts"], key_id=obj["key_id"], signature=obj["signature"])


@dataclass(frozen=True, slots=True)
class CheckpointFile:
    """What was read from a checkpoints file: the checkpoints and the malformed lines."""

    checkpoints: tuple[Checkpoint, ...]
    bad_lines: tuple[int, ...]
    exists: bool


def read_checkpoints_file(path: Path) -> CheckpointFile:
    if not path.exists():
        return CheckpointFile(checkpoints=(), bad_lines=(), exists=False)
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise AuditError(f"audit witness file {path} cannot be read: {_reason(exc)}") from exc
    found: list[Checkpoint] = []
    bad: list[int] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            found.append(Checkpoint.from_json_line(line))
        except (ValueError, KeyError, TypeError):
            bad.append(number)
    return CheckpointFile(checkpoints=tuple(found), bad_lines=tuple(bad), exists=True)


def newer_than(last: int, checkpoints: Sequence[Checkpoint]) -> list[Checkpoint]:
    """The checkpoints with seq > last, in seq order, one per seq."""
    fresh: list[Checkpoint] = []
    for cp in sorted(checkpoints, key=lambda c: c.seq):
        if cp.seq > last:
            fresh.append(cp)
            last = cp.seq
    return fresh


def _last_seq_in(handle_fd: int) -> int:
    """The seq of the last well-formed line of an open file (0 when empty)."""
    size = os.lseek(handle_fd, 0, os.SEEK_END)
    chunk = 4096
    tail = b""
    position = size
    while position > 0:
        step = min(chunk, position)
        position -= step
        tail = os.pread(handle_fd, step, position) + tail
        lines = [ln for ln in tail.split(b"\n") if ln.strip()]
        if len(lines) >= 2 or (position == 0 and lines):
            for raw in reversed(lines):
                try:
                    return Checkpoint.from_json_line(raw.decode("utf-8")).seq
                except (ValueError, KeyError, TypeError, UnicodeDecodeError):
                    continue
            if position == 0:
                return 0
    return 0


class JsonlCheckpointSink:
    """Appends checkpoints to the witness, a JSON-lines file (flock'ed, fsync'ed, opened O_APPEND,
    never rewritten).  Its directory must exist; it is never created (see :func:`check_witness_reachable`).
    """

    def __init__(self, path: Path) -> None:
        self.path = path

    def _open(self) -> int:
        check_witness_reachable(self.path, must_exist=False)
        try:
            return os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o600)
        except OSError as exc:
            raise AuditError(f"audit witness location {self.path} is unreachable: {_reason(exc)}") from exc

    def last_seq(self) -> int:
        if not self.path.exists():
            return 0
        fd = self._open()
        try:
            fcntl.flock(fd, fcntl.LOCK_SH)
            return _last_seq_in(fd)
        finally:
            os.close(fd)

    def append(self, checkpoints: Sequence[Checkpoint]) -> int:
        """Append the checkpoints newer than the file's last line; returns how many were written."""
        if not checkpoints:
            return 0
        fd = self._open()
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            last = _last_seq_in(fd)
            fresh = newer_than(last, checkpoints)
            if fresh:
                os.write(fd, "".join(cp.to_json_line() + "\n" for cp in fresh).encode("utf-8"))
                os.fsync(fd)
            return len(fresh)
        except OSError as exc:
            raise AuditError(f"cannot append to audit witness file {self.path}: {_reason(exc)}") from exc
        finally:
            os.close(fd)

    def read(self) -> list[Checkpoint]:
        return list(read_checkpoints_file(self.path).checkpoints)


def decode_signature(signature: str) -> bytes | None:
    """The signature bytes, or None unless ``signature`` is exactly their canonical base64."""
    try:
        raw = base64.b64decode(signature, validate=True)
    except (binascii.Error, ValueError):
        return None
    return raw if base64.b64encode(raw).decode("ascii") == signature else None

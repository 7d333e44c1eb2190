"""Contracts of the audit package (Protocols), for callers and for fakes.

``AuditSink``        what the gateway needs: append events inside its transaction.
                     Real: :class:`audit.log.AuditLog`; fake: :class:`audit.memory.InMemoryAuditSink`.
``CheckpointSigner`` signs checkpoint messages.  Real: :class:`audit.signing.Ed25519Signer`.
``CheckpointSink``   the place outside the database where checkpoints are appended.
                     Real: :class:`audit.checkpoints.JsonlCheckpointSink`;
                     fake: :class:`audit.memory.InMemoryCheckpointSink`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from sqlalchemy.engine import Connection

from audit.checkpoints import Checkpoint
from audit.events import AuditEvent


class AuditSink(Protocol):
    def append(self, conn: Connection, event: AuditEvent) -> int:
        """Write one event in the caller's transaction; return its seq (AuditWriteError on failure)."""
        ...

    def append_many(self, conn: Connection, events: Sequence[AuditEvent]) -> tuple[int, int]:
        """Write events in the caller's transaction; return (first seq, last seq)."""
        ...


class CheckpointSigner(Protocol):
    @property
    def key_id(self) -> str: ...

    def sign(self, message: bytes) -> bytes: ...


class CheckpointSink(Protocol):
    def last_seq(self) -> int:
        """The seq of the newest checkpoint already stored (0 when none)."""
        ...

    def append(self, checkpoints: Sequence[Checkpoint]) -> int:
        """Append the checkpoints newer than :meth:`last_seq`; return how many were written."""
        ...

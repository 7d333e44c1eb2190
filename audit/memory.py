"""In-memory fakes for tests of other packages (no database, no files).

``InMemoryAuditSink`` records events instead of writing them; set ``fail=True``
to make every append raise :class:`core.errors.AuditWriteError`, which is how a
test proves that a caller fails closed.  ``InMemoryCheckpointSink`` stands in
for ``checkpoints.jsonl``.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

from sqlalchemy.engine import Connection

from audit.checkpoints import Checkpoint, newer_than
from audit.events import AuditEvent
from core.errors import AuditWriteError


class InMemoryAuditSink:
    """Implements :class:`audit.interfaces.AuditSink`; events are kept in :attr:`events`."""

    def __init__(self, *, fail: bool = False) -> None:
        self.events: list[AuditEvent] = []
        self.fail = fail
        self._lock = threading.Lock()

    def append(self, conn: Connection, event: AuditEvent) -> int:
        return self.append_many(conn, [event])[0]

    def append_many(self, conn: Connection, events: Sequence[AuditEvent]) -> tuple[int, int]:
        if self.fail:
            raise AuditWriteError("audit event could not be written (InMemoryAuditSink fail=True)")
        if not events:
            raise AuditWriteError("append_many needs at least one event")
        with self._lock:
            first = len(self.events) + 1
            self.events.extend(events)
            return first, len(self.events)

    def by_action(self, action: str) -> list[AuditEvent]:
        return [event for event in self.events if event.action == action]


class InMemoryCheckpointSink:
    """Implements :class:`audit.interfaces.CheckpointSink` in a list."""

    def __init__(self) -> None:
        self.checkpoints: list[Checkpoint] = []

    def last_seq(self) -> int:
        return self.checkpoints[-1].seq if self.checkpoints else 0

    def append(self, checkpoints: Sequence[Checkpoint]) -> int:
        fresh = newer_than(self.last_seq(), checkpoints)
        self.checkpoints.extend(fresh)
        return len(fresh)

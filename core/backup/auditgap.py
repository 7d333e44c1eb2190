"""The audit range a restore lost, as seen from the witness's signed checkpoints.

A restore rewinds the log to the backup's audit head and records an event
(``action=restore``) naming the backup and the range lost.  Events appended
after it reuse the lost sequence numbers, so a witness file that still holds
checkpoints signed before the restore (the archived
``checkpoints.jsonl.before-restore-<id>``, or a witness kept elsewhere) no
longer matches the log.

The logic lives in :mod:`audit.verify` (every verification, ``hushdb audit
verify`` included, tells those checkpoints apart and reports the range they
lost: :class:`audit.verify.LostRange`); this module keeps the interface that
``hushdb backup check-audit`` was built on.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy.engine import Engine

from audit.checkpoints import archived_witnesses
from audit.verify import RESTORE_ACTION, LostRange, VerifyReport, verify_engine

__all__ = [
    "RESTORE_ACTION",
    "LostRange",
    "RestoreAwareReport",
    "archived_witnesses",
    "verify_with_restores",
]


@dataclass(frozen=True, slots=True)
class RestoreAwareReport:
    report: VerifyReport

    @property
    def ok(self) -> bool:
        return self.report.ok

    @property
    def lost(self) -> tuple[LostRange, ...]:
        return self.report.lost

    @property
    def reason(self) -> str:
        return self.report.reason


def verify_with_restores(
    engine: Engine, *, witness: Path, public_key: Ed25519PublicKey, extra_witnesses: Sequence[Path] = ()
) -> RestoreAwareReport:
    """:func:`audit.verify.verify_engine` against ``witness``, its archived copies and ``extra_witnesses``."""
    report = verify_engine(
        engine, checkpoints_path=witness, public_key=public_key, extra_witnesses=extra_witnesses
    )
    return RestoreAwareReport(report=report)

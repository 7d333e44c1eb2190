"""The audit range a restore lost, as seen from the witness's signed checkpoints.

A restore rewinds the log to the backup's audit head and records an event
(``action=restore``) naming the backup and the range lost.  Events appended
after it reuse the lost sequence numbers, so a witness file that still holds
checkpoints signed before the restore (the archived
``checkpoints.jsonl.before-restore-<id>``, or a witness kept elsewhere) no
longer matches the log.  :func:`verify_with_restores` tells those checkpoints
apart -- signed BEFORE a restore, at a seq past the restored head -- reports
them as the range that restore lost, and verifies the log against every other
checkpoint as usual.  The result is never just "intact" when something was lost.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy.engine import Engine

from audit.checkpoints import Checkpoint, read_checkpoints_file
from audit.verify import VerifyReport, verify_engine
from core.backup.errors import BackupError

RESTORE_ACTION = "restore"


@dataclass(frozen=True, slots=True)
class LostRange:
    """Events ``first_seq`` .. ``last_seq`` of the log before a restore are gone (``last_seq`` None: unknown)."""

    restore_seq: int
    restored_at: str
    backup_id: str
    first_seq: int
    last_seq: int | None
    witnessed: int = 0  # witness checkpoints that fall in the range

    def describe(self) -> str:
        upto = str(self.last_seq) if self.last_seq is not None else "?"
        return (
            f"events {self.first_seq}..{upto} lost by the restore of backup {self.backup_id[:12]} "
            f"at {self.restored_at} (audit event {self.restore_seq}; {self.witnessed} witness checkpoints)"
        )


@dataclass(frozen=True, slots=True)
class RestoreAwareReport:
    report: VerifyReport
    lost: tuple[LostRange, ...] = field(default=())

    @property
    def ok(self) -> bool:
        return self.report.ok

    @property
    def reason(self) -> str:
        if not self.lost or not self.report.ok:
            return self.report.reason
        gaps = "; ".join(r.describe() for r in self.lost)
        return f"chain verified since the restore ({self.report.reason}); NOT intact before it: {gaps}"


def restores(engine: Engine) -> list[LostRange]:
    """Every restore recorded in the log, oldest first."""
    with engine.connect() as conn:
        rows = conn.exec_driver_sql(
            "SELECT seq, ts, detail FROM audit_events WHERE action = 'restore' ORDER BY seq"
        ).all()
        conn.rollback()
    found: list[LostRange] = []
    for seq, ts, detail in rows:
        try:
            d = json.loads(str(detail))
            last = d.get("lost_to_seq")
            found.append(
                LostRange(
                    restore_seq=int(str(seq)),
                    restored_at=str(ts),
                    backup_id=str(d["backup_id"]),
                    first_seq=int(d["lost_from_seq"]),
                    last_seq=int(last) if last is not None else None,
                )
            )
        except (ValueError, KeyError, TypeError):
            continue  # not one of ours; verification of the chain itself still covers the event
    return found


def split_witness(
    checkpoints: Sequence[Checkpoint], ranges: Sequence[LostRange]
) -> tuple[list[Checkpoint], list[LostRange]]:
    """(checkpoints of the current log, the ranges with how many witness checkpoints each lost)."""
    kept: list[Checkpoint] = []
    counts = [0] * len(ranges)
    tops: list[int | None] = [r.last_seq for r in ranges]
    for cp in checkpoints:
        owner = next(
            (i for i, r in enumerate(ranges) if cp.seq >= r.first_seq and cp.ts < r.restored_at),
            None,
        )
        if owner is None:
            kept.append(cp)
            continue
        counts[owner] += 1
        top = tops[owner]
        tops[owner] = cp.seq if top is None else max(top, cp.seq)
    lost = [
        LostRange(r.restore_seq, r.restored_at, r.backup_id, r.first_seq, tops[i], counts[i])
        for i, r in enumerate(ranges)
    ]
    return kept, lost


def verify_with_restores(
    engine: Engine, *, witness: Path, public_key: Ed25519PublicKey, extra_witnesses: Sequence[Path] = ()
) -> RestoreAwareReport:
    """:func:`audit.verify.verify_engine` that reports what restores lost instead of calling it tampering."""
    ranges = restores(engine)
    checkpoints: list[Checkpoint] = []
    for path in (witness, *extra_witnesses):
        checkpoints.extend(read_checkpoints_file(path).checkpoints)
    kept, lost = split_witness(checkpoints, ranges)
    fd, name = tempfile.mkstemp(prefix=".hushdb-witness-", suffix=".jsonl")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            seen: set[tuple[int, str]] = set()
            for cp in sorted(kept, key=lambda c: c.seq):
                if (cp.seq, cp.signature) not in seen:
                    seen.add((cp.seq, cp.signature))
                    fh.write(cp.to_json_line() + "\n")
        report = verify_engine(engine, checkpoints_path=Path(name), public_key=public_key)
    except OSError as exc:
        raise BackupError(f"cannot check the witness: {exc.strerror}") from exc
    finally:
        Path(name).unlink(missing_ok=True)
    return RestoreAwareReport(report=report, lost=tuple(lost))


def archived_witnesses(witness: Path) -> list[Path]:
    """The witness copies that restores set aside (``<witness>.before-restore-<id>``)."""
    return sorted(witness.parent.glob(f"{witness.name}.before-restore-*"))

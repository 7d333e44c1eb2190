"""Verification of the audit log: the hash chain, the record references, the signed head and checkpoints.

What is checked, in one streaming pass ordered by seq:

1. Chain: seqs are 1, 2, 3, ... without gap; each row's ``prev_hash`` is the
   previous row's ``hash``; ``hash`` is sha256 of the row's canonical bytes;
   rows of the pre-0010 format (no channel) only form a prefix.  This catches
   a modified, deleted, swapped or duplicated event and any byte flip in a
   stored column.
2. References: ``audit_ref_index`` holds exactly one row (partition, key,
   seq) per distinct reference of each event's ``record_refs``, in the
   partition the rule of :mod:`audit.refindex` gives; rows no event claims are
   named by their seq.
3. Head: ``audit_head`` agrees with the last event (a deleted tail shows
   here) and its signature (re-signed by every appending transaction) verifies
   with the public key: the newest event is always covered, so deleting or
   rewriting it, or cutting the tail after the latest checkpoint, is detected
   even when the hashes were recomputed (the attacker cannot sign).
4. Checkpoints, from the database AND the witness file: each signature must
   verify with the given public key, and the event at the checkpoint's seq
   must carry the checkpoint's hash.  The witness catches what the database
   alone cannot: the events AND the signed head put back to an older state
   (a truncated tail with an old head replayed, an older copy of the database
   restored): the witness knows newer checkpoints than the log has events.

The public key should be PINNED (``hushdb audit verify --public-key FILE``,
from ``hushdb audit export-key`` kept elsewhere): a log rebuilt and re-signed
with a new key in the data directory then fails every signature.

``first_bad_seq`` is the first sequence number whose event can no longer be
proven authentic: exact for chain breaks; for an attack that recomputed the
hashes it is one past the last valid checkpoint that still matches.

Incremental verification (``incremental=True``): every successful
verification through :class:`core.compliance.ComplianceQueries` appends an
``audit_verify`` event whose hashed detail records the head it verified
(``verified_seq``, ``verified_hash``) and the reference-partition state there;
``audit_head.verified_event_seq`` points at the newest one.  An incremental run
starts after that head: it checks that the event there still has that hash,
then events, index rows (partitions from there on), checkpoints and the head
after it, so its cost is proportional to the new events only.  The start is
authentic because the ``audit_verify`` event itself lies in the checked range
and is covered by the signed head.  What it does not re-check: events before
the start (a change there that left the start's hash intact, i.e. without
recomputing hashes, is found by a full verification), index rows of old
partitions and old checkpoints.  Run a full verification periodically.

Restores (``hushdb restore``): a restore rewinds the log to the backup's audit
head and appends an event (action ``restore``, :data:`RESTORE_ACTION`) whose
detail names the backup and the range lost (``lost_from_seq`` .. ``lost_to_seq``).
The restored log reuses those sequence numbers, so witness checkpoints signed
BEFORE the restore at a seq in that range (in an independent witness, or in
the copy the restore kept, ``<witness>.before-restore-<id>``, read here as
well) no longer match the log.  Such a checkpoint is not tampering: its
signature must still verify, and it is counted in the range that restore lost
(:class:`LostRange`) instead of being compared with the new events.  Every
other checkpoint is compared as usual.  A restore event only counts when it
lies in the verified chain (covered by the signed head), so it cannot be
forged without the signing key.  The report then has ``lost`` set and
``status`` ``intact_with_restore_gap``: the log is never called just intact
once a restore lost events.  An incremental run learns the restores before its
start from the ``restore_seqs`` its start event recorded.

Consistency under concurrent writers: the witness file is read first, then
the head, then the rows.  On PostgreSQL run verify in a REPEATABLE READ
transaction (:func:`verify_engine` does this); under READ COMMITTED, rows
newer than the head read are ignored rather than reported.
"""

from __future__ import annotations

import hashlib
import itertools
import json
from collections.abc import Generator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy.engine import Connection, Engine

from audit.checkpoints import (
    Checkpoint,
    archived_witnesses,
    check_witness_reachable,
    decode_signature,
    head_message,
    read_checkpoints_file,
)
from audit.events import GENESIS_HASH, LEGACY_RECORD_TEMPLATE, RECORD_TEMPLATE, encode_str
from audit.refindex import RefIndexCheck, RefPartitioner
from audit.signing import key_id_for, verify_signature
from audit.tables import HEAD_ID, audit_checkpoints, audit_events, audit_head, audit_ref_index
from core.errors import AuditError, AuditIntegrityError

DEFAULT_BATCH = 20_000
READ_ONLY_OPTION = "hushdb_read_only"  # execution option: this connection only reads (see verify_engine)
VERIFY_ACTION = "audit_verify"
RESTORE_ACTION = "restore"
STATUS_INTACT = "intact"
STATUS_RESTORE_GAP = "intact_with_restore_gap"
STATUS_TAMPERED = "tampered"
_CURSOR_IDS = itertools.count(1)


@dataclass(frozen=True, slots=True)
class LostRange:
    """Events ``first_seq`` .. ``last_seq`` of the log before a restore are gone (``last_seq`` None: unknown).

    ``restore_seq`` is the restore's own audit event; ``witnessed`` counts the
    witness checkpoints (signature verified) that were signed before the restore
    at a seq in the range.
    """

    restore_seq: int
    restored_at: str
    backup_id: str
    first_seq: int
    last_seq: int | None
    witnessed: int = 0

    def describe(self) -> str:
        upto = str(self.last_seq) if self.last_seq is not None else "?"
        return (
            f"events {self.first_seq}..{upto} lost by the restore of backup {self.backup_id[:12]} "
            f"at {self.restored_at} (audit event {self.restore_seq}; {self.witnessed} witness checkpoints)"
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "lost_from_seq": self.first_seq,
            "lost_to_seq": self.last_seq,
            "backup_id": self.backup_id,
            "restore_seq": self.restore_seq,
            "restored_at": self.restored_at,
            "witness_checkpoints": self.witnessed,
        }


@dataclass(frozen=True, slots=True)
class VerifyReport:
    ok: bool
    events_checked: int
    first_bad_seq: int | None
    reason: str
    checkpoints_checked: int = 0
    last_signed_seq: int = 0
    """The newest seq vouched for by a valid signature (the signed head, else a checkpoint)."""
    unsigned_tail: int = 0
    head_seq: int = 0
    head_hash: str = ""
    head_signed: bool = False
    last_checkpoint_seq: int = 0
    witness_checkpoints: int = 0
    """Checkpoints read from the witness file (0: no witness file)."""
    witness_seq: int = 0
    since_seq: int = 0
    """Where an incremental verification started (0: the whole log was verified)."""
    key_id: str = ""
    ref_part: int = 0
    ref_fill: int = 0
    """The reference-partition state after the last event checked (for the next incremental run)."""
    lost: tuple[LostRange, ...] = ()
    """The ranges restores lost (oldest restore first); empty when no restore is recorded."""

    @property
    def status(self) -> str:
        """``intact``, ``intact_with_restore_gap`` (ok, but restores lost :attr:`lost`) or ``tampered``."""
        if not self.ok:
            return STATUS_TAMPERED
        return STATUS_RESTORE_GAP if self.lost else STATUS_INTACT

    def raise_if_tampered(self) -> None:
        if not self.ok:
            raise AuditIntegrityError(self.reason, self.first_bad_seq)


@dataclass(frozen=True, slots=True)
class _Start:
    """Where the chain walk starts: after ``seq``, whose event has ``hash``."""

    seq: int = 0
    hash: str = GENESIS_HASH
    part: int = 0
    fill: int = 0
    note: str = ""
    restore_seqs: tuple[int, ...] | None = None
    """The restore events at or before ``seq`` (None: not recorded, look them up)."""


@dataclass(slots=True)
class _ChainResult:
    checked: int = 0
    last_seq: int = 0  # last seq of the consistent prefix
    last_hash: str = GENESIS_HASH
    last_legacy: bool = False
    bad_seq: int | None = None
    reason: str = ""
    ref_state: tuple[int, int] = (0, 0)


def _stream(conn: Connection, stmt: sa.Select[Any], batch: int) -> Generator[tuple[Any, ...], None, None]:
    """Plain tuples in chunks from a server-side cursor (PostgreSQL) / a plain cursor (SQLite).

    Uses the driver cursor of ``conn`` (same transaction, same snapshot): SQLAlchemy's
    Row objects cost more than the hashing for a million rows.  The statement's only
    parameters are integers (the seq bound), rendered inline.
    """
    sql = str(stmt.compile(dialect=conn.dialect, compile_kwargs={"literal_binds": True}))
    conn.exec_driver_sql("SELECT 1").close()  # the transaction (and its snapshot) has begun
    driver = conn.connection.driver_connection
    if driver is None:
        raise AuditError("audit verification has no database connection")
    if conn.dialect.name == "postgresql":
        cursor = driver.cursor(name=f"hushdb_verify_{next(_CURSOR_IDS)}")
    else:
        cursor = driver.cursor()
    try:
        cursor.execute(sql)
        while rows := cursor.fetchmany(batch):
            yield from rows
    finally:
        cursor.close()


def _ref_rows(
    conn: Connection, bound: int | None, start: _Start, batch: int
) -> Generator[tuple[Any, ...], None, None]:
    idx = audit_ref_index.c
    stmt = sa.select(idx.part, idx.ref_key, idx.seq).order_by(idx.part, idx.ref_key, idx.seq)
    if bound is not None:
        stmt = stmt.where(idx.seq <= bound)
    if start.seq:
        stmt = stmt.where(idx.part >= start.part, idx.seq > start.seq)
    return _stream(conn, stmt, batch)


def _check_chain(
    conn: Connection,
    *,
    head_seq: int,
    bounded: bool,
    start: _Start,
    wanted: set[int],
    seen: dict[int, str],
    batch: int,
    restores: list[tuple[int, str, str]],
) -> _ChainResult:
    """Walk the events and refs in seq order (after ``start``); stop at the first inconsistency.

    The inner loop is written for speed (about 1M events in a few seconds): it
    formats :data:`audit.events.RECORD_TEMPLATE` (or the legacy template) directly,
    which is what :func:`audit.events.canonical_record_bytes` does.
    """
    res = _ChainResult()
    bound = head_seq if bounded else None
    c = audit_events.c
    stmt = sa.select(
        c.seq, c.ts, c.subject, c.roles, c.purpose, c.action, c.resource, c.fields, c.decision,
        c.row_count, c.request_id, c.record_refs, c.detail, c.prev_hash, c.hash, c.channel, c.os_user,
    ).order_by(c.seq)  # fmt: skip
    if bound is not None:
        stmt = stmt.where(c.seq <= bound)
    modern = False
    if start.seq:
        stmt = stmt.where(c.seq > start.seq)
        first = conn.execute(sa.select(c.hash, c.channel, c.os_user).where(c.seq == start.seq)).one_or_none()
        if first is None or first.hash != start.hash:
            res.bad_seq = start.seq
            res.reason = f"event seq {start.seq} no longer has the hash its last verification recorded"
            res.last_seq = res.checked = start.seq - 1
            return res
        modern = bool(first.channel or first.os_user)
    refs = _ref_rows(conn, bound, start, batch)
    ref_check = RefIndexCheck(refs, RefPartitioner(start.part, start.fill))
    expected = start.seq + 1
    prev = start.hash
    legacy = not modern
    e = encode_str
    template, legacy_template = RECORD_TEMPLATE, LEGACY_RECORD_TEMPLATE
    sha256 = hashlib.sha256
    bad: tuple[int, str] | None = None
    for row in _stream(conn, stmt, batch):
        (seq, ts, subject, roles, purpose, action, resource, fields, decision, row_count, request_id,
         record_refs, detail, prev_hash, stored_hash, channel, os_user) = row  # fmt: skip
        if seq != expected:
            if isinstance(seq, int) and seq < expected:
                bad = seq, f"unexpected event seq {seq} before seq {expected}"
            else:
                bad = expected, f"event seq {expected} is missing"
            break
        try:
            if channel or os_user:
                modern, legacy = True, False
                text = template % (
                    e(action), e(channel), e(decision), detail, fields, e(os_user), e(prev_hash), e(purpose),
                    record_refs, e(request_id), e(resource), roles, row_count, seq, e(subject), e(ts),
                )  # fmt: skip
            elif modern:
                bad = seq, f"event seq {seq} has the pre-0010 format (no channel) after newer events"
                break
            else:
                legacy = True
                text = legacy_template % (
                    e(action), e(decision), detail, fields, e(prev_hash), e(purpose), record_refs,
                    e(request_id), e(resource), roles, row_count, seq, e(subject), e(ts),
                )  # fmt: skip
            digest = sha256(text.encode("utf-8")).hexdigest()
        except (TypeError, ValueError, UnicodeError):
            bad = seq, f"event seq {seq} is unreadable"
            break
        if prev_hash != prev:
            bad = seq, f"event seq {seq} does not link to the previous event"
            break
        if digest != stored_hash:
            bad = seq, f"event seq {seq} does not match its hash"
            break
        if record_refs != "[]" and not ref_check.check(seq, record_refs):
            bad = seq, f"record references of event seq {seq} do not match"
            break
        if seq in wanted:
            seen[seq] = stored_hash
        if action == RESTORE_ACTION and decision == "allow":
            restores.append((seq, ts, detail))
        prev = stored_hash
        expected = seq + 1
    res.ref_state = ref_check.state
    stray = ref_check.finish()  # reads the rest of the index: rows no event claims
    refs.close()
    if stray is not None and (bad is None or stray < bad[0]):
        if stray < expected:
            bad = stray, f"record references of event seq {stray} do not match"
        else:
            bad = stray, f"record reference row for seq {stray} has no event"
        expected = min(expected, max(stray, 1))
    res.last_seq = expected - 1  # the consistent prefix is 1 .. expected - 1
    res.checked = res.last_seq - start.seq
    res.last_hash = prev
    res.last_legacy = legacy
    if bad is not None:
        res.bad_seq, res.reason = bad
    return res


def _load_checkpoints(conn: Connection, bound: int | None, after: int) -> list[tuple[str, Checkpoint]]:
    stmt = (
        sa.select(audit_checkpoints).where(audit_checkpoints.c.seq > after).order_by(audit_checkpoints.c.seq)
    )
    if bound is not None:
        stmt = stmt.where(audit_checkpoints.c.seq <= bound)
    return [
        ("database", Checkpoint(seq=int(r.seq), hash=r.hash, ts=r.ts, key_id=r.key_id, signature=r.signature))
        for r in conn.execute(stmt)
    ]


def _signature_ok(cp: Checkpoint, public_key: Ed25519PublicKey, key_id: str) -> bool:
    if cp.key_id != key_id:
        return False
    signature = decode_signature(cp.signature)
    return signature is not None and verify_signature(public_key, cp.message(), signature)


def _head_signature_ok(seq: int, digest: str, head_key_id: str, signature: str, public_key: Ed25519PublicKey,
                       key_id: str) -> bool:  # fmt: skip
    if head_key_id != key_id:
        return False
    raw = decode_signature(signature)
    return raw is not None and verify_signature(public_key, head_message(seq, digest, key_id), raw)


def _is_snapshot(conn: Connection) -> bool:
    if conn.dialect.name != "postgresql":
        return True
    level = conn.exec_driver_sql("SHOW transaction_isolation").scalar()
    return str(level).lower() in {"repeatable read", "serializable"}


def verify(
    conn: Connection,
    *,
    checkpoints_path: Path | None,
    public_key: Ed25519PublicKey,
    batch_size: int = DEFAULT_BATCH,
    incremental: bool = False,
    witness_required: bool = False,
    extra_witnesses: Sequence[Path] = (),
) -> VerifyReport:
    """Verify the log; never raises for tampering (see :meth:`VerifyReport.raise_if_tampered`).

    ``checkpoints_path`` is the witness file (None: none).  It is read, never
    written.  A witness whose directory is missing is an error (AuditError, one
    line), and so is a missing witness file when ``witness_required`` (a
    witness named explicitly, or kept outside the data directory: its absence
    must not pass for "nothing published yet").  ``incremental``: start after the
    head recorded by the newest ``audit_verify`` event (module docstring); the
    whole log when there is none.  The copies of the witness that restores kept
    beside it (``<witness>.before-restore-*``) and ``extra_witnesses`` are read
    too: their checkpoints must match the log, except those a restore lost.
    """
    others: list[tuple[str, Checkpoint]] = []
    malformed: list[str] = []
    if checkpoints_path is not None:
        check_witness_reachable(checkpoints_path, must_exist=witness_required)
        external = read_checkpoints_file(checkpoints_path)  # first: it must not be newer than the rows
        witness, bad_lines = external.checkpoints, external.bad_lines
        extra = [*archived_witnesses(checkpoints_path), *extra_witnesses]
    else:
        witness, bad_lines = (), ()
        extra = list(extra_witnesses)
    for path in extra:
        found = read_checkpoints_file(path)
        others.extend((f"witness {path.name}", cp) for cp in found.checkpoints)
        if found.bad_lines:
            malformed.append(f"witness file {path} lines {list(found.bad_lines)[:5]} are malformed")
    try:
        return _verify(conn, witness, bad_lines, public_key, batch_size, incremental, others, malformed)
    except AuditError:
        raise
    except Exception as exc:
        raise AuditError(f"audit verification could not run: {type(exc).__name__}") from exc


def _incremental_start(conn: Connection, pointer: int, head_seq: int) -> _Start:
    """The head recorded by the ``audit_verify`` event at ``pointer``; the genesis when unusable."""
    if pointer <= 0:
        return _Start(note="no earlier verification recorded: verified in full")
    if pointer > head_seq:
        return _Start(note="the recorded verification lies past the head: verified in full")
    c = audit_events.c
    row = conn.execute(sa.select(c.action, c.decision, c.detail).where(c.seq == pointer)).one_or_none()
    try:
        detail = json.loads(row.detail) if row is not None else {}
        seq, digest = detail["verified_seq"], detail["verified_hash"]
        part, fill = detail["ref_part"], detail["ref_fill"]
        usable = (
            row is not None
            and row.action == VERIFY_ACTION
            and row.decision == "allow"
            and all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in (seq, part, fill))
            and isinstance(digest, str)
            and 0 < seq < pointer
        )
    except (TypeError, ValueError, KeyError):
        usable = False
    if not usable:
        return _Start(note=f"event seq {pointer} is not a usable verification record: verified in full")
    return _Start(seq=seq, hash=digest, part=part, fill=fill, restore_seqs=_restore_seqs(detail))


def _restore_seqs(detail: dict[str, Any]) -> tuple[int, ...] | None:
    """The ``restore_seqs`` a verification recorded ("12,340"); None when absent or unreadable."""
    value = detail.get("restore_seqs")
    if not isinstance(value, str):
        return None
    try:
        return tuple(int(part) for part in value.split(",") if part)
    except ValueError:
        return None


def _earlier_restores(conn: Connection, start: _Start) -> list[tuple[int, str, str]]:
    """The restore events at or before an incremental start (verified by the run that recorded it)."""
    if not start.seq or start.restore_seqs == ():
        return []
    c = audit_events.c
    stmt = sa.select(c.seq, c.ts, c.detail).where(
        c.action == RESTORE_ACTION, c.decision == "allow", c.seq <= start.seq
    )
    if start.restore_seqs is not None:  # by primary key; else (an older record) one scan
        stmt = stmt.where(c.seq.in_(start.restore_seqs))
    return [(int(r.seq), str(r.ts), str(r.detail)) for r in conn.execute(stmt.order_by(c.seq))]


def _lost_ranges(rows: Sequence[tuple[int, str, str]]) -> list[LostRange]:
    """The ranges the restore events name; an event whose detail is not a restore's is skipped."""
    found: list[LostRange] = []
    for seq, ts, detail in rows:
        try:
            d = json.loads(detail)
            first, last, backup = d["lost_from_seq"], d.get("lost_to_seq"), d["backup_id"]
            if not isinstance(first, int) or not isinstance(backup, str):
                continue
            if last is not None and not isinstance(last, int):
                continue
        except (TypeError, ValueError, KeyError, AttributeError):
            continue
        found.append(LostRange(int(seq), str(ts), backup, first, last))
    return found


def _split_lost(
    checkpoints: Sequence[tuple[str, Checkpoint]], ranges: Sequence[LostRange]
) -> tuple[list[tuple[str, Checkpoint]], list[list[tuple[str, Checkpoint]]]]:
    """(checkpoints of the current log, per range the checkpoints it lost).

    A checkpoint belongs to a restore's lost range when it was signed before the
    restore (its ``ts`` is earlier: both are fixed-width UTC text) at a seq from
    the range's start on; the oldest such restore owns it.
    """
    kept: list[tuple[str, Checkpoint]] = []
    lost: list[list[tuple[str, Checkpoint]]] = [[] for _ in ranges]
    for source, cp in checkpoints:
        owner = next(
            (i for i, r in enumerate(ranges) if cp.seq >= r.first_seq and cp.ts < r.restored_at), None
        )
        if owner is None:
            kept.append((source, cp))
        else:
            lost[owner].append((source, cp))
    return kept, lost


def _verify(
    conn: Connection,
    external: tuple[Checkpoint, ...],
    bad_lines: tuple[int, ...],
    public_key: Ed25519PublicKey,
    batch: int,
    incremental: bool,
    others: Sequence[tuple[str, Checkpoint]] = (),
    malformed: Sequence[str] = (),
) -> VerifyReport:
    head = conn.execute(sa.select(audit_head).where(audit_head.c.id == HEAD_ID)).one_or_none()
    if head is None:
        return VerifyReport(False, 0, None, "the audit head row is missing")
    head_seq, head_hash = int(head.seq), str(head.hash)
    bounded = not _is_snapshot(conn)
    start = _incremental_start(conn, int(head.verified_event_seq), head_seq) if incremental else _Start()
    stored = _load_checkpoints(conn, head_seq if bounded else None, start.seq)
    outside: list[tuple[str, Checkpoint]] = []
    distinct: set[tuple[int, str]] = set()
    for source, cp in [("witness", cp) for cp in external] + list(others):
        if (cp.seq, cp.signature) not in distinct:  # a kept copy repeats the witness it was taken from
            distinct.add((cp.seq, cp.signature))
            outside.append((source, cp))
    restore_rows = _earlier_restores(conn, start)
    seen: dict[int, str] = {}
    wanted = {cp.seq for _, cp in stored} | {cp.seq for _, cp in outside if cp.seq > start.seq}
    chain = _check_chain(
        conn, head_seq=head_seq, bounded=bounded, start=start, wanted=wanted, seen=seen, batch=batch,
        restores=restore_rows,
    )  # fmt: skip
    ranges = _lost_ranges(restore_rows)
    current, lost_by_range = _split_lost(outside, ranges)
    entries = stored + [(source, cp) for source, cp in current if cp.seq > start.seq]
    entries.sort(key=lambda item: item[1].seq)
    problems: list[tuple[int, str]] = []
    if chain.bad_seq is not None:
        problems.append((chain.bad_seq, chain.reason))
    elif chain.last_seq < head_seq:
        problems.append(
            (chain.last_seq + 1, f"events after seq {chain.last_seq} are missing (head is {head_seq})")
        )
    elif chain.last_seq > head_seq:
        problems.append((head_seq + 1, f"events after the head seq {head_seq} were added outside the log"))
    elif chain.last_hash != head_hash:
        problems.append((head_seq, "the audit head hash does not match the last event"))
    limit = problems[0][0] if problems else None  # rows from here on are already known bad

    key_id = key_id_for(public_key)
    last_good = start.seq
    last_checkpoint = 0
    checked = 0
    bad_signatures: list[tuple[int, str]] = []
    for source, cp in entries:
        if limit is not None and cp.seq >= limit:
            break
        if not _signature_ok(cp, public_key, key_id):
            bad_signatures.append((cp.seq, f"{source} checkpoint at seq {cp.seq} has an invalid signature"))
            continue
        checked += 1
        if cp.seq > chain.last_seq:
            problems.append(
                (
                    chain.last_seq + 1,
                    f"{source} checkpoint at seq {cp.seq} but the log ends at seq {chain.last_seq}",
                )
            )
            break
        if seen.get(cp.seq) != cp.hash:
            problems.append(
                (last_good + 1, f"{source} checkpoint at seq {cp.seq} does not match the log; "
                 f"events after seq {last_good} are not authentic")
            )  # fmt: skip
            break
        last_good = max(last_good, cp.seq)
        last_checkpoint = max(last_checkpoint, cp.seq)
    if bad_lines:
        bad_signatures.append((last_good + 1, f"witness file lines {list(bad_lines)[:5]} are malformed"))
    for text in malformed:
        bad_signatures.append((last_good + 1, text))
    lost: list[LostRange] = []
    for r, owned in zip(ranges, lost_by_range, strict=True):
        top, witnessed = r.last_seq, 0
        for source, cp in owned:
            if not _signature_ok(cp, public_key, key_id):
                bad_signatures.append(
                    (cp.seq, f"{source} checkpoint at seq {cp.seq} (before the restore at event "
                     f"{r.restore_seq}) has an invalid signature")
                )  # fmt: skip
                continue
            top = cp.seq if top is None else max(top, cp.seq)
            witnessed += 1
        lost.append(LostRange(r.restore_seq, r.restored_at, r.backup_id, r.first_seq, top, witnessed))

    head_signed = False
    last_signed = last_good
    if not problems and head_seq > 0:
        signature = str(head.head_signature)
        if signature == "" and chain.last_legacy:
            pass  # upgraded from before 0010 and nothing appended since: the old unsigned tail remains
        elif _head_signature_ok(head_seq, head_hash, str(head.head_key_id), signature, public_key, key_id):
            head_signed, last_signed = True, head_seq
        else:
            what = "is not signed" if signature == "" else "has an invalid signature"
            problems.append(
                (last_good + 1, f"the audit head (seq {head_seq}) {what}; events after seq {last_good} "
                 "are not authentic")
            )  # fmt: skip

    tail = max(chain.last_seq - last_signed, 0)
    witness_seq = max((cp.seq for cp in external), default=0)
    common = {
        "checkpoints_checked": checked,
        "last_signed_seq": last_signed,
        "unsigned_tail": tail,
        "head_seq": head_seq,
        "head_hash": head_hash,
        "head_signed": head_signed,
        "last_checkpoint_seq": last_checkpoint,
        "witness_checkpoints": len(external),
        "witness_seq": witness_seq,
        "since_seq": start.seq,
        "key_id": key_id,
        "ref_part": chain.ref_state[0],
        "ref_fill": chain.ref_state[1],
        "lost": tuple(lost),
    }
    if problems:
        first_bad, reason = min(problems)
        if bad_signatures:
            reason += f"; also: {bad_signatures[0][1]}"
        return VerifyReport(False, chain.checked, first_bad, reason, **common)  # type: ignore[arg-type]
    if bad_signatures:
        first_bad, reason = min(bad_signatures)
        return VerifyReport(False, chain.checked, first_bad, reason, **common)  # type: ignore[arg-type]
    scope = f"events {start.seq + 1}..{chain.last_seq}" if start.seq else f"{chain.checked} events"
    reason = f"intact: {scope}, {checked} checkpoints verified"
    if head_signed:
        reason += ", head signed"
    if tail:
        reason += f"; {tail} newest events (written before head signing) not yet covered by a signature"
    if start.note and incremental:
        reason += f" ({start.note})"
    if lost:
        gaps = "; ".join(r.describe() for r in lost)
        reason = f"NOT intact: {gaps}; the rest is {reason}"
    return VerifyReport(True, chain.checked, None, reason, **common)  # type: ignore[arg-type]


def verify_engine(
    engine: Engine,
    *,
    checkpoints_path: Path | None,
    public_key: Ed25519PublicKey,
    batch_size: int = DEFAULT_BATCH,
    incremental: bool = False,
    witness_required: bool = False,
    extra_witnesses: Sequence[Path] = (),
) -> VerifyReport:
    """:func:`verify` on its own read-only connection, in a snapshot.

    PostgreSQL: a READ ONLY, REPEATABLE READ transaction.  SQLite: the connection
    carries the execution option :data:`READ_ONLY_OPTION`; an engine whose ``begin``
    hook honours it starts a deferred transaction (a WAL read snapshot) instead of
    ``BEGIN IMMEDIATE``, so a long verification never holds the write lock.
    """
    try:
        with engine.connect() as conn:
            conn = conn.execution_options(**{READ_ONLY_OPTION: True})
            if conn.dialect.name == "postgresql":
                conn = conn.execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True)
            report = verify(
                conn,
                checkpoints_path=checkpoints_path,
                public_key=public_key,
                batch_size=batch_size,
                incremental=incremental,
                witness_required=witness_required,
                extra_witnesses=extra_witnesses,
            )
            conn.rollback()
            return report
    except AuditError:
        raise
    except Exception as exc:
        raise AuditError(f"audit verification could not run: {type(exc).__name__}") from exc

"""Verification of the audit log: the hash chain, the record references, the signed checkpoints.

What is checked, in one streaming pass ordered by seq:

1. Chain: seqs are 1, 2, 3, ... without gap; each row's ``prev_hash`` is the
   previous row's ``hash``; ``hash`` is sha256 of the row's canonical bytes.
   This catches a modified, deleted, swapped or duplicated event and any byte
   flip in a stored column.
2. References: ``audit_ref_index`` holds exactly one row (partition, key,
   seq) per distinct reference of each event's ``record_refs``, in the
   partition the rule of :mod:`audit.refindex` gives; rows no event claims are
   named by their seq.
3. Head: ``audit_head`` agrees with the last event (a deleted tail shows here).
4. Checkpoints, from the database AND ``checkpoints.jsonl``: each signature
   must verify with the given public key, and the event at the checkpoint's
   seq must carry the checkpoint's hash.  This catches a log rebuilt or
   extended with recomputed hashes (the attacker cannot sign), a truncated
   tail and an older copy of the database restored (the external file knows
   newer checkpoints than the database has events).

``first_bad_seq`` is the first sequence number whose event can no longer be
proven authentic: exact for chain breaks; for an attack that recomputed the
hashes it is one past the last checkpoint that still matches (so with a
checkpoint at every event it is exact).  Events after the newest valid
checkpoint are reported in ``unsigned_tail``: nothing signed vouches for them yet.

Consistency under concurrent writers: the external file is read first, then
the head, then the rows.  On PostgreSQL run verify in a REPEATABLE READ
transaction (:func:`verify_engine` does this); under READ COMMITTED, rows
newer than the head read are ignored rather than reported.
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Generator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy.engine import Connection, Engine

from audit.checkpoints import Checkpoint, decode_signature, read_checkpoints_file
from audit.events import GENESIS_HASH, RECORD_TEMPLATE, encode_str
from audit.refindex import RefIndexCheck
from audit.signing import key_id_for, verify_signature
from audit.tables import HEAD_ID, audit_checkpoints, audit_events, audit_head, audit_ref_index
from core.errors import AuditError, AuditIntegrityError

DEFAULT_BATCH = 20_000
READ_ONLY_OPTION = "hushdb_read_only"  # execution option: this connection only reads (see verify_engine)
_CURSOR_IDS = itertools.count(1)


@dataclass(frozen=True, slots=True)
class VerifyReport:
    ok: bool
    events_checked: int
    first_bad_seq: int | None
    reason: str
    checkpoints_checked: int = 0
    last_signed_seq: int = 0
    unsigned_tail: int = 0
    head_seq: int = 0

    def raise_if_tampered(self) -> None:
        if not self.ok:
            raise AuditIntegrityError(self.reason, self.first_bad_seq)


@dataclass(slots=True)
class _ChainResult:
    checked: int = 0
    last_seq: int = 0  # last seq of the consistent prefix
    last_hash: str = GENESIS_HASH
    bad_seq: int | None = None
    reason: str = ""


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


def _ref_rows(conn: Connection, bound: int | None, batch: int) -> Generator[tuple[Any, ...], None, None]:
    idx = audit_ref_index.c
    stmt = sa.select(idx.part, idx.ref_key, idx.seq).order_by(idx.part, idx.ref_key, idx.seq)
    if bound is not None:
        stmt = stmt.where(idx.seq <= bound)
    return _stream(conn, stmt, batch)


def _check_chain(
    conn: Connection, *, head_seq: int, bounded: bool, wanted: set[int], seen: dict[int, str], batch: int
) -> _ChainResult:
    """Walk the events and refs in seq order; stop at the first inconsistency.

    The inner loop is written for speed (about 1M events in a few seconds): it
    formats :data:`audit.events.RECORD_TEMPLATE` directly, which is what
    :func:`audit.events.canonical_record_bytes` does.
    """
    res = _ChainResult()
    bound = head_seq if bounded else None
    c = audit_events.c
    stmt = sa.select(
        c.seq, c.ts, c.subject, c.roles, c.purpose, c.action, c.resource, c.fields, c.decision,
        c.row_count, c.request_id, c.record_refs, c.detail, c.prev_hash, c.hash,
    ).order_by(c.seq)  # fmt: skip
    if bound is not None:
        stmt = stmt.where(c.seq <= bound)
    refs = _ref_rows(conn, bound, batch)
    ref_check = RefIndexCheck(refs)
    expected = 1
    prev = GENESIS_HASH
    e = encode_str
    template = RECORD_TEMPLATE
    sha256 = hashlib.sha256
    bad: tuple[int, str] | None = None
    for row in _stream(conn, stmt, batch):
        (seq, ts, subject, roles, purpose, action, resource, fields, decision, row_count, request_id,
         record_refs, detail, prev_hash, stored_hash) = row  # fmt: skip
        if seq != expected:
            if isinstance(seq, int) and seq < expected:
                bad = seq, f"unexpected event seq {seq} before seq {expected}"
            else:
                bad = expected, f"event seq {expected} is missing"
            break
        try:
            digest = sha256(
                (
                    template
                    % (e(action), e(decision), detail, fields, e(prev_hash), e(purpose), record_refs,
                       e(request_id), e(resource), roles, row_count, seq, e(subject), e(ts))
                ).encode("utf-8")
            ).hexdigest()  # fmt: skip
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
        prev = stored_hash
        expected = seq + 1
    stray = ref_check.finish()  # reads the rest of the index: rows no event claims
    refs.close()
    if stray is not None and (bad is None or stray < bad[0]):
        if stray < expected:
            bad = stray, f"record references of event seq {stray} do not match"
        else:
            bad = stray, f"record reference row for seq {stray} has no event"
        expected = min(expected, max(stray, 1))
    res.checked = res.last_seq = expected - 1  # the consistent prefix is 1 .. expected - 1
    res.last_hash = prev
    if bad is not None:
        res.bad_seq, res.reason = bad
    return res


def _load_checkpoints(conn: Connection, bound: int | None) -> list[tuple[str, Checkpoint]]:
    stmt = sa.select(audit_checkpoints).order_by(audit_checkpoints.c.seq)
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


def _is_snapshot(conn: Connection) -> bool:
    if conn.dialect.name != "postgresql":
        return True
    level = conn.exec_driver_sql("SHOW transaction_isolation").scalar()
    return str(level).lower() in {"repeatable read", "serializable"}


def verify(
    conn: Connection, *, checkpoints_path: Path, public_key: Ed25519PublicKey, batch_size: int = DEFAULT_BATCH
) -> VerifyReport:
    """Verify the whole log; never raises for tampering (see :meth:`VerifyReport.raise_if_tampered`)."""
    external = read_checkpoints_file(checkpoints_path)  # first: it must not be newer than the rows
    try:
        return _verify(conn, external.checkpoints, external.bad_lines, public_key, batch_size)
    except AuditError:
        raise
    except Exception as exc:
        raise AuditError(f"audit verification could not run: {type(exc).__name__}") from exc


def _verify(
    conn: Connection,
    external: tuple[Checkpoint, ...],
    bad_lines: tuple[int, ...],
    public_key: Ed25519PublicKey,
    batch: int,
) -> VerifyReport:
    head = conn.execute(sa.select(audit_head).where(audit_head.c.id == HEAD_ID)).one_or_none()
    if head is None:
        return VerifyReport(False, 0, None, "the audit head row is missing")
    head_seq, head_hash = int(head.seq), str(head.hash)
    bounded = not _is_snapshot(conn)
    entries = _load_checkpoints(conn, head_seq if bounded else None) + [("file", cp) for cp in external]
    entries.sort(key=lambda item: item[1].seq)
    seen: dict[int, str] = {}
    chain = _check_chain(
        conn, head_seq=head_seq, bounded=bounded, wanted={cp.seq for _, cp in entries}, seen=seen, batch=batch
    )
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
    last_good = 0
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
    if bad_lines:
        bad_signatures.append((last_good + 1, f"checkpoints file lines {list(bad_lines)[:5]} are malformed"))

    tail = max(chain.last_seq - last_good, 0)
    if problems:
        first_bad, reason = min(problems)
        if bad_signatures:
            reason += f"; also: {bad_signatures[0][1]}"
        return VerifyReport(False, chain.checked, first_bad, reason, checked, last_good, tail, head_seq)
    if bad_signatures:
        first_bad, reason = min(bad_signatures)
        return VerifyReport(False, chain.checked, first_bad, reason, checked, last_good, tail, head_seq)
    reason = f"intact: {chain.checked} events, {checked} checkpoints verified"
    if tail:
        reason += f"; {tail} newest events not yet covered by a checkpoint"
    return VerifyReport(True, chain.checked, None, reason, checked, last_good, tail, head_seq)


def verify_engine(
    engine: Engine, *, checkpoints_path: Path, public_key: Ed25519PublicKey, batch_size: int = DEFAULT_BATCH
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
                conn, checkpoints_path=checkpoints_path, public_key=public_key, batch_size=batch_size
            )
            conn.rollback()
            return report
    except AuditError:
        raise
    except Exception as exc:
        raise AuditError(f"audit verification could not run: {type(exc).__name__}") from exc

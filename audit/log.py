"""The append-only audit log: gap-free sequence numbers, a SHA-256 hash chain, a signed head, signed checkpoints.

Appends run inside the CALLER's transaction (``conn``), so an access and its
event commit or roll back together.  The caller commits; if anything goes
wrong here the caller gets :class:`core.errors.AuditWriteError` (raised from
the original exception) and must not return data: the gateway fails closed.

How one append works (one or many events)::

    UPDATE audit_head SET seq = seq + n WHERE id = 1 RETURNING seq, hash, ...
        -- takes the write lock first: the PostgreSQL row lock / SQLite's writer
        -- lock, so concurrent writers serialise here and seqs are gap-free
        -- (a rolled-back transaction gives its numbers back).
    INSERT INTO audit_events ...        (one executemany)
    INSERT INTO audit_ref_index ...     (one executemany; append-mostly, see audit.refindex)
    [INSERT INTO audit_checkpoints ...] when N events or T seconds have passed
    UPDATE audit_head SET hash = <new tip>, head_signature = Ed25519(<new seq, new tip>), ref_part,
                          ref_fill [, checkpoint_seq, checkpoint_ts]

No unsigned tail.  Every appending transaction signs its new tip (one Ed25519
signature, ~35 µs, per transaction however many events it appends), so
deleting or rewriting any committed event, the newest included, breaks either
the chain or the head's signature.  Before extending the chain the log checks
that the head it read carries this key's signature over exactly that
(seq, hash): otherwise a tail cut or rewritten by someone with database write
access would be extended and re-signed, i.e. laundered.  The check costs
nothing in the common case (the head is the one this process signed last,
remembered in memory) and one signature when another process wrote last
(Ed25519 is deterministic: re-signing and comparing is the check).  A head
that fails it stops all appends (AuditWriteError: fail closed) until an
operator has looked at ``hushdb audit verify``.  The one unsigned head
accepted is that of a log upgraded from before migration 0010, whose newest
event is a pre-0010 row; verification refuses such a row after a newer one.

Checkpoints and the external file.  A due checkpoint is signed and inserted in
the same transaction as the events it covers.  It reaches ``checkpoints.jsonl``
only through :meth:`AuditLog.publish_checkpoints`, which the caller runs AFTER
its commit and which reads committed rows through its own connection: a
checkpoint of a rolled-back transaction never exists there, so it can never be
published.  If a process dies between commit and publish, the next publish
(from any process) catches up, because it copies every committed checkpoint
newer than the file's last line.

Scale: the head row is one serialisation point; batching (``append_many``)
amortises it.  Past one machine the plan is one chain per partition (a
``chain`` key on head and events) joined by a signed checkpoint over all chain
heads; the row format and verification already work per chain.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import threading
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from audit.checkpoints import Checkpoint, checkpoint_message, head_message
from audit.events import AuditEvent, encode_str, format_ts, is_legacy_row, parse_ts
from audit.interfaces import CheckpointSigner, CheckpointSink
from audit.refindex import KEY_HEX_CHARS, RefPartitioner, event_keys
from audit.tables import HEAD_ID, audit_checkpoints, audit_events, audit_head
from core.errors import AuditError, AuditWriteError

log = logging.getLogger(__name__)

DEFAULT_CHECKPOINT_EVERY = 1000
DEFAULT_CHECKPOINT_SECONDS = 300.0


EVENT_COLUMNS = (
    "seq", "ts", "subject", "roles", "purpose", "action", "resource", "fields", "decision", "row_count",
    "request_id", "record_refs", "detail", "prev_hash", "hash", "channel", "os_user",
)  # fmt: skip
TRUSTED_HEADS = 8  # (seq, hash, signature) of heads this process signed or checked, newest last


def _insert_sql(conn: Connection, table: str, columns: tuple[str, ...]) -> str:
    marker = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join([marker] * len(columns))})"


# The index rows of an event with many references (a scan's batch) go in as ONE statement that
# expands an array of keys in the database: per row, that costs about a third less than executemany
# of (part, key, seq) tuples, and no Python tuple per row.  Other dialects use executemany.
BULK_REF_KEYS = 64
_BULK_REF_SQL = {
    "sqlite": "INSERT INTO audit_ref_index (part, ref_key, seq) SELECT ?, value, ? FROM json_each(?)",
    "postgresql": "INSERT INTO audit_ref_index (part, ref_key, seq) SELECT %s, unnest(%s::bigint[]), %s",
}


def _bulk_ref_params(conn: Connection, part: int, keys: list[int], seq: int) -> tuple[object, ...]:
    if conn.dialect.name == "sqlite":
        return (part, seq, "[" + ",".join(map(str, keys)) + "]")  # JSON array of integers
    return (part, keys, seq)


# Statements built once: building them per call costs more than executing them on SQLite.
_ADVANCE_HEAD = (
    sa.update(audit_head)
    .where(audit_head.c.id == HEAD_ID)
    .values(seq=audit_head.c.seq + sa.bindparam("n", type_=sa.BigInteger()))
    .returning(
        audit_head.c.seq,
        audit_head.c.hash,
        audit_head.c.checkpoint_seq,
        audit_head.c.checkpoint_ts,
        audit_head.c.ref_part,
        audit_head.c.ref_fill,
        audit_head.c.head_key_id,
        audit_head.c.head_signature,
    )
)
_SET_HEAD = (
    sa.update(audit_head)
    .where(audit_head.c.id == HEAD_ID)
    .values(
        hash=sa.bindparam("hash", type_=sa.String()),
        head_key_id=sa.bindparam("head_key_id", type_=sa.String()),
        head_signature=sa.bindparam("head_signature", type_=sa.String()),
        ref_part=sa.bindparam("ref_part", type_=sa.BigInteger()),
        ref_fill=sa.bindparam("ref_fill", type_=sa.BigInteger()),
    )
)
_SET_HEAD_AND_CHECKPOINT = (
    sa.update(audit_head)
    .where(audit_head.c.id == HEAD_ID)
    .values(
        hash=sa.bindparam("hash", type_=sa.String()),
        head_key_id=sa.bindparam("head_key_id", type_=sa.String()),
        head_signature=sa.bindparam("head_signature", type_=sa.String()),
        ref_part=sa.bindparam("ref_part", type_=sa.BigInteger()),
        ref_fill=sa.bindparam("ref_fill", type_=sa.BigInteger()),
        checkpoint_seq=sa.bindparam("checkpoint_seq", type_=sa.BigInteger()),
        checkpoint_ts=sa.bindparam("checkpoint_ts", type_=sa.String()),
    )
)
_INSERT_CHECKPOINT = sa.insert(audit_checkpoints)
_TIP_EVENT = sa.select(audit_events.c.hash, audit_events.c.channel, audit_events.c.os_user).where(
    audit_events.c.seq == sa.bindparam("seq", type_=sa.BigInteger())
)
_SET_VERIFIED = (
    sa.update(audit_head)
    .where(audit_head.c.id == HEAD_ID)
    .values(verified_event_seq=sa.bindparam("verified", type_=sa.BigInteger()))
)

HeadRow = sa.Row[tuple[int, str, int, str, int, int, str, str]]


def utc_now() -> datetime:
    return datetime.now(UTC)


class AuditLog:
    """The real :class:`audit.interfaces.AuditSink`."""

    def __init__(
        self,
        *,
        signer: CheckpointSigner,
        checkpoint_sink: CheckpointSink,
        checkpoint_every: int = DEFAULT_CHECKPOINT_EVERY,
        checkpoint_seconds: float = DEFAULT_CHECKPOINT_SECONDS,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        if checkpoint_every <= 0:
            raise AuditError("checkpoint_every must be positive")
        if checkpoint_seconds <= 0:
            raise AuditError("checkpoint_seconds must be positive")
        self._signer = signer
        self._sink = checkpoint_sink
        self._every = checkpoint_every
        self._seconds = checkpoint_seconds
        self._clock = clock
        self._unpublished = True  # publish once after start-up to catch up
        self._flag_lock = threading.Lock()
        self._trusted: list[tuple[int, str, str]] = []  # guarded by _flag_lock

    # -- writing ---------------------------------------------------------------------------------------

    def append(self, conn: Connection, event: AuditEvent) -> int:
        """Write one event in the caller's transaction; returns its seq."""
        return self.append_many(conn, (event,))[0]

    def append_many(self, conn: Connection, events: Sequence[AuditEvent]) -> tuple[int, int]:
        """Write events (one executemany) in the caller's transaction; returns (first seq, last seq)."""
        if not events:
            raise AuditWriteError("append_many needs at least one event")
        try:
            return self._append(conn, events)
        except AuditWriteError:
            raise
        except Exception as exc:
            raise AuditWriteError("audit event could not be written; the access did not happen") from exc

    def append_verification(self, conn: Connection, event: AuditEvent) -> int:
        """Append the event of a verification (action ``audit_verify``) and make it the start of the
        next incremental verification (``audit_head.verified_event_seq``); returns its seq."""
        seq = self.append(conn, event)
        try:
            conn.execute(_SET_VERIFIED, {"verified": seq})
        except Exception as exc:
            raise AuditWriteError("audit event could not be written; the access did not happen") from exc
        return seq

    def checkpoint(self, conn: Connection) -> Checkpoint | None:
        """Sign a checkpoint of the current head now (in the caller's transaction), if it has moved.

        Like an append, it first checks the head's signature: a checkpoint never vouches for
        a head that this key did not sign.  Such a head gets no checkpoint (None, and a
        warning): appends already fail closed on it, and closing a command must not.
        """
        try:
            head = self._lock_head(conn, 0)
            last, tip, cp_seq = int(head.seq), str(head.hash), int(head.checkpoint_seq)
            try:
                self._check_head(conn, last, tip, str(head.head_key_id), str(head.head_signature))
            except AuditWriteError:
                log.warning("audit head not signed by this log's key: no checkpoint signed")
                return None
            if last == 0 or last == cp_seq:
                return None
            ts = format_ts(self._clock())
            checkpoint = self._write_checkpoint(conn, last, tip, ts)
            conn.execute(
                sa.update(audit_head)
                .where(audit_head.c.id == HEAD_ID)
                .values(checkpoint_seq=last, checkpoint_ts=ts)
            )
            return checkpoint
        except AuditWriteError:
            raise
        except Exception as exc:
            raise AuditWriteError("audit checkpoint could not be written") from exc

    def _lock_head(self, conn: Connection, n: int) -> HeadRow:
        row = conn.execute(_ADVANCE_HEAD, {"n": n}).one_or_none()
        if row is None:
            raise AuditWriteError("audit head row is missing; run the database migrations")
        return row

    def _sign_head(self, seq: int, tip: str) -> tuple[str, str]:
        """(key id, base64 signature) of the head (seq, tip)."""
        key_id = self._signer.key_id
        signature = base64.b64encode(self._signer.sign(head_message(seq, tip, key_id))).decode("ascii")
        return key_id, signature

    def _trust(self, seq: int, tip: str, signature: str) -> None:
        with self._flag_lock:
            self._trusted.append((seq, tip, signature))
            del self._trusted[:-TRUSTED_HEADS]

    def _check_head(self, conn: Connection, seq: int, tip: str, head_key_id: str, signature: str) -> None:
        """Refuse to extend (or checkpoint) a head that this key did not sign (see the module doc)."""
        if seq == 0:
            return
        with self._flag_lock:
            if (seq, tip, signature) in self._trusted:
                return
        key_id, expected = self._sign_head(seq, tip)
        if signature == expected and head_key_id == key_id:
            self._trust(seq, tip, signature)
            return
        if signature == "":
            row = conn.execute(_TIP_EVENT, {"seq": seq}).one_or_none()
            if row is not None and str(row.hash) == tip and is_legacy_row(str(row.channel), str(row.os_user)):
                return  # a log upgraded from before 0010: this append signs its head for the first time
        raise AuditWriteError(
            "the audit head is not signed by this log's key (changed outside hushdb?); "
            "nothing was written; run `hushdb audit verify`"
        )

    def _append(self, conn: Connection, events: Sequence[AuditEvent]) -> tuple[int, int]:
        n = len(events)
        head = self._lock_head(conn, n)
        last = int(head.seq)
        first = last - n + 1
        prev = str(head.hash)
        # the row already says seq + n: check the head as it was before this append
        self._check_head(conn, first - 1, prev, str(head.head_key_id), str(head.head_signature))
        moment = self._clock()
        ts = format_ts(moment)
        event_rows: list[tuple[object, ...]] = []
        ref_rows: list[tuple[int, int, int]] = []
        bulk_refs: list[tuple[int, list[int], int]] = []
        bulk_sql = _BULK_REF_SQL.get(conn.dialect.name)
        places = RefPartitioner(int(head.ref_part), int(head.ref_fill))
        sha256, ts_json = hashlib.sha256, encode_str(ts)
        prev_json = encode_str(prev)
        for seq, event in enumerate(events, start=first):
            roles_json, fields_json, refs_json, detail_json = event.column_json()
            # canonical_record_bytes(): the event serialised itself when it was built (record_parts)
            opening, middle, closing = event.record_parts()
            digest = sha256(f"{opening}{prev_json}{middle}{seq}{closing}{ts_json}}}".encode()).hexdigest()
            event_rows.append(
                (seq, ts, event.subject, roles_json, event.purpose, event.action, event.resource, fields_json,
                 event.decision, event.row_count, event.request_id, refs_json, detail_json, prev, digest,
                 event.channel, event.os_user)
            )  # fmt: skip
            record_refs = event.record_refs
            if len(record_refs) == 1:  # the common case, without building a key list
                ref_rows.append((places.place(1), int(record_refs[0][:KEY_HEX_CHARS], 16), seq))
            elif record_refs:
                keys = event_keys(record_refs)
                part = places.place(len(keys))
                if len(keys) >= BULK_REF_KEYS and bulk_sql is not None:
                    bulk_refs.append((part, keys, seq))
                else:
                    ref_rows.extend([(part, key, seq) for key in keys])
            prev, prev_json = digest, f'"{digest}"'  # a hex digest needs no JSON escaping
        # Core insert() costs ~5 µs per row in parameter processing; plain executemany of tuples
        # in the column order of EVENT_COLUMNS keeps batched appends fast on both engines.
        conn.exec_driver_sql(_insert_sql(conn, "audit_events", EVENT_COLUMNS), event_rows)
        if ref_rows:
            conn.exec_driver_sql(_insert_sql(conn, "audit_ref_index", ("part", "ref_key", "seq")), ref_rows)
        if bulk_sql is not None:
            for part, keys, seq in bulk_refs:
                conn.exec_driver_sql(bulk_sql, _bulk_ref_params(conn, part, keys, seq))
        key_id, signature = self._sign_head(last, prev)
        values: dict[str, object] = {
            "hash": prev,
            "head_key_id": key_id,
            "head_signature": signature,
            "ref_part": places.part,
            "ref_fill": places.fill,
        }
        if self._checkpoint_due(last, int(head.checkpoint_seq), str(head.checkpoint_ts), moment):
            self._write_checkpoint(conn, last, prev, ts)
            values.update(checkpoint_seq=last, checkpoint_ts=ts)
        if "checkpoint_seq" in values:
            conn.execute(_SET_HEAD_AND_CHECKPOINT, values)
        else:
            conn.execute(_SET_HEAD, values)
        self._trust(last, prev, signature)  # if this transaction rolls back, the old head is checked again
        return first, last

    def _checkpoint_due(self, last: int, cp_seq: int, cp_ts: str, moment: datetime) -> bool:
        if last - cp_seq >= self._every:
            return True
        if not cp_ts:
            return True  # the very first append anchors the chain with a checkpoint
        return (moment - parse_ts(cp_ts)).total_seconds() >= self._seconds

    def _write_checkpoint(self, conn: Connection, seq: int, tip: str, ts: str) -> Checkpoint:
        key_id = self._signer.key_id
        signature = base64.b64encode(self._signer.sign(checkpoint_message(seq, tip, ts, key_id))).decode(
            "ascii"
        )
        checkpoint = Checkpoint(seq=seq, hash=tip, ts=ts, key_id=key_id, signature=signature)
        conn.execute(
            _INSERT_CHECKPOINT, {"seq": seq, "hash": tip, "ts": ts, "key_id": key_id, "signature": signature}
        )
        with self._flag_lock:
            self._unpublished = True
        return checkpoint

    # -- reading and publishing -----------------------------------------------------------------------

    def head(self, conn: Connection) -> tuple[int, str]:
        """(seq, hash) of the chain tip; (0, GENESIS_HASH) for an empty log."""
        try:
            row = conn.execute(
                sa.select(audit_head.c.seq, audit_head.c.hash).where(audit_head.c.id == HEAD_ID)
            ).one_or_none()
        except Exception as exc:
            raise AuditError("cannot read the audit head") from exc
        if row is None:
            raise AuditError("audit head row is missing; run the database migrations")
        return int(row.seq), str(row.hash)

    def publish_checkpoints(self, engine: Engine, *, force: bool = False) -> int:
        """Copy committed checkpoints that the external sink lacks; call AFTER committing.

        Uses its own connection from ``engine``, so it only ever sees committed
        rows.  Cheap when this process has signed nothing since the last call
        (unless ``force``).  Returns how many checkpoints were appended.
        """
        with self._flag_lock:
            if not (force or self._unpublished):
                return 0
            self._unpublished = False
        try:
            last = self._sink.last_seq()
            with engine.connect() as conn:
                rows = conn.execute(
                    sa.select(audit_checkpoints)
                    .where(audit_checkpoints.c.seq > last)
                    .order_by(audit_checkpoints.c.seq)
                ).all()
                conn.rollback()
            checkpoints = [
                Checkpoint(seq=int(r.seq), hash=r.hash, ts=r.ts, key_id=r.key_id, signature=r.signature)
                for r in rows
            ]
            return self._sink.append(checkpoints)
        except Exception as exc:
            with self._flag_lock:
                self._unpublished = True
            if isinstance(exc, AuditError):
                raise
            raise AuditError("cannot publish audit checkpoints") from exc

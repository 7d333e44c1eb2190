"""The tamper harness: one attack per store; verify must fail naming the first bad seq.

Every store is verified untouched first (no false alarms), then attacked by a
"rogue admin" who can drop the append-only triggers and edit rows directly,
then verified again.  Attacks that recompute hashes can only be located to one
past the last checkpoint that still matches, so the harness runs with a
checkpoint at every event (exact) and every 7 events (bounded).
"""

from __future__ import annotations

import base64
import re
import sqlite3
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from sqlalchemy.engine import Connection, Engine, make_url

from audit.checkpoints import Checkpoint, read_checkpoints_file
from audit.events import AuditEvent
from audit.log import AuditLog
from audit.memory import InMemoryCheckpointSink
from audit.refindex import ref_key
from audit.signing import Ed25519Signer
from audit.verify import VerifyReport, verify, verify_engine
from core.db import create_db_engine

EVENTS = 40
K = 17  # the event the attacks aim at

EVENT_COLS = (
    "ts, subject, roles, purpose, action, resource, fields, decision, row_count, request_id, "
    "record_refs, detail, prev_hash, hash, channel, os_user"
)


@dataclass
class Store:
    engine: Engine
    log: AuditLog
    checkpoints_path: Path
    signer: Ed25519Signer
    tools: Any
    make_event: Callable[..., AuditEvent]

    def checkpoint_seqs(self) -> list[int]:
        return [cp.seq for cp in read_checkpoints_file(self.checkpoints_path).checkpoints]

    def bound(self, k: int) -> int:
        """Where a rehash attack at k is located: one past the last checkpoint before k."""
        return max((s for s in self.checkpoint_seqs() if s < k), default=0) + 1

    def verify(self) -> VerifyReport:
        return verify_engine(
            self.engine, checkpoints_path=self.checkpoints_path, public_key=self.signer.public_key
        )


@pytest.fixture(params=[1, 7], ids=["checkpoint-every-event", "checkpoint-every-7"])
def store(
    request: pytest.FixtureRequest,
    engine: Engine,
    make_log: Callable[..., AuditLog],
    make_event: Callable[..., AuditEvent],
    checkpoints_path: Path,
    signer: Ed25519Signer,
    tools: Any,
) -> Store:
    log = make_log(every=request.param)
    tools.append_n(engine, log, make_event, EVENTS)
    s = Store(engine, log, checkpoints_path, signer, tools, make_event)
    report = s.verify()
    assert report.ok, report.reason  # the untouched store passes
    assert report.events_checked == EVENTS and report.first_bad_seq is None
    return s


# -- attacks: each edits the store and returns the seq that verify must name ------------------------------


def _shift_up(conn: Connection, start: int) -> None:
    """Make room at ``start``: seq -> seq + 1 for every row from start on (events and refs)."""
    for table in ("audit_events", "audit_ref_index"):
        conn.exec_driver_sql(f"UPDATE {table} SET seq = -seq WHERE seq >= {start}")
        conn.exec_driver_sql(f"UPDATE {table} SET seq = -seq + 1 WHERE seq < 0")


def modify_payload(s: Store) -> int:
    with s.tools.rogue_admin(s.engine) as conn:
        conn.exec_driver_sql(f"UPDATE audit_events SET purpose = 'marketing' WHERE seq = {K}")
    return K


def modify_fields_list(s: Store) -> int:
    with s.tools.rogue_admin(s.engine) as conn:
        conn.exec_driver_sql(f"""UPDATE audit_events SET fields = '["email"]' WHERE seq = {K}""")
    return K


def modify_decision_and_rehash_one(s: Store) -> int:
    # recompute only this event's hash: the next event no longer links to it (or a checkpoint at K differs)
    with s.tools.rogue_admin(s.engine) as conn:
        conn.exec_driver_sql(f"UPDATE audit_events SET decision = 'allow', row_count = 99 WHERE seq = {K}")
        s.tools.rehash_from(conn, K, stop=K)
    return K if K in s.checkpoint_seqs() else K + 1


def delete_interior(s: Store) -> int:
    with s.tools.rogue_admin(s.engine) as conn:
        conn.exec_driver_sql(f"DELETE FROM audit_ref_index WHERE seq = {K}")
        conn.exec_driver_sql(f"DELETE FROM audit_events WHERE seq = {K}")
    return K


def delete_interior_and_renumber(s: Store) -> int:
    with s.tools.rogue_admin(s.engine) as conn:
        conn.exec_driver_sql(f"DELETE FROM audit_ref_index WHERE seq = {K}")
        conn.exec_driver_sql(f"DELETE FROM audit_events WHERE seq = {K}")
        for table in ("audit_events", "audit_ref_index"):
            conn.exec_driver_sql(f"UPDATE {table} SET seq = -seq WHERE seq > {K}")
            conn.exec_driver_sql(f"UPDATE {table} SET seq = -seq - 1 WHERE seq < 0")
        s.tools.rehash_from(conn, K)
    return s.bound(K)


def insert_forged_rehashed(s: Store) -> int:
    with s.tools.rogue_admin(s.engine) as conn:
        _shift_up(conn, K)
        conn.exec_driver_sql(
            f"INSERT INTO audit_events (seq, {EVENT_COLS}) SELECT {K}, ts, 'mallory', roles, purpose, action, "
            f"resource, fields, decision, row_count, request_id, '[]', detail, prev_hash, hash, channel, os_user "
            f"FROM audit_events WHERE seq = {K - 1}"
        )
        s.tools.rehash_from(conn, K)
    return s.bound(K)


def swap_two_events(s: Store) -> int:
    with s.tools.rogue_admin(s.engine) as conn:
        for table in ("audit_events", "audit_ref_index"):
            conn.exec_driver_sql(f"UPDATE {table} SET seq = -1 WHERE seq = {K}")
            conn.exec_driver_sql(f"UPDATE {table} SET seq = {K} WHERE seq = {K + 6}")
            conn.exec_driver_sql(f"UPDATE {table} SET seq = {K + 6} WHERE seq = -1")
    return K


def swap_two_events_rehashed(s: Store) -> int:
    with s.tools.rogue_admin(s.engine) as conn:
        for table in ("audit_events", "audit_ref_index"):
            conn.exec_driver_sql(f"UPDATE {table} SET seq = -1 WHERE seq = {K}")
            conn.exec_driver_sql(f"UPDATE {table} SET seq = {K} WHERE seq = {K + 1}")
            conn.exec_driver_sql(f"UPDATE {table} SET seq = {K + 1} WHERE seq = -1")
        s.tools.rehash_from(conn, K)
    return s.bound(K)


def duplicate_at_end(s: Store) -> int:
    with s.tools.rogue_admin(s.engine) as conn:
        conn.exec_driver_sql(
            f"INSERT INTO audit_events (seq, {EVENT_COLS}) SELECT {EVENTS + 1}, {EVENT_COLS} "
            f"FROM audit_events WHERE seq = {K}"
        )
    return EVENTS + 1


def duplicate_at_end_head_moved(s: Store) -> int:
    with s.tools.rogue_admin(s.engine) as conn:
        conn.exec_driver_sql(
            f"INSERT INTO audit_events (seq, {EVENT_COLS}) SELECT {EVENTS + 1}, {EVENT_COLS} "
            f"FROM audit_events WHERE seq = {K}"
        )
        conn.exec_driver_sql(f"UPDATE audit_head SET seq = {EVENTS + 1} WHERE id = 1")
    return EVENTS + 1


def duplicate_interior_rehashed(s: Store) -> int:
    with s.tools.rogue_admin(s.engine) as conn:
        _shift_up(conn, K + 1)
        conn.exec_driver_sql(
            f"INSERT INTO audit_events (seq, {EVENT_COLS}) SELECT {K + 1}, {EVENT_COLS} "
            f"FROM audit_events WHERE seq = {K}"
        )
        conn.exec_driver_sql(
            f"INSERT INTO audit_ref_index (part, ref_key, seq) SELECT part, ref_key, {K + 1} "
            f"FROM audit_ref_index WHERE seq = {K}"
        )
        s.tools.rehash_from(conn, K + 1)
    return s.bound(K + 1)


def truncate_tail(s: Store) -> int:
    cut = 30
    with s.tools.rogue_admin(s.engine) as conn:
        for table in ("audit_ref_index", "audit_events", "audit_checkpoints"):
            conn.exec_driver_sql(f"DELETE FROM {table} WHERE seq > {cut}")
        conn.exec_driver_sql(
            f"UPDATE audit_head SET seq = {cut}, checkpoint_seq = 0, "
            f"hash = (SELECT hash FROM audit_events WHERE seq = {cut}) WHERE id = 1"
        )
    return cut + 1


def truncate_tail_keep_head(s: Store) -> int:
    cut = 35
    with s.tools.rogue_admin(s.engine) as conn:
        conn.exec_driver_sql(f"DELETE FROM audit_ref_index WHERE seq > {cut}")
        conn.exec_driver_sql(f"DELETE FROM audit_events WHERE seq > {cut}")
    return cut + 1


def _resign_db_checkpoints(conn: Connection, rogue: Ed25519Signer) -> None:
    conn.exec_driver_sql("DELETE FROM audit_checkpoints")
    rows: list[tuple[int, str, str]] = [
        (int(r[0]), str(r[1]), str(r[2]))
        for r in conn.execute(sa.text("SELECT seq, hash, ts FROM audit_events ORDER BY seq"))
    ]
    for seq, digest, ts in rows:
        message = Checkpoint(
            seq=int(seq), hash=str(digest), ts=str(ts), key_id=rogue.key_id, signature=""
        ).message()
        signature = base64.b64encode(rogue.sign(message)).decode()
        conn.execute(
            sa.text(
                "INSERT INTO audit_checkpoints (seq, hash, ts, key_id, signature) VALUES (:s, :h, :t, :k, :g)"
            ),
            {"s": seq, "h": digest, "t": ts, "k": rogue.key_id, "g": signature},
        )


def rebuild_whole_log(s: Store) -> int:
    rogue = Ed25519Signer.generate()
    with s.tools.rogue_admin(s.engine) as conn:
        conn.exec_driver_sql(f"UPDATE audit_events SET subject = 'mallory' WHERE seq = {K}")
        s.tools.rehash_from(conn, 1)
        _resign_db_checkpoints(conn, rogue)
    return s.bound(K)


def rebuild_whole_log_and_file(s: Store) -> int:
    # the attacker also rewrites checkpoints.jsonl with their own key: every signature fails
    rogue = Ed25519Signer.generate()
    with s.tools.rogue_admin(s.engine) as conn:
        conn.exec_driver_sql(f"UPDATE audit_events SET subject = 'mallory' WHERE seq = {K}")
        s.tools.rehash_from(conn, 1)
        _resign_db_checkpoints(conn, rogue)
        rows = conn.execute(sa.text("SELECT seq, hash, ts, key_id, signature FROM audit_checkpoints")).all()
    s.checkpoints_path.write_text(
        "".join(
            Checkpoint(int(r[0]), str(r[1]), str(r[2]), str(r[3]), str(r[4])).to_json_line() + "\n"
            for r in rows
        )
    )
    return 1


def forge_db_checkpoint(s: Store) -> int:
    seq = s.checkpoint_seqs()[2]
    with s.tools.rogue_admin(s.engine) as conn:
        conn.exec_driver_sql(
            f"UPDATE audit_checkpoints SET ts = '2000-01-01T00:00:00.000000Z' WHERE seq = {seq}"
        )
    return seq


def modify_record_ref(s: Store) -> int:
    seq = K + 1 if K % 2 else K  # even seqs carry refs
    with s.tools.rogue_admin(s.engine) as conn:
        conn.exec_driver_sql(f"DELETE FROM audit_ref_index WHERE seq = {seq}")
        conn.exec_driver_sql(
            f"INSERT INTO audit_ref_index (part, ref_key, seq) VALUES (0, {ref_key('e' * 32)}, {seq})"
        )
    return seq


def hide_one_access(s: Store) -> int:
    # the index row is deleted so that access_report would not list the event
    seq = K + 1 if K % 2 else K
    with s.tools.rogue_admin(s.engine) as conn:
        conn.exec_driver_sql(f"DELETE FROM audit_ref_index WHERE seq = {seq} AND ref_key = "
                             f"(SELECT MIN(ref_key) FROM audit_ref_index WHERE seq = {seq})")  # fmt: skip
    return seq


def change_one_ref_key(s: Store) -> int:
    seq = K + 1 if K % 2 else K
    with s.tools.rogue_admin(s.engine) as conn:
        conn.exec_driver_sql(f"UPDATE audit_ref_index SET ref_key = ref_key + 1 WHERE seq = {seq} AND ref_key = "
                             f"(SELECT MIN(ref_key) FROM audit_ref_index WHERE seq = {seq})")  # fmt: skip
    return seq


def move_ref_to_other_partition(s: Store) -> int:
    seq = K + 1 if K % 2 else K
    with s.tools.rogue_admin(s.engine) as conn:
        conn.exec_driver_sql(f"UPDATE audit_ref_index SET part = part + 5 WHERE seq = {seq}")
    return seq


def forge_ref_row_for_event_without_refs(s: Store) -> int:
    seq = K if K % 2 else K + 1  # odd seqs carry no refs
    with s.tools.rogue_admin(s.engine) as conn:
        conn.exec_driver_sql(f"INSERT INTO audit_ref_index (part, ref_key, seq) VALUES (0, 12345, {seq})")
    return seq


def forge_ref_row_past_the_end(s: Store) -> int:
    with s.tools.rogue_admin(s.engine) as conn:
        conn.exec_driver_sql(
            f"INSERT INTO audit_ref_index (part, ref_key, seq) VALUES (3, 12345, {EVENTS + 4})"
        )
    return EVENTS + 4


def _newest_checkpoint_below(s: Store, seq: int) -> int:
    return max(c for c in s.checkpoint_seqs() if c < seq)


def delete_newest_event(s: Store) -> int:
    # the newest event and its index rows deleted, the head put back on the event before (hash and all)
    with s.tools.rogue_admin(s.engine) as conn:
        conn.exec_driver_sql(f"DELETE FROM audit_ref_index WHERE seq = {EVENTS}")
        conn.exec_driver_sql(f"DELETE FROM audit_events WHERE seq = {EVENTS}")
        conn.exec_driver_sql(f"DELETE FROM audit_checkpoints WHERE seq = {EVENTS}")
        conn.exec_driver_sql(
            f"UPDATE audit_head SET seq = {EVENTS - 1}, "
            f"hash = (SELECT hash FROM audit_events WHERE seq = {EVENTS - 1}) WHERE id = 1"
        )
    return s.bound(EVENTS)


def rewrite_newest_event(s: Store) -> int:
    # the newest event rewritten, its hash and the head's hash recomputed
    with s.tools.rogue_admin(s.engine) as conn:
        conn.exec_driver_sql(
            f"UPDATE audit_events SET subject = 'mallory', decision = 'deny' WHERE seq = {EVENTS}"
        )
        s.tools.rehash_from(conn, EVENTS)
    return s.bound(EVENTS)


def truncate_after_latest_checkpoint(s: Store) -> int:
    # everything after the newest checkpoint before the end deleted; the head rewound onto that
    # checkpoint and given the checkpoint's own signature (the domains differ: it does not pass)
    cut = _newest_checkpoint_below(s, EVENTS)
    with s.tools.rogue_admin(s.engine) as conn:
        signature = conn.execute(
            sa.text(f"SELECT signature FROM audit_checkpoints WHERE seq = {cut}")
        ).scalar()
        for table in ("audit_ref_index", "audit_events", "audit_checkpoints"):
            conn.exec_driver_sql(f"DELETE FROM {table} WHERE seq > {cut}")
        conn.execute(
            sa.text(
                "UPDATE audit_head SET seq = :c, checkpoint_seq = :c, head_signature = :g, "
                "hash = (SELECT hash FROM audit_events WHERE seq = :c) WHERE id = 1"
            ),
            {"c": cut, "g": signature},
        )
    s.checkpoints_path.write_text(  # the witness is beside the database here: cut as well
        "".join(
            cp.to_json_line() + "\n"
            for cp in read_checkpoints_file(s.checkpoints_path).checkpoints
            if cp.seq <= cut
        )
    )
    return cut + 1


def strip_head_signature(s: Store) -> int:
    # newest event deleted and the head's signature removed, as if it were a log from before signing
    with s.tools.rogue_admin(s.engine) as conn:
        conn.exec_driver_sql(f"DELETE FROM audit_ref_index WHERE seq = {EVENTS}")
        conn.exec_driver_sql(f"DELETE FROM audit_events WHERE seq = {EVENTS}")
        conn.exec_driver_sql(f"DELETE FROM audit_checkpoints WHERE seq = {EVENTS}")
        conn.exec_driver_sql(
            f"UPDATE audit_head SET seq = {EVENTS - 1}, head_signature = '', "
            f"hash = (SELECT hash FROM audit_events WHERE seq = {EVENTS - 1}) WHERE id = 1"
        )
    return s.bound(EVENTS)


def newest_rows_to_the_old_format(s: Store) -> int:
    # the newest event turned into a pre-0010 row (no channel), its hash recomputed in that format,
    # the head signature removed: "a log upgraded and never appended to since"
    with s.tools.rogue_admin(s.engine) as conn:
        conn.exec_driver_sql(f"UPDATE audit_events SET channel = '', os_user = '' WHERE seq = {EVENTS}")
        s.tools.rehash_from(conn, EVENTS)
        conn.exec_driver_sql("UPDATE audit_head SET head_signature = '' WHERE id = 1")
    return EVENTS


ATTACKS = [
    modify_payload,  # a changed purpose
    modify_fields_list,  # a changed JSON column
    modify_decision_and_rehash_one,  # changed and this row's hash patched
    delete_interior,  # a gap
    delete_interior_and_renumber,  # gap closed and hashes recomputed: checkpoints catch it
    insert_forged_rehashed,  # forged event with recomputed hashes
    swap_two_events,  # reordered
    swap_two_events_rehashed,  # reordered, hashes recomputed
    duplicate_at_end,  # a copy past the head
    duplicate_at_end_head_moved,  # a copy past the head, head moved
    duplicate_interior_rehashed,  # a copy inside, hashes recomputed
    truncate_tail,  # tail cut, head and DB checkpoints rewound: the external file catches it
    truncate_tail_keep_head,  # tail cut: the head catches it
    rebuild_whole_log,  # recomputed hashes, DB checkpoints re-signed with another key
    rebuild_whole_log_and_file,  # ... and the external file rewritten with that key
    forge_db_checkpoint,  # a checkpoint row edited: its signature fails
    modify_record_ref,  # the ref side table no longer matches the event
    hide_one_access,  # one index row deleted: access_report would miss the event
    change_one_ref_key,  # one index key changed
    move_ref_to_other_partition,  # a row moved out of its partition
    forge_ref_row_for_event_without_refs,  # an index row for an event that declares no refs
    forge_ref_row_past_the_end,  # an index row for an event that does not exist
    delete_newest_event,  # the newest event gone, the head moved back: its signature fails
    rewrite_newest_event,  # the newest event rewritten and rehashed: the head's signature fails
    truncate_after_latest_checkpoint,  # tail after the last checkpoint cut (witness too), head rewound
    strip_head_signature,  # the newest event gone and the head passed off as unsigned (pre-0010)
    newest_rows_to_the_old_format,  # a pre-0010 row after newer rows
]


@pytest.mark.parametrize("attack", ATTACKS, ids=[a.__name__ for a in ATTACKS])
def test_attack_is_detected_at_the_first_bad_seq(store: Store, attack: Callable[[Store], int]) -> None:
    expected = attack(store)
    report = store.verify()
    assert not report.ok
    assert report.first_bad_seq == expected, report.reason
    with pytest.raises(Exception, match=re.escape(report.reason[:20])):
        report.raise_if_tampered()


# -- an older copy of the database restored -----------------------------------------------------------------


def _copy_database(
    engine: Engine, pg_admin: Engine | None, tmp_path: Path
) -> tuple[Engine, Callable[[], None]]:
    if engine.dialect.name == "sqlite":
        target = tmp_path / "older-copy.sqlite3"
        raw = engine.raw_connection()
        try:
            dst = sqlite3.connect(target)
            raw.driver_connection.backup(dst)  # type: ignore[union-attr]
            dst.close()
        finally:
            raw.close()
        copy = create_db_engine(f"sqlite:///{target}")
        return copy, copy.dispose
    assert pg_admin is not None
    engine.dispose()
    name = f"hushdb_copy_{uuid.uuid4().hex[:10]}"
    source = engine.url.database
    with pg_admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}" TEMPLATE "{source}"')
    copy = create_db_engine(make_url(str(engine.url.render_as_string(hide_password=False))).set(database=name)
                            .render_as_string(hide_password=False))  # fmt: skip

    def drop() -> None:
        copy.dispose()
        with pg_admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    return copy, drop


def test_restored_older_copy_is_detected(
    engine: Engine,
    make_log: Callable[..., AuditLog],
    make_event: Callable[..., AuditEvent],
    checkpoints_path: Path,
    signer: Ed25519Signer,
    tools: Any,
    tmp_path: Path,
    pg_admin_engine: Engine | None,
) -> None:
    log = make_log(every=5)
    tools.append_n(engine, log, make_event, 23)
    older, drop = _copy_database(engine, pg_admin_engine, tmp_path)
    try:
        tools.append_n(engine, log, make_event, 10, start=23)
        current = verify_engine(engine, checkpoints_path=checkpoints_path, public_key=signer.public_key)
        assert current.ok, current.reason
        report = verify_engine(older, checkpoints_path=checkpoints_path, public_key=signer.public_key)
        assert not report.ok and report.first_bad_seq == 24, report.reason
    finally:
        drop()


def test_missing_checkpoints_file_still_verifies_the_chain(store: Store) -> None:
    store.checkpoints_path.unlink()
    report = store.verify()
    assert report.ok and report.checkpoints_checked > 0  # the database checkpoints still verify


def test_wrong_public_key_fails(store: Store) -> None:
    other = Ed25519Signer.generate()
    report = verify_engine(store.engine, checkpoints_path=store.checkpoints_path, public_key=other.public_key)
    assert not report.ok and report.first_bad_seq == 1


def test_no_unsigned_tail_the_head_is_signed(
    engine: Engine, make_log: Callable[..., AuditLog], make_event: Callable[..., AuditEvent], tools: Any,
    checkpoints_path: Path, signer: Ed25519Signer,
) -> None:  # fmt: skip
    log = make_log(every=10)
    tools.append_n(engine, log, make_event, 14)
    report = verify_engine(engine, checkpoints_path=checkpoints_path, public_key=signer.public_key)
    assert report.ok and report.head_signed and report.last_checkpoint_seq == 11
    assert report.last_signed_seq == 14 and report.unsigned_tail == 0 and report.head_seq == 14


def test_erased_customer_events_stay_verifiable(
    engine: Engine, audit_log: AuditLog, make_event: Callable[..., AuditEvent], tools: Any,
    checkpoints_path: Path, signer: Ed25519Signer,
) -> None:  # fmt: skip
    # events hold only HMAC refs: erasing the customer touches nothing in the log
    tools.append_n(engine, audit_log, make_event, 5)
    with engine.begin() as conn:
        audit_log.append(conn, make_event(5, action="erasure", purpose="erasure", fields=()))
    audit_log.publish_checkpoints(engine)
    assert verify_engine(engine, checkpoints_path=checkpoints_path, public_key=signer.public_key).ok


# -- random byte flips ----------------------------------------------------------------------------------------

EVENT_TEXT = ("ts", "subject", "roles", "purpose", "action", "resource", "fields", "decision", "request_id",
              "record_refs", "detail", "prev_hash", "hash", "channel")  # fmt: skip


@dataclass(frozen=True)
class Flip:
    table: str
    seq: int
    column: str
    position: int
    bit: int


flips = st.one_of(
    st.builds(Flip, st.just("audit_events"), st.integers(1, 12), st.sampled_from(EVENT_TEXT),
              st.integers(0, 400), st.integers(0, 7)),
    st.builds(Flip, st.just("audit_events"), st.integers(1, 12), st.sampled_from(["seq", "row_count"]),
              st.just(0), st.integers(0, 40)),
    st.builds(Flip, st.just("audit_ref_index"), st.sampled_from([2, 4, 6, 8, 10, 12]),
              st.sampled_from(["ref_key", "seq", "part"]), st.just(0), st.integers(0, 40)),
)  # fmt: skip


@pytest.fixture
def flip_store(
    engine: Engine, make_log: Callable[..., AuditLog], make_event: Callable[..., AuditEvent], tools: Any
) -> Engine:
    log = make_log(every=1)
    tools.append_n(engine, log, make_event, 12)
    return engine


def _apply_flip(conn: Connection, f: Flip) -> int | None:
    """Flip one bit of one stored value; return the seq verify must name, None if the flip is impossible."""
    if f.table == "audit_events":
        old = conn.execute(
            sa.text(f"SELECT {f.column} FROM audit_events WHERE seq = :s"), {"s": f.seq}
        ).scalar()
        where = "seq = :s"
        params: dict[str, Any] = {"s": f.seq}
    else:
        row = conn.execute(sa.text("SELECT seq, part, ref_key FROM audit_ref_index WHERE seq = :s LIMIT 1"),
                           {"s": f.seq}).one()  # fmt: skip
        old = {"seq": row[0], "part": row[1], "ref_key": row[2]}[f.column]
        where = "seq = :s AND part = :p AND ref_key = :k"
        params = {"s": row[0], "p": row[1], "k": row[2]}
    if isinstance(old, int):
        new: Any = old ^ (1 << f.bit)
        expected = min(f.seq, new) if f.column == "seq" else f.seq
    else:
        raw = bytearray(str(old).encode("utf-8"))
        if f.position >= len(raw):
            return None
        raw[f.position] ^= 1 << (f.bit % 8)
        try:
            new = raw.decode("utf-8")
        except UnicodeDecodeError:
            return None
        if "\x00" in new:
            return None
        expected = f.seq
    savepoint = conn.begin_nested()
    try:
        conn.execute(sa.text(f"UPDATE {f.table} SET {f.column} = :new WHERE {where}"), {**params, "new": new})
    except sa.exc.IntegrityError:
        savepoint.rollback()
        return None
    savepoint.commit()
    return expected


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(flip=flips)
def test_random_bit_flips_are_detected_at_their_seq(
    flip_store: Engine, flip: Flip, checkpoints_path: Path, signer: Ed25519Signer, tools: Any
) -> None:
    with flip_store.connect() as conn:
        conn.begin()
        try:
            before = verify(conn, checkpoints_path=checkpoints_path, public_key=signer.public_key)
            assert before.ok, before.reason
            tools.drop_guards(conn)
            expected = _apply_flip(conn, flip)
            assume(expected is not None)
            report = verify(conn, checkpoints_path=checkpoints_path, public_key=signer.public_key)
            assert not report.ok
            assert report.first_bad_seq == expected, report.reason
        finally:
            conn.rollback()


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    column=st.sampled_from(["hash", "ts", "key_id", "signature"]),
    row=st.integers(0, 11),
    position=st.integers(0, 60),
    bit=st.integers(0, 6),
)
def test_random_bit_flips_in_checkpoints_are_detected(
    flip_store: Engine, column: str, row: int, position: int, bit: int, checkpoints_path: Path,
    signer: Ed25519Signer, tools: Any,
) -> None:  # fmt: skip
    checkpoints_path.unlink(missing_ok=True)  # only the database copy: its rows must carry the proof
    with flip_store.connect() as conn:
        conn.begin()
        try:
            seq = row + 1
            old = conn.execute(
                sa.text(f"SELECT {column} FROM audit_checkpoints WHERE seq = :s"), {"s": seq}
            ).scalar()
            raw = bytearray(str(old).encode())
            assume(position < len(raw))
            raw[position] ^= 1 << bit
            new = raw.decode("utf-8", errors="strict")
            assume("\x00" not in new)
            tools.drop_guards(conn)
            conn.execute(
                sa.text(f"UPDATE audit_checkpoints SET {column} = :n WHERE seq = :s"), {"n": new, "s": seq}
            )
            report = verify(conn, checkpoints_path=checkpoints_path, public_key=signer.public_key)
            assert not report.ok
        finally:
            conn.rollback()


def test_in_memory_checkpoint_sink_is_a_checkpoint_sink() -> None:
    sink = InMemoryCheckpointSink()
    cp = Checkpoint(seq=3, hash="0" * 64, ts="t", key_id="k", signature="")
    assert sink.append([cp, cp]) == 1 and sink.last_seq() == 3

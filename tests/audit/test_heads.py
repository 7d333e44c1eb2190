"""No unsigned tail, the witness, a pinned key, incremental verification (issue 15, item 5).

Each test attacks the store as a rogue database administrator (triggers dropped, rows edited) and
must fail if the protection it names is removed: the signed head, the head check before an append,
the witness, the pinned public key, the start check of an incremental verification.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from audit.checkpoints import Checkpoint, read_checkpoints_file
from audit.events import AuditEvent
from audit.log import AuditLog
from audit.signing import Ed25519Signer
from audit.verify import VERIFY_ACTION, VerifyReport, verify_engine
from core.errors import AuditError, AuditWriteError

N = 20


def _verify(engine: Engine, witness: Path | None, signer: Ed25519Signer, **kw: Any) -> VerifyReport:
    return verify_engine(engine, checkpoints_path=witness, public_key=signer.public_key, **kw)


@pytest.fixture
def filled(
    engine: Engine, make_log: Callable[..., AuditLog], make_event: Callable[..., AuditEvent], tools: Any
) -> AuditLog:
    log = make_log(every=7)  # checkpoints at 1, 8, 15: the last five events are covered by the head only
    tools.append_n(engine, log, make_event, N)
    return log


def _head(engine: Engine) -> dict[str, Any]:
    with engine.connect() as conn:
        return dict(conn.execute(sa.text("SELECT * FROM audit_head WHERE id = 1")).mappings().one())


def _cut_to(engine: Engine, tools: Any, seq: int, head: dict[str, Any] | None = None) -> None:
    """Delete every event, index row and checkpoint after ``seq``; put the head back (``head`` replayed)."""
    with tools.rogue_admin(engine) as conn:
        for table in ("audit_ref_index", "audit_events", "audit_checkpoints"):
            conn.exec_driver_sql(f"DELETE FROM {table} WHERE seq > {seq}")
        if head is not None:
            conn.execute(
                sa.text(
                    "UPDATE audit_head SET seq = :seq, hash = :hash, head_key_id = :head_key_id, "
                    "head_signature = :head_signature, checkpoint_seq = :checkpoint_seq, "
                    "checkpoint_ts = :checkpoint_ts, ref_part = :ref_part, ref_fill = :ref_fill WHERE id = 1"
                ),
                head,
            )


# -- the head is checked before the chain is extended ---------------------------------------------------------


def test_an_append_refuses_to_extend_a_head_it_did_not_sign(
    engine: Engine, filled: AuditLog, make_log: Callable[..., AuditLog], make_event: Callable[..., AuditEvent],
    tools: Any,
) -> None:  # fmt: skip
    # the newest event deleted and the head moved back: a later append would re-sign (launder) the cut
    with tools.rogue_admin(engine) as conn:
        conn.exec_driver_sql(f"DELETE FROM audit_ref_index WHERE seq = {N}")
        conn.exec_driver_sql(f"DELETE FROM audit_events WHERE seq = {N}")
        conn.exec_driver_sql(
            f"UPDATE audit_head SET seq = {N - 1}, hash = (SELECT hash FROM audit_events WHERE seq = {N - 1})"
        )
    for log in (filled, make_log(every=7)):  # this process, and another one that never saw the head
        with pytest.raises(AuditWriteError, match="not signed by this log's key"), engine.begin() as conn:
            log.append(conn, make_event(99))
        with engine.begin() as conn:
            assert log.checkpoint(conn) is None  # nor does a checkpoint vouch for it
    assert _head(engine)["seq"] == N - 1  # nothing was written


def test_another_process_extends_a_properly_signed_head(
    engine: Engine, filled: AuditLog, make_log: Callable[..., AuditLog], make_event: Callable[..., AuditEvent],
    checkpoints_path: Path, signer: Ed25519Signer,
) -> None:  # fmt: skip
    other = make_log(every=7)
    with engine.begin() as conn:
        assert other.append(conn, make_event(50)) == N + 1
    with engine.connect() as conn:
        conn.begin()
        filled.append(conn, make_event(51))
        conn.rollback()  # a rolled-back append: the head this process signed last never committed
    with engine.begin() as conn:
        assert filled.append(conn, make_event(52)) == N + 2
    assert _verify(engine, checkpoints_path, signer).ok


def test_a_log_from_before_head_signing_is_adopted_once(
    engine: Engine, make_log: Callable[..., AuditLog], make_event: Callable[..., AuditEvent], tools: Any,
    checkpoints_path: Path, signer: Ed25519Signer,
) -> None:  # fmt: skip
    log = make_log(every=100)
    tools.append_n(engine, log, make_event, 6)
    with tools.rogue_admin(engine) as conn:  # what migration 0010 leaves: old rows, an unsigned head
        conn.exec_driver_sql("UPDATE audit_events SET channel = '', os_user = ''")
        tools.rehash_from(conn, 1)
        conn.exec_driver_sql("UPDATE audit_head SET head_signature = '', head_key_id = ''")
        conn.exec_driver_sql("DELETE FROM audit_checkpoints")
    checkpoints_path.unlink()
    before = _verify(engine, checkpoints_path, signer)
    assert before.ok and not before.head_signed and before.unsigned_tail == 6, before.reason
    with engine.begin() as conn:
        log.append(conn, make_event(7, channel="cli", os_user="ops"))
    after = _verify(engine, checkpoints_path, signer)
    assert after.ok and after.head_signed and after.unsigned_tail == 0, after.reason
    # once a newer row exists, an unsigned head is never accepted again
    with tools.rogue_admin(engine) as conn:
        conn.exec_driver_sql("UPDATE audit_head SET head_signature = ''")
    assert not _verify(engine, checkpoints_path, signer).ok
    with pytest.raises(AuditWriteError), engine.begin() as conn:
        make_log(every=100).append(conn, make_event(8))


# -- the witness ------------------------------------------------------------------------------------------------


def test_a_replayed_older_head_is_caught_only_by_the_witness(
    engine: Engine, filled: AuditLog, make_event: Callable[..., AuditEvent], tools: Any,
    checkpoints_path: Path, signer: Ed25519Signer,
) -> None:  # fmt: skip
    saved = _head(engine)  # the attacker kept a copy of the signed head at seq N
    tools.append_n(engine, filled, make_event, 4, start=N)
    with engine.begin() as conn:
        filled.checkpoint(conn)  # what closing a CLI command does
    filled.publish_checkpoints(engine)
    _cut_to(engine, tools, N, saved)  # events, index rows, checkpoints and head all put back
    # the database alone cannot tell (documented): the events AND the signed head were put back together
    assert _verify(engine, None, signer).ok
    report = _verify(engine, checkpoints_path, signer)
    assert not report.ok and report.first_bad_seq == N + 1, report.reason
    assert "witness checkpoint" in report.reason


@pytest.mark.parametrize(
    "edit",
    ["hash", "seq", "signature", "forged_line", "other_key", "garbage"],
)
def test_an_edited_witness_file_is_detected(
    engine: Engine, filled: AuditLog, checkpoints_path: Path, signer: Ed25519Signer, edit: str
) -> None:
    assert _verify(engine, checkpoints_path, signer).ok
    lines = checkpoints_path.read_text().splitlines()
    cp = Checkpoint.from_json_line(lines[1])
    if edit == "hash":
        lines[1] = Checkpoint(cp.seq, "ab" * 32, cp.ts, cp.key_id, cp.signature).to_json_line()
    elif edit == "seq":
        lines[1] = Checkpoint(cp.seq + 1, cp.hash, cp.ts, cp.key_id, cp.signature).to_json_line()
    elif edit == "signature":
        other = Checkpoint.from_json_line(lines[0])
        lines[1] = Checkpoint(cp.seq, cp.hash, cp.ts, cp.key_id, other.signature).to_json_line()
    elif edit == "forged_line":  # a checkpoint far ahead, as if the log had been cut
        lines.append(Checkpoint(N + 50, cp.hash, cp.ts, cp.key_id, cp.signature).to_json_line())
    elif edit == "other_key":  # re-signed with the attacker's key
        rogue = Ed25519Signer.generate()
        forged = Checkpoint(cp.seq, cp.hash, cp.ts, rogue.key_id, "")
        signature = base64.b64encode(rogue.sign(forged.message())).decode()
        lines[1] = Checkpoint(cp.seq, cp.hash, cp.ts, rogue.key_id, signature).to_json_line()
    else:
        lines[1] = lines[1][:-7]
    checkpoints_path.write_text("\n".join(lines) + "\n")
    report = _verify(engine, checkpoints_path, signer)
    assert not report.ok, (edit, report.reason)


def test_a_missing_witness_is_an_error_when_required(
    engine: Engine, filled: AuditLog, checkpoints_path: Path, signer: Ed25519Signer, tmp_path: Path
) -> None:
    checkpoints_path.unlink()
    assert _verify(engine, checkpoints_path, signer).ok  # beside the database: no proof either way
    with pytest.raises(AuditError, match="does not exist"):
        _verify(engine, checkpoints_path, signer, witness_required=True)
    with pytest.raises(AuditError, match="unreachable"):
        _verify(engine, tmp_path / "not-mounted" / "checkpoints.jsonl", signer)


def test_publishing_to_an_unreachable_witness_fails_and_creates_nothing(
    engine: Engine, make_event: Callable[..., AuditEvent], signer: Ed25519Signer, tmp_path: Path
) -> None:
    from audit.checkpoints import JsonlCheckpointSink

    target = tmp_path / "mnt" / "witness" / "checkpoints.jsonl"
    log = AuditLog(signer=signer, checkpoint_sink=JsonlCheckpointSink(target))
    with engine.begin() as conn:
        log.append(conn, make_event(1))  # the access itself is not blocked by the witness
    with pytest.raises(AuditError, match="unreachable"):
        log.publish_checkpoints(engine)
    assert not (tmp_path / "mnt").exists()  # no local directory where a mount should be
    target.parent.mkdir(parents=True)
    assert log.publish_checkpoints(engine) == 1  # catches up once it is back


# -- a replaced signing key -------------------------------------------------------------------------------------


def test_a_log_resigned_with_a_new_key_fails_against_the_pinned_key_or_the_witness(
    engine: Engine, filled: AuditLog, checkpoints_path: Path, signer: Ed25519Signer, tools: Any
) -> None:
    rogue = Ed25519Signer.generate()
    tools.rebuild_with(engine, rogue)
    # with the key the attacker put in the data directory and no witness, everything "verifies":
    assert _verify(engine, None, rogue).ok
    # ... the pinned (original) key rejects it,
    pinned = _verify(engine, None, signer)
    assert not pinned.ok and pinned.first_bad_seq == 1, pinned.reason
    # ... and so does the witness, written with the original key, even with the attacker's key
    witness = _verify(engine, checkpoints_path, rogue)
    assert not witness.ok and "witness" in witness.reason, witness.reason


# -- incremental verification ---------------------------------------------------------------------------------


def _record_verification(
    engine: Engine, log: AuditLog, report: VerifyReport, make_event: Callable[..., AuditEvent]
) -> int:
    """What core.compliance does after a successful verification."""
    detail = {"ok": True, "verified_seq": report.head_seq, "verified_hash": report.head_hash,
              "ref_part": report.ref_part, "ref_fill": report.ref_fill}  # fmt: skip
    event = make_event(0, action=VERIFY_ACTION, resource="audit", fields=("verify",), record_refs=(),
                       decision="allow", detail=detail)  # fmt: skip
    with engine.begin() as conn:
        return log.append_verification(conn, event)


def test_incremental_verification_checks_only_what_is_new(
    engine: Engine, filled: AuditLog, make_event: Callable[..., AuditEvent], tools: Any,
    checkpoints_path: Path, signer: Ed25519Signer,
) -> None:  # fmt: skip
    first = _verify(engine, checkpoints_path, signer, incremental=True)
    assert first.ok and first.since_seq == 0 and first.events_checked == N  # nothing recorded: in full
    mark = _record_verification(engine, filled, first, make_event)
    tools.append_n(engine, filled, make_event, 9, start=N)
    report = _verify(engine, checkpoints_path, signer, incremental=True)
    assert report.ok and report.since_seq == N and report.events_checked == 10 and report.head_seq == N + 10
    assert report.ref_fill == _verify(engine, checkpoints_path, signer).ref_fill  # same partition state
    # a new event changed (hash recomputed): found
    with tools.rogue_admin(engine) as conn:
        conn.exec_driver_sql(f"UPDATE audit_events SET subject = 'mallory' WHERE seq = {N + 4}")
        tools.rehash_from(conn, N + 4)
    bad = _verify(engine, checkpoints_path, signer, incremental=True)
    assert not bad.ok and N < bad.first_bad_seq <= N + 4 and mark > N


def test_incremental_start_must_still_hold_its_recorded_hash(
    engine: Engine, filled: AuditLog, make_event: Callable[..., AuditEvent], tools: Any,
    checkpoints_path: Path, signer: Ed25519Signer,
) -> None:  # fmt: skip
    _record_verification(engine, filled, _verify(engine, checkpoints_path, signer), make_event)
    tools.append_n(engine, filled, make_event, 3, start=N)
    with tools.rogue_admin(engine) as conn:  # an old event changed and every hash recomputed
        conn.exec_driver_sql("UPDATE audit_events SET subject = 'mallory' WHERE seq = 3")
        tools.rehash_from(conn, 3)
    report = _verify(engine, checkpoints_path, signer, incremental=True)
    assert not report.ok and report.first_bad_seq == N, report.reason


def test_incremental_pointer_to_another_event_falls_back_to_a_full_verification(
    engine: Engine, filled: AuditLog, make_event: Callable[..., AuditEvent], tools: Any,
    checkpoints_path: Path, signer: Ed25519Signer,
) -> None:  # fmt: skip
    _record_verification(engine, filled, _verify(engine, checkpoints_path, signer), make_event)
    with tools.rogue_admin(engine) as conn:
        conn.exec_driver_sql("UPDATE audit_head SET verified_event_seq = 4 WHERE id = 1")
    report = _verify(engine, checkpoints_path, signer, incremental=True)
    assert report.ok and report.since_seq == 0 and report.events_checked == N + 1
    assert "verified in full" in report.reason


def test_verification_event_detail_is_hashed(
    engine: Engine, filled: AuditLog, make_event: Callable[..., AuditEvent], tools: Any,
    checkpoints_path: Path, signer: Ed25519Signer,
) -> None:  # fmt: skip
    mark = _record_verification(engine, filled, _verify(engine, checkpoints_path, signer), make_event)
    with engine.connect() as conn:
        detail = json.loads(
            conn.execute(sa.text(f"SELECT detail FROM audit_events WHERE seq = {mark}")).scalar()
        )
    assert detail["verified_seq"] == N
    with tools.rogue_admin(engine) as conn:  # moving the start forward means editing the event: caught
        conn.exec_driver_sql(
            f"UPDATE audit_events SET detail = replace(detail, '\"verified_seq\":{N}', '\"verified_seq\":{N - 1}') "
            f"WHERE seq = {mark}"
        )
    assert not _verify(engine, checkpoints_path, signer).ok


def test_witness_checkpoints_file_lines_are_all_read(checkpoints_path: Path, filled: AuditLog) -> None:
    assert [cp.seq for cp in read_checkpoints_file(checkpoints_path).checkpoints] == [1, 8, 15]


@pytest.mark.parametrize("column", ["head_signature", "head_key_id"])
def test_a_changed_head_signature_or_key_id_fails(
    engine: Engine, filled: AuditLog, checkpoints_path: Path, signer: Ed25519Signer, tools: Any, column: str
) -> None:
    with tools.rogue_admin(engine) as conn:
        value = str(conn.execute(sa.text(f"SELECT {column} FROM audit_head WHERE id = 1")).scalar())
        flipped = ("B" if value[3] != "B" else "C").join((value[:3], value[4:]))
        conn.execute(sa.text(f"UPDATE audit_head SET {column} = :v WHERE id = 1"), {"v": flipped})
    report = _verify(engine, checkpoints_path, signer)
    assert not report.ok and report.first_bad_seq == 16 and "head" in report.reason, report.reason

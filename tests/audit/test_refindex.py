"""The record-reference index: partitions, lookups across them, verification of every row.

Most tests shrink ``REF_PART_SIZE`` to 5 so that a few events span several
partitions (the writer and the verifier read the constant when they start).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import event as sa_event
from sqlalchemy.engine import Engine

from audit import refindex
from audit.events import AuditEvent
from audit.log import AuditLog
from audit.queries import access_report, events
from audit.refindex import RefIndexCheck, RefPartitioner, declared_keys, event_keys, ref_key
from audit.refs import RecordRefs
from audit.signing import Ed25519Signer
from audit.verify import READ_ONLY_OPTION, VerifyReport, verify_engine

SMALL = 5


@pytest.fixture
def small_parts(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(refindex, "REF_PART_SIZE", SMALL)


def test_partition_rule_fills_then_starts_the_next_partition() -> None:
    places = RefPartitioner()
    places.size = SMALL
    # n:     2  3  1  5  7  1  4  1
    parts = [places.place(n) for n in (2, 3, 1, 5, 7, 1, 4, 1)]
    # 2+3 = 5 fits; +1 overflows -> 1; 1+5 overflows -> 2; 5+7 -> 3 (alone, over size); 7+1 -> 4; 1+4 fits; +1 -> 5
    assert parts == [0, 0, 1, 2, 3, 4, 4, 5]
    assert (places.part, places.fill) == (5, 1)


def test_keys_are_60_bit_prefixes_deduplicated() -> None:
    a, b = "a" * 15 + "0" * 17, "a" * 15 + "1" * 17  # same key, different references
    assert ref_key(a) == ref_key(b) == int("a" * 15, 16) < 2**60
    assert event_keys((a, b, "f" * 32)) == sorted({ref_key(a), ref_key("f" * 32)})
    assert declared_keys(f'["{a}","{b}"]') == [ref_key(a)]
    assert declared_keys(f'["{a}"]') == [ref_key(a)]
    assert declared_keys("[]") == [] and declared_keys("not json") is None
    assert declared_keys('["zz"]') is None  # not hex: a mismatch, never an exception


def test_check_names_rows_that_no_event_claims() -> None:
    key = ref_key("b" * 32)
    check = RefIndexCheck([(0, key, 1), (0, key, 2), (7, 1, 9)])
    assert check.check(1, f'["{"b" * 32}"]')
    assert check.finish() == 2  # seq 2 declares nothing but has a row; seq 9's row is in no partition


@pytest.fixture
def scenario(
    engine: Engine, make_log: Callable[..., AuditLog], refs: RecordRefs, small_parts: None
) -> tuple[AuditLog, dict[int, tuple[str, ...]]]:
    """Events with 0, 1, a few, many and duplicated refs, in single appends and batches."""
    log = make_log(every=3)
    ids = [f"c{i}" for i in range(12)]
    shapes: list[tuple[str, ...]] = [
        (ids[0],), (), (ids[1], ids[2]), tuple(ids[:9]), (ids[0], ids[0], ids[3]), (ids[4],), (ids[0],),
        tuple(ids), (), (ids[5], ids[0]), (ids[6],), (ids[7],), (ids[8],), (ids[0], ids[11]),
    ]  # fmt: skip
    declared: dict[int, tuple[str, ...]] = {}

    def ev(i: int, ref_ids: tuple[str, ...]) -> AuditEvent:
        return AuditEvent(
            subject=f"s{i % 3}", roles=("sales",), purpose="service", action="read", resource="customer",
            fields=("email",), decision="allow", row_count=len(ref_ids), request_id=f"r{i}",
            record_refs=tuple(refs.ref(x) for x in ref_ids),
        )  # fmt: skip

    for i, shape in enumerate(shapes[:5]):  # one event per transaction
        with engine.begin() as conn:
            declared[log.append(conn, ev(i, shape))] = tuple(refs.ref(x) for x in shape)
    with engine.begin() as conn:  # one batch
        first, _ = log.append_many(conn, [ev(i, s) for i, s in enumerate(shapes[5:], start=5)])
    for offset, shape in enumerate(shapes[5:]):
        declared[first + offset] = tuple(refs.ref(x) for x in shape)
    log.publish_checkpoints(engine)
    return log, declared


def _index_rows(engine: Engine) -> list[tuple[int, int, int]]:
    with engine.connect() as conn:
        rows = [
            (int(r[0]), int(r[1]), int(r[2]))
            for r in conn.execute(
                sa.text("SELECT part, ref_key, seq FROM audit_ref_index ORDER BY seq, ref_key")
            )
        ]
        conn.rollback()
    return rows


def _verify(engine: Engine, checkpoints_path: Path, signer: Ed25519Signer) -> VerifyReport:
    return verify_engine(engine, checkpoints_path=checkpoints_path, public_key=signer.public_key)


def test_rows_follow_the_partition_rule_and_verify(
    engine: Engine, scenario: tuple[AuditLog, dict[int, tuple[str, ...]]], checkpoints_path: Path,
    signer: Ed25519Signer,
) -> None:  # fmt: skip
    _, declared = scenario
    places = RefPartitioner()
    expected: list[tuple[int, int, int]] = []
    for seq in sorted(declared):
        keys = event_keys(declared[seq]) if declared[seq] else []
        if keys:
            part = places.place(len(keys))
            expected.extend((part, key, seq) for key in keys)
    assert _index_rows(engine) == expected
    assert len({part for part, _, _ in expected}) >= 5  # the scenario really spans partitions
    with engine.connect() as conn:
        head = conn.execute(sa.text("SELECT ref_part, ref_fill FROM audit_head WHERE id = 1")).one()
        conn.rollback()
    assert (head[0], head[1]) == (places.part, places.fill)
    report = _verify(engine, checkpoints_path, signer)
    assert report.ok, report.reason


def test_lookups_find_exactly_the_events_of_one_record_across_partitions(
    engine: Engine, scenario: tuple[AuditLog, dict[int, tuple[str, ...]]], refs: RecordRefs
) -> None:
    _, declared = scenario
    for record_id in [f"c{i}" for i in range(13)]:
        ref = refs.ref(record_id)
        wanted = [seq for seq in sorted(declared) if ref in declared[seq]]
        with engine.connect() as conn:
            report = [r["seq"] for r in access_report(conn, ref)]
            listed = [r["seq"] for r in events(conn, record_ref=ref)]
            paged = list(
                itertools.chain.from_iterable(
                    [r["seq"] for r in events(conn, record_ref=ref, after_seq=after, limit=2)]
                    for after in [0, *wanted[1::2]]
                )
            )
            conn.rollback()
        assert report == listed == wanted, record_id
        assert paged == wanted, record_id
    assert len([seq for seq in declared if refs.ref("c0") in declared[seq]]) > 3


def test_a_key_collision_never_adds_an_event_to_a_report(
    engine: Engine, audit_log: AuditLog, make_event: Callable[..., AuditEvent], checkpoints_path: Path,
    signer: Ed25519Signer,
) -> None:  # fmt: skip
    a, b = "a" * 15 + "0" * 17, "a" * 15 + "1" * 17
    with engine.begin() as conn:
        audit_log.append_many(
            conn,
            [
                make_event(0, record_refs=(a,)),
                make_event(1, record_refs=(b,)),
                make_event(2, record_refs=(a, b)),
            ],
        )
    audit_log.publish_checkpoints(engine)
    with engine.connect() as conn:
        assert [r["seq"] for r in access_report(conn, a)] == [1, 3]
        assert [r["seq"] for r in access_report(conn, b)] == [2, 3]
        conn.rollback()
    assert _verify(engine, checkpoints_path, signer).ok


def test_scan_shaped_event_with_2000_refs(
    engine: Engine, audit_log: AuditLog, make_event: Callable[..., AuditEvent], refs: RecordRefs,
    checkpoints_path: Path, signer: Ed25519Signer, tools: Any,
) -> None:  # fmt: skip
    batch = tuple(refs.ref(f"scan-{i}") for i in range(2000))
    with engine.begin() as conn:
        audit_log.append(conn, make_event(0))
        seq = audit_log.append(conn, make_event(1, record_refs=batch, row_count=2000))
    audit_log.publish_checkpoints(engine)
    with engine.connect() as conn:
        assert [r["seq"] for r in access_report(conn, refs.ref("scan-1234"))] == [seq]
        conn.rollback()
    assert _verify(engine, checkpoints_path, signer).ok
    with tools.rogue_admin(engine) as conn:  # hide one of the 2000 rows
        conn.exec_driver_sql(
            f"DELETE FROM audit_ref_index WHERE seq = {seq} AND ref_key = {ref_key(refs.ref('scan-1234'))}"
        )
    report = _verify(engine, checkpoints_path, signer)
    assert not report.ok and report.first_bad_seq == seq, report.reason


def test_rolled_back_append_gives_the_partition_state_back(
    engine: Engine, audit_log: AuditLog, make_event: Callable[..., AuditEvent], small_parts: None,
    checkpoints_path: Path, signer: Ed25519Signer,
) -> None:  # fmt: skip
    many = tuple(f"{i:032x}" for i in range(1, 8))
    with engine.begin() as conn:
        audit_log.append(conn, make_event(1))
    with engine.connect() as conn:
        conn.begin()
        audit_log.append(conn, make_event(3, record_refs=many))  # would start new partitions
        conn.rollback()
    with engine.begin() as conn:
        audit_log.append(conn, make_event(5))
        head = conn.execute(sa.text("SELECT ref_part, ref_fill FROM audit_head WHERE id = 1")).one()
    assert (head[0], head[1]) == (0, 4)  # two events with two refs each, nothing of the rolled back one
    audit_log.publish_checkpoints(engine)
    assert _verify(engine, checkpoints_path, signer).ok


@pytest.mark.parametrize(
    "attack",
    [
        "UPDATE audit_ref_index SET part = 0 WHERE part = 3",  # rows moved to an earlier partition
        "UPDATE audit_ref_index SET part = 99 WHERE part = 3",  # ... to a partition no event maps to
        "DELETE FROM audit_ref_index WHERE part = 3",  # a whole partition deleted
        "UPDATE audit_ref_index SET seq = seq + 1 WHERE part = 3",  # rows pointed at the next event
    ],
)
def test_tampered_partitions_are_named_by_their_first_seq(
    engine: Engine, scenario: tuple[AuditLog, dict[int, tuple[str, ...]]], checkpoints_path: Path,
    signer: Ed25519Signer, tools: Any, attack: str,
) -> None:  # fmt: skip
    first_in_part = min(seq for part, _, seq in _index_rows(engine) if part == 3)
    assert _verify(engine, checkpoints_path, signer).ok
    with tools.rogue_admin(engine) as conn:
        conn.exec_driver_sql(attack)
    report = _verify(engine, checkpoints_path, signer)
    assert not report.ok and report.first_bad_seq == first_in_part, report.reason


def test_verify_asks_for_a_read_only_connection(
    engine: Engine, audit_log: AuditLog, make_event: Callable[..., AuditEvent], checkpoints_path: Path,
    signer: Ed25519Signer,
) -> None:  # fmt: skip
    with engine.begin() as conn:
        audit_log.append(conn, make_event(1))
    seen: list[object] = []

    def on_begin(conn: sa.Connection) -> None:
        seen.append(conn.get_execution_options().get(READ_ONLY_OPTION))

    sa_event.listen(engine, "begin", on_begin)
    try:
        assert _verify(engine, checkpoints_path, signer).ok
    finally:
        sa_event.remove(engine, "begin", on_begin)
    assert seen == [True]


def test_large_events_written_in_bulk_follow_the_same_rule(
    engine: Engine, make_log: Callable[..., AuditLog], refs: RecordRefs, small_parts: None,
    checkpoints_path: Path, signer: Ed25519Signer, tools: Any,
) -> None:  # fmt: skip
    """Events with many refs take one INSERT ... SELECT over an array of keys; rows are the same."""
    from audit.log import BULK_REF_KEYS

    log = make_log(every=4)
    collide = ("c" * 15 + "0" * 17, "c" * 15 + "1" * 17)  # one key, two references
    big = tuple(refs.ref(f"b{i}") for i in range(BULK_REF_KEYS + 5)) + collide
    bigger = (*(refs.ref(f"g{i}") for i in range(3 * BULK_REF_KEYS)), refs.ref("b3"))
    shapes = [big, (refs.ref("b3"),), (), bigger, tuple(refs.ref(f"b{i}") for i in range(5)), big]

    def ev(i: int, record_refs: tuple[str, ...]) -> AuditEvent:
        return AuditEvent(
            subject="s", roles=("sales",), purpose="service", action="read", resource="customer",
            fields=("email",), decision="allow", row_count=len(record_refs), request_id=f"r{i}",
            record_refs=record_refs,
        )  # fmt: skip

    with engine.begin() as conn:
        first, _ = log.append_many(conn, [ev(i, s) for i, s in enumerate(shapes[:4])])
    with engine.begin() as conn:
        log.append(conn, ev(4, shapes[4]))
        log.append(conn, ev(5, shapes[5]))
    log.publish_checkpoints(engine)
    places = RefPartitioner()
    expected: list[tuple[int, int, int]] = []
    for seq, shape in enumerate(shapes, start=first):
        if shape:
            keys = event_keys(shape)
            part = places.place(len(keys))
            expected.extend((part, key, seq) for key in keys)
    assert _index_rows(engine) == expected
    assert len(event_keys(big)) == len(big) - 1  # the colliding pair shares one row
    with engine.connect() as conn:
        assert [r["seq"] for r in access_report(conn, refs.ref("b3"))] == [first + i for i in (0, 1, 3, 4, 5)]
        assert [r["seq"] for r in access_report(conn, collide[1])] == [first, first + 5]
        conn.rollback()
    assert _verify(engine, checkpoints_path, signer).ok
    with tools.rogue_admin(engine) as conn:  # a forged extra row inside a bulk-written event
        conn.exec_driver_sql(f"INSERT INTO audit_ref_index (part, ref_key, seq) VALUES (1, 7, {first + 3})")
    report = _verify(engine, checkpoints_path, signer)
    assert not report.ok and report.first_bad_seq == first + 3, report.reason


def test_event_keys_bulk_parse_equals_the_prefix_rule() -> None:
    import os

    refs = tuple(os.urandom(16).hex() for _ in range(300))
    near = tuple("d" * 15 + c + "e" * 16 for c in "0123456789abcdef")  # differ only after the key
    for shape in (refs, refs + near, near + refs[:20], tuple(r.upper() for r in refs[:40])):
        assert event_keys(shape) == sorted({int(r[:15], 16) for r in shape})

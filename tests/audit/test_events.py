"""The canonical serialisation and the validation of audit events."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from audit.events import (
    AuditEvent,
    canonical_json,
    canonical_record_bytes,
    format_ts,
    json_flat_object,
    json_str_list,
    parse_ts,
    record_hash,
)
from audit.refs import RecordRefs
from core.errors import AuditWriteError, KeySourceError

text = st.text(st.characters(exclude_categories=["Cs"], exclude_characters="\x00"), max_size=40)
scalars = st.one_of(st.none(), st.booleans(), st.integers(min_value=-(2**70), max_value=2**70), text)


@given(items=st.lists(text, max_size=5), detail=st.dictionaries(text, scalars, max_size=5))
def test_fast_json_forms_equal_json_dumps(items: list[str], detail: dict[str, Any]) -> None:
    assert json_str_list(tuple(items)) == canonical_json(items)
    assert json_flat_object(detail) == canonical_json(detail)


@given(
    subject=text,
    purpose=text,
    action=text,
    resource=text,
    request_id=text,
    decision=st.sampled_from(["allow", "deny", "partial", "error"]),
    row_count=st.integers(min_value=0, max_value=2**62),
    roles=st.lists(text, max_size=3),
    fields=st.lists(text, max_size=3),
    refs=st.lists(st.from_regex(r"[0-9a-f]{32}", fullmatch=True), max_size=3),
    detail=st.dictionaries(text, scalars, max_size=3),
    seq=st.integers(min_value=1, max_value=2**62),
)
def test_canonical_record_bytes_is_sorted_json(
    subject: str,
    purpose: str,
    action: str,
    resource: str,
    request_id: str,
    decision: str,
    row_count: int,
    roles: list[str],
    fields: list[str],
    refs: list[str],
    detail: dict[str, Any],
    seq: int,
) -> None:
    # The fast splice used for hashing is exactly json.dumps(sort_keys, compact, ensure_ascii=False).
    ts = "2025-01-02T03:04:05.678901Z"
    prev_hash = "ab" * 32
    record: dict[str, Any] = {
        "seq": seq,
        "ts": "2025-01-02T03:04:05.678901Z",
        "subject": subject,
        "roles": roles,
        "purpose": purpose,
        "action": action,
        "resource": resource,
        "fields": fields,
        "decision": decision,
        "row_count": row_count,
        "request_id": request_id,
        "record_refs": refs,
        "detail": detail,
        "prev_hash": "ab" * 32,
    }
    spec = json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    fast = canonical_record_bytes(
        seq=seq,
        ts=ts,
        subject=subject,
        roles_json=json_str_list(tuple(roles)),
        purpose=purpose,
        action=action,
        resource=resource,
        fields_json=json_str_list(tuple(fields)),
        decision=decision,
        row_count=row_count,
        request_id=request_id,
        record_refs_json=json_str_list(tuple(refs)),
        detail_json=json_flat_object(detail),
        prev_hash=prev_hash,
    )
    assert fast == spec  # a pre-0010 row (no channel): the legacy form, without channel and os_user
    assert record_hash(fast) == record_hash(spec)
    # every newer row: the same object with channel and os_user
    record.update(channel="http", os_user=subject)
    spec = json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    fast = canonical_record_bytes(
        seq=seq, ts=ts, subject=subject, roles_json=json_str_list(tuple(roles)), purpose=purpose,
        action=action, resource=resource, fields_json=json_str_list(tuple(fields)), decision=decision,
        row_count=row_count, request_id=request_id, record_refs_json=json_str_list(tuple(refs)),
        detail_json=json_flat_object(detail), prev_hash=prev_hash, channel="http", os_user=subject,
    )  # fmt: skip
    assert fast == spec


def test_event_normalises_lists_and_freezes_detail() -> None:
    event = AuditEvent(
        subject="alice",
        roles=["sales"],  # type: ignore[arg-type]
        purpose="service",
        action="read",
        resource="customer",
        fields=["email"],  # type: ignore[arg-type]
        decision="allow",
        detail={"k": 1},
    )
    assert event.roles == ("sales",) and event.fields == ("email",)
    with pytest.raises(TypeError):
        event.detail["k"] = 2  # type: ignore[index]


@pytest.mark.parametrize(
    "overrides",
    [
        {"decision": "maybe"},  # unknown decision
        {"row_count": -1},  # negative count
        {"row_count": True},  # bool is not a count
        {"record_refs": ("jane@example.com",)},  # plaintext instead of an HMAC reference
        {"record_refs": ("ABCDEF" * 6)[:32]},  # a string, not a sequence of refs
        {"subject": "a\x00b"},  # NUL cannot be stored in PostgreSQL text
        {"subject": "\ud800"},  # lone surrogate is not UTF-8
        {"detail": {"nested": {"a": 1}}},  # detail is flat scalars only
        {"detail": {"big": "x" * 500, "big2": "y" * 500, "b3": "z" * 500, "b4": "w" * 500, "b5": "v" * 500}},
        {"roles": "sales"},  # a bare string is not a tuple of roles
    ],
)
def test_invalid_events_are_refused_as_audit_write_errors(overrides: dict[str, Any]) -> None:
    values: dict[str, Any] = {
        "subject": "alice",
        "roles": ("sales",),
        "purpose": "service",
        "action": "read",
        "resource": "customer",
        "fields": ("email",),
        "decision": "allow",
    }
    values.update(overrides)
    with pytest.raises(AuditWriteError):
        AuditEvent(**values)


def test_timestamps_are_fixed_width_utc_and_round_trip() -> None:
    from datetime import UTC, datetime, timedelta, timezone

    moment = datetime(2025, 1, 2, 4, 4, 5, 6, tzinfo=timezone(timedelta(hours=1)))
    text_ts = format_ts(moment)
    assert text_ts == "2025-01-02T03:04:05.000006Z"
    assert parse_ts(text_ts) == moment.astimezone(UTC)
    with pytest.raises(AuditWriteError):
        format_ts(datetime(2025, 1, 1))  # naive


def test_record_refs_are_keyed_truncated_hmacs() -> None:
    refs = RecordRefs(b"a" * 32)
    ref = refs.ref("cust-42")
    assert len(ref) == 32 and int(ref, 16) >= 0
    assert ref == refs.ref("cust-42")  # deterministic
    assert ref != RecordRefs(b"b" * 32).ref("cust-42")  # keyed
    assert "cust" not in ref and "42" not in repr(refs)
    with pytest.raises(KeySourceError):
        RecordRefs(b"short")


@pytest.mark.parametrize("key", [b"a" * 32, bytes(range(48)), b"k" * 64, b"z" * 65, bytes(range(200))])
def test_record_refs_are_exactly_hmac_sha256_of_the_id(key: bytes) -> None:
    # The precomputed inner/outer states must give the library's HMAC, for keys shorter than,
    # equal to and longer than the SHA-256 block (64 bytes, hashed first).
    import hashlib
    import hmac

    refs = RecordRefs(key)
    ids = ["", "cust-42", "0b9c7c1e-4c1f-4f39-9b2f-7b0f6b1f0c11", "é漢字", "x" * 300]
    expected = [hmac.new(key, i.encode("utf-8"), hashlib.sha256).hexdigest()[:32] for i in ids]
    assert [refs.ref(i) for i in ids] == expected
    assert refs.refs(ids) == tuple(expected)
    assert refs.refs(iter(ids)) == tuple(expected) and refs.refs([]) == ()


GOOD_REF = "0123456789abcdef" * 2


@pytest.mark.parametrize(
    "record_refs",
    [
        (GOOD_REF, "ABCDEF" * 5 + "ab"),  # upper case
        (GOOD_REF, GOOD_REF[:31]),  # too short
        (GOOD_REF, GOOD_REF + "0"),  # too long
        (GOOD_REF[:31], GOOD_REF + "0"),  # lengths that add up to two references
        (f'{GOOD_REF}","{GOOD_REF}',),  # one item that joins like two
        (GOOD_REF + '"', GOOD_REF[1:]),  # a quote inside an item
        (GOOD_REF, 42),  # not a string
        (GOOD_REF, None),
        ("",),
        (GOOD_REF[:16] + "\x00" + GOOD_REF[17:],),
    ],
)
def test_record_refs_validation_refuses_anything_but_32_hex(record_refs: tuple[Any, ...]) -> None:
    with pytest.raises(AuditWriteError):
        AuditEvent(
            subject="alice", roles=("sales",), purpose="service", action="read", resource="customer",
            fields=("email",), decision="allow", record_refs=record_refs,
        )  # fmt: skip


@given(refs=st.lists(st.from_regex(r"[0-9a-f]{32}", fullmatch=True), max_size=50))
def test_stored_record_refs_json_is_canonical(refs: list[str]) -> None:
    event = AuditEvent(
        subject="alice", roles=("sales",), purpose="service", action="read", resource="customer",
        fields=("email",), decision="allow", record_refs=refs,  # type: ignore[arg-type]
    )  # fmt: skip
    assert event.record_refs == tuple(refs)
    assert event.column_json()[2] == canonical_json(refs) == json_str_list(tuple(refs))


@given(
    subject=text,
    request_id=text,
    roles=st.lists(text, max_size=3),
    refs=st.lists(st.from_regex(r"[0-9a-f]{32}", fullmatch=True), max_size=3),
    detail=st.dictionaries(text, scalars, max_size=3),
    row_count=st.integers(min_value=0, max_value=2**62),
    seq=st.integers(min_value=1, max_value=2**62),
    prev_hash=st.one_of(st.just("ab" * 32), text),
)
def test_record_parts_splice_to_the_canonical_record(
    subject: str,
    request_id: str,
    roles: list[str],
    refs: list[str],
    detail: dict[str, Any],
    row_count: int,
    seq: int,
    prev_hash: str,
) -> None:
    # The log hashes head + prev + middle + seq + tail + ts; verification hashes canonical_record_bytes.
    from audit.events import encode_str

    event = AuditEvent(
        subject=subject, roles=tuple(roles), purpose="service", action="read", resource="customer",
        fields=("email", "é"), decision="allow", row_count=row_count, request_id=request_id,
        record_refs=tuple(refs), detail=detail, channel="cli", os_user=subject,
    )  # fmt: skip
    ts = "2025-01-02T03:04:05.678901Z"
    head, middle, tail = event.record_parts()
    roles_json, fields_json, refs_json, detail_json = event.column_json()
    spliced = f"{head}{encode_str(prev_hash)}{middle}{seq}{tail}{encode_str(ts)}}}".encode()
    assert spliced == canonical_record_bytes(
        seq=seq, ts=ts, subject=subject, roles_json=roles_json, purpose="service", action="read",
        resource="customer", fields_json=fields_json, decision="allow", row_count=row_count,
        request_id=request_id, record_refs_json=refs_json, detail_json=detail_json, prev_hash=prev_hash,
        channel="cli", os_user=subject,
    )  # fmt: skip

"""Audit events and their one canonical serialisation.

An :class:`AuditEvent` is what a caller hands to the log.  The log adds the
sequence number, the time and the previous hash, and stores the event as one
row of ``audit_events``.  The row's ``hash`` is ``sha256`` over the canonical
bytes of the stored record:

    a JSON object with the keys action, channel, decision, detail, fields,
    os_user, prev_hash, purpose, record_refs, request_id, resource, roles,
    row_count, seq, subject, ts -- sorted keys, ``separators=(",", ":")``,
    ``ensure_ascii=False``, UTF-8.

``channel`` (``http``, ``cli`` or ``system``) and ``os_user`` (the operating
system user of a CLI process, else empty) say how the access came in (issue
15, item 9).  Rows written before migration ``0010_audit_heads`` have neither
(both stored empty) and keep their original hash: their canonical form is the
same object without those two keys (:data:`LEGACY_RECORD_TEMPLATE`).  Every
event written since has a non-empty channel, so such "legacy" rows can only
form a prefix of the chain, and verification refuses one after a newer row.

The JSON-valued columns (roles, fields, record_refs, detail) are stored as
their canonical JSON text, and :func:`canonical_record_bytes` splices that
stored text in verbatim.  The result is byte-for-byte what
``json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False)``
gives (a test proves it), but it is cheap enough to re-hash a million rows in
seconds, and any change to a stored byte changes the hash.

Event kinds written by the gateway and the CLI (documentation only; the log
accepts any action string): read, write, export, denial, policy_load,
policy_load_failed, key_rotation, erasure, review_cleared, apikey_*, audit_verify
(a verification and its result; see :mod:`audit.verify`).

``detail`` is a small flat object of scalars for technical context (policy
hash, error class, code version).  It must never carry personal data; record
references are HMACs (:mod:`audit.refs`), never plaintext.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import MappingProxyType

from core.errors import AuditWriteError

DECISIONS = frozenset({"allow", "deny", "partial", "error"})
CHANNELS = frozenset({"http", "cli", "system"})
GENESIS_HASH = "0" * 64
REF_PATTERN = re.compile(r"[0-9a-f]{32}")
_REF_CHARS = 32
MAX_DETAIL_BYTES = 2048
MAX_TEXT_CHARS = 512

DetailValue = str | int | bool | None

encode_str = json.encoder.encode_basestring  # the exact string encoder of json.dumps(ensure_ascii=False)
_encode_str = encode_str

RECORD_TEMPLATE = (
    '{"action":%s,"channel":%s,"decision":%s,"detail":%s,"fields":%s,"os_user":%s,"prev_hash":%s,'
    '"purpose":%s,"record_refs":%s,"request_id":%s,"resource":%s,"roles":%s,"row_count":%d,"seq":%d,'
    '"subject":%s,"ts":%s}'
)
# The canonical form of rows written before channel and os_user existed (both stored empty).
LEGACY_RECORD_TEMPLATE = (
    '{"action":%s,"decision":%s,"detail":%s,"fields":%s,"prev_hash":%s,"purpose":%s,'
    '"record_refs":%s,"request_id":%s,"resource":%s,"roles":%s,"row_count":%d,"seq":%d,'
    '"subject":%s,"ts":%s}'
)
# RECORD_TEMPLATE cut around prev_hash, seq and ts, which the log knows only when it appends.
_RECORD_HEAD = '{"action":%s,"channel":%s,"decision":%s,"detail":%s,"fields":%s,"os_user":%s,"prev_hash":'
_RECORD_MIDDLE = (
    ',"purpose":%s,"record_refs":%s,"request_id":%s,"resource":%s,"roles":%s,"row_count":%d,"seq":'
)
_RECORD_TAIL = ',"subject":%s,"ts":'


def is_legacy_row(channel: str, os_user: str) -> bool:
    """A row written before migration 0010 (no channel, no OS user): hashed without those keys."""
    return channel == "" and os_user == ""


def canonical_json(value: object) -> str:
    """The one JSON form used for stored JSON columns and signed messages."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def json_str_list(items: tuple[str, ...]) -> str:
    """``canonical_json(list(items))`` for strings, without the encoder's set-up cost."""
    return "[" + ",".join(map(_encode_str, items)) + "]"


_SHORT_LISTS: dict[tuple[str, ...], str] = {}
_SHORT_LISTS_MAX = 4096


def short_str_list(items: tuple[str, ...]) -> str:
    """:func:`json_str_list` for the few distinct role and field lists, memoised."""
    text = _SHORT_LISTS.get(items)
    if text is None:
        text = json_str_list(items)
        if len(_SHORT_LISTS) < _SHORT_LISTS_MAX:
            _SHORT_LISTS[items] = text
    return text


def _json_scalar(value: DetailValue) -> str:
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return int.__repr__(value)
    return _encode_str(value)


def json_flat_object(obj: Mapping[str, DetailValue]) -> str:
    """``canonical_json(dict(obj))`` for a flat object of scalars, without the encoder's set-up cost."""
    if not obj:
        return "{}"
    return "{" + ",".join(_encode_str(k) + ":" + _json_scalar(obj[k]) for k in sorted(obj)) + "}"


def format_ts(moment: datetime) -> str:
    """UTC, fixed width, microseconds: ``2024-05-01T12:00:00.000000Z`` (sorts as text)."""
    if moment.tzinfo is None:
        raise AuditWriteError("audit clock returned a naive datetime")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_ts(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


def canonical_record_bytes(
    *,
    seq: int,
    ts: str,
    subject: str,
    roles_json: str,
    purpose: str,
    action: str,
    resource: str,
    fields_json: str,
    decision: str,
    row_count: int,
    request_id: str,
    record_refs_json: str,
    detail_json: str,
    prev_hash: str,
    channel: str = "",
    os_user: str = "",
) -> bytes:
    """Canonical bytes of one stored record (JSON columns given as their stored text).

    A row without channel and OS user (written before migration 0010) uses
    :data:`LEGACY_RECORD_TEMPLATE`; every other row :data:`RECORD_TEMPLATE`.
    """
    e = _encode_str
    if is_legacy_row(channel, os_user):
        return (
            LEGACY_RECORD_TEMPLATE
            % (
                e(action), e(decision), detail_json, fields_json, e(prev_hash), e(purpose),
                record_refs_json, e(request_id), e(resource), roles_json, row_count, seq, e(subject), e(ts),
            )
        ).encode("utf-8")  # fmt: skip
    return (
        RECORD_TEMPLATE
        % (
            e(action),
            e(channel),
            e(decision),
            detail_json,
            fields_json,
            e(os_user),
            e(prev_hash),
            e(purpose),
            record_refs_json,
            e(request_id),
            e(resource),
            roles_json,
            row_count,
            seq,
            e(subject),
            e(ts),
        )
    ).encode("utf-8")


def record_hash(canonical: bytes) -> str:
    return hashlib.sha256(canonical).hexdigest()


def _check_text(name: str, value: object) -> None:
    if not isinstance(value, str):
        raise AuditWriteError(f"invalid audit event: {name} must be a string")
    if len(value) > MAX_TEXT_CHARS:
        raise AuditWriteError(f"invalid audit event: {name} longer than {MAX_TEXT_CHARS} characters")
    if "\x00" in value:
        raise AuditWriteError(f"invalid audit event: {name} contains NUL")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise AuditWriteError(f"invalid audit event: {name} is not valid Unicode") from exc


@dataclass(frozen=True, slots=True)
class AuditEvent:
    """One access or administrative act, as the caller describes it.

    Lists are normalised to tuples and ``detail`` to a read-only mapping.
    Invalid events raise :class:`core.errors.AuditWriteError`: an event that
    cannot be written means the access must not happen.
    """

    subject: str
    roles: tuple[str, ...]
    purpose: str
    action: str
    resource: str
    fields: tuple[str, ...]
    decision: str
    row_count: int = 0
    request_id: str = ""
    record_refs: tuple[str, ...] = ()
    detail: Mapping[str, DetailValue] = field(default_factory=lambda: MappingProxyType({}))
    channel: str = "system"
    os_user: str = ""
    _columns: tuple[str, str, str, str] = field(
        default=("", "", "", ""), init=False, repr=False, compare=False
    )
    _record_parts: tuple[str, str, str] = field(default=("", "", ""), init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        for name in ("subject", "purpose", "action", "resource", "request_id", "channel", "os_user"):
            _check_text(name, getattr(self, name))
        if self.channel not in CHANNELS:
            raise AuditWriteError("invalid audit event: channel must be one of http, cli, system")
        for name in ("roles", "fields", "record_refs"):
            raw = getattr(self, name)
            if isinstance(raw, str):
                raise AuditWriteError(f"invalid audit event: {name} must be a sequence of strings")
            items = tuple(raw)
            if name != "record_refs":
                for item in items:
                    _check_text(name, item)
            object.__setattr__(self, name, items)
        if self.decision not in DECISIONS:
            raise AuditWriteError("invalid audit event: decision must be one of allow, deny, partial, error")
        if isinstance(self.row_count, bool) or not isinstance(self.row_count, int) or self.row_count < 0:
            raise AuditWriteError("invalid audit event: row_count must be a non-negative integer")
        refs_json = _refs_json(self.record_refs)
        detail = dict(self.detail)
        for key, value in detail.items():
            _check_text("detail key", key)
            if isinstance(value, str):
                _check_text("detail value", value)
            elif value is not None and not isinstance(value, (int, bool)):
                raise AuditWriteError("invalid audit event: detail values must be str, int, bool or None")
        detail_json = json_flat_object(detail)
        if len(detail_json.encode("utf-8")) > MAX_DETAIL_BYTES:
            raise AuditWriteError(f"invalid audit event: detail larger than {MAX_DETAIL_BYTES} bytes")
        object.__setattr__(self, "detail", MappingProxyType(detail))
        # Validated once and serialised once, here, outside the log's write lock.
        roles_json, fields_json = short_str_list(self.roles), short_str_list(self.fields)
        object.__setattr__(self, "_columns", (roles_json, fields_json, refs_json, detail_json))
        e = _encode_str
        object.__setattr__(
            self,
            "_record_parts",
            (
                _RECORD_HEAD
                % (
                    e(self.action),
                    e(self.channel),
                    e(self.decision),
                    detail_json,
                    fields_json,
                    e(self.os_user),
                ),
                _RECORD_MIDDLE
                % (
                    e(self.purpose),
                    refs_json,
                    e(self.request_id),
                    e(self.resource),
                    roles_json,
                    self.row_count,
                ),
                _RECORD_TAIL % e(self.subject),
            ),
        )

    def column_json(self) -> tuple[str, str, str, str]:
        """Canonical JSON text of (roles, fields, record_refs, detail) as stored."""
        return self._columns

    def record_parts(self) -> tuple[str, str, str]:
        """The canonical record around its chain-dependent values, as (head, middle, tail).

        ``head + encode_str(prev_hash) + middle + str(seq) + tail + encode_str(ts) + "}"`` is
        exactly :func:`canonical_record_bytes` (decoded) of this event at ``seq`` (a test proves it).
        """
        return self._record_parts


def _refs_json(refs: tuple[str, ...]) -> str:
    """The stored JSON of record references, each checked to be 32 lowercase hex characters.

    A scan's event carries thousands, so they are checked together, not one by
    one: every item has length 32, the concatenation parses as hex into exactly
    16 bytes per item (``bytes.fromhex`` rejects anything but hex digits and
    whitespace, and whitespace would shorten the result), and nothing is upper
    case.  Hex needs no JSON escaping, so the text equals :func:`json_str_list`.
    """
    if not refs:
        return "[]"
    try:
        ok = set(map(len, refs)) == {_REF_CHARS}
        joined = "".join(refs) if ok else ""
        ok = ok and len(bytes.fromhex(joined)) == len(refs) * _REF_CHARS // 2 and joined.lower() == joined
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise AuditWriteError("invalid audit event: record_refs must be 32-hex HMAC references")
    return '["' + '","'.join(refs) + '"]'

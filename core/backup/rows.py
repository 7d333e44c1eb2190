"""The logical row format of backups: typed values, table sections, a framed record stream.

Rows are the database driver's own values (SQLite: None/int/float/str/bytes;
PostgreSQL: also bool, Decimal, datetime, date, dict/list for JSON), encoded
with a one-byte tag each, so a row reads back as the values the driver gave
and goes back in through the same driver.  The same bytes feed the row digest
(:func:`row_digest`) that incremental backups compare against their base.

Stream records (each starts with one byte)::

    T  table section: name, column names, primary-key column positions
    R  a row (every column)
    D  a deleted row (its primary-key values)
    K  an index entry: primary-key values and the row's 16-byte digest
    E  end of section: u64 number of R/K records in it
    Z  end of stream

Nothing in a stream is trusted before the whole sealed file authenticated
chunk by chunk; the parser still checks every length against what is left.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import struct
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from core.backup.errors import BackupIntegrityError

Row = tuple[Any, ...]

_U16 = struct.Struct(">H")
_U32 = struct.Struct(">I")
_U64 = struct.Struct(">Q")
_I64 = struct.Struct(">q")
_F64 = struct.Struct(">d")

T_NONE, T_FALSE, T_TRUE, T_INT, T_FLOAT, T_STR, T_BYTES = (
    b"\x00",
    b"\x01",
    b"\x02",
    b"\x03",
    b"\x04",
    b"\x05",
    b"\x06",
)
T_DECIMAL, T_DATETIME, T_BIGINT, T_DATE, T_JSON = b"\x07", b"\x08", b"\x09", b"\x0a", b"\x0b"

_I64_MIN, _I64_MAX = -(1 << 63), (1 << 63) - 1


def _text(tag: bytes, text: str) -> bytes:
    raw = text.encode("utf-8")
    return tag + _U32.pack(len(raw)) + raw


def encode_value(value: Any) -> bytes:
    if value is None:
        return T_NONE
    if value is True:
        return T_TRUE
    if value is False:
        return T_FALSE
    kind = type(value)
    if kind is int:
        if _I64_MIN <= value <= _I64_MAX:
            return T_INT + _I64.pack(value)
        return _text(T_BIGINT, str(value))
    if kind is str:
        text: str = value
        encoded = text.encode("utf-8")
        return T_STR + _U32.pack(len(encoded)) + encoded
    if kind is bytes or kind is memoryview or kind is bytearray:
        raw = bytes(value)
        return T_BYTES + _U32.pack(len(raw)) + raw
    if kind is float:
        return T_FLOAT + _F64.pack(value)
    if isinstance(value, Decimal):
        return _text(T_DECIMAL, str(value))
    if isinstance(value, dt.datetime):
        return _text(T_DATETIME, value.isoformat())
    if isinstance(value, dt.date):
        return _text(T_DATE, value.isoformat())
    if isinstance(value, dict | list):
        return _text(T_JSON, json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False))
    raise TypeError(f"a backup cannot hold a value of type {kind.__name__}")


def encode_values(values: Sequence[Any]) -> bytes:
    return _U16.pack(len(values)) + b"".join([encode_value(v) for v in values])


def row_digest(row: Row) -> bytes:
    """A 16-byte digest of a row's driver values (``repr`` is exact and deterministic for them, and fast)."""
    return hashlib.blake2b(repr(row).encode("utf-8", "surrogatepass"), digest_size=16).digest()


class ByteSource:
    """Exact reads over a sequence of byte chunks (the decrypted chunks of a sealed file)."""

    def __init__(self, chunks: Iterable[bytes]) -> None:
        self._chunks = iter(chunks)
        self._buf = b""
        self._pos = 0

    def read(self, n: int) -> bytes:
        while len(self._buf) - self._pos < n:
            try:
                nxt = next(self._chunks)
            except StopIteration:
                raise BackupIntegrityError("backup stream ends in the middle of a record") from None
            self._buf = self._buf[self._pos :] + nxt
            self._pos = 0
        out = self._buf[self._pos : self._pos + n]
        self._pos += n
        return out

    def at_end(self) -> bool:
        while len(self._buf) - self._pos == 0:
            try:
                self._buf, self._pos = next(self._chunks), 0
            except StopIteration:
                return True
        return False


def _read_text(src: ByteSource) -> str:
    (n,) = _U32.unpack(src.read(4))
    try:
        return src.read(n).decode("utf-8")
    except UnicodeDecodeError:
        raise BackupIntegrityError("backup stream holds invalid text") from None


def decode_value(src: ByteSource) -> Any:
    tag = src.read(1)
    if tag == T_NONE:
        return None
    if tag == T_TRUE:
        return True
    if tag == T_FALSE:
        return False
    if tag == T_INT:
        return _I64.unpack(src.read(8))[0]
    if tag == T_STR:
        return _read_text(src)
    if tag == T_BYTES:
        (n,) = _U32.unpack(src.read(4))
        return src.read(n)
    if tag == T_FLOAT:
        return _F64.unpack(src.read(8))[0]
    if tag == T_DECIMAL:
        return Decimal(_read_text(src))
    if tag == T_DATETIME:
        return dt.datetime.fromisoformat(_read_text(src))
    if tag == T_DATE:
        return dt.date.fromisoformat(_read_text(src))
    if tag == T_BIGINT:
        return int(_read_text(src))
    if tag == T_JSON:
        return json.loads(_read_text(src))
    raise BackupIntegrityError(f"backup stream holds an unknown value tag {tag!r}")


def decode_values(src: ByteSource) -> Row:
    (n,) = _U16.unpack(src.read(2))
    return tuple(decode_value(src) for _ in range(n))


@dataclass(frozen=True, slots=True)
class Section:
    name: str
    columns: tuple[str, ...]
    pk: tuple[int, ...]  # positions of the primary-key columns in ``columns``

    def key_of(self, row: Row) -> Row:
        return tuple(row[i] for i in self.pk)


def section_header(section: Section) -> bytes:
    parts = [b"T", _text(b"", section.name), _U16.pack(len(section.columns))]
    parts += [_text(b"", c) for c in section.columns]
    parts.append(_U16.pack(len(section.pk)))
    parts += [_U16.pack(i) for i in section.pk]
    return b"".join(parts)


def section_end(count: int) -> bytes:
    return b"E" + _U64.pack(count)


END_OF_STREAM = b"Z"


@dataclass(frozen=True, slots=True)
class Record:
    kind: str  # "T", "R", "D", "K", "E"
    section: Section
    values: Row = ()
    digest: bytes = b""
    count: int = 0


def read_stream(chunks: Iterable[bytes]) -> Iterator[Record]:
    """Parse a record stream; checks section framing and the final end-of-stream marker."""
    src = ByteSource(chunks)
    section: Section | None = None
    seen = 0
    while True:
        if src.at_end():
            raise BackupIntegrityError("backup stream has no end marker (truncated)")
        kind = src.read(1)
        if kind == b"Z":
            if section is not None:
                raise BackupIntegrityError("backup stream ends inside a table section")
            if not src.at_end():
                raise BackupIntegrityError("backup stream has data after its end marker")
            return
        if kind == b"T":
            if section is not None:
                raise BackupIntegrityError("backup stream opens a section inside another")
            name = _read_text(src)
            (ncols,) = _U16.unpack(src.read(2))
            columns = tuple(_read_text(src) for _ in range(ncols))
            (npk,) = _U16.unpack(src.read(2))
            pk = tuple(_U16.unpack(src.read(2))[0] for _ in range(npk))
            if any(i >= ncols for i in pk):
                raise BackupIntegrityError(f"backup section {name} has a bad primary key")
            section, seen = Section(name, columns, pk), 0
            yield Record("T", section)
            continue
        if section is None:
            raise BackupIntegrityError("backup stream holds a record outside any section")
        if kind == b"R":
            values = decode_values(src)
            if len(values) != len(section.columns):
                raise BackupIntegrityError(f"backup section {section.name} holds a row of the wrong width")
            seen += 1
            yield Record("R", section, values)
        elif kind == b"D":
            values = decode_values(src)
            if len(values) != len(section.pk):
                raise BackupIntegrityError(f"backup section {section.name} holds a bad deletion")
            yield Record("D", section, values)
        elif kind == b"K":
            values = decode_values(src)
            if len(values) != len(section.pk):
                raise BackupIntegrityError(f"backup section {section.name} holds a bad index entry")
            digest = src.read(16)
            seen += 1
            yield Record("K", section, values, digest)
        elif kind == b"E":
            (count,) = _U64.unpack(src.read(8))
            if count != seen:
                raise BackupIntegrityError(f"backup section {section.name} holds {seen} records, not {count}")
            yield Record("E", section, count=count)
            section = None
        else:
            raise BackupIntegrityError(f"backup stream holds an unknown record {kind!r}")


def row_record(encoded_row: bytes) -> bytes:
    return b"R" + encoded_row


def delete_record(key: Row) -> bytes:
    return b"D" + encode_values(key)


def index_record(key: Row, digest: bytes) -> bytes:
    return b"K" + encode_values(key) + digest

"""The record-reference index: which events touched one record, written append-mostly.

Table ``audit_ref_index`` (migration ``0006_audit_ref_index``), one row per
distinct reference of an event::

    part     partition number 0, 1, 2, ... (the rule below)
    ref_key  the first 60 bits of the reference: ``int(ref[:15], 16)``
    seq      the event
    PRIMARY KEY (part, ref_key, seq)    -- WITHOUT ROWID on SQLite: one B-tree

Why partitions.  An index ordered by reference receives every insert at a
random place; once it outgrows the page cache each reference dirties its own
page (measured: one reference per event cut batched appends from ~60k to
~20k events/s).  Here consecutive events fill one partition until it holds
:data:`REF_PART_SIZE` references, then the next one starts, so inserts only
touch the few pages of the newest partition, whatever the shape: many events
with one reference each, or a scan writing one event with 2,000 references.

The rule is a pure function of the events in seq order, so verification
replays it: the state ``(part, fill)`` starts at ``(0, 0)``; for an event with
``n > 0`` distinct keys, ``if fill > 0 and fill + n > REF_PART_SIZE`` the next
partition starts (``part += 1; fill = 0``); then ``fill += n``.  The writer
keeps the state in ``audit_head`` (``ref_part``, ``ref_fill``) under the head
row lock, so a rolled-back append gives it back like its seqs.
:data:`REF_PART_SIZE` is part of the stored format: changing it needs a
migration.

Lookup (:func:`candidate_seqs`): a loose index scan enumerates the distinct
partitions (two index seeks each, about one partition per 16k references) and
seeks ``(part, ref_key)`` in each.  Callers confirm candidates against the
event's hashed ``record_refs`` column, so a 60-bit key collision can never add
an event to a report.  Verification (:class:`RefIndexCheck`) proves that the
index holds exactly one row ``(expected part, key, seq)`` per distinct key of
every event, so a row deleted to hide an access, a forged, moved or changed
row is found and named by its seq.
"""

from __future__ import annotations

import json
import re
import sys
from array import array
from collections.abc import Iterable, Iterator

import sqlalchemy as sa

from audit.tables import audit_events, audit_ref_index

REF_PART_SIZE = 16_384
KEY_HEX_CHARS = 15  # 60 bits: a non-negative BIGINT on every engine
REF_HEX_CHARS = 32  # a whole reference (audit.refs)
_BULK_PARSE = 16


def ref_key(ref: str) -> int:
    """The index key of one 32-hex record reference."""
    return int(ref[:KEY_HEX_CHARS], 16)


def event_keys(refs: tuple[str, ...]) -> list[int]:
    """Sorted distinct index keys of an event's references."""
    if len(refs) == 1:
        return [int(refs[0][:KEY_HEX_CHARS], 16)]
    if len(refs) >= _BULK_PARSE and set(map(len, refs)) == {REF_HEX_CHARS}:
        # A scan's event: parse all references in one call, 16 bytes each.  The
        # first 8 bytes of a reference, big-endian, shifted right by 4 bits, are
        # its first 15 hex digits.  Any stray character (whitespace, which
        # bytes.fromhex skips) changes the byte count and takes the slow path.
        try:
            raw = bytes.fromhex("".join(refs))
        except ValueError:
            raw = b""
        if len(raw) == 16 * len(refs):
            words = array("Q", raw)
            if sys.byteorder == "little":
                words.byteswap()
            return sorted({word >> 4 for word in words[::2]})
    return sorted({int(r[:KEY_HEX_CHARS], 16) for r in refs})


class RefPartitioner:
    """The partition rule (module docstring); one instance per append or verification pass."""

    __slots__ = ("fill", "part", "size")

    def __init__(self, part: int = 0, fill: int = 0) -> None:
        self.part = part
        self.fill = fill
        self.size = REF_PART_SIZE  # read at construction: tests shrink the module constant

    def place(self, n: int) -> int:
        """The partition of the next event with ``n > 0`` distinct keys."""
        if self.fill > 0 and self.fill + n > self.size:
            self.part += 1
            self.fill = 0
        self.fill += n
        return self.part


def candidate_seqs(record_ref: str) -> sa.Select[tuple[int]]:
    """Seqs of the events whose index rows carry the key of ``record_ref`` (confirm against record_refs)."""
    idx = audit_ref_index
    parts = sa.select(sa.func.min(idx.c.part).label("p")).cte("ref_parts", recursive=True)
    following = sa.select(
        sa.select(sa.func.min(idx.c.part)).where(idx.c.part > parts.c.p).scalar_subquery()
    ).where(parts.c.p.is_not(None))
    parts = parts.union_all(following)
    return (
        sa.select(idx.c.seq)
        .select_from(parts.join(idx, idx.c.part == parts.c.p))
        .where(idx.c.ref_key == ref_key(record_ref))
    )


def confirm_clause(record_ref: str) -> sa.ColumnElement[bool]:
    """True for events whose hashed ``record_refs`` column holds ``record_ref`` itself."""
    return audit_events.c.record_refs.contains(f'"{record_ref}"')


_SIMPLE_REFS = re.compile(r'\[(?:"[0-9a-f]{32}"(?:,"[0-9a-f]{32}")*)?\]')


def declared_keys(text: str) -> list[int] | None:
    """Sorted distinct index keys of a stored ``record_refs`` column (None when it is not valid)."""
    if text == "[]":
        return []
    if len(text) == 36 and text[1] == '"' and text[34] == '"':  # one reference, as the log writes it
        try:
            return [int(text[2:17], 16)]
        except ValueError:
            return None
    if _SIMPLE_REFS.fullmatch(text):
        return sorted({int(item[:KEY_HEX_CHARS], 16) for item in text[2:-2].split('","')})
    try:
        items = json.loads(text)
        if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
            return None
        return sorted({int(i[:KEY_HEX_CHARS], 16) for i in items})
    except (ValueError, TypeError):
        return None


class RefIndexCheck:
    """Streams the index (ordered by part, ref_key, seq) alongside the events (ordered by seq).

    Call :meth:`check` for every event that declares references, in seq order,
    then :meth:`finish`.  The index rows of one partition are held in memory
    (about :data:`REF_PART_SIZE` rows, or one large event's).  Rows that no
    event claims (in a partition no event maps to, or left over when a
    partition closes) are "strays", reported by their seq.
    """

    def __init__(self, rows: Iterable[tuple[int, int, int]], places: RefPartitioner | None = None) -> None:
        """``places``: the partition state before the first event checked (an incremental
        verification starts mid-log; ``rows`` then hold only that event's partition and later)."""
        self._rows: Iterator[tuple[int, int, int]] = iter(rows)
        self._next: tuple[int, int, int] | None = next(self._rows, None)
        self._group_part: int | None = None
        self._group: dict[int, list[int]] = {}
        self._places = places if places is not None else RefPartitioner()
        self.stray_seq: int | None = None

    @property
    def state(self) -> tuple[int, int]:
        """(part, fill) of the partition rule after the events checked so far."""
        return self._places.part, self._places.fill

    def _stray(self, seq: int) -> None:
        if self.stray_seq is None or seq < self.stray_seq:
            self.stray_seq = seq

    def _close_group(self) -> None:
        for seq in self._group:
            self._stray(seq)
        self._group = {}

    def _open(self, part: int) -> None:
        self._close_group()
        self._group_part = part
        row = self._next
        while row is not None and row[0] < part:  # a partition no event maps to
            self._stray(row[2])
            row = next(self._rows, None)
        group = self._group
        while row is not None and row[0] == part:
            group.setdefault(row[2], []).append(row[1])
            row = next(self._rows, None)
        self._next = row

    def check(self, seq: int, record_refs: str) -> bool:
        """True when the index holds exactly this event's keys in its partition."""
        keys = declared_keys(record_refs)
        if keys is None:
            return False
        if not keys:
            return True  # rows for it, if any, are strays when its partition closes
        part = self._places.place(len(keys))
        if part != self._group_part:
            self._open(part)
        return self._group.pop(seq, None) == keys

    def finish(self) -> int | None:
        """Account for every row not yet claimed; returns the smallest stray seq (None: none)."""
        self._close_group()
        row = self._next
        while row is not None:
            self._stray(row[2])
            row = next(self._rows, None)
        self._next = None
        return self.stray_seq

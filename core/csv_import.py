"""CSV readers for customer, transaction and note imports.

Rows are parsed one at a time; a bad row becomes a :class:`RowError` (line
number and reason, never the row's content) and the rest of the file goes
on.  Invalid UTF-8 only spoils the rows it sits in: the file is decoded with
``surrogateescape`` and rows that carry an undecodable byte are rejected.

Values this module cannot read without guessing (a date not in ISO 8601, a
consent that is not yes/no) refuse the row; an email or phone is passed on as
typed, and the store keeps it as given when it does not normalise
(:data:`core.store.KEPT_AS_GIVEN`, reported as a warning, never refused).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TypeVar

from core.errors import InputError
from core.notes import NoteInput
from core.records import CustomerInput, TransactionInput
from core.writes import RowError

T = TypeVar("T")

CUSTOMER_COLUMNS = (
    "external_id",
    "full_name",
    "email",
    "phone",
    "postal_address",
    "birth_date",
    "owner",
    "consent_marketing_email",
    "consent_marketing_post",
    "consent_profiling",
)
CUSTOMER_REQUIRED = ("external_id", "full_name")
TRANSACTION_COLUMNS = ("external_id", "occurred_at", "amount", "currency", "product", "category")
NOTE_COLUMNS = ("external_id", "author", "created_at", "text")
MAX_CELL_CHARS = 1_000_000

_TRUE = {"true", "yes", "1", "y", "t"}
_FALSE = {"false", "no", "0", "n", "f"}


def parse_bool(value: str, name: str) -> bool | None:
    v = value.strip().lower()
    if v == "":
        return None
    if v in _TRUE:
        return True
    if v in _FALSE:
        return False
    raise InputError(f"{name} must be true/false, yes/no or 1/0")


def parse_date(value: str, name: str) -> dt.date | None:
    v = value.strip()
    if not v:
        return None
    try:
        return dt.date.fromisoformat(v)
    except ValueError as exc:
        raise InputError(f"{name} is not an ISO 8601 date") from exc


def parse_datetime(value: str, name: str) -> dt.datetime:
    v = value.strip()
    if not v:
        raise InputError(f"{name} is required")
    try:
        if len(v) == 10:
            d = dt.date.fromisoformat(v)
            return dt.datetime(d.year, d.month, d.day, tzinfo=dt.UTC)
        moment = dt.datetime.fromisoformat(v.replace("Z", "+00:00"))
    except ValueError as exc:
        raise InputError(f"{name} is not an ISO 8601 date or date-time") from exc
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


_BAD_BYTE = re.compile("[\udc80-\udcff]")  # an undecodable byte, as ``surrogateescape`` decodes it


def _has_bad_bytes(values: Sequence[str]) -> bool:
    return any(_BAD_BYTE.search(v) for v in values)


def read_rows(
    path: Path, required_columns: Sequence[str], build: Callable[[dict[str, str]], T]
) -> Iterator[tuple[int, T | RowError]]:
    """Yield ``(line, item)`` per data row; ``item`` is a RowError for bad rows.

    A missing required column raises :class:`InputError` (the whole file is unusable).
    """
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror}") from exc
    text = raw.decode("utf-8", errors="surrogateescape")
    if text.startswith("\ufeff"):
        text = text[1:]
    check_bytes = _BAD_BYTE.search(text) is not None  # most files are valid UTF-8 throughout
    csv.field_size_limit(MAX_CELL_CHARS)
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except StopIteration as exc:
        raise InputError(f"{path} is empty") from exc
    except csv.Error as exc:
        raise InputError(f"{path}: header is not valid CSV") from exc
    header = [h.strip().lower() for h in header]
    missing = [c for c in required_columns if c not in header]
    if missing:
        raise InputError(f"{path}: missing column(s) {', '.join(missing)}")
    while True:
        start = reader.line_num + 1
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error:
            yield start, RowError(start, "row is not valid CSV")
            continue
        if not any(c.strip() for c in cells):
            continue
        if check_bytes and _has_bad_bytes(cells):
            yield start, RowError(start, "row is not valid UTF-8")
            continue
        if len(cells) != len(header):
            yield start, RowError(start, f"expected {len(header)} columns, found {len(cells)}")
            continue
        record = dict(zip(header, cells, strict=True))
        try:
            yield start, build(record)
        except InputError as exc:
            yield start, RowError(start, exc.message)


def customer_rows(path: Path, *, default_owner: str) -> Iterator[tuple[int, CustomerInput | RowError]]:
    def build(r: dict[str, str]) -> CustomerInput:
        if not r.get("external_id", "").strip():
            raise InputError("external_id is required")
        if not r.get("full_name", "").strip():
            raise InputError("full_name is required")
        return CustomerInput(
            external_id=r["external_id"].strip(),
            full_name=r["full_name"],
            owner=(r.get("owner") or "").strip() or default_owner,
            email=(r.get("email") or "").strip() or None,
            phone=(r.get("phone") or "").strip() or None,
            postal_address=(r.get("postal_address") or "").strip() or None,
            birth_date=parse_date(r.get("birth_date", ""), "birth_date"),
            consent_marketing_email=parse_bool(
                r.get("consent_marketing_email", ""), "consent_marketing_email"
            ),
            consent_marketing_post=parse_bool(r.get("consent_marketing_post", ""), "consent_marketing_post"),
            consent_profiling=parse_bool(r.get("consent_profiling", ""), "consent_profiling"),
        )

    return read_rows(path, CUSTOMER_REQUIRED, build)


def transaction_rows(path: Path) -> Iterator[tuple[int, TransactionInput | RowError]]:
    def build(r: dict[str, str]) -> TransactionInput:
        return TransactionInput(
            external_id=r["external_id"].strip(),
            occurred_at=parse_datetime(r["occurred_at"], "occurred_at"),
            amount=r["amount"].strip(),
            currency=r["currency"],
            product=r["product"],
            category=r["category"],
        )

    return read_rows(path, TRANSACTION_COLUMNS, build)


def note_rows(path: Path) -> Iterator[tuple[int, NoteInput | RowError]]:
    """Notes CSV: ``external_id,author,created_at,text`` (``author`` and ``created_at`` may be empty).

    ``author`` and ``created_at`` are what the file claims; the import stores the importing
    subject as the author and keeps the date only for an importer who may backdate
    (:meth:`core.notes.NoteService.import_notes`).
    """

    def build(r: dict[str, str]) -> NoteInput:
        created = r.get("created_at", "").strip()
        return NoteInput(
            external_id=r["external_id"].strip(),
            author=r["author"].strip(),
            created_at=parse_datetime(created, "created_at") if created else None,
            text=r["text"],
        )

    return read_rows(path, NOTE_COLUMNS, build)

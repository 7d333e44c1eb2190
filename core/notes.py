"""Notes: analysed once on write, stored encrypted with their analysis, masked on the way out.

On write, the note is analysed by :class:`~core.pii.PiiEngine` (Presidio plus
hushdb's recognizers, English and Chinese) together with a record-aware
automaton of the names, emails and phones of every customer in the store.
The findings (type, category, offsets, score), labels and analyser version
are stored encrypted with the note; the sensitivity level is stored in clear
so exports can filter in SQL.  A sensitive note puts its customer
``under_review`` until a person clears it (an audited action).
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from core.crypto import FieldCipher
from core.db import transaction
from core.errors import HushError, InputError, PayloadTooLargeError
from core.gateway import NOTE_FIELDS, AccessContext, Gateway
from core.models import customer_keys_t, customers_t
from core.pii.analysis import ANALYSER_VERSION, Analysis
from core.pii.known_records import KnownRecords
from core.pii.operators import EXPORT_POLICY, mask
from core.writes import ImportReport, RowError, batches
from policies.plan import AccessPlan

if TYPE_CHECKING:
    from core.pii.engine import PiiEngine

ANALYSE_BATCH = 200
SYSTEM_CONTEXT = AccessContext(subject="hushdb", roles=frozenset({"system"}), purpose="data_quality")


@dataclass(frozen=True, slots=True)
class NoteInput:
    external_id: str
    author: str
    created_at: dt.datetime | None
    text: str


@dataclass(frozen=True, slots=True)
class NoteReceipt:
    """What a writer learns about the note: never the matched values."""

    note_id: str
    sensitivity: str
    labels: tuple[str, ...]
    findings: tuple[dict[str, Any], ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "note_id": self.note_id,
            "sensitivity": self.sensitivity,
            "labels": list(self.labels),
            "findings": [dict(f) for f in self.findings],
        }


class PiiNoteText:
    """Implements :class:`core.gateway.NoteText` with the PII engine and the export mask policy.

    The engine is resolved on first analysis, so opening a store does not load spaCy.
    """

    def __init__(self, *, engine: Callable[[], PiiEngine], hash_key: bytes) -> None:
        self._engine_factory = engine
        self._hash_key = hash_key

    @property
    def version(self) -> str:
        return ANALYSER_VERSION

    def analyse(self, text: str) -> tuple[str, str]:
        analysis = self._engine_factory().analyse(text)
        return analysis.to_json(), analysis.sensitivity

    def mask(self, text: str, analysis_json: str) -> str | None:
        return mask(text, Analysis.from_json(analysis_json), policy=EXPORT_POLICY, hash_key=self._hash_key)


class KnownRecordsCache:
    """The record-aware automaton: names, emails and phones of every live customer, in memory only.

    Built inside the store under purpose ``data_quality`` (audited as one read
    by the system subject) and rebuilt when customers change (a cheap
    fingerprint query: count and newest update).  Never written to disk.
    """

    def __init__(self, *, gateway: Gateway) -> None:
        self._gateway = gateway
        self._lock = threading.Lock()
        self._fingerprint: tuple[Any, ...] | None = None
        self._records: KnownRecords | None = None

    def _current_fingerprint(self, conn: Connection) -> tuple[Any, ...]:
        row = conn.execute(
            sa.select(sa.func.count(), sa.func.max(customers_t.c.updated_at)).where(
                customers_t.c.erased_at.is_(None)
            )
        ).one()
        return (int(row[0]), row[1])

    def get(self) -> KnownRecords:
        with self._lock:
            with transaction(self._gateway.engine) as conn:
                fingerprint = self._current_fingerprint(conn)
                if self._records is not None and fingerprint == self._fingerprint:
                    return self._records
                pairs, ids = self._pairs(conn)
                self._gateway.record(
                    conn,
                    self._gateway.event(
                        SYSTEM_CONTEXT,
                        action="read",
                        resource="customer",
                        fields=["full_name", "email", "phone"],
                        decision="allow",
                        row_count=len(ids),
                        detail={"operation": "record_aware_detection"},
                    ),
                )
            self._gateway.publish()
            self._records = KnownRecords.from_pairs(pairs)
            self._fingerprint = fingerprint
            return self._records

    def _pairs(self, conn: Connection) -> tuple[list[tuple[str, str]], list[str]]:
        rows = conn.execute(
            sa.select(
                customers_t.c.id,
                customers_t.c.full_name_ct,
                customers_t.c.email_ct,
                customers_t.c.phone_ct,
                customer_keys_t.c.wrapped_key,
                customer_keys_t.c.kek_version,
            )
            .join(customer_keys_t, customer_keys_t.c.customer_id == customers_t.c.id)
            .where(customers_t.c.erased_at.is_(None))
        )
        pairs: list[tuple[str, str]] = []
        ids: list[str] = []
        keyring = self._gateway.keyring
        for r in rows:
            cipher = FieldCipher(
                keyring.unwrap(r.id, r.wrapped_key, r.kek_version),
                table="customers",
                row_id=r.id,
                key_version=1,
            )
            ids.append(r.id)
            for kind, column, blob in (("name", "full_name", r.full_name_ct), ("email", "email", r.email_ct)):
                value = cipher.decrypt(column, blob)
                if value:
                    pairs.append((kind, value))
            phone = cipher.decrypt("phone", r.phone_ct)
            if phone:
                pairs.append(("phone", phone))
        return pairs, ids


class NoteService:
    """Governed note writes: policy, size limit, analysis once, encrypted storage, audit."""

    def __init__(
        self, *, gateway: Gateway, engine: Callable[[], PiiEngine], max_bytes: int, known: KnownRecordsCache
    ) -> None:
        self._gateway = gateway
        self._engine_factory = engine
        self._max_bytes = max_bytes
        self._known = known

    def _check(self, text: str) -> None:
        size = len(text.encode("utf-8", errors="surrogatepass"))
        if size > self._max_bytes:
            raise PayloadTooLargeError(f"note is {size} bytes; the limit is {self._max_bytes}")
        if not text.strip():
            raise InputError("note text is empty")
        if any("\ud800" <= ch <= "\udfff" for ch in text):
            raise InputError("note text is not valid UTF-8")

    def _authorize(self, ctx: AccessContext) -> AccessPlan:
        return self._gateway.authorize(
            ctx, resource="note", action="write", fields=["body"], all_fields=NOTE_FIELDS
        )

    def add(self, ctx: AccessContext, external_id: str, text: str) -> NoteReceipt:
        self._check(text)
        # Policy and row scope first: nothing is decrypted or analysed for a caller who may not write here.
        plan = self._authorize(ctx)
        with transaction(self._gateway.engine) as conn:
            self._gateway.customer_id(conn, ctx, plan, external_id)
        analysis = self._engine_factory().analyse(text, known=self._known.get())
        return self._store(ctx, [(0, NoteInput(external_id, ctx.subject, None, text), analysis)])[0]

    def import_notes(
        self,
        ctx: AccessContext,
        rows: Iterable[tuple[int, NoteInput | RowError]],
        *,
        progress: Callable[[int], None] | None = None,
    ) -> ImportReport:
        """Bulk import; texts are analysed in batches (``nlp.pipe``) before they are stored."""
        self._authorize(ctx)  # before any analysis
        report = ImportReport()
        for batch in batches(rows, ANALYSE_BATCH):
            good: list[tuple[int, NoteInput]] = []
            for line, item in batch:
                if isinstance(item, RowError):
                    report.rejected.append(item)
                    continue
                try:
                    self._check(item.text)
                except InputError as exc:
                    report.rejected.append(RowError(line, exc.message))
                    continue
                good.append((line, item))
            analyses = (
                self._engine_factory().analyse_many([n.text for _, n in good], known=self._known.get())
                if good
                else []
            )
            triples = [(line, n, a) for (line, n), a in zip(good, analyses, strict=True)]
            stored = self._store(ctx, triples, report=report)
            report.imported += len(stored)
            if progress:
                progress(len(batch))
        report.rejected.sort(key=lambda e: e.line)
        return report

    def _store(
        self,
        ctx: AccessContext,
        items: Sequence[tuple[int, NoteInput, Analysis]],
        *,
        report: ImportReport | None = None,
    ) -> list[NoteReceipt]:
        gateway = self._gateway
        plan = gateway.authorize(
            ctx, resource="note", action="write", fields=["body"], all_fields=NOTE_FIELDS
        )
        receipts: list[NoteReceipt] = []
        ids: list[str] = []
        with transaction(gateway.engine) as conn:
            for line, note, analysis in items:
                try:
                    customer_id = gateway.customer_id(conn, ctx, plan, note.external_id)
                except HushError as exc:
                    if report is None:
                        raise
                    report.rejected.append(RowError(line, exc.message))
                    continue
                note_id = gateway.store.insert_note(
                    conn,
                    customer_id,
                    author=note.author,
                    body=note.text,
                    analysis=analysis.to_json().encode(),
                    sensitivity=analysis.sensitivity,
                    analyser_version=analysis.version,
                    created_at=note.created_at,
                )
                ids.append(customer_id)
                receipts.append(
                    NoteReceipt(
                        note_id=note_id,
                        sensitivity=analysis.sensitivity,
                        labels=analysis.labels,
                        findings=tuple(
                            {"type": f.type, "category": f.category, "start": f.start, "end": f.end}
                            for f in analysis.findings
                        ),
                    )
                )
            if receipts:
                gateway.record(
                    conn,
                    gateway.event(
                        ctx,
                        action="write",
                        resource="note",
                        fields=["body"],
                        decision="allow",
                        row_count=len(receipts),
                        record_ids=ids,
                        detail={
                            "operation": "add_note",
                            "sensitive": sum(r.sensitivity == "sensitive" for r in receipts),
                        },
                    ),
                )
        gateway.publish()
        return receipts

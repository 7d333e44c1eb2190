"""Notes: analysed once on write, stored encrypted with their analysis, masked on the way out.

On write, the note is analysed by :class:`~core.pii.PiiEngine` (Presidio plus
hushdb's recognizers, English and Chinese), and then matched against a
record-aware automaton of the names, emails and phones of every customer in the
store.  The findings (type, category, offsets, score), labels and analyser
version are stored encrypted with the note; the sensitivity level is stored in
clear so exports can filter in SQL.  A sensitive note puts its customer
``under_review`` until a person clears it (an audited action).

No oracle through receipts: the stored analysis keeps every finding (all of them
mask), but the receipt returned to the writer is
:meth:`~core.pii.known_records.RecordAwareAnalysis.view` for the writer: a finding
that only record-aware detection produced is shown only if the writer may read
that field (unmasked, in their row scope) of one of the customers it names.  So
the receipt for a name, email or phone of a customer outside the writer's scope
is the receipt for a string that is no customer at all.  The gateway applies the
same view when a reader who knows the text (the author, or anyone reading the
body unmasked) reads the note's findings.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from core.db import transaction
from core.errors import AccessDenied, HushError, InputError, PayloadTooLargeError
from core.gateway import NOTE_FIELDS, AccessContext, Gateway
from core.governance import UnrecordedDenial, system_context
from core.models import customers_t
from core.pii.analysis import ANALYSER_VERSION, Analysis
from core.pii.known_records import KnownRecords, RecordAwareAnalysis, Visibility
from core.pii.normaliser import normalise
from core.pii.operators import EXPORT_POLICY, mask
from core.redact import redacted_repr
from core.writes import ImportReport, RowError, batches
from policies.plan import AccessPlan

if TYPE_CHECKING:
    from core.pii.engine import PiiEngine

log = logging.getLogger(__name__)

ANALYSE_BATCH = 200
KNOWN_FIELDS = ("full_name", "email", "phone")
"""What record-aware detection reads (role ``system``, purpose ``data_quality`` in policy.csv)."""
KNOWN_PURPOSE = "data_quality"
NOTE_ANALYSIS_VERSION = f"{ANALYSER_VERSION}+s1"
"""The version stored with a note: the analyser's, plus the format of record-aware findings
(``+s1``: record-only findings name their customers, see :class:`RecordAwareAnalysis`).
A note stored under another version is re-analysed on its next read (analyses stored
before ``+s1`` mixed record-aware findings into the generic ones and cannot be scoped)."""


@dataclass(frozen=True, slots=True, repr=False)
class NoteInput:
    """One note to import.  ``author`` and ``created_at`` are what the file claims: the stored
    author is always the importing subject, and the date is kept only for an importer the
    policy lets backdate (``note``/``write`` of ``created_at``); see :meth:`NoteService.import_notes`."""

    external_id: str
    author: str
    created_at: dt.datetime | None
    text: str

    def __repr__(self) -> str:
        return redacted_repr(self, shown=("external_id", "created_at"))


@dataclass(frozen=True, slots=True)
class NoteReceipt:
    """What a writer learns about the note: never the matched values, and nothing that depends on
    customers outside the writer's scope (see :meth:`RecordAwareAnalysis.view`)."""

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
        self._known: KnownRecordsCache | None = None

    def use_known(self, known: KnownRecordsCache) -> None:
        """Re-analyses of stale notes also use record-aware detection (installed by :class:`NoteService`)."""
        self._known = known

    @property
    def version(self) -> str:
        return NOTE_ANALYSIS_VERSION

    def analyse(self, text: str) -> tuple[str, str]:
        """Called by the gateway inside a read transaction: the known records are the last ones
        built (never rebuilt here, which would need a transaction of its own)."""
        known = self._known.current() if self._known is not None else None
        stored = analyse_note(self._engine_factory(), [text], known)[0]
        return stored.to_json(), stored.analysis.sensitivity

    def mask(self, text: str, analysis_json: str) -> str | None:
        return mask(text, Analysis.from_json(analysis_json), policy=EXPORT_POLICY, hash_key=self._hash_key)

    def scoped(self, analysis_json: str, visible: Visibility) -> tuple[str, str]:
        """The stored analysis as one reader may see it (JSON and sensitivity); see :meth:`RecordAwareAnalysis.view`."""
        view = RecordAwareAnalysis.from_json(analysis_json).view(visible)
        return view.to_json(), view.sensitivity


def analyse_note(
    engine: PiiEngine, texts: Sequence[str], known: KnownRecords | None
) -> list[RecordAwareAnalysis]:
    """Generic analysis (the engine never sees the known records), then the known values matched
    on the same normalised text; see :meth:`RecordAwareAnalysis.combine`."""
    generic = engine.analyse_many(texts)
    if known is None or not len(known):
        return [RecordAwareAnalysis(a, {}) for a in generic]
    return [
        RecordAwareAnalysis.combine(a, known.matches(normalise(t)))
        for a, t in zip(generic, texts, strict=True)
    ]


class KnownRecordsCache:
    """The record-aware automaton: names, emails and phones of every live customer, in memory only.

    Each value remembers the internal ids of the customers it belongs to (read from the
    customers table after the governed scan; ids are not personal data), so a note's
    record-only findings can be shown only to those who may see one of those customers.

    Read through the gateway like every other read: subject ``hushdb`` in role ``system``,
    purpose ``data_quality``, under the lines of ``policies/policy.csv`` that grant it
    (audited per batch, ``operation: record_aware_detection``).  Rebuilt when customers
    change (a cheap fingerprint query: count and newest update).  Never written to disk.
    If the policy refuses the read (the lines were removed), the refusal is audited and
    notes are analysed without record-aware detection.
    """

    def __init__(self, *, gateway: Gateway) -> None:
        self._gateway = gateway
        self._lock = threading.Lock()
        self._fingerprint: tuple[Any, ...] | None = None
        self._records: KnownRecords | None = None

    def current(self) -> KnownRecords | None:
        """The automaton last built, without touching the database (None before the first build)."""
        return self._records

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
            try:
                triples = self._records_read()
            except AccessDenied:
                log.warning("record-aware detection is refused by the policy; notes are analysed without it")
                triples = []
            self._records = KnownRecords.from_records(triples)
            self._fingerprint = fingerprint
            return self._records

    def _records_read(self) -> list[tuple[str, str, str | None]]:
        """``(kind, value, internal customer id)`` for every live customer's name, email and phone."""
        ctx = system_context(KNOWN_PURPOSE)
        out: list[tuple[str, str, str]] = []
        external: list[str] = []
        for record in self._gateway.scan_customers(
            ctx, fields=KNOWN_FIELDS, detail={"operation": "record_aware_detection"}
        ):
            values = record.values
            for kind, column in (("name", "full_name"), ("email", "email"), ("phone", "phone")):
                value = values.get(column)
                if value:
                    out.append((kind, str(value), record.external_id))
                    external.append(record.external_id)
        # the internal id is what a stored finding names (external ids are business data)
        ids: dict[str, str] = {}
        with transaction(self._gateway.engine) as conn:
            for chunk in batches(sorted(set(external)), 900):
                rows = conn.execute(
                    sa.select(customers_t.c.external_id, customers_t.c.id).where(
                        customers_t.c.external_id.in_(chunk)
                    )
                )
                ids.update((str(r.external_id), str(r.id)) for r in rows)
        return [(kind, value, ids.get(ext)) for kind, value, ext in out]


class NoteService:
    """Governed note writes: policy, size limit, analysis once, encrypted storage, audit."""

    def __init__(
        self, *, gateway: Gateway, engine: Callable[[], PiiEngine], max_bytes: int, known: KnownRecordsCache
    ) -> None:
        self._gateway = gateway
        self._engine_factory = engine
        self._max_bytes = max_bytes
        self._known = known
        if isinstance(gateway.note_text, PiiNoteText):
            gateway.note_text.use_known(known)

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
        with self._gateway.governance.transaction() as conn:
            self._gateway.customer_id(conn, ctx, plan, external_id)
        analysis = analyse_note(self._engine_factory(), [text], self._known.get())[0]
        return self._store(ctx, [(0, NoteInput(external_id, ctx.subject, None, text), analysis)])[0]

    def import_notes(
        self,
        ctx: AccessContext,
        rows: Iterable[tuple[int, NoteInput | RowError]],
        *,
        progress: Callable[[int], None] | None = None,
    ) -> ImportReport:
        """Bulk import; texts are analysed in batches (``nlp.pipe``) before they are stored.

        Authorship is the importer's: every note is stored as written by ``ctx.subject``.
        An ``author`` that names someone else is kept as text, on a last line of the note
        (``[imported; author in the file: NAME]``), so it is analysed and masked like the
        rest of the body and never shown as the note's author.  The file's ``created_at`` is
        kept only when the policy lets the importer write a note's ``created_at``
        (backdate); otherwise the note is dated now and the file's date goes on that line.
        """
        self._authorize(ctx)  # before any analysis
        may_backdate = self._may_backdate(ctx)
        report = ImportReport()
        for batch in batches(rows, ANALYSE_BATCH):
            good: list[tuple[int, NoteInput]] = []
            for line, claimed in batch:
                if isinstance(claimed, RowError):
                    report.rejected.append(claimed)
                    continue
                item = imported_note(claimed, importer=ctx.subject, may_backdate=may_backdate)
                try:
                    self._check(item.text)
                except InputError as exc:
                    report.rejected.append(RowError(line, exc.message))
                    continue
                good.append((line, item))
            analyses = (
                analyse_note(self._engine_factory(), [n.text for _, n in good], self._known.get())
                if good
                else []
            )
            triples = [(line, n, a) for (line, n), a in zip(good, analyses, strict=True)]
            stored = self._store(ctx, triples, report=report, backdated=may_backdate)
            report.imported += len(stored)
            if progress:
                progress(len(batch))
        report.rejected.sort(key=lambda e: e.line)
        return report

    def _may_backdate(self, ctx: AccessContext) -> bool:
        """Whether the policy lets ``ctx`` set a note's ``created_at`` (asked once; recorded with the import)."""
        try:
            plan = self._gateway.policies.current.plan(
                subject=ctx.subject,
                roles=ctx.roles,
                purpose=ctx.purpose,
                resource="note",
                action="write",
                fields=["created_at"],
            )
        except HushError:
            return False
        return plan.decision == "allow"

    def _store(
        self,
        ctx: AccessContext,
        items: Sequence[tuple[int, NoteInput, RecordAwareAnalysis]],
        *,
        report: ImportReport | None = None,
        backdated: bool = False,
    ) -> list[NoteReceipt]:
        gateway = self._gateway
        plan = gateway.authorize(
            ctx, resource="note", action="write", fields=["body"], all_fields=NOTE_FIELDS
        )
        receipts: list[NoteReceipt] = []
        ids: list[str] = []
        with gateway.governance.transaction() as conn:
            visible = gateway.customer_value_visibility(conn, plan)
            for line, note, stored in items:
                analysis = stored.analysis
                try:
                    customer_id = gateway.customer_id(conn, ctx, plan, note.external_id)
                except HushError as exc:
                    if report is None:
                        raise
                    if isinstance(exc, UnrecordedDenial):
                        gateway.governance.denial_in(conn, exc)  # this batch commits: record it here
                    report.rejected.append(RowError(line, exc.message))
                    continue
                note_id = gateway.store.insert_note(
                    conn,
                    customer_id,
                    author=note.author,
                    body=note.text,
                    analysis=stored.to_json().encode(),
                    sensitivity=analysis.sensitivity,
                    analyser_version=NOTE_ANALYSIS_VERSION,
                    created_at=note.created_at,
                )
                ids.append(customer_id)
                # what the writer may see: never whether a string is a customer outside their scope
                shown = stored.view(visible)
                receipts.append(
                    NoteReceipt(
                        note_id=note_id,
                        sensitivity=shown.sensitivity,
                        labels=shown.labels,
                        findings=tuple(
                            {"type": f.type, "category": f.category, "start": f.start, "end": f.end}
                            for f in shown.findings
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
                            "operation": "add_note" if report is None else "import_notes",
                            "sensitive": sum(r.sensitivity == "sensitive" for r in receipts),
                            "dates_kept": backdated,
                        },
                    ),
                )
        gateway.publish()
        return receipts


def imported_note(claimed: NoteInput, *, importer: str, may_backdate: bool) -> NoteInput:
    """The note as stored: written by ``importer``; the file's other author and, unless the
    importer may backdate, its date are kept as a line of text at the end of the body."""
    kept: list[str] = []
    author = claimed.author.strip()
    if author and author != importer:
        kept.append(f"author in the file: {author}")
    created_at = claimed.created_at if may_backdate else None
    if claimed.created_at is not None and not may_backdate:
        kept.append(f"date in the file: {claimed.created_at.isoformat()}")
    text = claimed.text
    if kept:
        text = f"{text.rstrip()}\n[imported; {'; '.join(kept)}]"
    return NoteInput(external_id=claimed.external_id, author=importer, created_at=created_at, text=text)

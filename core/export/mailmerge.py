"""The mail-merge export: one service that the CLI and the HTTP API both call.

A run, in order (nothing is written before step 5):

1. purpose must be ``marketing`` (else an audited denial);
2. the request is validated: merge fields, channel, format, campaign name;
3. the template is parsed in a sandbox; every variable it reads must be a merge
   field of the job (the template line is named otherwise);
4. the subject's access plan is asked for the customer fields the merge needs
   (derived fields need their source): a forbidden field fails the whole job,
   naming the field, and the gateway audits the denial; the template's own text
   passes the outbound gate once (a template carrying sensitive content or a
   customer's contact details is refused);
5. the audit head is read, suppression is counted in SQL, and recipients are
   streamed page by page (ids first, then one governed, audited
   ``scan_customers`` per page: no transaction stays open while letters are
   written, so other writers are not blocked); every letter or row passes the
   gate before it is written, or goes to quarantine with its reasons;
6. an ``export`` audit event records campaign, counts and file hashes; the
   manifest is written last and the directory renamed into place.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import sqlalchemy as sa

from core.config import Settings
from core.db import transaction
from core.errors import AccessDenied, ExportCancelledError, HushError, InputError
from core.export.fields import DERIVED_FIELDS, MERGE_FIELDS, base_fields_for, city, first_name, parse_fields
from core.export.fields import salutation as make_salutation
from core.export.gate import BlindIndexOwners, IdentifierOwners, Letter, LetterGate, OutboundGate
from core.export.gate_pool import GatePool, GateTicket
from core.export.manifest import Manifest
from core.export.output import FORMATS, ExportWriter
from core.export.profiles import profile_labels
from core.export.selection import CHANNELS, count_by_reason, eligible, stored_sensitive
from core.export.templates import LetterTemplate
from core.gateway import AccessContext, CustomerRecord, Gateway
from core.models import customers_t
from core.pii import PiiEngine
from core.pii.normaliser import forget_words
from core.records import CUSTOMER_FIELDS
from policies.plan import AccessPlan
from policies.vocabulary import RESOURCES

log = logging.getLogger(__name__)

PURPOSE: Final = "marketing"
_CAMPAIGN: Final = re.compile(r"^[\w][\w .\-]{0,99}$")
GateFactory = Callable[[IdentifierOwners, str], LetterGate]


@dataclass(frozen=True, slots=True)
class MailmergeRequest:
    """One campaign export.  ``template`` is the template's text (not a path)."""

    campaign: str
    fields: tuple[str, ...]
    template: str | None = None
    channel: str = "email"
    format: str = "csv"
    template_name: str | None = None


@dataclass
class _Plan:
    request: MailmergeRequest
    fields: tuple[str, ...]
    base: tuple[str, ...]
    plan: AccessPlan
    template: LetterTemplate | None


def _default_gate(owners: IdentifierOwners, region: str) -> LetterGate:
    return OutboundGate(owners=owners, phone_region=region)


class MailmergeService:
    """Campaign exports under purpose marketing, every letter through the outbound gate."""

    def __init__(
        self,
        *,
        gateway: Gateway,
        pii: Callable[[], PiiEngine] | PiiEngine | None,
        settings: Settings,
        batch_size: int = 1000,
        gate_factory: GateFactory = _default_gate,
        gate_workers: int | None = None,
    ) -> None:
        self._gateway = gateway
        self._pii = pii
        self._settings = settings
        self._batch = batch_size
        self._gate_factory = gate_factory
        self._gate_workers = gate_workers  # None: one worker when the machine has a core to spare

    # -- before the run ---------------------------------------------------------------------

    def check(self, ctx: AccessContext, request: MailmergeRequest) -> None:
        """Every check that needs no output (purpose, fields, plan, template); raises on the first failure."""
        self._prepare(ctx, request)

    def _prepare(self, ctx: AccessContext, request: MailmergeRequest) -> _Plan:
        if ctx.purpose != PURPOSE:
            raise self._gateway.deny(
                ctx,
                action="export",
                resource="customer",
                fields=list(request.fields),
                reason=f"mail-merge runs only for purpose {PURPOSE}",
            )
        if not _CAMPAIGN.match(request.campaign):
            raise InputError("campaign must be 1-100 letters, digits, spaces or ._-")
        if request.channel not in CHANNELS:
            raise InputError(f"unknown channel {request.channel!r}; one of {', '.join(CHANNELS)}")
        if request.format not in FORMATS:
            raise InputError(f"unknown format {request.format!r}; one of {', '.join(FORMATS)}")
        fields = parse_fields(request.fields)
        template = (
            LetterTemplate(request.template, name=request.template_name or "template")
            if request.template is not None
            else None
        )
        base = tuple(dict.fromkeys(("pseudonym", *base_fields_for(fields))))
        plan = self._gateway.authorize(
            ctx, resource="customer", action="read", fields=base, all_fields=CUSTOMER_FIELDS
        )
        if {"segment", "recommended_product"} & set(fields):
            # profiling labels are governed too: the plan must allow reading stored results
            self._gateway.authorize(
                ctx,
                resource="profile",
                action="read",
                fields=["results"],
                all_fields=RESOURCES["profile"].fields,
            )
        if template is not None:
            self._check_template_names(ctx, template, fields)
        return _Plan(request=request, fields=fields, base=base, plan=plan, template=template)

    def _check_template_names(
        self, ctx: AccessContext, template: LetterTemplate, fields: Sequence[str]
    ) -> None:
        for var in template.names:
            if var.name in fields:
                continue
            if var.name in CUSTOMER_FIELDS:
                try:
                    self._gateway.authorize(
                        ctx, resource="customer", action="read", fields=[var.name], all_fields=CUSTOMER_FIELDS
                    )
                except AccessDenied as exc:  # audited by the gateway
                    raise AccessDenied(f"template line {var.line} uses {var.name}: {exc.message}") from exc
            if var.name in MERGE_FIELDS or var.name in CUSTOMER_FIELDS:
                raise InputError(f"template line {var.line} uses {var.name}, which is not in --fields")
            raise InputError(f"template line {var.line} uses {var.name}, which is not a merge field")

    def _check_template_text(self, gate: LetterGate, template: LetterTemplate) -> None:
        if isinstance(gate, OutboundGate):
            gate.check_template(template.source)
        if self._pii is not None:
            engine = self._pii if isinstance(self._pii, PiiEngine) else self._pii()
            analysis = engine.analyse(template.source)
            for finding in analysis.findings:
                if finding.is_sensitive:
                    line = template.source.count("\n", 0, finding.start) + 1
                    raise InputError(f"template line {line} carries sensitive content ({finding.category})")

    # -- the run ---------------------------------------------------------------------------------

    def run(
        self,
        ctx: AccessContext,
        request: MailmergeRequest,
        out_dir: Path,
        *,
        progress: Callable[[int], None] | None = None,
        cancelled: Callable[[], bool] | None = None,
    ) -> Manifest:
        """Export ``request`` into ``out_dir`` (which must not exist); returns the manifest.

        ``cancelled`` is asked between letters: when it answers True the run stops with
        :class:`ExportCancelledError`, its partial output is removed and the failure is audited.
        """
        prepared = self._prepare(ctx, request)
        store = self._gateway.store
        owners = BlindIndexOwners(
            engine=self._gateway.engine, email_index=store.email_index, phone_index=store.phone_index
        )
        gate = self._gate_factory(owners, self._settings.phone_region)
        if prepared.template is not None:
            self._check_template_text(gate, prepared.template)
        columns = ("pseudonym", *[f for f in prepared.fields if f != "pseudonym"])
        if prepared.template is not None:
            columns = (*columns, "letter")
        writer = ExportWriter(
            out_dir, columns=columns, fmt=request.format, letters=prepared.template is not None
        )
        started = dt.datetime.now(dt.UTC)
        try:
            return self._run(ctx, prepared, gate, owners, writer, started, progress, cancelled)
        except BaseException as exc:
            writer.abort()
            if isinstance(exc, HushError | OSError | KeyboardInterrupt):  # Ctrl-C: audited as a failure too
                self._record_failure(ctx, prepared, exc)
            raise
        finally:
            forget_words()  # the gate's memo of name and address words ends with the run

    def _run(
        self,
        ctx: AccessContext,
        prepared: _Plan,
        gate: LetterGate,
        owners: BlindIndexOwners,
        writer: ExportWriter,
        started: dt.datetime,
        progress: Callable[[int], None] | None,
        cancelled: Callable[[], bool] | None = None,
    ) -> Manifest:
        request = prepared.request
        engine = self._gateway.engine
        scope = self._gateway.scope_filter(ctx, prepared.plan, customers_t.c.owner)
        with transaction(engine) as conn:
            first_seq = self._gateway.audit.head(conn)[0] + 1
            suppressed = count_by_reason(conn, request.channel, scope)
        suppressed.pop("selected", None)
        wants = set(prepared.fields)
        segments, products = profile_labels(
            engine, segments="segment" in wants, recommendations="recommended_product" in wants
        )
        selected = exported = 0
        quarantined: dict[str, int] = {}
        template = prepared.template
        pool = GatePool(
            gate,
            workers=self._gate_workers if isinstance(gate, OutboundGate) else 0,
            # identifier owners are looked up here, with this process's connections
            in_worker=gate.defer_lookups if isinstance(gate, OutboundGate) else None,
        )

        def letters(page: list[CustomerRecord]) -> list[Letter]:
            with engine.connect() as conn:
                flagged = stored_sensitive(conn, [r.pseudonym for r in page])
            out: list[Letter] = []
            for record in page:
                if cancelled is not None and cancelled():
                    raise ExportCancelledError("the export was cancelled; its partial output was removed")
                values = merge_values(record, prepared.fields, segments, products)
                text = (
                    template.render(values)
                    if template is not None
                    else "\n".join(values[f] for f in prepared.fields)
                )
                out.append(
                    Letter(
                        pseudonym=record.pseudonym,
                        text=text,
                        values=values,
                        stored_sensitive=record.pseudonym in flagged,
                        sources=sources_of(record, prepared.fields),
                    )
                )
            return out

        def emit(ticket: GateTicket) -> None:
            nonlocal exported
            for letter, reasons in zip(ticket.letters, pool.collect(ticket), strict=True):
                if cancelled is not None and cancelled():
                    raise ExportCancelledError("the export was cancelled; its partial output was removed")
                if reasons:
                    writer.quarantine(letter.pseudonym, [r.to_dict() for r in reasons])
                    for category in dict.fromkeys(r.category for r in reasons):
                        quarantined[category] = quarantined.get(category, 0) + 1
                    continue
                row = {"pseudonym": letter.pseudonym, **letter.values}
                if template is not None:
                    row["letter"] = writer.letter_name(letter.pseudonym)
                writer.write(row, letter.text if template is not None else None)
                exported += 1
            if progress is not None:
                progress(len(ticket.letters))

        # Page k+1 is rendered and handed to the gate (a worker, on more than one core) before
        # page k is written: the gate checks one page while this process writes the other.
        with pool:
            waiting: GateTicket | None = None
            for page in self._pages(ctx, prepared, scope):
                selected += len(page)
                ticket = pool.submit(letters(page))
                if waiting is not None:
                    emit(waiting)
                waiting = ticket
            if waiting is not None:
                emit(waiting)
        files = writer.close_files()
        detail: dict[str, str | int | bool | None] = {
            "campaign": request.campaign,
            "channel": request.channel,
            "selected": selected,
            "exported": exported,
            "quarantined": selected - exported,
            **{f"suppressed_{k}": v for k, v in sorted(suppressed.items())},
            **{f"quarantined_{k}": v for k, v in sorted(quarantined.items())},
            **{f"sha256:{name}": digest for name, digest in sorted(files.items())},
        }
        if prepared.template is not None:
            detail["template_sha256"] = prepared.template.sha256
        export_seq = self._gateway.record_alone(
            self._gateway.event(
                ctx,
                action="export",
                resource="customer",
                fields=list(prepared.fields),
                decision="allow",
                row_count=exported,
                detail=detail,
            )
        )
        manifest = Manifest(
            out_dir=writer.out_dir.name,  # the directory's name: a manifest carries no server path
            campaign=request.campaign,
            subject=ctx.subject,
            purpose=ctx.purpose,
            request_id=ctx.request_id,
            channel=request.channel,
            format=request.format,
            fields=prepared.fields,
            template=(
                {"name": prepared.template.name, "sha256": prepared.template.sha256}
                if prepared.template is not None
                else None
            ),
            started_at=started.isoformat(),
            finished_at=dt.datetime.now(dt.UTC).isoformat(),
            selected=selected,
            exported=exported,
            letters=writer.letters_written,
            suppressed=suppressed,
            quarantined=dict(sorted(quarantined.items())),
            files=files,
            audit={"first_seq": first_seq, "last_seq": export_seq, "export_event_seq": export_seq},
            gate={
                "identifier_lookups": owners.lookups,
                "kind": type(gate).__name__,
                "worker_chunks": pool.worker_chunks,
            },
        )
        writer.commit(manifest.to_dict())
        return manifest

    def _pages(
        self, ctx: AccessContext, prepared: _Plan, scope: sa.ColumnElement[bool]
    ) -> Iterator[list[CustomerRecord]]:
        """Eligible recipients, one page of ids at a time, each page read through the gateway (audited)."""
        condition = eligible(prepared.request.channel)
        last = ""
        while True:
            window = (
                sa.select(customers_t.c.id)
                .where(condition, scope, customers_t.c.erased_at.is_(None), customers_t.c.id > last)
                .order_by(customers_t.c.id)
                .limit(self._batch)
                .subquery()
            )
            with self._gateway.engine.connect() as conn:
                upper: str | None = conn.execute(sa.select(sa.func.max(window.c.id))).scalar()
            if upper is None:
                return
            page = list(
                self._gateway.scan_customers(
                    ctx,
                    fields=prepared.base,
                    where=sa.and_(condition, customers_t.c.id <= upper),
                    after=last,
                    batch_size=self._batch,
                )
            )
            last = upper
            if page:
                yield page

    def _record_failure(self, ctx: AccessContext, prepared: _Plan, exc: BaseException) -> None:
        try:
            self._gateway.record_alone(
                self._gateway.event(
                    ctx,
                    action="export",
                    resource="customer",
                    fields=list(prepared.fields),
                    decision="error",
                    detail={"campaign": prepared.request.campaign, "error": type(exc).__name__},
                )
            )
        except HushError:
            log.warning("the failed export could not be audited")


def merge_values(
    record: CustomerRecord,
    fields: Sequence[str],
    segments: Mapping[str, str],
    products: Mapping[str, str],
) -> dict[str, str]:
    """The merge values of one recipient, as strings ('' for a missing value)."""
    raw = record.values
    out: dict[str, str] = {}
    for name in fields:
        if name == "pseudonym":
            out[name] = record.pseudonym
        elif name not in DERIVED_FIELDS:
            value = raw.get(name)
            out[name] = "" if value is None else str(value)
        elif name == "first_name":
            out[name] = first_name(str(raw.get("full_name") or ""))
        elif name == "salutation":
            out[name] = make_salutation(str(raw.get("full_name") or ""))
        elif name == "city":
            out[name] = city(str(raw.get("postal_address") or ""))
        elif name == "segment":
            out[name] = segments.get(record.pseudonym, "")
        elif name == "recommended_product":
            out[name] = products.get(record.pseudonym, "")
    return out


def sources_of(record: CustomerRecord, fields: Sequence[str]) -> dict[str, str]:
    """The free-text values the derived merge fields are made from (the gate reads them together)."""
    out: dict[str, str] = {}
    for name in fields:
        source = DERIVED_FIELDS.get(name)
        if source is not None and source not in out:
            value = record.values.get(source)
            if value:
                out[source] = str(value)
    return out

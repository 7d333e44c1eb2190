"""The governed read path: the only way decrypted customer data leaves the store.

Every public method that returns customer data takes an :class:`AccessContext`
(subject, roles, purpose, request id).  A read:

1. asks the policy once for an :class:`~policies.plan.AccessPlan` for
   (subject, roles, purpose, resource, action, field set) — never per row;
2. runs SQL with the plan's row filter compiled into the WHERE clause (a
   sales rep's ``own`` scope becomes ``owner = :subject``);
3. decrypts only the allowed fields;
4. masks them per the plan;
5. appends an audit event **in the same transaction**; if the event cannot
   be written the transaction rolls back and no data is returned.

Denials (including any exception while deciding) are audited in a
transaction of their own and raise :class:`AccessDenied`.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple, Protocol

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine, Row

from audit.log import AuditLog
from audit.refs import RecordRefs
from core.crypto import ColumnsDecryptor, FieldCipher
from core.db import transaction
from core.errors import ErasedError, HushError, InvalidPurposeError, NotFoundError
from core.governance import OUTSIDE_OWNED, Governance
from core.keys import KeyRing
from core.models import customer_keys_t, customers_t, notes_t
from core.records import CONSENT_KEYS, CUSTOMER_FIELDS, PII_FIELDS, SUPPRESSION_KEYS
from core.redact import redacted_keys
from core.store import CustomerStore
from policies.holder import PolicyHolder
from policies.masks import Masker, mask_function
from policies.plan import AccessPlan
from policies.vocabulary import OPERATOR_ROLE as OPERATOR_ROLE
from policies.vocabulary import PURPOSES as VOCABULARY_PURPOSES
from policies.vocabulary import RESOURCES

log = logging.getLogger(__name__)

PURPOSES: tuple[str, ...] = tuple(sorted(VOCABULARY_PURPOSES))
NOTE_FIELDS: tuple[str, ...] = RESOURCES["note"].fields
CAMPAIGN_ONLY_PURPOSES: frozenset[str] = frozenset({"marketing"})
"""Purposes with no single-customer read or look-up: marketing reads people only in bulk, through a
campaign that applies consent, suppression and the outbound gate (:mod:`core.export.mailmerge`)."""
REVEALING_MASKS: frozenset[str] = frozenset({"full", "partial"})
"""Masks under which a field counts as readable for a look-up by that field."""


def new_request_id() -> str:
    return uuid.uuid4().hex


@dataclass(frozen=True, slots=True)
class AccessContext:
    """Who is asking, in which roles, for what purpose, in which request, and how (``channel``:
    ``http``, ``cli`` or ``system``; ``os_user``: the operating-system user of a CLI process)."""

    subject: str
    roles: frozenset[str]
    purpose: str
    request_id: str = field(default_factory=new_request_id)
    channel: str = "system"
    os_user: str = ""

    def __post_init__(self) -> None:
        if self.purpose not in PURPOSES:
            raise InvalidPurposeError(f"unknown purpose {self.purpose!r}; one of {', '.join(PURPOSES)}")


class NoteText(Protocol):
    """Analysis and masking of note bodies (implemented by :class:`core.notes.PiiNoteText`)."""

    @property
    def version(self) -> str: ...

    def analyse(self, text: str) -> tuple[str, str]:
        """The analysis of ``text`` as JSON, and its sensitivity level."""
        ...

    def mask(self, text: str, analysis_json: str) -> str | None:
        """``text`` masked from its stored spans (no NLP); None when the whole note is dropped."""
        ...

    def scoped(self, analysis_json: str, visible: Callable[[str, frozenset[str]], bool]) -> tuple[str, str]:
        """The stored analysis as one reader may see it, and its sensitivity: findings that only
        record-aware detection produced are kept only for customers ``visible`` allows."""
        ...


@dataclass(frozen=True, slots=True, repr=False)
class CustomerRecord:
    """A customer as one reader may see it: only allowed fields, masked per plan.

    Its ``repr`` names the fields it holds, never their values.
    """

    external_id: str
    pseudonym: str
    values: Mapping[str, Any]

    def __repr__(self) -> str:
        return f"CustomerRecord(external_id={self.external_id!r}, values={redacted_keys(self.values)})"


def _record_builder() -> Callable[[str, str, Mapping[str, Any]], CustomerRecord]:
    """``CustomerRecord(external_id, pseudonym, values)`` for a scan's hot path.

    The frozen dataclass's ``__init__`` assigns each field through
    ``object.__setattr__`` (about a microsecond a record); this fills the same
    three slots through their member descriptors, which is what that call ends
    in.  The result is the same immutable object (a test compares them).
    """
    new = object.__new__
    slots = CustomerRecord.__dict__
    set_external_id = slots["external_id"].__set__
    set_pseudonym = slots["pseudonym"].__set__
    set_values = slots["values"].__set__

    def build(external_id: str, pseudonym: str, values: Mapping[str, Any]) -> CustomerRecord:
        record: CustomerRecord = new(CustomerRecord)
        set_external_id(record, external_id)
        set_pseudonym(record, pseudonym)
        set_values(record, values)
        return record

    return build


_build_record = _record_builder()


@dataclass(frozen=True, slots=True, repr=False)
class NoteRecord:
    """A note as one reader may see it.  ``body`` is masked per plan (or None); ``repr`` shows no value."""

    note_id: str
    values: Mapping[str, Any]

    def __repr__(self) -> str:
        return f"NoteRecord(note_id={self.note_id!r}, values={redacted_keys(self.values)})"


class _Batch(NamedTuple):
    """One batch of customers as the plan lets them be seen, column by column.

    ``values[i]`` is already decrypted and masked; :meth:`records` wraps the
    rows in :class:`CustomerRecord` one at a time as they are handed out.
    """

    ids: Sequence[str]
    external_ids: Sequence[str]
    pseudonyms: Sequence[str]
    values: list[dict[str, Any]]

    def records(self) -> Iterator[CustomerRecord]:
        return map(_build_record, self.external_ids, self.pseudonyms, self.values)


@dataclass(frozen=True, slots=True)
class _Lookup:
    query: sa.Select[Any]
    hidden: sa.Select[Any]
    read: Callable[[Sequence[Any]], _Batch]


class Gateway:
    """Policy, SQL row filter, decryption, masking and audit, in one place."""

    def __init__(
        self,
        *,
        engine: Engine,
        store: CustomerStore,
        policies: PolicyHolder,
        audit: AuditLog,
        keyring: KeyRing,
        note_text: NoteText | None = None,
    ) -> None:
        self.engine = engine
        self.store = store
        self.policies = policies
        self.audit = audit
        self.keyring = keyring
        self.refs = RecordRefs(keyring.audit_key)
        self.governance = Governance(engine=engine, policies=policies, audit=audit, refs=self.refs)
        # Policy and audit are the governance service's, not repeated here: the gateway's
        # callers reach the same bound methods (see core.governance.Governance).
        self.event = self.governance.event
        self.publish = self.governance.publish
        self.record = self.governance.record
        self.record_alone = self.governance.record_alone
        self.deny = self.governance.deny
        self.authorize = self.governance.authorize
        self.scope_filter = self.governance.scope_filter
        self.note_text = note_text
        self._lookups: dict[tuple[Any, ...], _Lookup] = {}

    # -- policy and audit: core.governance's own methods (one decision path for every service) ----

    def record_read(
        self,
        conn: Connection,
        ctx: AccessContext,
        plan: AccessPlan,
        *,
        row_count: int,
        record_ids: Sequence[str],
        detail: Mapping[str, str | int | bool | None] | None = None,
    ) -> int:
        """Append the event of a read that ``plan`` allowed, in ``conn``'s transaction."""
        return self.record(
            conn,
            self.event(
                ctx,
                action=plan.action,
                resource=plan.resource,
                fields=sorted(plan.allowed),
                decision=plan.decision,
                row_count=row_count,
                record_ids=record_ids,
                detail=detail,
            ),
        )

    # -- customers ----------------------------------------------------------------

    def _customer_columns(self, fields: frozenset[str]) -> list[sa.ColumnElement[Any]]:
        cols: list[sa.ColumnElement[Any]] = [
            customers_t.c.id,
            customers_t.c.external_id,
            customers_t.c.pseudonym,
            customers_t.c.owner,
            # Only compared with None: no result processing (a UTC datetime per row costs ~1.5 µs).
            sa.type_coerce(customers_t.c.erased_at, sa.types.NullType()).label("erased_at"),
            customer_keys_t.c.wrapped_key,
            customer_keys_t.c.kek_version,
        ]
        cols += [customers_t.c[f"{f}_ct"] for f in PII_FIELDS if f in fields]
        if "consent" in fields:
            cols += [customers_t.c[f"consent_{k}"] for k in CONSENT_KEYS]
        if "suppression" in fields:
            cols += [customers_t.c.do_not_contact, customers_t.c.deceased, customers_t.c.under_review]
        if "created_at" in fields:
            cols.append(customers_t.c.created_at)
        return cols

    def _batch_reader(self, plan: AccessPlan) -> Callable[[Sequence[Any]], _Batch]:
        """Compile the plan once into a function applied to every batch of rows (no per-row policy work).

        Columns are read by position (the order of :meth:`_customer_columns`).  The
        work runs column by column over the whole batch (unwrap and decrypt per
        row, then each field's mask over its column), so the per-row cost is the
        cryptography plus building the record, not interpreter overhead.
        """
        key = self.keyring.mask_hash_key
        allowed = plan.allowed
        mask_names = {f: plan.masks.get(f, "none") for f in allowed}
        masks = {f: mask_function(mask_names[f], f, hash_key=key) for f in allowed}
        position = {c.key: i for i, c in enumerate(self._customer_columns(allowed))}
        # Fields decrypted (a field whose mask is "none" is withheld without being decrypted).
        decrypted = tuple(f for f in PII_FIELDS if f in allowed and mask_names[f] != "none")
        decrypt_row = ColumnsDecryptor("customers", decrypted)
        blob_index = tuple(position[f"{f}_ct"] for f in decrypted)
        decrypted_masks: tuple[Masker | None, ...] = tuple(
            None if mask_names[f] == "full" else masks[f] for f in decrypted
        )
        withheld = tuple(f for f in PII_FIELDS if f in allowed and mask_names[f] == "none")
        plain = tuple(
            (f, position[f], None if mask_names[f] == "full" else masks[f])
            for f in ("external_id", "pseudonym", "owner")
            if f in allowed
        )
        created = (position["created_at"], masks["created_at"]) if "created_at" in allowed else None
        consent = tuple(position[f"consent_{k}"] for k in CONSENT_KEYS) if "consent" in allowed else None
        suppression = tuple(position[k] for k in SUPPRESSION_KEYS) if "suppression" in allowed else None
        names = (
            *decrypted,
            *withheld,
            *(f for f, _, _ in plain),
            *(("created_at",) if created is not None else ()),
            *(("consent",) if consent is not None else ()),
            *(("suppression",) if suppression is not None else ()),
        )
        # The common export shape: decrypted fields shown as they are, nothing else.
        decrypted_only = names == decrypted and all(m is None for m in decrypted_masks)
        unwrap = self.keyring.unwrap

        def read(rows: Sequence[Any]) -> _Batch:
            """The values of ``rows``, in order (see :class:`_Batch`).

            The rows are transposed into columns and released at once, and per-row
            intermediate values are not kept: what a batch holds (strings, and
            dicts of strings) is not tracked by the garbage collector, so a scan
            does not trigger a collection every few hundred rows.
            """
            if not rows:
                return _Batch((), (), (), [])
            cols = list(zip(*rows, strict=True))
            erased, wrapped = cols[4], cols[5]
            if erased.count(None) != len(rows) or None in wrapped:
                first = next(i for i, row in enumerate(rows) if row[4] is not None or row[5] is None)
                raise ErasedError(f"customer {cols[1][first]} was erased")
            count = len(rows)
            del rows
            ids, external_ids, pseudonyms = cols[0], cols[1], cols[2]
            values: list[dict[str, Any]]
            out: list[Sequence[Any]] = []
            if decrypted:
                opened = map(
                    decrypt_row,
                    map(unwrap, ids, wrapped, cols[6]),
                    ids,
                    zip(*(cols[i] for i in blob_index), strict=True),
                )
                if decrypted_only:
                    values = [dict(zip(names, v, strict=True)) for v in opened]
                    return _Batch(ids, external_ids, pseudonyms, values)
                for column, mask in zip(zip(*map(tuple, opened), strict=True), decrypted_masks, strict=True):
                    out.append(column if mask is None else list(map(mask, column)))
            for _ in withheld:
                out.append([None] * count)
            for _, position_, mask in plain:
                out.append(cols[position_] if mask is None else list(map(mask, cols[position_])))
            if created is not None:
                created_mask = created[1]
                out.append([created_mask(v.isoformat()) for v in cols[created[0]]])
            for keys, flag_positions in ((CONSENT_KEYS, consent), (SUPPRESSION_KEYS, suppression)):
                if flag_positions is not None:
                    flags = zip(*(cols[i] for i in flag_positions), strict=True)
                    out.append([dict(zip(keys, map(bool, t), strict=True)) for t in flags])
            if out:
                values = [dict(zip(names, t, strict=True)) for t in zip(*out, strict=True)]
            else:
                values = [{} for _ in range(count)]
            return _Batch(ids, external_ids, pseudonyms, values)

        return read

    def _select_customers(
        self,
        plan: AccessPlan,
        ctx: AccessContext,
        where: sa.ColumnElement[bool],
        *,
        after: sa.BindParameter[str] | None = None,
    ) -> sa.Select[Any]:
        """Customers (and their wrapped keys) in the plan's scope; with ``after``, only ids above it.

        The lower bound is stated for both sides of the join: a planner that
        merges the two primary-key orders (PostgreSQL does) then starts both
        at the bound, instead of reading the keys table from its first row on
        every page of a scan.
        """
        on = customer_keys_t.c.customer_id == customers_t.c.id
        if after is not None:
            on = sa.and_(on, customer_keys_t.c.customer_id > after)
            where = sa.and_(where, customers_t.c.id > after)
        return (
            sa.select(*self._customer_columns(plan.allowed))
            .select_from(customers_t.outerjoin(customer_keys_t, on))
            .where(where, self.scope_filter(ctx, plan, customers_t.c.owner))
        )

    def _lookup(self, plan: AccessPlan, what: str) -> _Lookup:
        """The statements and row reader of one kind of look-up under one plan, built once.

        Values travel as bound parameters (``lookup``, ``subject``), so repeated
        reads reuse SQLAlchemy's compiled statement and the compiled plan.
        """
        key = (plan.allowed, tuple(sorted(plan.masks.items())), plan.scope, what)
        found = self._lookups.get(key)
        if found is None:
            column = {
                "external_id": customers_t.c.external_id,
                "email": customers_t.c.email_bidx,
                "phone": customers_t.c.phone_bidx,
            }[what]
            match = column == sa.bindparam("lookup")
            scope = sa.true() if plan.scope == "all" else customers_t.c.owner == sa.bindparam("subject")
            query = (
                sa.select(*self._customer_columns(plan.allowed))
                .select_from(
                    customers_t.outerjoin(customer_keys_t, customer_keys_t.c.customer_id == customers_t.c.id)
                )
                .where(match, scope)
            )
            hidden = sa.select(customers_t.c.id).where(match)
            found = _Lookup(query=query, hidden=hidden, read=self._batch_reader(plan))
            if len(self._lookups) > 512:
                self._lookups.clear()
            self._lookups[key] = found
        return found

    def _lookup_allowed(self, ctx: AccessContext, what: str) -> None:
        """A single-customer read or look-up must be allowed for this purpose and key (audited if not).

        * purposes in :data:`CAMPAIGN_ONLY_PURPOSES` have none at all;
        * a look-up by ``email`` or ``phone`` needs read permission on that field, for that
          purpose, with a mask that shows it (``full`` or ``partial``): a caller who may not
          see a phone number may not find people by one either.
        """
        if ctx.purpose in CAMPAIGN_ONLY_PURPOSES:
            raise self.deny(
                ctx,
                action="read",
                resource="customer",
                fields=[what],
                reason=f"purpose {ctx.purpose} reads customers only through a campaign",
            )
        if what == "external_id":
            return
        key_plan = self.authorize(
            ctx, resource="customer", action="read", fields=[what], all_fields=CUSTOMER_FIELDS
        )
        if key_plan.masks.get(what, "none") not in REVEALING_MASKS:
            raise self.deny(
                ctx,
                action="read",
                resource="customer",
                fields=[what],
                reason=f"look-up by {what} needs {what} readable (mask {key_plan.masks.get(what, 'none')})",
            )

    def _read(
        self, ctx: AccessContext, what: str, value: object, fields: Sequence[str] | None
    ) -> list[CustomerRecord]:
        plan = self.authorize(
            ctx, resource="customer", action="read", fields=fields, all_fields=CUSTOMER_FIELDS
        )
        self._lookup_allowed(ctx, what)
        lookup = self._lookup(plan, what)
        params = {"lookup": value, "subject": ctx.subject}
        with transaction(self.engine) as conn:
            rows = conn.execute(lookup.query, params).all()
            if not rows and plan.scope == "own":
                hidden: list[str] = list(conn.execute(lookup.hidden, {"lookup": value}).scalars())
                if hidden:
                    # Same answer as "not found" (no existence oracle), but audited as a denial.
                    denial = self.event(
                        ctx,
                        action="read",
                        resource="customer",
                        fields=sorted(plan.allowed),
                        decision="deny",
                        record_ids=hidden,
                        detail={"reason": OUTSIDE_OWNED},
                    )
                    self.record(conn, denial)
            records = list(lookup.read(rows).records())
            self.record_read(
                conn,
                ctx,
                plan,
                row_count=len(records),
                record_ids=[r.id for r in rows],
                detail={"lookup": what},
            )
        self.publish()
        return records

    def read_customer(
        self, ctx: AccessContext, external_id: str, *, fields: Sequence[str] | None = None
    ) -> CustomerRecord:
        records = self._read(ctx, "external_id", external_id, fields)
        if not records:
            raise NotFoundError("customer not found")
        return records[0]

    def find_customers(
        self,
        ctx: AccessContext,
        *,
        email: str | None = None,
        phone: str | None = None,
        fields: Sequence[str] | None = None,
    ) -> list[CustomerRecord]:
        """Equality look-up through the blind index (the value itself is never stored)."""
        if (email is None) == (phone is None):
            raise ValueError("give exactly one of email or phone")
        if email is not None:
            return self._read(ctx, "email", self.store.email_index(email), fields)
        assert phone is not None
        return self._read(ctx, "phone", self.store.phone_index(phone), fields)

    def scan_customers(
        self,
        ctx: AccessContext,
        *,
        fields: Sequence[str] | None = None,
        where: sa.ColumnElement[bool] | None = None,
        after: str = "",
        batch_size: int = 1000,
        detail: Mapping[str, str | int | bool | None] | None = None,
    ) -> Iterator[CustomerRecord]:
        """Stream every customer the plan allows (with an id above ``after``), one audit event per batch.

        Keyset pagination: each batch is read and its audit event committed in
        a transaction of its own *before* the batch is handed out.  So a
        consumer that stops early (or crashes) never leaves handed-out rows
        unaudited, and no database lock is held while the consumer works.
        Erased customers are skipped.
        """
        plan = self.authorize(
            ctx, resource="customer", action="read", fields=fields, all_fields=CUSTOMER_FIELDS
        )
        cond = sa.and_(customers_t.c.erased_at.is_(None), where if where is not None else sa.true())
        bound = sa.bindparam("scan_after", type_=sa.String())
        page = (
            self._select_customers(plan, ctx, cond, after=bound).order_by(customers_t.c.id).limit(batch_size)
        )
        read = self._batch_reader(plan)
        params = {"scan_after": after}  # "" sorts before every id
        while True:
            with transaction(self.engine) as conn:
                batch = read(conn.execute(page, params).all())
                if not batch.ids:
                    break
                self.record_read(
                    conn,
                    ctx,
                    plan,
                    row_count=len(batch.ids),
                    record_ids=batch.ids,
                    detail={"lookup": "scan", **(detail or {})},
                )
            self.publish()
            # Read, decrypted, masked and audited (committed) above; handed out now.
            yield from batch.records()
            if len(batch.ids) < batch_size:
                break
            params = {"scan_after": batch.ids[-1]}

    def customer_id(self, conn: Connection, ctx: AccessContext, plan: AccessPlan, external_id: str) -> str:
        """Resolve an external id to the internal id within the plan's scope.

        Outside it: a 404 whose denial is audited (see :meth:`Governance.resolve_customer`;
        run it in :meth:`Governance.transaction` so the denial is recorded after rollback).
        """
        return self.governance.resolve_customer(conn, ctx, plan, external_id)

    # -- notes --------------------------------------------------------------------

    def read_notes(
        self, ctx: AccessContext, external_id: str, *, fields: Sequence[str] | None = None
    ) -> list[NoteRecord]:
        """Notes of one customer, masked per plan (bodies from stored spans, no NLP)."""
        plan = self.authorize(ctx, resource="note", action="read", fields=fields, all_fields=NOTE_FIELDS)
        with self.governance.transaction() as conn:
            customer_id = self.customer_id(conn, ctx, plan, external_id)
            key = conn.execute(
                sa.select(customer_keys_t.c.wrapped_key, customer_keys_t.c.kek_version).where(
                    customer_keys_t.c.customer_id == customer_id
                )
            ).one()
            rows = conn.execute(
                sa.select(notes_t)
                .where(notes_t.c.customer_id == customer_id)
                .order_by(notes_t.c.created_at, notes_t.c.id)
            ).all()
            data_key = self.keyring.unwrap(customer_id, key.wrapped_key, key.kek_version)
            out = []
            for r in rows:
                cipher = FieldCipher(data_key, table="notes", row_id=r.id, key_version=1)
                out.append(
                    NoteRecord(note_id=r.id, values=self._note_values(conn, customer_id, r, cipher, plan))
                )
            self.record_read(conn, ctx, plan, row_count=len(out), record_ids=[customer_id])
        self.publish()
        return out

    def customer_value_visibility(
        self, conn: Connection, plan: AccessPlan
    ) -> Callable[[str, frozenset[str]], bool]:
        """``visible(field, customer_ids)``: may ``plan``'s subject read ``field`` of at least one of
        those customers, unmasked and inside their row scope (the customer read policy for the
        same subject, roles and purpose; the scope as SQL)?  An error, a masked or denied field,
        an erased or unknown customer: no.  Answers are kept for the caller's request."""
        answers: dict[tuple[str, frozenset[str]], bool] = {}

        def visible(field_name: str, customer_ids: frozenset[str]) -> bool:
            key = (field_name, customer_ids)
            if key not in answers:
                answers[key] = self._sees_customer_value(conn, plan, field_name, customer_ids)
            return answers[key]

        return visible

    def _sees_customer_value(
        self, conn: Connection, plan: AccessPlan, field_name: str, customer_ids: frozenset[str]
    ) -> bool:
        try:
            read = self.policies.current.plan(
                subject=plan.subject,
                roles=plan.roles,
                purpose=plan.purpose,
                resource="customer",
                action="read",
                fields=[field_name],
            )
        except HushError:
            return False
        if field_name not in read.allowed or read.masks.get(field_name) != "full" or not customer_ids:
            return False
        owner = read.owner_filter
        scope = sa.true() if owner is None else customers_t.c.owner == owner
        ids = sorted(customer_ids)
        for i in range(0, len(ids), 500):
            hit = conn.execute(
                sa.select(customers_t.c.id)
                .where(customers_t.c.id.in_(ids[i : i + 500]), customers_t.c.erased_at.is_(None), scope)
                .limit(1)
            ).first()
            if hit is not None:
                return True
        return False

    def _note_values(
        self, conn: Connection, customer_id: str, r: Row[Any], cipher: FieldCipher, plan: AccessPlan
    ) -> dict[str, Any]:
        values: dict[str, Any] = {"sensitivity": r.sensitivity}
        body = cipher.decrypt("body", r.body_ct) if "body" in plan.allowed else None
        analysis = cipher.decrypt("analysis", r.analysis_ct) or "{}"
        if body is not None and self.note_text is not None and r.analyser_version != self.note_text.version:
            # Analysed by an older analyser: re-analyse once, store, then mask from the new spans.
            analysis, sensitivity = self.note_text.analyse(body)
            self.store.replace_note_analysis(
                conn,
                customer_id,
                r.id,
                analysis=analysis.encode(),
                sensitivity=sensitivity,
                version=self.note_text.version,
            )
            values["sensitivity"] = sensitivity
        if self.note_text is not None and (r.author == plan.subject or plan.masks.get("body") == "full"):
            # This reader knows the text: findings must not tell whether a string is a customer
            # outside their scope (issue 13.6; see core.pii.known_records.RecordAwareAnalysis).
            if r.analysis_ct is not None and (
                body is not None or r.analyser_version == self.note_text.version
            ):
                visible = self.customer_value_visibility(conn, plan)
                analysis, values["sensitivity"] = self.note_text.scoped(analysis, visible)
            else:
                analysis = '{"findings":[],"labels":[]}'  # stale and not re-analysable here: withhold
        if "author" in plan.allowed:
            values["author"] = r.author
        if "created_at" in plan.allowed:
            values["created_at"] = r.created_at.isoformat()
        if "findings" in plan.allowed:
            doc = json.loads(analysis)
            values["labels"] = list(doc.get("labels", []))
            values["findings"] = [
                {k: f.get(k) for k in ("type", "category", "start", "end")} for f in doc.get("findings", [])
            ]
        if "body" in plan.allowed:
            mask = plan.masks.get("body", "none")
            if mask == "full" or body is None:
                values["body"] = body
            elif mask == "none" or self.note_text is None:
                values["body"] = None  # withheld; without a masker, fail closed
            else:
                values["body"] = self.note_text.mask(body, analysis)
        return values

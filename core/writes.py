"""Governed writes: create, import, update, consents, review, transactions, erasure, key rotation.

Each write asks the policy for a plan (``customer``/``write`` etc.), checks the
row scope (a sales rep may only create or change customers they own), does
the encrypted write through :class:`~core.store.CustomerStore` and appends
the audit event in the same transaction.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import sqlalchemy as sa

from audit import queries
from core import keystore
from core.config import DEFAULT_KEYSTORE_BACKUP_RETENTION_DAYS
from core.db import bulk_load, refresh_statistics, transaction
from core.errors import AccessDenied, ConflictError, ErasedError, HushError, InputError
from core.gateway import AccessContext, Gateway
from core.models import customers_t, utcnow
from core.pii.normaliser import forgetting_words
from core.prepare_pool import Outcome, PreparePool, Ticket
from core.profiling.results import profile_results_t
from core.records import CUSTOMER_FIELDS, PII_FIELDS, CustomerChanges, CustomerInput, TransactionInput
from core.rotation import KeyRotator, RotationReport
from core.store import KEPT_AS_GIVEN, PreparedCustomer
from policies.plan import AccessPlan
from policies.vocabulary import RESOURCES

T = TypeVar("T")

IMPORT_BATCH = 4000
"""Rows per import transaction: small enough that the last one, inserted while no worker has
anything left to prepare, is a short tail (some 0.1 s); large enough that a commit per batch costs
little.  Each commit writes every index page its rows touched, and the random keys (pseudonym,
blind indexes) touch most leaves of their indexes whatever the batch: on 100,000 customers (SQLite)
the importing process wrote 5.3 kB per row (log and checkpoints) at 4,000 rows a batch, 6.9 kB at 2,000."""
PREPARE_AHEAD = 2
"""Batches submitted for preparation ahead of the one being inserted (the worker never waits for
work: two batches are some 0.3 s of it); with :data:`IMPORT_BATCH`, at most 12,000 rows in flight."""
TRANSACTION_BATCH = 10_000
"""Transactions per statement and commit in :meth:`CustomerWrites.import_transactions`."""


def _in_scope(item: CustomerInput, scope: str, ctx: AccessContext) -> bool:
    """A role whose write scope is "own" may only create customers it owns."""
    return scope != "own" or item.owner == ctx.subject


def batches(items: Iterable[T], size: int) -> Iterator[list[T]]:
    """Consecutive lists of ``size`` items (the last one shorter), read lazily from ``items``."""
    batch: list[T] = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


@dataclass(frozen=True, slots=True)
class RowError:
    """A rejected input row: its line number and why — never its content."""

    line: int
    reason: str
    error: type[HushError] = InputError
    """The error this rejection is, when the row was a single API request."""

    def raise_(self) -> None:
        raise self.error(self.reason)


@dataclass(frozen=True, slots=True)
class RowWarning:
    """A row that was kept, with a field stored as given: line, field and why -- never the value."""

    line: int
    field: str
    reason: str

    def to_dict(self) -> dict[str, object]:
        return {"line": self.line, "field": self.field, "reason": self.reason}


def warnings_of(line: int, prepared: PreparedCustomer) -> list[RowWarning]:
    """The warnings for a prepared customer's fields stored as given (see :data:`KEPT_AS_GIVEN`)."""
    return [RowWarning(line, name, KEPT_AS_GIVEN[name]) for name in prepared.kept_as_given]


@dataclass
class ImportReport:
    imported: int = 0
    rejected: list[RowError] = field(default_factory=list)
    warnings: list[RowWarning] = field(default_factory=list)
    """Rows imported with a field stored as given (one entry per field), in line order."""

    def to_dict(self) -> dict[str, object]:
        return {
            "imported": self.imported,
            "rejected": [{"line": r.line, "reason": r.reason} for r in self.rejected],
            "warnings": [w.to_dict() for w in self.warnings],
        }


@dataclass(frozen=True, slots=True)
class CreatedCustomer:
    external_id: str
    pseudonym: str
    under_review: bool
    warnings: tuple[RowWarning, ...] = ()
    """Fields stored as given (line 0: a single write)."""


@dataclass(frozen=True, slots=True)
class ErasureReceipt:
    """What an erasure did and what it reaches.

    The person's data key is destroyed in the key store, so their ciphertexts
    are unreadable in the live database (and its write-ahead log) and in
    every data backup, old or new (data backups hold no keys).  Key-store
    backups are kept :attr:`keystore_backup_retention_days` days: those taken
    before the erasure still hold the key until they expire, at
    :attr:`keystore_backups_clear_at`; from then on no copy anywhere does.
    """

    external_id: str
    pseudonym: str
    erased_at: str
    audit_seq: int
    backups_protected: bool
    """Every data backup, old or new, keeps this person unreadable (always true: keys live only in the key store)."""
    keystore_backup_retention_days: int
    keystore_backups_clear_at: str
    """When the last key-store backup that still holds the key has expired."""
    resumed: bool = False
    """This run finished an erasure that an earlier, interrupted run had started."""
    profiling_results_deleted: int = 0
    """Profiling results (segment, lifetime value, churn, recommendations) held under the pseudonym."""
    exports_reached: int = 0
    """Finished exports held by the server (``exports_dir``) from which the person's rows were removed."""
    export_rows_removed: int = 0

    @property
    def covers(self) -> dict[str, object]:
        """What the erasure reaches, by kind of copy (for receipts printed or sent)."""
        return {
            "live_data": True,
            "data_backups": True,
            "keystore_backups_older_than_days": self.keystore_backup_retention_days,
            "keystore_backups_clear_at": self.keystore_backups_clear_at,
            "profiling_results": True,
            "exports_held_by_server": True,
            "exports_written_with_out": False,
        }

    def to_dict(self) -> dict[str, object]:
        return {
            "external_id": self.external_id,
            "pseudonym": self.pseudonym,
            "erased_at": self.erased_at,
            "audit_seq": self.audit_seq,
            "backups_protected": self.backups_protected,
            "covers": self.covers,
            "resumed": self.resumed,
            "profiling_results_deleted": self.profiling_results_deleted,
            "exports_reached": self.exports_reached,
            "export_rows_removed": self.export_rows_removed,
        }


class CustomerWrites:
    """The write side of the store, governed like the read side."""

    def __init__(
        self,
        *,
        gateway: Gateway,
        keystore_backup_retention_days: int = DEFAULT_KEYSTORE_BACKUP_RETENTION_DAYS,
        exports_dir: Path | None = None,
    ) -> None:
        self.gateway = gateway
        self.store = gateway.store
        self.keystore_backup_retention_days = keystore_backup_retention_days
        self.exports_dir = exports_dir

    def _write_plan(self, ctx: AccessContext, resource: str = "customer", action: str = "write") -> str:
        plan = self.gateway.authorize(
            ctx, resource=resource, action=action, fields=None, all_fields=RESOURCES[resource].fields
        )
        return plan.scope

    def create(self, ctx: AccessContext, inp: CustomerInput) -> CreatedCustomer:
        report, created = self._import(
            ctx, [(0, inp)], scope=self._write_plan(ctx), source=f"api:{ctx.subject}"
        )
        if report.rejected:
            report.rejected[0].raise_()
        return created[0]

    def import_customers(
        self,
        ctx: AccessContext,
        rows: Iterable[tuple[int, CustomerInput | RowError]],
        *,
        progress: Callable[[int], None] | None = None,
    ) -> ImportReport:
        """Bulk import; bad rows are reported by line and reason, good rows imported.

        The next batches are prepared (validated, screened, encrypted; in a worker
        process when there is a spare core, see :mod:`core.prepare_pool`) while
        batch k is inserted and audited in its own transaction; on SQLite the
        log is checkpointed in the background meanwhile (:func:`core.db.bulk_load`).
        """
        report = ImportReport()
        scope = self._write_plan(ctx)  # authorised before any row is screened or encrypted
        with forgetting_words(), bulk_load(self.gateway.engine), PreparePool(self.store) as pool:
            pending: deque[tuple[list[tuple[int, CustomerInput | RowError]], Ticket]] = deque()
            for batch in batches(rows, IMPORT_BATCH):
                # only rows that _import will not reject on sight are prepared
                wanted = [
                    item if isinstance(item, CustomerInput) and _in_scope(item, scope, ctx) else None
                    for _, item in batch
                ]
                pending.append((batch, pool.submit(wanted, now=utcnow())))
                if len(pending) > PREPARE_AHEAD:
                    done, ticket = pending.popleft()
                    self._import_batch(ctx, scope, done, report, pool.collect(ticket), progress)
            while pending:
                done, ticket = pending.popleft()
                self._import_batch(ctx, scope, done, report, pool.collect(ticket), progress)
        refresh_statistics(
            self.gateway.engine,
            ("customers", "keystore.customer_keys", "consent_events"),
            rows_added=report.imported,
        )
        return report

    def _import_batch(
        self,
        ctx: AccessContext,
        scope: str,
        batch: Sequence[tuple[int, CustomerInput | RowError]],
        report: ImportReport,
        outcomes: Sequence[Outcome],
        progress: Callable[[int], None] | None,
    ) -> None:
        part, _ = self._import(
            ctx, batch, scope=scope, source=f"import:{ctx.subject}", outcomes=outcomes, created=False
        )
        report.imported += part.imported
        report.rejected.extend(part.rejected)
        report.warnings.extend(part.warnings)
        if progress:
            progress(len(batch))

    def _import(
        self,
        ctx: AccessContext,
        batch: Sequence[tuple[int, CustomerInput | RowError]],
        *,
        scope: str,
        source: str,
        outcomes: Sequence[Outcome] | None = None,
        created: bool = True,
    ) -> tuple[ImportReport, list[CreatedCustomer]]:
        """Insert one batch under ``scope`` (the write plan's row scope, authorised by the caller).

        The :class:`CreatedCustomer` list is built only when ``created`` (a single write reads it).
        """
        report = ImportReport()
        prepared: list[PreparedCustomer] = []
        line_of: dict[str, int] = {}
        seen: set[str] = set()
        now = utcnow()
        outside = 0
        for i, (line, item) in enumerate(batch):
            if isinstance(item, RowError):
                report.rejected.append(item)
                continue
            if not _in_scope(item, scope, ctx):
                outside += 1
                report.rejected.append(
                    RowError(line, "owner must be the importing subject for this role", AccessDenied)
                )
                continue
            try:
                outcome = outcomes[i] if outcomes is not None else None  # prepared ahead (PreparePool)
                if isinstance(outcome, HushError):
                    raise outcome
                p = outcome if outcome is not None else self.store.prepare(item, now=now)
            except HushError as exc:
                report.rejected.append(RowError(line, exc.message))
                continue
            if p.external_id in seen:
                report.rejected.append(RowError(line, "duplicate external_id in this file", ConflictError))
                continue
            seen.add(p.external_id)
            line_of[p.customer_id] = line
            prepared.append(p)
        self._audit_outside_scope(ctx, outside)
        engine = self.gateway.engine
        two_commits = keystore.separate_commits(engine)
        # The data keys are committed no later than their customers: on SQLite (two files,
        # each committed on its own) in a transaction of their own first; an orphan key is
        # harmless, a customer without a key would be lost.
        with transaction(engine) as conn:
            existing = self.store.existing_external_ids(conn, [p.external_id for p in prepared])
            if existing:
                keep = []
                for p in prepared:
                    if p.external_id in existing:
                        report.rejected.append(
                            RowError(
                                line_of[p.customer_id],
                                "duplicate external_id (already stored)",
                                ConflictError,
                            )
                        )
                    else:
                        keep.append(p)
                prepared = keep
            if two_commits:
                self.store.insert_keys(conn, prepared)
        if two_commits and prepared:
            keystore.crash_point("import:keys")
        try:
            with transaction(engine) as conn:
                self._insert_and_audit(ctx, conn, prepared, source=source, keys_stored=two_commits)
        except BaseException:
            if two_commits and prepared:
                self._drop_orphan_keys([p.customer_id for p in prepared])
            raise
        self.gateway.publish()
        report.imported = len(prepared)
        report.rejected.sort(key=lambda e: e.line)
        done: list[CreatedCustomer] = []
        for p in prepared:
            warned = warnings_of(line_of[p.customer_id], p) if p.kept_as_given else []
            report.warnings += warned
            if created:
                done.append(CreatedCustomer(p.external_id, p.pseudonym, p.under_review, tuple(warned)))
        report.warnings.sort(key=lambda w: w.line)
        return report, done

    def _audit_outside_scope(self, ctx: AccessContext, outside: int) -> None:
        """Rows for customers the subject may not own (``outside`` of them) are refused; the refusal
        is a decision too."""
        if outside:
            self.gateway.record_alone(
                self.gateway.event(
                    ctx,
                    action="write",
                    resource="customer",
                    fields=["owner"],
                    decision="deny",
                    row_count=outside,
                    detail={"reason": "owner must be the importing subject for this role"},
                )
            )

    def _drop_orphan_keys(self, customer_ids: list[str]) -> None:
        """Best effort: delete keys whose customers were not stored (they are harmless if this fails)."""
        try:
            with transaction(self.gateway.engine) as conn:
                found: list[str] = list(
                    conn.execute(
                        sa.select(customers_t.c.id).where(customers_t.c.id.in_(customer_ids))
                    ).scalars()
                )
                stored = set(found)
                self.store.delete_keys(conn, [c for c in customer_ids if c not in stored])
        except HushError:
            pass

    def _insert_and_audit(
        self,
        ctx: AccessContext,
        conn: sa.Connection,
        prepared: Sequence[PreparedCustomer],
        *,
        source: str,
        keys_stored: bool,
    ) -> None:
        if keys_stored:
            self.store.insert_customers(conn, prepared, source=source)
        else:
            self.store.insert(conn, prepared, source=source)
        if prepared:
            self.gateway.record(
                conn,
                self.gateway.event(
                    ctx,
                    action="write",
                    resource="customer",
                    fields=[f for f in CUSTOMER_FIELDS if f not in ("pseudonym",)],
                    decision="allow",
                    row_count=len(prepared),
                    record_ids=[p.customer_id for p in prepared],
                    detail={
                        "operation": "create",
                        "flagged": sum(p.text_sensitivity == "sensitive" for p in prepared),
                    },
                ),
            )

    def _resolve(self, ctx: AccessContext, external_id: str, resource: str, action: str) -> tuple[str, str]:
        plan = self.gateway.authorize(
            ctx, resource=resource, action=action, fields=None, all_fields=RESOURCES[resource].fields
        )
        with self.gateway.governance.transaction() as conn:
            return self.gateway.customer_id(conn, ctx, plan, external_id), plan.scope

    def _audited_change(
        self,
        ctx: AccessContext,
        external_id: str,
        change: Callable[[sa.Connection, str], None],
        *,
        operation: str,
        fields: Sequence[str],
        resource: str = "customer",
        action: str = "write",
    ) -> int:
        # The plan covers exactly the fields this change writes: each must be allowed.
        plan = self.gateway.authorize(
            ctx, resource=resource, action=action, fields=fields, all_fields=RESOURCES[resource].fields
        )
        with self.gateway.governance.transaction() as conn:
            customer_id = self.gateway.customer_id(conn, ctx, plan, external_id)
            change(conn, customer_id)
            seq = self.gateway.record(
                conn,
                self.gateway.event(
                    ctx,
                    action=action,
                    resource=resource,
                    fields=fields,
                    decision="allow",
                    row_count=1,
                    record_ids=[customer_id],
                    detail={"operation": operation},
                ),
            )
        self.gateway.publish()
        return seq

    def update(
        self, ctx: AccessContext, external_id: str, changes: CustomerChanges
    ) -> tuple[RowWarning, ...]:
        """Change a customer; returns a warning per field stored as given (see :data:`KEPT_AS_GIVEN`)."""
        kept: list[str] = []
        changed = [n for n in PII_FIELDS if getattr(changes, n) is not None]
        changed += [n for n in changes.clear if n not in changed]
        if changes.do_not_contact is not None or changes.deceased is not None:
            changed.append("suppression")
        if not changed:
            raise InputError("the update changes nothing")
        self._audited_change(
            ctx,
            external_id,
            lambda conn, cid: kept.extend(self.store.update(conn, cid, changes, source=f"api:{ctx.subject}")),
            operation="update",
            fields=changed,
        )
        return tuple(RowWarning(0, name, KEPT_AS_GIVEN[name]) for name in kept)

    def set_consents(
        self, ctx: AccessContext, external_id: str, consents: Mapping[str, bool], *, source: str
    ) -> None:
        self._audited_change(
            ctx,
            external_id,
            lambda conn, cid: self.store.set_consent(conn, cid, consents, source=source),
            operation="consent",
            fields=["consent"],
        )

    def clear_review(self, ctx: AccessContext, external_id: str) -> int:
        """A person has looked at the flagged content: the customer may be contacted again."""
        return self._audited_change(
            ctx,
            external_id,
            lambda conn, cid: self.store.set_review(conn, cid, under_review=False, reason=None),
            operation="review_cleared",
            fields=["suppression"],
        )

    def import_transactions(
        self,
        ctx: AccessContext,
        rows: Iterable[tuple[int, TransactionInput | RowError]],
        *,
        progress: Callable[[int], None] | None = None,
    ) -> ImportReport:
        """Import behavioural data (``transaction``/``write``; the operator's role is ``operator``).

        There is no switch that skips the policy: the local operator's authority is a line of
        ``policy.csv`` like any other role's.
        """
        self.gateway.authorize(
            ctx,
            resource="transaction",
            action="write",
            fields=None,
            all_fields=RESOURCES["transaction"].fields,
        )
        report = ImportReport()

        def flush(items: list[tuple[int, TransactionInput | RowError]]) -> None:
            good = [(line, t) for line, t in items if isinstance(t, TransactionInput)]
            report.rejected.extend(t for _, t in items if isinstance(t, RowError))
            with transaction(self.gateway.engine) as conn:
                ext_ids = list({t.external_id for _, t in good})
                mapping: dict[str, str] = {}
                for i in range(0, len(ext_ids), 500):
                    chunk = ext_ids[i : i + 500]
                    for r in conn.execute(
                        sa.select(customers_t.c.external_id, customers_t.c.id).where(
                            customers_t.c.external_id.in_(chunk), customers_t.c.erased_at.is_(None)
                        )
                    ):
                        mapping[r.external_id] = r.id
                out = []
                for line, t in good:
                    cid = mapping.get(t.external_id)
                    if cid is None:
                        report.rejected.append(RowError(line, "unknown customer external_id"))
                        continue
                    try:
                        out.append(self.store.transaction_row(cid, t))
                    except InputError as exc:
                        report.rejected.append(RowError(line, exc.message))
                self.store.insert_transactions(conn, out)
                if out:
                    self.gateway.record(
                        conn,
                        self.gateway.event(
                            ctx,
                            action="write",
                            resource="transaction",
                            fields=list(RESOURCES["transaction"].fields),
                            decision="allow",
                            row_count=len(out),
                            detail={"operation": "import"},
                        ),
                    )
                report.imported += len(out)
            self.gateway.publish()
            if progress:
                progress(len(items))

        with bulk_load(self.gateway.engine):
            for batch in batches(rows, TRANSACTION_BATCH):
                flush(batch)
        refresh_statistics(self.gateway.engine, ("transactions",), rows_added=report.imported)
        report.rejected.sort(key=lambda e: e.line)
        return report

    def erase(self, ctx: AccessContext, external_id: str) -> ErasureReceipt:
        """Crypto-shred one customer: destroy their data key in the key store, clear their data.

        Costs the same at any store size: one key row is deleted, no other key
        is touched, no KEK is rotated or retired.  The key deletion, the
        cleared ciphertexts and blind indexes, ``erased_at`` and the audit
        event the receipt reports are one transaction: ``erased_at`` never
        exists without its event.  On SQLite the key store is another file,
        committed after the data: should a crash fall between the two, the
        key is left behind for an erased customer; a rerun of the erasure
        destroys it and returns the receipt (``resumed``), and so does every
        process that opens the store (:meth:`CustomerStore.bind_keys`).
        """
        plan = self.gateway.authorize(
            ctx, resource="customer", action="erase", fields=None, all_fields=CUSTOMER_FIELDS
        )
        try:
            with self.gateway.governance.transaction() as conn:
                customer_id = self.gateway.customer_id(conn, ctx, plan, external_id)
                pseudonym: str = conn.execute(
                    sa.select(customers_t.c.pseudonym).where(customers_t.c.id == customer_id)
                ).scalar_one()
                erased_at = self.store.shred(conn, customer_id)
                profiling_deleted = conn.execute(
                    sa.delete(profile_results_t).where(profile_results_t.c.pseudonym == pseudonym)
                ).rowcount
                keystore.crash_point("erase:shredded")
                seq = self.gateway.record(
                    conn,
                    self.gateway.event(
                        ctx,
                        action="erase",
                        resource="customer",
                        fields=list(CUSTOMER_FIELDS),
                        decision="allow",
                        row_count=1,
                        record_ids=[customer_id],
                        detail={
                            "operation": "crypto_shred",
                            "keystore_backup_retention_days": self.keystore_backup_retention_days,
                            "profiling_results_deleted": profiling_deleted,
                        },
                    ),
                )
        except ErasedError:
            resumed = self._finish_erasure(ctx, plan, external_id)
            if resumed is None:
                self._erase_erased_from_exports(ctx, plan, external_id)
                raise
            keystore.flush_destroyed_keys(self.gateway.engine)
            reached, removed = self._erase_from_exports(resumed.pseudonym)
            return dataclasses.replace(resumed, exports_reached=reached, export_rows_removed=removed)
        self.gateway.publish()
        keystore.flush_destroyed_keys(self.gateway.engine)
        receipt = self._receipt(external_id, pseudonym, erased_at, seq, resumed=False)
        reached, removed = self._erase_from_exports(pseudonym)
        return dataclasses.replace(
            receipt,
            profiling_results_deleted=profiling_deleted,
            exports_reached=reached,
            export_rows_removed=removed,
        )

    def _erase_erased_from_exports(self, ctx: AccessContext, plan: AccessPlan, external_id: str) -> None:
        """An already erased customer: reach exports an interrupted run may have left (idempotent)."""
        if self.exports_dir is None or not self.exports_dir.is_dir():
            return
        with transaction(self.gateway.engine) as conn:
            pseudonym = conn.execute(
                sa.select(customers_t.c.pseudonym).where(
                    customers_t.c.external_id == external_id,
                    customers_t.c.erased_at.is_not(None),
                    self.gateway.scope_filter(ctx, plan, customers_t.c.owner),
                )
            ).scalar_one_or_none()
        if pseudonym is not None:
            self._erase_from_exports(pseudonym)

    def _erase_from_exports(self, pseudonym: str) -> tuple[int, int]:
        """Remove the person from every export the server still holds (after the erasure committed).

        Idempotent: a rerun of an interrupted erasure reaches what the first
        run did not.  Exports written with ``--out`` are the operator's files.
        """
        if self.exports_dir is None or not self.exports_dir.is_dir():
            return 0, 0
        from core.export.retention import erase_from_exports

        held = erase_from_exports(self.exports_dir, pseudonym)
        return held.exports, held.rows

    def _receipt(
        self, external_id: str, pseudonym: str, erased_at: dt.datetime, seq: int, *, resumed: bool
    ) -> ErasureReceipt:
        retention = self.keystore_backup_retention_days
        return ErasureReceipt(
            external_id=external_id,
            pseudonym=pseudonym,
            erased_at=erased_at.isoformat(),
            audit_seq=seq,
            backups_protected=True,
            keystore_backup_retention_days=retention,
            keystore_backups_clear_at=(erased_at + dt.timedelta(days=retention)).isoformat(),
            resumed=resumed,
        )

    def _finish_erasure(
        self, ctx: AccessContext, plan: AccessPlan, external_id: str
    ) -> ErasureReceipt | None:
        """An erased customer whose data key is still in the key store: destroy it, return the receipt.

        None when there is nothing left to finish (the customer is simply erased already).
        """
        with transaction(self.gateway.engine) as conn:
            row = conn.execute(
                sa.select(customers_t.c.id, customers_t.c.pseudonym, customers_t.c.erased_at).where(
                    customers_t.c.external_id == external_id,
                    customers_t.c.erased_at.is_not(None),
                    self.gateway.scope_filter(ctx, plan, customers_t.c.owner),
                )
            ).first()
            if row is None or not self.store.destroy_leftover_keys(conn, [row.id]):
                return None
            ref = self.gateway.governance.refs.ref(row.id)
            newest = queries.events(conn, record_ref=ref, limit=1000, newest_first=True)
            erasures = [e for e in newest if e["action"] == "erase"]
        if not erasures:  # pragma: no cover - erased_at is only ever committed with its event
            return None
        return self._receipt(external_id, row.pseudonym, row.erased_at, int(erasures[0]["seq"]), resumed=True)

    def rotate_keys(
        self,
        ctx: AccessContext,
        *,
        retire: bool = False,
        progress: Callable[[int, int], None] | None = None,
        _crash_after_batches: int | None = None,
    ) -> RotationReport:
        # No switch skips the policy: the operator's authority is a line of policy.csv like any other role's.
        self.gateway.governance.require(ctx, resource="admin", action="manage", field="keys")
        rotator = KeyRotator(engine=self.gateway.engine, keyring=self.gateway.keyring)
        report = rotator.rotate(retire=retire, progress=progress, _crash_after_batches=_crash_after_batches)
        self.gateway.record_alone(
            self.gateway.event(
                ctx,
                action="key_rotation",
                resource="admin",
                fields=["keys"],
                decision="allow",
                row_count=report.rewrapped,
                detail={
                    "target_version": report.target_version,
                    "resumed": report.resumed,
                    "retired": ",".join(map(str, report.retired_versions)),
                },
            )
        )
        return report

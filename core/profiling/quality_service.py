"""Governed data quality (purpose ``data_quality``): duplicates, near-identical names, completeness,
invalid values -- reported by pseudonym, field and rule, never by value.

* **Duplicate candidates** come from the blind indexes: ``email_bidx`` / ``phone_bidx`` values
  shared by two or more customers are found with ``GROUP BY ... HAVING count(*) > 1`` in SQL;
  only the customers in those groups come back (pseudonym and index bytes, as hex).
* **Near-identical names** need the names themselves.  The analyst's ``data_quality`` plan allows
  ``full_name`` only ``hashed``; the analyst's plan decides which checks run, and the names are
  read through the gateway by hushdb's ``system`` role (purpose ``data_quality``, granted by lines
  of ``policies/policy.csv``, audited under the same request id) and compared inside this module;
  it returns pairs of pseudonyms and a similarity, and no name, normalised or not, leaves it.
* **Completeness** counts present ciphertexts per field in SQL (no decryption), for the fields the
  plan allows.
* **Invalid values** read email and phone the same way (only when the plan allows them) and
  return (pseudonym, field, rule).  Fields the plan does not allow are listed as not checked.

Customers who objected to profiling and erased customers are left out, as for every profiling run.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from core.db import transaction
from core.gateway import AccessContext, Gateway
from core.governance import system_context
from core.models import customers_t
from core.profiling.governed import Grant, ProfileRunner, RunReceipt, now_utc, profiling_filter
from core.profiling.quality import (
    DEFAULT_RULES,
    DuplicateGroup,
    FieldCompleteness,
    InvalidValue,
    NamePair,
    duplicate_groups,
    invalid_values,
    near_duplicate_names,
)
from core.profiling.results import ResultRow
from core.records import CUSTOMER_FIELDS, PII_FIELDS
from policies.plan import AccessPlan

PURPOSE = "data_quality"
CHECKED_FIELDS = ("email", "phone")
QUALITY_INPUTS = ("pseudonym", "consent", "full_name", "email", "phone")


@dataclass(frozen=True, slots=True)
class QualityRun:
    receipt: RunReceipt
    duplicates: list[DuplicateGroup]
    similar_names: list[NamePair]
    completeness: list[FieldCompleteness]
    invalid: list[InvalidValue]
    not_checked: tuple[str, ...] = field(default=())


def _hex(value: Any) -> str | None:
    return None if value is None else bytes(value).hex()


def _visible(plan: AccessPlan, name: str) -> bool:
    return name in plan.allowed and plan.masks.get(name, "none") != "none"


class DataQualityService:
    """Data-quality runs; decrypted values never leave this class."""

    def __init__(self, *, gateway: Gateway) -> None:
        self._gateway = gateway
        self._runner = ProfileRunner(gateway=gateway)
        self._engine = gateway.engine

    # -- the decrypting pass (private: yields plaintext only to this module's own consumers) ----

    def _plan(self, ctx: AccessContext, fields: Sequence[str]) -> AccessPlan:
        if ctx.purpose != PURPOSE:
            raise self._gateway.deny(
                ctx,
                action="read",
                resource="customer",
                fields=list(fields),
                reason=f"values are compared only for purpose {PURPOSE}",
            )
        plan = self._gateway.authorize(
            ctx, resource="customer", action="read", fields=list(fields), all_fields=CUSTOMER_FIELDS
        )
        hidden = [f for f in fields if f != "pseudonym" and not _visible(plan, f)]
        if hidden:
            raise self._gateway.deny(
                ctx,
                action="read",
                resource="customer",
                fields=list(fields),
                reason=f"{hidden[0]} is withheld",
            )
        return plan

    def _decrypted(
        self, ctx: AccessContext, plan: AccessPlan, fields: Sequence[str]
    ) -> Iterator[tuple[str, dict[str, str | None]]]:
        """(pseudonym, {field: plaintext}) for every customer the analyst's plan covers.

        The values are read through the gateway by hushdb's own ``system`` role (purpose
        ``data_quality``, lines in ``policies/policy.csv``; audited per batch under this
        request's id, each batch in a transaction of its own), only for customers who did not
        object to profiling.  The analyst's own read (pseudonyms and rule names only) is
        recorded once the scan is complete.
        """
        system = system_context(PURPOSE, ctx.request_id)
        where = sa.and_(profiling_filter(), self._gateway.scope_filter(ctx, plan, customers_t.c.owner))
        ids: list[str] = []
        for record in self._gateway.scan_customers(
            system,
            fields=("pseudonym", *fields),
            where=where,
            detail={"operation": "data_quality", "on_behalf_of": ctx.subject},
        ):
            ids.append(record.pseudonym)
            values = record.values
            yield record.pseudonym, {f: values.get(f) for f in fields}
        self._gateway.record_alone(
            self._gateway.event(
                ctx,
                action=plan.action,
                resource=plan.resource,
                fields=sorted(plan.allowed),
                decision=plan.decision,
                row_count=len(ids),
                detail={"lookup": "data_quality", "returned": "pseudonyms and rule names only"},
            )
        )

    def name_pairs(self, ctx: AccessContext, *, threshold: float = 0.9) -> list[NamePair]:
        """Pairs of pseudonyms whose normalised names are near-identical; names never returned."""
        plan = self._plan(ctx, ("pseudonym", "full_name"))
        names = [(p, v["full_name"] or "") for p, v in self._decrypted(ctx, plan, ("full_name",))]
        pairs = near_duplicate_names(names, threshold=threshold)
        del names
        self._gateway.publish()
        return pairs

    def _checks(
        self, ctx: AccessContext, plan: AccessPlan, *, threshold: float
    ) -> tuple[list[NamePair], list[InvalidValue], tuple[str, ...]]:
        checked = tuple(f for f in CHECKED_FIELDS if _visible(plan, f))
        fields = ("full_name", *checked)
        names: list[tuple[str, str]] = []
        invalid: list[InvalidValue] = []
        rules = {f: DEFAULT_RULES[f] for f in checked}
        today = now_utc().date()
        for pseudonym, values in self._decrypted(ctx, plan, fields):
            names.append((pseudonym, values.pop("full_name") or ""))
            invalid += invalid_values([(pseudonym, values)], today=today, rules=rules)
        pairs = near_duplicate_names(names, threshold=threshold)
        del names
        not_checked = tuple(sorted(set(DEFAULT_RULES) - set(checked)))
        return pairs, invalid, not_checked

    # -- SQL-only parts ------------------------------------------------------------------------

    def _duplicates(self, conn: Connection, grant: Grant) -> list[DuplicateGroup]:
        c = customers_t.c
        shared = []
        for column in (c.email_bidx, c.phone_bidx):
            shared.append(
                column.in_(
                    sa.select(column)
                    .where(grant.where, column.is_not(None))
                    .group_by(column)
                    .having(sa.func.count() > 1)
                )
            )
        rows = conn.execute(
            sa.select(c.pseudonym, c.email_bidx, c.phone_bidx).where(grant.where, sa.or_(*shared))
        )
        return duplicate_groups((str(r[0]), _hex(r[1]), _hex(r[2])) for r in rows)

    def _completeness(self, conn: Connection, grant: Grant, plan: AccessPlan) -> list[FieldCompleteness]:
        fields = [f for f in PII_FIELDS if _visible(plan, f)]
        c = customers_t.c
        row = conn.execute(
            sa.select(sa.func.count(), *[sa.func.count(c[f"{f}_ct"]) for f in fields]).where(grant.where)
        ).one()
        total = int(row[0])
        return [FieldCompleteness(f, int(row[i + 1]), total) for i, f in enumerate(fields)]

    # -- the run --------------------------------------------------------------------------------

    def run(self, ctx: AccessContext, *, name_threshold: float = 0.9) -> QualityRun:
        """Duplicates, near-identical names, completeness and invalid values, stored and audited."""
        grant = self._runner.grant(ctx, "quality", customer_fields=QUALITY_INPUTS)
        plan = self._plan(ctx, QUALITY_INPUTS)
        with transaction(self._engine) as conn:
            population = self._runner.population(conn, grant)
            duplicates = self._duplicates(conn, grant)
            complete = self._completeness(conn, grant, plan)
        # The values are read through the gateway, batch by batch, each in a transaction of its own.
        pairs, invalid, not_checked = self._checks(ctx, plan, threshold=name_threshold)
        results = _per_pseudonym(duplicates, pairs, invalid)
        summary: dict[str, Any] = {
            "duplicate_groups": len(duplicates),
            "similar_name_pairs": len(pairs),
            "invalid_values": len(invalid),
            "invalid_by_rule": dict(sorted(Counter(f"{i.field}.{i.rule}" for i in invalid).items())),
            "completeness": {f.field: [f.present, f.total] for f in complete},
            "not_checked": list(not_checked),
        }
        receipt = self._runner.store(
            grant,
            population=population,
            parameters={"name_threshold": name_threshold, "as_of": date.isoformat(now_utc().date())},
            results=results,
            summary=summary,
            as_of=None,
        )
        return QualityRun(receipt, duplicates, pairs, complete, invalid, not_checked)


def _per_pseudonym(
    duplicates: Sequence[DuplicateGroup], pairs: Sequence[NamePair], invalid: Sequence[InvalidValue]
) -> list[ResultRow]:
    found: dict[str, dict[str, Any]] = {}
    for group in duplicates:
        for p in group.customer_ids:
            doc = found.setdefault(p, {})
            doc["duplicate_of"] = [o for o in group.customer_ids if o != p]
            doc["duplicate_reasons"] = list(group.reasons)
    for pair in pairs:
        for p, other in ((pair.first, pair.second), (pair.second, pair.first)):
            found.setdefault(p, {}).setdefault("similar_names", []).append(other)
    for item in invalid:
        found.setdefault(item.customer_id, {}).setdefault("invalid", []).append(
            {"field": item.field, "rule": item.rule}
        )
    rows = []
    for pseudonym in sorted(found):
        doc = found[pseudonym]
        kinds = [k for k in ("duplicate_of", "similar_names", "invalid") if k in doc]
        rows.append(ResultRow(pseudonym, ",".join(kinds), None, doc))
    return rows

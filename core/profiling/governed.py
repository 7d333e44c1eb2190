"""What every governed profiling run shares: authorization, the consent filter, audit and storage.

A run of kind ``K`` (rfm, clv, churn, cross_sell, quality):

1. is authorized through the gateway: ``profile``/``run`` of field ``K`` for the context's purpose,
   plus ``customer``/``read`` and ``transaction``/``read`` of exactly the fields it uses (an
   analyst may read pseudonym, consent and transactions; never a direct identifier);
2. reads only customers who have not objected to profiling and are not erased (the filter is in
   SQL, see :func:`profiling_filter`), and counts those left out;
3. writes one audit event (action ``profile``, resource ``profile``, fields = its inputs as
   ``resource.field``, row_count = customers in the result, detail = run id, kind, parameters,
   left-out counts and code version) **in the same transaction** that stores the run and its
   per-pseudonym results (:mod:`core.profiling.results`).  If the event cannot be written nothing
   is stored and nothing is returned.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from audit.events import DetailValue
from core.db import transaction
from core.gateway import AccessContext, Gateway
from core.models import customers_t
from core.profiling import __version__ as PROFILING_VERSION
from core.profiling.results import ResultRow, dumps, insert_results, profile_runs_t
from core.records import CUSTOMER_FIELDS
from policies.vocabulary import RESOURCES

PROFILE_FIELDS: tuple[str, ...] = RESOURCES["profile"].fields
TRANSACTION_FIELDS: tuple[str, ...] = RESOURCES["transaction"].fields


def code_version() -> str:
    """``hushdb <package version>; core.profiling <module version>`` (recorded with every run)."""
    try:
        package = version("hushdb")
    except PackageNotFoundError:
        package = "unknown"
    return f"hushdb {package}; core.profiling {PROFILING_VERSION}"


def profiling_filter() -> sa.ColumnElement[bool]:
    """Customers who may be profiled: consent to profiling given and not erased."""
    return sa.and_(customers_t.c.consent_profiling.is_(True), customers_t.c.erased_at.is_(None))


def now_utc() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class Population:
    """Customers in the subject's scope: how many may be profiled, how many were left out and why."""

    eligible: int
    objected: int
    erased: int

    @property
    def left_out(self) -> int:
        return self.objected + self.erased

    def as_dict(self) -> dict[str, int]:
        return {"eligible": self.eligible, "objected": self.objected, "erased": self.erased}


@dataclass(frozen=True, slots=True)
class Grant:
    """The outcome of authorizing one run: its SQL row condition and its audited inputs."""

    ctx: AccessContext
    kind: str
    scope: sa.ColumnElement[bool]
    inputs: tuple[str, ...]

    @property
    def where(self) -> sa.ColumnElement[bool]:
        """Scope and consent: the rows this run may use."""
        return sa.and_(self.scope, profiling_filter())


@dataclass(frozen=True, slots=True)
class RunReceipt:
    """A stored run: its id, the seq of its audit event, and who was left out."""

    run_id: str
    kind: str
    audit_seq: int
    created_at: datetime
    row_count: int
    population: Population
    parameters: Mapping[str, Any]
    code_version: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "kind": self.kind,
            "audit_seq": self.audit_seq,
            "created_at": self.created_at.isoformat(),
            "row_count": self.row_count,
            "left_out": {
                "total": self.population.left_out,
                "objected": self.population.objected,
                "erased": self.population.erased,
            },
            "eligible": self.population.eligible,
            "parameters": dict(self.parameters),
            "code_version": self.code_version,
        }


class ProfileRunner:
    """Authorize, count, audit and store profiling runs (the services call it)."""

    def __init__(self, *, gateway: Gateway) -> None:
        self.gateway = gateway
        self.engine = gateway.engine

    def grant(
        self,
        ctx: AccessContext,
        kind: str,
        *,
        customer_fields: Sequence[str],
        transaction_fields: Sequence[str] = (),
    ) -> Grant:
        """Authorize a run of ``kind`` reading exactly these fields (denials are audited and raised)."""
        gw = self.gateway
        gw.authorize(ctx, resource="profile", action="run", fields=[kind], all_fields=PROFILE_FIELDS)
        customers = gw.authorize(
            ctx, resource="customer", action="read", fields=list(customer_fields), all_fields=CUSTOMER_FIELDS
        )
        scope = gw.scope_filter(ctx, customers, customers_t.c.owner)
        if transaction_fields:
            tx = gw.authorize(
                ctx,
                resource="transaction",
                action="read",
                fields=list(transaction_fields),
                all_fields=TRANSACTION_FIELDS,
            )
            scope = sa.and_(scope, gw.scope_filter(ctx, tx, customers_t.c.owner))
        inputs = tuple(f"customer.{f}" for f in customer_fields) + tuple(
            f"transaction.{f}" for f in transaction_fields
        )
        return Grant(ctx=ctx, kind=kind, scope=scope, inputs=inputs)

    def population(self, conn: Connection, grant: Grant) -> Population:
        """Count eligible, objected and erased customers within the grant's scope (one query)."""
        c = customers_t.c
        erased = c.erased_at.is_not(None)
        objected = sa.and_(c.erased_at.is_(None), c.consent_profiling.is_not(True))
        row = conn.execute(
            sa.select(
                sa.func.count().filter(profiling_filter()),
                sa.func.count().filter(objected),
                sa.func.count().filter(erased),
            ).where(grant.scope)
        ).one()
        return Population(eligible=int(row[0]), objected=int(row[1]), erased=int(row[2]))

    def store(
        self,
        grant: Grant,
        *,
        population: Population,
        parameters: Mapping[str, Any],
        results: Sequence[ResultRow],
        summary: Mapping[str, Any],
        as_of: datetime | None,
        outcome: Mapping[str, DetailValue] | None = None,
    ) -> RunReceipt:
        """Append the run's audit event and store the run and its results in one transaction.

        ``outcome`` adds keys to the event's detail (e.g. ``usable: False`` and its ``reason``
        for a model fit that is not usable and was stored without results).
        """
        run_id = str(uuid.uuid4())
        created = now_utc()
        code = code_version()
        detail: dict[str, DetailValue] = {
            "run_id": run_id,
            "kind": grant.kind,
            "code_version": code,
            "left_out": population.left_out,
            "left_out_objected": population.objected,
            "left_out_erased": population.erased,
        }
        if as_of is not None:
            detail["as_of"] = as_of.isoformat()
        for key, value in parameters.items():
            detail[f"param_{key}"] = (
                value if isinstance(value, str | int | bool) or value is None else str(value)
            )
        detail.update(outcome or {})
        event = self.gateway.event(
            grant.ctx,
            action="profile",
            resource="profile",
            fields=grant.inputs,
            decision="allow",
            row_count=len(results),
            detail=detail,
        )
        with transaction(self.engine) as conn:
            seq = self.gateway.record(conn, event)
            conn.execute(
                sa.insert(profile_runs_t).values(
                    id=run_id,
                    kind=grant.kind,
                    subject=grant.ctx.subject,
                    purpose=grant.ctx.purpose,
                    created_at=created,
                    as_of=as_of,
                    parameters=dumps(dict(parameters)),
                    code_version=code,
                    row_count=len(results),
                    left_out=population.left_out,
                    summary=dumps(dict(summary)),
                    audit_seq=seq,
                )
            )
            insert_results(conn, run_id, results)
        self.gateway.publish()
        return RunReceipt(
            run_id=run_id,
            kind=grant.kind,
            audit_seq=seq,
            created_at=created,
            row_count=len(results),
            population=population,
            parameters=dict(parameters),
            code_version=code,
        )

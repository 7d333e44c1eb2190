"""The access plan: what one request may see, decided once and applied to every row."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from policies.decider import Verdict

Scope = Literal["all", "own"]
Decision = Literal["allow", "partial", "deny"]


@dataclass(frozen=True, slots=True)
class AccessPlan:
    """The outcome of one policy question for a whole query.

    ``allowed`` and ``denied`` partition the requested fields.  ``masks`` maps each
    allowed field to its mask when the action returns values (``read``); it is empty
    for actions that return nothing (write, erase, run, manage).  A field whose mask
    is ``none`` is allowed (the caller may know it exists) but its value is withheld.

    ``scope`` is the row rule the gateway compiles into SQL: ``all`` rows, or ``own``
    rows (``owner`` equals ``subject``; see :attr:`owner_filter`).  The plan never
    filters rows itself.  ``failure`` names the exception class when deciding failed;
    such a plan denies every field.
    """

    subject: str
    roles: frozenset[str]
    purpose: str
    resource: str
    action: str
    fields: tuple[str, ...]
    allowed: frozenset[str]
    denied: frozenset[str]
    masks: Mapping[str, str]
    scope: Scope
    policy_hash: str
    failure: str | None = None

    @property
    def decision(self) -> Decision:
        """``allow`` if every requested field is allowed, ``partial`` if some, ``deny`` if none."""
        if not self.allowed:
            return "deny"
        if self.denied:
            return "partial"
        return "allow"

    @property
    def owner_filter(self) -> str | None:
        """The owner value rows must have (the subject) when the scope is ``own``, else None."""
        return self.subject if self.scope == "own" else None

    def covers_row(self, owner: str | None) -> bool:
        """Whether a single row with this ``owner`` is inside the plan's row scope.

        For checks on one known row (a write, a test); bulk reads use :attr:`owner_filter` in SQL.
        """
        if not self.allowed:
            return False
        return self.scope == "all" or (owner is not None and owner == self.subject)


@dataclass(frozen=True, slots=True)
class FieldDecision:
    """What the policy says for one role and one field (used by the permission table)."""

    field: str
    verdict: Verdict
    mask: str | None
    scope: Scope | None

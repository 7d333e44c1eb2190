"""The effective permission table: per role and purpose, what each resource action yields.

Built by asking the authorizer (and so Casbin) for every role, purpose, resource, action
and field, so the table shows the decisions in force (deny wins included), not a
re-reading of the CSV.  Used by ``hushdb policy check`` and ``hushdb policy show``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from core.errors import InputError
from policies.authorizer import Authorizer
from policies.decider import Verdict
from policies.vocabulary import MASK_ORDER, PURPOSES, RESOURCES, ROLES

_ROLE_ORDER = ("sales", "mailmerge", "compliance", "analyst", "dpo", "admin", "operator", "system")
_PURPOSE_ORDER = ("service", "marketing", "profiling", "data_quality", "compliance", "erasure")
# The display orders must name the whole vocabulary (checked at import, not with assert).
if set(_ROLE_ORDER) != ROLES or set(_PURPOSE_ORDER) != PURPOSES:  # pragma: no cover
    raise ImportError("policies.table display order is out of date with policies.vocabulary")


_GRANTED_BY_HUSHDB = {
    "operator": "whoever holds the key file (granted by hushdb, never by roles.csv)",
    "system": "hushdb's own checks, subject hushdb (granted by hushdb, never by roles.csv)",
}


@dataclass(frozen=True, slots=True)
class PermissionEntry:
    """Fields one role gets for one (purpose, resource, action) with one scope.

    ``scope`` is ``None`` for an entry that lists explicit denies only (``denied``).
    ``fields`` pairs each allowed field with its mask (``None`` for actions that return nothing).
    """

    role: str
    purpose: str
    resource: str
    action: str
    scope: str | None
    fields: tuple[tuple[str, str | None], ...]
    denied: tuple[str, ...] = ()

    def describe_fields(self) -> str:
        if self.scope is None:
            return "denied: " + ", ".join(self.denied)
        by_mask: dict[str | None, list[str]] = {}
        for field, mask in self.fields:
            by_mask.setdefault(mask, []).append(field)
        parts = []
        for mask in (*MASK_ORDER, None):
            if mask in by_mask:
                names = ", ".join(by_mask[mask])
                parts.append(names if mask is None else f"{mask}: {names}")
        return "; ".join(parts)


@dataclass(frozen=True, slots=True)
class PermissionTable:
    policy_hash: str
    roles: tuple[str, ...]
    subjects: dict[str, tuple[str, ...]]
    entries: tuple[PermissionEntry, ...]

    def for_role(self, role: str) -> PermissionTable:
        return PermissionTable(
            policy_hash=self.policy_hash,
            roles=(role,),
            subjects={role: self.subjects.get(role, ())},
            entries=tuple(entry for entry in self.entries if entry.role == role),
        )

    def render(self) -> str:
        """Plain text, one line per (role, purpose, resource, action, scope)."""
        header = ("ROLE", "PURPOSE", "RESOURCE", "ACTION", "SCOPE", "FIELDS")
        rows = [
            (e.role, e.purpose, e.resource, e.action, e.scope or "-", e.describe_fields())
            for e in self.entries
        ]
        widths = [max(len(row[i]) for row in [header, *rows]) for i in range(5)]
        lines = [f"policy hash: {self.policy_hash}"]
        for role in self.roles:
            holders = ", ".join(self.subjects.get(role, ())) or _GRANTED_BY_HUSHDB.get(role, "(none)")
            lines.append(f"role {role}: held by {holders}")
        lines.append("")
        for row in [header, *rows]:
            lines.append("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row[:5])) + "  " + row[5])
        for role in self.roles:
            if not any(entry.role == role for entry in self.entries):
                lines.append(f"{role}: nothing allowed")
        return "\n".join(lines) + "\n"


def build_table(authorizer: Authorizer, *, roles: Iterable[str] | None = None) -> PermissionTable:
    """The effective table for ``roles`` (default: every role)."""
    wanted = tuple(_ROLE_ORDER if roles is None else roles)
    unknown = [role for role in wanted if role not in ROLES]
    if unknown:
        raise InputError(f"unknown role {unknown[0]!r} (known: {', '.join(_ROLE_ORDER)})")
    holders: dict[str, list[str]] = {}
    for subject, subject_roles in authorizer.subjects().items():
        for role in subject_roles:
            holders.setdefault(role, []).append(subject)
    entries: list[PermissionEntry] = []
    for role in wanted:
        for purpose in _PURPOSE_ORDER:
            for spec in RESOURCES.values():
                for action in spec.actions:
                    entries.extend(_entries(authorizer, role, purpose, spec.name, action))
    return PermissionTable(
        policy_hash=authorizer.policy_hash,
        roles=wanted,
        subjects={role: tuple(sorted(holders.get(role, []))) for role in wanted},
        entries=tuple(entries),
    )


def _entries(
    authorizer: Authorizer, role: str, purpose: str, resource: str, action: str
) -> list[PermissionEntry]:
    decisions = authorizer.explain_role(role=role, purpose=purpose, resource=resource, action=action)
    entries = []
    for scope in ("all", "own"):
        fields = tuple(
            (d.field, d.mask) for d in decisions if d.verdict is Verdict.ALLOW and d.scope == scope
        )
        if fields:
            entries.append(PermissionEntry(role, purpose, resource, action, scope, fields))
    denied = tuple(d.field for d in decisions if d.verdict is Verdict.DENY)
    if denied:
        entries.append(PermissionEntry(role, purpose, resource, action, None, (), denied))
    return entries

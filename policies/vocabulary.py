"""The fixed vocabulary of hushdb's policies: purposes, roles, resources, fields, actions, masks, scopes.

The policy files may only use these names; :mod:`policies.loader` refuses any other
word with the file, line and reason.  The gateway and the other packages rely on
these exact spellings, so they are a contract: adding a name here is a code change.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final

PURPOSES: Final[frozenset[str]] = frozenset(
    {"service", "marketing", "profiling", "data_quality", "compliance", "erasure"}
)
#: Roles that roles.csv may assign to subjects.
ASSIGNABLE_ROLES: Final[frozenset[str]] = frozenset(
    {"sales", "mailmerge", "compliance", "analyst", "dpo", "admin"}
)
#: Roles that hushdb grants itself, never roles.csv: ``operator`` is whoever holds the key
#: file (the local command line without ``--as``, audited as ``operator:<os user>``);
#: ``system`` is hushdb's own record-aware note detection and data-quality pass (subject
#: ``hushdb``).  What they may do is still decided by policy.csv lines like every role's.
RESERVED_ROLES: Final[frozenset[str]] = frozenset({"operator", "system"})
ROLES: Final[frozenset[str]] = ASSIGNABLE_ROLES | RESERVED_ROLES
#: The role of the local operator holding the key file.
OPERATOR_ROLE: Final[str] = "operator"
#: The role of hushdb's own reads (record-aware detection, data-quality checks).
SYSTEM_ROLE: Final[str] = "system"
#: The subject that hushdb's own reads are audited as.
SYSTEM_SUBJECT: Final[str] = "hushdb"

#: Masks, from the most revealing to the least.  ``full`` shows the value, ``partial``
#: shows a recognisable fragment, ``hashed`` a keyed hash, ``none`` withholds it.
MASK_ORDER: Final[tuple[str, ...]] = ("full", "partial", "hashed", "none")
MASKS: Final[frozenset[str]] = frozenset(MASK_ORDER)

#: Row scopes: ``all`` rows, or only rows whose ``owner`` is the subject.
SCOPES: Final[frozenset[str]] = frozenset({"all", "own"})

#: Actions that return values; only their rules carry a mask.
DATA_ACTIONS: Final[frozenset[str]] = frozenset({"read"})

#: The policy-file word for "not applicable" (the mask of a deny or write rule).
NOT_APPLICABLE: Final[str] = "-"
#: The policy-file word for "every field of this resource".
ANY_FIELD: Final[str] = "*"


@dataclass(frozen=True, slots=True)
class ResourceSpec:
    """The fields and actions of one resource, and whether rows belong to an owner."""

    name: str
    fields: tuple[str, ...]
    actions: tuple[str, ...]
    owned: bool


_SPECS = (
    ResourceSpec(
        name="customer",
        fields=(
            "external_id",
            "full_name",
            "email",
            "phone",
            "postal_address",
            "birth_date",
            "owner",
            "consent",
            "suppression",
            "created_at",
            "pseudonym",
        ),
        actions=("read", "write", "erase", "review"),  # review: suppression decisions only
        owned=True,
    ),
    ResourceSpec(
        name="note",
        fields=("body", "findings", "author", "created_at"),
        actions=("read", "write"),
        owned=True,
    ),
    ResourceSpec(
        name="transaction",
        fields=("occurred_at", "amount", "currency", "product", "category"),
        actions=("read", "write"),
        owned=True,
    ),
    ResourceSpec(
        name="audit", fields=("events", "report", "verify", "anomalies"), actions=("read",), owned=False
    ),
    ResourceSpec(name="admin", fields=("keys", "policy", "apikeys"), actions=("manage",), owned=False),
    ResourceSpec(
        name="profile",
        fields=("rfm", "clv", "churn", "cross_sell", "quality", "results"),
        actions=("run", "read"),
        owned=False,
    ),
)

#: Resource name -> its specification, in a stable order.
RESOURCES: Final[Mapping[str, ResourceSpec]] = MappingProxyType({spec.name: spec for spec in _SPECS})


def mask_rank(mask: str) -> int:
    """0 for the most revealing mask (``full``), higher for less revealing ones."""
    return MASK_ORDER.index(mask)

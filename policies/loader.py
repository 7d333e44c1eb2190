"""Read and validate the policy files strictly, before Casbin ever sees them.

The directory holds exactly three policy files:

``model.conf``  the Casbin model.  It is fixed: the loader refuses any change to its
                meaning (request, policy, role, effect or matcher), so no edit of the
                files can weaken enforcement (for instance by switching the effect to
                allow-override or the matcher to ``true``).
``policy.csv``  ``p, ROLE, PURPOSE, RESOURCE, FIELD, ACTION, EFFECT, MASK, SCOPE`` lines.
``roles.csv``   ``g, SUBJECT, ROLE`` lines.

Every problem is a :class:`core.errors.PolicyFileError` naming the file, the line
(0 for the file as a whole) and the reason.  The policy hash is SHA-256 over the
names and bytes of the three files in name order (see :func:`policy_hash`).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from pathlib import Path
from types import MappingProxyType
from typing import Final

from core.errors import PolicyFileError
from policies.vocabulary import (
    ANY_FIELD,
    ASSIGNABLE_ROLES,
    DATA_ACTIONS,
    MASKS,
    NOT_APPLICABLE,
    PURPOSES,
    RESERVED_ROLES,
    RESOURCES,
    ROLES,
    SCOPES,
)

MODEL_FILE: Final = "model.conf"
POLICY_FILE: Final = "policy.csv"
ROLES_FILE: Final = "roles.csv"
POLICY_FILES: Final = (MODEL_FILE, POLICY_FILE, ROLES_FILE)

POLICY_COLUMNS: Final = ("p", "role", "purpose", "resource", "field", "action", "effect", "mask", "scope")
ROLE_COLUMNS: Final = ("g", "subject", "role")
EFFECTS: Final = frozenset({"allow", "deny"})

#: The meaning of ``model.conf``: section -> key -> value (compared without whitespace).
EXPECTED_MODEL: Final[Mapping[str, Mapping[str, str]]] = {
    "request_definition": {"r": "sub, pur, res, fld, act"},
    "policy_definition": {"p": "sub, pur, res, fld, act, eft, mask, scope"},
    "role_definition": {"g": "_, _"},
    "policy_effect": {"e": "some(where (p.eft == allow)) && !some(where (p.eft == deny))"},
    "matchers": {
        "m": 'g(r.sub, p.sub) && r.pur == p.pur && r.res == p.res && (p.fld == "*" || r.fld == p.fld)'
        " && r.act == p.act"
    },
}

_TOKEN = re.compile(r"^[a-z_*-]+$")
_SUBJECT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,127}$")
_SECTION = re.compile(r"^\[([A-Za-z_]+)\]$")


@dataclass(frozen=True, slots=True)
class PolicyRule:
    """One ``p`` line of policy.csv.  ``mask`` and ``scope`` are None where the file says ``-``."""

    role: str
    purpose: str
    resource: str
    field: str
    action: str
    effect: str
    mask: str | None
    scope: str | None
    line: int

    @property
    def key(self) -> tuple[str, str, str, str, str]:
        return (self.role, self.purpose, self.resource, self.field, self.action)

    def casbin_rule(self) -> list[str]:
        """The rule as Casbin's ``p`` tokens (sub, pur, res, fld, act, eft, mask, scope)."""
        return [*self.key, self.effect, self.mask or NOT_APPLICABLE, self.scope or NOT_APPLICABLE]


@dataclass(frozen=True, slots=True)
class RoleAssignment:
    """One ``g, SUBJECT, ROLE`` line of roles.csv."""

    subject: str
    role: str
    line: int


@dataclass(frozen=True, slots=True)
class PolicySet:
    """The validated content of a policy directory."""

    directory: Path
    model_text: str
    rules: tuple[PolicyRule, ...]
    assignments: tuple[RoleAssignment, ...]
    policy_hash: str
    _allow_index: Mapping[tuple[str, str, str, str, str], PolicyRule] = dataclass_field(
        init=False, repr=False, compare=False, default_factory=dict
    )

    def subjects(self) -> dict[str, frozenset[str]]:
        """Subject -> the roles roles.csv assigns to it."""
        found: dict[str, set[str]] = {}
        for assignment in self.assignments:
            found.setdefault(assignment.subject, set()).add(assignment.role)
        return {subject: frozenset(roles) for subject, roles in sorted(found.items())}

    def allow_rule(
        self, *, role: str, purpose: str, resource: str, field: str, action: str
    ) -> PolicyRule | None:
        """The allow rule that grants ``field``: the rule naming the field, else the ``*`` rule."""
        for candidate in (field, ANY_FIELD):
            rule = self._allow_index.get((role, purpose, resource, candidate, action))
            if rule is not None:
                return rule
        return None

    def __post_init__(self) -> None:
        index = {rule.key: rule for rule in self.rules if rule.effect == "allow"}
        object.__setattr__(self, "_allow_index", MappingProxyType(index))


def policy_hash(files: Mapping[str, bytes]) -> str:
    """SHA-256 over a canonical form: for each file in name order, its UTF-8 name, a NUL,
    its length as 8 bytes big-endian, then its bytes.  Hex encoded."""
    digest = hashlib.sha256()
    for name in sorted(files):
        content = files[name]
        digest.update(name.encode("utf-8") + b"\x00" + len(content).to_bytes(8, "big") + content)
    return digest.hexdigest()


def load_policy_set(policy_dir: Path) -> PolicySet:
    """Read, validate and hash the policy files of ``policy_dir``."""
    directory = Path(policy_dir)
    if not directory.is_dir():
        raise PolicyFileError(str(directory), 0, "policy directory does not exist")
    _refuse_unknown_files(directory)
    raw = {name: _read_bytes(directory / name) for name in POLICY_FILES}
    texts = {name: _decode(directory / name, content) for name, content in raw.items()}
    _validate_model(directory / MODEL_FILE, texts[MODEL_FILE])
    rules = _parse_policy(directory / POLICY_FILE, texts[POLICY_FILE])
    assignments = _parse_roles(directory / ROLES_FILE, texts[ROLES_FILE])
    return PolicySet(
        directory=directory,
        model_text=texts[MODEL_FILE],
        rules=rules,
        assignments=assignments,
        policy_hash=policy_hash(raw),
    )


def _refuse_unknown_files(directory: Path) -> None:
    for path in sorted(directory.iterdir()):
        if path.suffix in {".csv", ".conf"} and path.name not in POLICY_FILES:
            raise PolicyFileError(
                str(path), 0, "unknown policy file; hushdb reads only model.conf, policy.csv and roles.csv"
            )


def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError as exc:
        raise PolicyFileError(str(path), 0, "file is missing") from exc
    except OSError as exc:
        raise PolicyFileError(str(path), 0, f"cannot read file ({exc.strerror})") from exc


def _decode(path: Path, content: bytes) -> str:
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise PolicyFileError(str(path), 0, "file is not UTF-8") from exc


def _content_lines(text: str) -> list[tuple[int, str]]:
    """(line number, stripped text) of every line that is not blank or a ``#`` comment."""
    lines = []
    for number, raw_line in enumerate(text.splitlines(), start=1):
        line = raw_line.strip()
        if line and not line.startswith("#"):
            lines.append((number, line))
    return lines


def _squash(value: str) -> str:
    return "".join(value.split())


def _validate_model(path: Path, text: str) -> None:
    where = str(path)
    seen: dict[str, dict[str, int]] = {}
    section: str | None = None
    for number, line in _content_lines(text):
        if line.startswith(";"):
            continue
        match = _SECTION.match(line)
        if match:
            section = match.group(1)
            if section not in EXPECTED_MODEL:
                raise PolicyFileError(where, number, f"unknown section [{section}]")
            if section in seen:
                raise PolicyFileError(where, number, f"section [{section}] appears twice")
            seen[section] = {}
            continue
        if section is None:
            raise PolicyFileError(where, number, "expected a [section] header first")
        key, sep, value = line.partition("=")
        key = key.strip()
        if not sep:
            raise PolicyFileError(where, number, "expected 'key = value'")
        expected = EXPECTED_MODEL[section].get(key)
        if expected is None:
            raise PolicyFileError(where, number, f"unknown key {key!r} in [{section}]")
        if key in seen[section]:
            raise PolicyFileError(where, number, f"key {key!r} appears twice")
        if _squash(value) != _squash(expected):
            raise PolicyFileError(
                where,
                number,
                f"[{section}] {key} differs from the hushdb model; model.conf is fixed "
                f"(expected: {key} = {expected}); change policy.csv or roles.csv instead",
            )
        seen[section][key] = number
    for section_name, keys in EXPECTED_MODEL.items():
        for key in keys:
            if key not in seen.get(section_name, {}):
                raise PolicyFileError(where, 0, f"[{section_name}] {key} is missing")


def _split(where: str, number: int, line: str, columns: Sequence[str]) -> list[str]:
    tokens = [token.strip() for token in line.split(",")]
    if len(tokens) != len(columns):
        raise PolicyFileError(
            where, number, f"expected {len(columns)} columns ({', '.join(columns)}), found {len(tokens)}"
        )
    return tokens


def _word(where: str, number: int, column: str, value: str) -> str:
    if not _TOKEN.match(value):
        raise PolicyFileError(where, number, f"{column} {value!r} is not a valid name")
    return value


def _parse_policy(path: Path, text: str) -> tuple[PolicyRule, ...]:
    where = str(path)
    rules: list[PolicyRule] = []
    seen: dict[tuple[str, str, str, str, str], PolicyRule] = {}
    for number, line in _content_lines(text):
        tokens = _split(where, number, line, POLICY_COLUMNS)
        kind, role, purpose, resource, field, action, effect, mask, scope = (
            _word(where, number, column, token) for column, token in zip(POLICY_COLUMNS, tokens, strict=True)
        )
        rule = _policy_rule(where, number, kind, role, purpose, resource, field, action, effect, mask, scope)
        previous = seen.get(rule.key)
        if previous is not None:
            same = (previous.effect, previous.mask, previous.scope) == (rule.effect, rule.mask, rule.scope)
            reason = "duplicate of" if same else "conflicts with"
            raise PolicyFileError(
                where,
                number,
                f"{reason} line {previous.line} (same role, purpose, resource, field and action)",
            )
        seen[rule.key] = rule
        rules.append(rule)
    return tuple(rules)


def _policy_rule(
    where: str,
    number: int,
    kind: str,
    role: str,
    purpose: str,
    resource: str,
    field: str,
    action: str,
    effect: str,
    mask: str,
    scope: str,
) -> PolicyRule:
    if kind != "p":
        raise PolicyFileError(
            where, number, f"policy lines start with 'p', not {kind!r} (role assignments belong in roles.csv)"
        )
    if role not in ROLES:
        raise PolicyFileError(where, number, f"unknown role {role!r} (known: {', '.join(sorted(ROLES))})")
    if purpose not in PURPOSES:
        raise PolicyFileError(
            where, number, f"unknown purpose {purpose!r} (known: {', '.join(sorted(PURPOSES))})"
        )
    spec = RESOURCES.get(resource)
    if spec is None:
        raise PolicyFileError(where, number, f"unknown resource {resource!r} (known: {', '.join(RESOURCES)})")
    if field != ANY_FIELD and field not in spec.fields:
        raise PolicyFileError(
            where,
            number,
            f"unknown field {field!r} of {resource} (known: {', '.join(spec.fields)}, or * for all)",
        )
    if action not in spec.actions:
        raise PolicyFileError(
            where, number, f"unknown action {action!r} on {resource} (known: {', '.join(spec.actions)})"
        )
    if effect not in EFFECTS:
        raise PolicyFileError(where, number, f"unknown effect {effect!r} (allow or deny)")
    if effect == "deny":
        if mask != NOT_APPLICABLE or scope != NOT_APPLICABLE:
            raise PolicyFileError(where, number, "a deny rule takes '-' as mask and scope")
        return PolicyRule(role, purpose, resource, field, action, effect, None, None, number)
    if action in DATA_ACTIONS:
        if mask not in MASKS:
            raise PolicyFileError(
                where, number, f"unknown mask {mask!r} (known: full, partial, hashed, none)"
            )
    elif mask != NOT_APPLICABLE:
        raise PolicyFileError(where, number, f"action {action!r} returns no values; its mask must be '-'")
    if scope not in SCOPES:
        raise PolicyFileError(where, number, f"unknown scope {scope!r} (all or own)")
    if scope == "own" and not spec.owned:
        raise PolicyFileError(where, number, f"scope 'own' needs rows with an owner; {resource} has none")
    return PolicyRule(
        role, purpose, resource, field, action, effect, mask if mask in MASKS else None, scope, number
    )


def _parse_roles(path: Path, text: str) -> tuple[RoleAssignment, ...]:
    where = str(path)
    assignments: list[RoleAssignment] = []
    seen: dict[tuple[str, str], int] = {}
    for number, line in _content_lines(text):
        kind, subject, role = _split(where, number, line, ROLE_COLUMNS)
        if kind != "g":
            raise PolicyFileError(where, number, f"role lines start with 'g', not {kind!r}")
        if not _SUBJECT.match(subject):
            raise PolicyFileError(where, number, "subject must be 1-128 letters, digits or _ . @ -")
        if subject in ROLES:
            raise PolicyFileError(where, number, f"subject {subject!r} is a role name; roles do not inherit")
        if role in RESERVED_ROLES:
            raise PolicyFileError(
                where,
                number,
                f"role {role!r} is granted by hushdb itself (operator: the key file holder; system: "
                "hushdb's own checks), never by roles.csv",
            )
        if role not in ASSIGNABLE_ROLES:
            raise PolicyFileError(
                where, number, f"unknown role {role!r} (known: {', '.join(sorted(ASSIGNABLE_ROLES))})"
            )
        if (subject, role) in seen:
            raise PolicyFileError(where, number, f"duplicate of line {seen[(subject, role)]}")
        seen[(subject, role)] = number
        assignments.append(RoleAssignment(subject, role, number))
    return tuple(assignments)

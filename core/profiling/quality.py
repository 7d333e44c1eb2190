"""Data-quality helpers: duplicate candidates, near-identical names, completeness, invalid values.

All functions are pure and work on values the gateway has already released for the
``data_quality`` purpose; results name customers only by the caller's pseudonymous ids and name
rules and fields, never values.

Near-identical names: names are normalised (Unicode NFKD, accents dropped, case-folded,
punctuation removed, tokens sorted) and compared with ``difflib``'s ratio.  To avoid comparing
all pairs, names are *blocked* with a deletion neighbourhood (as in SymSpell): each normalised
name is filed under itself and under every string made by deleting one of its characters, so
two names meet exactly when they are within one edit (insertion, deletion, substitution or
adjacent transposition) of each other; a 100k list costs about ``len(name)`` dictionary entries
per name.  Blocks larger than ``max_block`` (many identical names) are scanned with a sorted
neighbourhood of ``window`` names instead of all pairs.  Names two or more edits apart are not
candidates, whatever the threshold.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from core.crypto import normalise_phone
from core.errors import InputError

_NON_WORD = re.compile(r"[^\w]+", re.UNICODE)
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_PHONE = re.compile(r"^\+?[0-9]{7,15}$")
MAX_AGE_YEARS = 130


@dataclass(frozen=True, slots=True)
class DuplicateGroup:
    """Customers linked by a shared blind index; ``reasons`` ⊆ {"email", "phone"}."""

    customer_ids: tuple[str, ...]
    reasons: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class NamePair:
    first: str
    second: str
    similarity: float


@dataclass(frozen=True, slots=True)
class FieldCompleteness:
    field: str
    present: int
    total: int

    @property
    def ratio(self) -> float:
        return self.present / self.total if self.total else 1.0


@dataclass(frozen=True, slots=True)
class InvalidValue:
    customer_id: str
    field: str
    rule: str


def duplicate_groups(rows: Iterable[tuple[str, str | None, str | None]]) -> list[DuplicateGroup]:
    """Groups of two or more customers sharing an email or a phone blind index (transitively).

    ``rows`` are ``(customer_id, email_bidx, phone_bidx)``; ``None`` means no value.  Groups are
    ordered by their first id and list their ids sorted.
    """
    parent: dict[str, str] = {}

    def find(node: str) -> str:
        root = node
        while parent[root] != root:
            root = parent[root]
        while parent[node] != root:
            parent[node], node = root, parent[node]
        return root

    first_with: dict[tuple[str, str], str] = {}
    linked_by: dict[str, set[str]] = defaultdict(set)
    for customer_id, email, phone in rows:
        parent.setdefault(customer_id, customer_id)
        for kind, value in (("email", email), ("phone", phone)):
            if value is None or value == "":
                continue
            other = first_with.setdefault((kind, value), customer_id)
            if other != customer_id:
                a, b = find(other), find(customer_id)
                if a != b:
                    parent[max(a, b)] = min(a, b)
                linked_by[customer_id].add(kind)
                linked_by[other].add(kind)
    members: dict[str, list[str]] = defaultdict(list)
    for customer_id in parent:
        members[find(customer_id)].append(customer_id)
    groups = []
    for ids in members.values():
        if len(ids) > 1:
            reasons = sorted(set().union(*(linked_by[c] for c in ids)))
            groups.append(DuplicateGroup(tuple(sorted(ids)), tuple(reasons)))
    return sorted(groups, key=lambda g: g.customer_ids)


def normalise_name(name: str) -> str:
    """Accents dropped, case-folded, punctuation removed, tokens sorted and single-spaced."""
    decomposed = unicodedata.normalize("NFKD", name)
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()
    tokens = [t for t in _NON_WORD.split(stripped.replace("_", " ")) if t]
    return " ".join(sorted(tokens))


def _blocking_keys(normalised: str) -> set[str]:
    return {normalised} | {normalised[:k] + normalised[k + 1 :] for k in range(len(normalised))}


def near_duplicate_names(
    names: Iterable[tuple[str, str]],
    *,
    threshold: float = 0.9,
    max_block: int = 100,
    window: int = 20,
) -> list[NamePair]:
    """Pairs of customers whose normalised names have similarity ``>= threshold`` (ids ascending)."""
    if not 0.0 < threshold <= 1.0:
        raise InputError("similarity threshold must be in (0, 1]")
    normalised: dict[str, str] = {}
    blocks: dict[str, list[str]] = defaultdict(list)
    for customer_id, name in names:
        norm = normalise_name(name)
        if not norm:
            continue
        normalised[customer_id] = norm
        for key in _blocking_keys(norm):
            blocks[key].append(customer_id)
    candidates: set[tuple[str, str]] = set()
    for ids in blocks.values():
        if len(ids) <= max_block:
            for i, a in enumerate(ids):
                for b in ids[i + 1 :]:
                    candidates.add((a, b) if a < b else (b, a))
        else:
            ordered = sorted(ids, key=lambda c: (normalised[c], c))
            for i, a in enumerate(ordered):
                for b in ordered[i + 1 : i + 1 + window]:
                    candidates.add((a, b) if a < b else (b, a))
    pairs = []
    for a, b in candidates:
        sim = _similarity(normalised[a], normalised[b], threshold)
        if sim >= threshold:
            pairs.append(NamePair(a, b, sim))
    return sorted(pairs, key=lambda p: (p.first, p.second))


def _similarity(a: str, b: str, threshold: float) -> float:
    if a == b:
        return 1.0
    if 2.0 * min(len(a), len(b)) / (len(a) + len(b)) < threshold:
        return 0.0
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    if matcher.real_quick_ratio() < threshold or matcher.quick_ratio() < threshold:
        return 0.0
    return matcher.ratio()


def _missing(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def completeness(records: Sequence[Mapping[str, object]], fields: Sequence[str]) -> list[FieldCompleteness]:
    """Per field, how many records have a value (``None``, missing and blank strings do not count)."""
    return [
        FieldCompleteness(field, sum(1 for r in records if not _missing(r.get(field))), len(records))
        for field in fields
    ]


Rule = Callable[[object, date], bool]
"""A validity rule: ``rule(value, today)`` is True when the (present) value is invalid."""


def _as_date(value: object) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            return None
    return None


def birth_date_unparseable(value: object, today: date) -> bool:
    return _as_date(value) is None


def birth_date_in_future(value: object, today: date) -> bool:
    parsed = _as_date(value)
    return parsed is not None and parsed > today


def birth_date_too_old(value: object, today: date) -> bool:
    parsed = _as_date(value)
    return parsed is not None and (today.year - parsed.year) > MAX_AGE_YEARS


def email_malformed(value: object, today: date) -> bool:
    return not (isinstance(value, str) and _EMAIL.match(value.strip()) is not None)


def phone_malformed(value: object, today: date) -> bool:
    if not isinstance(value, str):
        return True
    return _PHONE.match(re.sub(r"[\s().-]", "", value)) is None


def phone_not_normalised(value: object, today: date) -> bool:
    """A phone that looks like one but no region made a valid number of it (stored as given, not indexed).

    hushdb stores every number it could normalise in E.164 form, so a stored
    value that is not a possible number with its own country code is one kept
    as given at import or update (a national number no region hint took, an
    outdated number).  Values :func:`phone_malformed` already flags are left to it.
    """
    if not isinstance(value, str) or phone_malformed(value, today):
        return False
    try:
        normalise_phone(value, "ZZ")  # "ZZ": no region, so only numbers with their country code parse
    except InputError:
        return True
    return False


DEFAULT_RULES: Mapping[str, Mapping[str, Rule]] = {
    "birth_date": {
        "unparseable": birth_date_unparseable,
        "in_future": birth_date_in_future,
        "too_old": birth_date_too_old,
    },
    "email": {"malformed": email_malformed},
    "phone": {"malformed": phone_malformed, "not_normalised": phone_not_normalised},
}


def invalid_values(
    records: Iterable[tuple[str, Mapping[str, object]]],
    *,
    today: date,
    rules: Mapping[str, Mapping[str, Rule]] = DEFAULT_RULES,
) -> list[InvalidValue]:
    """Every (customer, field, rule) whose present value breaks a rule; missing values are skipped."""
    found = []
    for customer_id, record in records:
        for field, field_rules in rules.items():
            value = record.get(field)
            if _missing(value):
                continue
            for rule_name, rule in field_rules.items():
                if rule(value, today):
                    found.append(InvalidValue(customer_id, field, rule_name))
    return found

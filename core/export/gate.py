"""The outbound gate: every letter (or exported row) is checked before it is written.

Three checks, all without NLP per letter:

1. **Stored analysis.**  A customer whose own text fields (name, address) were
   found sensitive when they were written (``customers.text_sensitivity``) is
   never merged: the letter is quarantined naming the merged free-text fields.
2. **Sensitive categories.**  The same term lists as the note analyser
   (:class:`core.pii.screen.SensitiveScreen`: bereavement, accident, health,
   ... in English and Chinese) over the whole letter, behind an exact literal
   pre-filter (:mod:`core.export.prefilter`: a line that holds none of the
   literals some term needs skips the regex).  The scan runs line by
   line with a bounded cache of line results: no term can span a line break
   (the term fragments hold no ``\\s``, ``.`` or negated classes, and the text
   normaliser is character-local), so this equals one pass over the whole
   letter, while the template's fixed lines are scanned once per run instead
   of once per letter.
3. **Identifiers that do not belong to the recipient.**  Email- and phone-like
   strings are extracted with regular expressions, normalised, turned into the
   store's blind indexes and looked up (one SQL query per distinct value,
   cached).  A value that belongs to another customer, or any contact value in
   a merged free-text field that is not the recipient's own, quarantines the
   letter.  This needs no plaintext automaton of every customer's details
   (:class:`core.pii.KnownRecords` would have to decrypt them all under a
   purpose that the mail-merge subject does not hold); the blind index
   answers "whose is this?" for exactly the values a letter carries.

The template's own text is checked once per run (:meth:`OutboundGate.check_template`);
a template carrying sensitive content or a customer's contact details is refused.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache, partial
from typing import Any, Final, Generic, Protocol, TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from core.crypto import normalise_email, normalise_phone
from core.errors import InputError
from core.export.fields import FREE_TEXT_FIELDS
from core.export.prefilter import TermPrefilter
from core.models import customers_t
from core.pii.normaliser import normalise
from core.pii.recognizers.sensitive_terms_en import TERMS_EN
from core.pii.recognizers.sensitive_terms_zh import TERMS_ZH
from core.pii.screen import SensitiveScreen

FOREIGN_IDENTIFIER: Final = "foreign_identifier"
STORED_ANALYSIS: Final = "stored_analysis"
LETTER: Final = "letter"
"""The field name of a hit that no single merged value explains (template text plus values)."""

_EMAIL: Final = re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)+")
_PHONE: Final = re.compile(r"(?<![\w+])\+?\d[\d ()./\-]{5,18}\d(?!\w)")
_MIN_PHONE_DIGITS: Final = 7
_MAYBE_IDENTIFIER: Final = re.compile(r"[@＠\d０-９]")


@dataclass(frozen=True, slots=True)
class GateReason:
    """Why a letter was withheld: a category and the field that carried it (never the content)."""

    category: str
    field: str

    def to_dict(self) -> dict[str, str]:
        return {"category": self.category, "field": self.field}


@dataclass(frozen=True, slots=True)
class Letter:
    """One letter (or row) on its way out."""

    pseudonym: str
    text: str
    values: Mapping[str, str]
    stored_sensitive: bool = False


class LetterGate(Protocol):
    """Checks one letter; an empty result lets it out."""

    def check(self, letter: Letter) -> tuple[GateReason, ...]: ...


class IdentifierOwners(Protocol):
    """Whose is this (normalised) email or phone number?  Pseudonyms; empty when nobody's."""

    def owners(self, kind: str, value: str) -> frozenset[str]: ...


K = TypeVar("K")
V = TypeVar("V")


class _Lru(Generic[K, V]):
    """A small bounded mapping (least recently used out first): memory stays flat."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._data: OrderedDict[K, V] = OrderedDict()

    def get(self, key: K, make: Callable[[K], V]) -> V:
        try:
            value = self._data[key]
        except KeyError:
            value = make(key)
            self._data[key] = value
            if len(self._data) > self._size:
                self._data.popitem(last=False)
            return value
        self._data.move_to_end(key)
        return value

    def __len__(self) -> int:
        return len(self._data)


class BlindIndexOwners:
    """:class:`IdentifierOwners` through the store's blind indexes (one query per distinct value)."""

    def __init__(
        self,
        *,
        engine: Engine,
        email_index: Callable[[str], bytes],
        phone_index: Callable[[str], bytes],
        cache_size: int = 4096,
    ) -> None:
        self._engine = engine
        self._index = {"email": email_index, "phone": phone_index}
        self._column = {"email": customers_t.c.email_bidx, "phone": customers_t.c.phone_bidx}
        self._cache: _Lru[tuple[str, str], frozenset[str]] = _Lru(cache_size)
        self.lookups = 0

    def owners(self, kind: str, value: str) -> frozenset[str]:
        return self._cache.get((kind, value), self._lookup)

    def _lookup(self, key: tuple[str, str]) -> frozenset[str]:
        kind, value = key
        self.lookups += 1
        idx = self._index[kind](value)
        with self._engine.connect() as conn:
            rows: Iterable[Any] = conn.execute(
                sa.select(customers_t.c.pseudonym).where(
                    self._column[kind] == idx, customers_t.c.erased_at.is_(None)
                )
            ).scalars()
            return frozenset(str(p) for p in rows)


@dataclass(frozen=True, slots=True)
class _LineResult:
    categories: tuple[str, ...]
    identifiers: tuple[tuple[str, str], ...]


@lru_cache(maxsize=1)
def _shared_prefilter() -> TermPrefilter:
    return TermPrefilter([TERMS_EN, TERMS_ZH])


class OutboundGate:
    """The letter DLP gate (see the module docstring)."""

    def __init__(
        self,
        *,
        owners: IdentifierOwners,
        phone_region: str,
        screen: SensitiveScreen | None = None,
        line_cache_size: int = 1024,
    ) -> None:
        self._owners = owners
        self._region = phone_region
        self._screen = screen or SensitiveScreen.shared()
        self._prefilter = _shared_prefilter()
        self._lines: _Lru[str, _LineResult] = _Lru(line_cache_size)
        self._template_identifiers: frozenset[tuple[str, str]] = frozenset()

    # -- pieces ---------------------------------------------------------------------

    def categories(self, text: str) -> tuple[str, ...]:
        """Sensitive categories found in ``text`` (sorted, distinct)."""
        return self._categories(text, normalise(text).text)

    def _categories(self, text: str, normalised: str) -> tuple[str, ...]:
        if not self._prefilter.maybe_normalised(normalised):
            return ()
        return tuple(sorted({f.category for f in self._screen.findings(text)}))

    def identifiers(self, text: str) -> tuple[tuple[str, str], ...]:
        """(kind, normalised value) of every email- or phone-like string in ``text``."""
        if _MAYBE_IDENTIFIER.search(text) is None:
            return ()
        return self._identifiers(normalise(text).text)

    def _identifiers(self, norm: str) -> tuple[tuple[str, str], ...]:
        if _MAYBE_IDENTIFIER.search(norm) is None:
            return ()
        found: list[tuple[str, str]] = []
        for match in _EMAIL.finditer(norm):
            try:
                found.append(("email", normalise_email(match.group(0))))
            except InputError:
                continue
        for match in _PHONE.finditer(norm):
            raw = match.group(0)
            if sum(c.isdigit() for c in raw) < _MIN_PHONE_DIGITS:
                continue
            try:
                found.append(("phone", normalise_phone(raw, self._region)))
            except InputError:
                continue
        return tuple(dict.fromkeys(found))

    def _scan_line(self, line: str) -> _LineResult:
        norm = normalise(line).text
        return _LineResult(self._categories(line, norm), self._identifiers(norm))

    def _scan(self, text: str) -> Iterator[_LineResult]:
        for line in text.split("\n"):
            if line.strip():
                yield self._lines.get(line, self._scan_line)

    # -- the template, once per run -----------------------------------------------------

    def check_template(self, source: str) -> None:
        """Refuse a template whose own text carries sensitive content or a customer's contact details.

        The contact details it does carry (a helpline) belong to nobody in the store; letters
        are not re-checked for them.
        """
        found: set[tuple[str, str]] = set()
        for number, line in enumerate(source.split("\n"), start=1):
            cats = self.categories(line)
            if cats:
                raise InputError(f"template line {number} carries sensitive content ({', '.join(cats)})")
            for kind, value in self.identifiers(line):
                if self._owners.owners(kind, value):
                    raise InputError(f"template line {number} carries a customer's {kind}")
                found.add((kind, value))
        self._template_identifiers = frozenset(found)

    # -- every letter -------------------------------------------------------------------------

    def check(self, letter: Letter) -> tuple[GateReason, ...]:
        """The reasons to withhold ``letter`` (empty: it may go out)."""
        reasons: list[GateReason] = []
        if letter.stored_sensitive:
            merged = sorted(f for f in letter.values if f in FREE_TEXT_FIELDS or f in _DERIVED_TEXT)
            if merged:
                reasons.append(GateReason(STORED_ANALYSIS, ",".join(merged)))
        categories: set[str] = set()
        identifiers: dict[tuple[str, str], None] = {}
        for result in self._scan(letter.text):
            categories.update(result.categories)
            identifiers.update(dict.fromkeys(result.identifiers))
        for category in sorted(categories):
            field = self._field_of(letter.values, partial(self._has_category, category))
            reasons.append(GateReason(category, field))
        if identifiers:
            reasons.extend(self._foreign(letter, tuple(identifiers)))
        return tuple(reasons)

    def _foreign(self, letter: Letter, identifiers: Sequence[tuple[str, str]]) -> Iterator[GateReason]:
        own: set[tuple[str, str]] = set()
        for name in ("email", "phone"):
            value = letter.values.get(name)
            if value:
                try:
                    own.add((name, self._normalise_contact(name, value)))
                except InputError:
                    own.update(self.identifiers(value))
        pending = [
            ident for ident in identifiers if ident not in own and ident not in self._template_identifiers
        ]
        if not pending:
            return
        in_free_text = {
            ident
            for name, value in letter.values.items()
            if name in FREE_TEXT_FIELDS or name in _DERIVED_TEXT
            for ident in self.identifiers(value)
        }
        seen: set[str] = set()
        for ident in pending:
            owners = self._owners.owners(*ident)
            foreign = bool(owners) and letter.pseudonym not in owners
            stray = ident in in_free_text and letter.pseudonym not in owners
            if not (foreign or stray):
                continue
            field = self._field_of(letter.values, partial(self._has_identifier, ident))
            key = f"{ident[0]}:{field}"
            if key not in seen:
                seen.add(key)
                yield GateReason(FOREIGN_IDENTIFIER, field)

    def _normalise_contact(self, kind: str, value: str) -> str:
        return normalise_email(value) if kind == "email" else normalise_phone(value, self._region)

    def _has_category(self, category: str, value: str) -> bool:
        return category in self.categories(value)

    def _has_identifier(self, ident: tuple[str, str], value: str) -> bool:
        return ident in self.identifiers(value)

    @staticmethod
    def _field_of(values: Mapping[str, str], hit: Callable[[str], bool]) -> str:
        fields = sorted(name for name, value in values.items() if value and hit(value))
        return ",".join(fields) if fields else LETTER


_DERIVED_TEXT: Final = frozenset({"salutation", "first_name", "city"})


class OpenGate:
    """A gate that lets everything out: for benchmarks measuring the gate's cost, never for exports."""

    def check(self, letter: Letter) -> tuple[GateReason, ...]:
        return ()


class StaticOwners:
    """:class:`IdentifierOwners` from a fixed mapping ``{(kind, normalised value): pseudonyms}`` (tests)."""

    def __init__(self, owners: Mapping[tuple[str, str], frozenset[str]] | None = None) -> None:
        self._owners = dict(owners or {})
        self.lookups = 0

    def owners(self, kind: str, value: str) -> frozenset[str]:
        self.lookups += 1
        return self._owners.get((kind, value), frozenset())

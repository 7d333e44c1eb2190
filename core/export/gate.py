"""The outbound gate: every letter (or exported row) is checked before it is written.

Four checks, all without NLP per letter:

1. **Stored analysis.**  A customer whose own text fields (name, address) were
   found sensitive when they were written (``customers.text_sensitivity``) is
   never merged: the letter is quarantined naming the merged free-text fields.
2. **Sensitive categories.**  The same term lists and the same text skeleton
   as the import screen and the note analyser
   (:class:`core.pii.screen.SensitiveScreen`: bereavement, accident, health,
   ... in English and Chinese; look-alikes, spacing, leetspeak and Traditional
   Chinese folded), behind the screen's exact literal pre-filter: the letter,
   line by line with a bounded cache of line results (the template's fixed
   lines are scanned once per run), plus the joints between lines (the last and
   first words of the skeletons of two neighbouring lines, so "passed" at the end
   of one line and "away" at the start of the next are read together).  When the letter holds a
   match, every merged free-text field is checked whole, with the field's own
   exemptions (a surname such as Sick in a name field, Hospital Road or Roma in
   an address): a letter match that a field holds as a name or a place is not a
   finding, and the reason names the fields that carry the category.
3. **Shape.**  The merged name and address must hold a name and an address
   (:mod:`core.pii.field_shape`): extra text in them withholds the letter
   (``name_extra_text``, ``address_extra_text``).
4. **Identifiers that do not belong to the recipient.**  Email- and phone-like
   strings are extracted with regular expressions, normalised, turned into the
   store's blind indexes and looked up (one SQL query per distinct value,
   cached).  A value that belongs to another customer, or any contact value in
   a merged free-text field that is not the recipient's own, quarantines the
   letter.  This needs no plaintext automaton of every customer's details
   (:class:`core.pii.KnownRecords` would have to decrypt them all under a
   purpose that the mail-merge subject does not hold); the blind index
   answers "whose is this?" for exactly the values a letter carries.

The template's own text is checked once per run (:meth:`OutboundGate.check_template`),
line by line and whole: a template carrying sensitive content (condolence wording
included: "sorry for your loss", 节哀) or a customer's contact details is refused.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Final, Generic, Protocol, TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from core.crypto import normalise_email, normalise_phone
from core.errors import InputError
from core.export.fields import FREE_TEXT_FIELDS
from core.models import customers_t
from core.pii.field_shape import check_field
from core.pii.normaliser import ascii_lookalikes, normalise, skeletons
from core.pii.screen import FIELD_KINDS, SensitiveScreen

FOREIGN_IDENTIFIER: Final = "foreign_identifier"
STORED_ANALYSIS: Final = "stored_analysis"
LETTER: Final = "letter"
"""The field name of a hit that no single merged value explains (template text plus values)."""

# Linear: a match starts only where a run of local-part characters starts, and no run is re-read.
_EMAIL: Final = re.compile(r"(?<![A-Za-z0-9._%+\-])[A-Za-z0-9._%+\-]++@[A-Za-z0-9\-]++(?:\.[A-Za-z0-9\-]++)+")
# Digits with at most three separators between two of them: "0 7 7 0 0 9 0 0 1 2 3" is a number too.
# Linear: a match starts only where a number starts, and tries at most 16 digits from there.
_PHONE: Final = re.compile(r"(?<![\w+])\+?\d(?:[ ()./\-]{0,3}+\d){6,16}(?!\w)")
_MIN_PHONE_DIGITS: Final = 7
_MAYBE_IDENTIFIER: Final = re.compile(r"[@＠\d０-９]")
_DIGIT: Final = re.compile(r"\d")


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
    text: str = field(repr=False)  # customer data: never in a repr (logs, tracebacks)
    values: Mapping[str, str] = field(repr=False)
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
    """A small bounded mapping that keeps what is used: memory stays flat.

    Two generations of at most ``size`` entries each: new entries go into the young one,
    and when it is full the old one is dropped and the young one takes its place; an entry
    found in the old one moves back into the young one.  A hit costs one or two dict look-ups
    (the gate looks up a dozen lines per letter), and a line used in every letter (the
    template's) is never pushed out by the letters' own lines.
    """

    def __init__(self, size: int) -> None:
        self._half = max(1, size)
        self._young: dict[K, V] = {}
        self._old: dict[K, V] = {}

    def get(self, key: K, make: Callable[[K], V]) -> V:
        value = self._young.get(key, _MISSING)
        if value is _MISSING:
            value = self._old.get(key, _MISSING)
            if value is _MISSING:
                value = make(key)
            if len(self._young) >= self._half:
                self._old, self._young = self._young, {}
            self._young[key] = value
        return value  # type: ignore[no-any-return]

    def __len__(self) -> int:
        return len(self._young.keys() | self._old.keys())


_MISSING: Final[Any] = object()


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
    matches: tuple[tuple[str, str], ...]  # (category, skeleton key)
    identifiers: tuple[tuple[str, str], ...]
    # the first and last words of the line's skeleton (for the joints)
    head: str = field(default="", repr=False)
    tail: str = field(default="", repr=False)


@dataclass(frozen=True, slots=True)
class _FieldResult:
    categories: frozenset[str]
    exempt: frozenset[str] = field(repr=False)  # skeleton keys this field holds as a name or a place


def _shape_of(key: tuple[str, str]) -> str | None:
    return check_field(*key)


_CJK_END: Final = re.compile(r"[\u3400-\u9fff]$")
_CJK_START: Final = re.compile(r"[\u3400-\u9fff]")
_NONE: Final[tuple[tuple[str, str], ...]] = ()
_JOINT_WORDS: Final = 5  # the last words of one line and the first of the next, read together
_MAX_LETTER_CHARS: Final = 200_000


class OutboundGate:
    """The letter DLP gate (see the module docstring)."""

    def __init__(
        self,
        *,
        owners: IdentifierOwners,
        phone_region: str,
        screen: SensitiveScreen | None = None,
        line_cache_size: int = 2048,
    ) -> None:
        self._owners = owners
        self._region = phone_region
        self._screen = screen or SensitiveScreen.shared()
        self._lines: _Lru[str, _LineResult] = _Lru(line_cache_size)
        self._joints: _Lru[str, tuple[tuple[str, str], ...]] = _Lru(line_cache_size)
        self._fields: _Lru[tuple[str, str], _FieldResult] = _Lru(256)
        self._shapes: _Lru[tuple[str, str], str | None] = _Lru(256)
        self._template_identifiers: frozenset[tuple[str, str]] = frozenset()

    # -- pieces ---------------------------------------------------------------------

    def categories(self, text: str) -> tuple[str, ...]:
        """Sensitive categories found in ``text`` (sorted, distinct), read as one text."""
        found, _exempt = self._screen.matches(text)
        return tuple(sorted({m.category for m in found}))

    def identifiers(self, text: str) -> tuple[tuple[str, str], ...]:
        """(kind, normalised value) of every email- or phone-like string in ``text``.

        Read as written and with look-alike letters and digits folded to ASCII (a Cyrillic
        ``а`` in an e-mail address is read as ``a``): both readings count.
        """
        if _MAYBE_IDENTIFIER.search(text) is None:
            return ()
        norm = normalise(text).text
        found = self._identifiers(norm)
        if norm.isascii():
            return found
        looks = ascii_lookalikes(norm)
        if looks == norm:
            return found
        folded = normalise(looks).text  # then O and l in digit runs, as above
        return tuple(dict.fromkeys(found + self._identifiers(folded)))

    def _identifiers(self, norm: str) -> tuple[tuple[str, str], ...]:
        if _MAYBE_IDENTIFIER.search(norm) is None:
            return ()
        found: list[tuple[str, str]] = []
        for match in _EMAIL.finditer(norm) if "@" in norm else ():
            try:
                found.append(("email", normalise_email(match.group(0))))
            except InputError:
                continue
        if len(_DIGIT.findall(norm)) < _MIN_PHONE_DIGITS:
            return tuple(dict.fromkeys(found))
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
        norms = skeletons(line)
        found, _exempt = self._screen.matches(line, norms=norms)
        words = norms[0].text.split()
        head = tail = " ".join(words)  # a short line is its own head and tail (one string, kept once)
        if len(words) > _JOINT_WORDS:
            head, tail = " ".join(words[:_JOINT_WORDS]), " ".join(words[-_JOINT_WORDS:])
        return _LineResult(
            tuple((m.category, m.key) for m in found) or _NONE, self.identifiers(line) or _NONE, head, tail
        )

    def _scan_joint(self, joint: str) -> tuple[tuple[str, str], ...]:
        return tuple(self._screen.view_matches(joint))

    def _scan(self, text: str) -> Iterator[_LineResult]:
        """Every line's result (cached by line), and the matches at the joints between lines."""
        previous: _LineResult | None = None
        lines = self._lines
        joints = self._joints
        for line in text.split("\n"):
            if not line or line.isspace():
                continue
            result = lines.get(line, self._scan_line)
            if previous is not None:
                glue = "" if _CJK_END.search(previous.tail) and _CJK_START.match(result.head) else " "
                matches = joints.get(previous.tail + glue + result.head, self._scan_joint)
                if matches:
                    yield _LineResult(matches, ())
            previous = result
            yield result

    def _field(self, key: tuple[str, str]) -> _FieldResult:
        name, value = key
        found, exempt = self._screen.matches(value, kind=FIELD_KINDS.get(name))
        return _FieldResult(frozenset(m.category for m in found), frozenset(exempt))

    # -- the template, once per run -----------------------------------------------------

    def check_template(self, source: str) -> None:
        """Refuse a template whose own text carries sensitive content or a customer's contact details.

        The contact details it does carry (a helpline) belong to nobody in the store; letters
        are not re-checked for them.
        """
        found: set[tuple[str, str]] = set()
        if len(source) > _MAX_LETTER_CHARS:
            raise InputError(f"template is longer than {_MAX_LETTER_CHARS} characters")
        for number, line in enumerate(source.split("\n"), start=1):
            cats = self.categories(line)
            if cats:
                raise InputError(f"template line {number} carries sensitive content ({', '.join(cats)})")
            for kind, value in self.identifiers(line):
                if self._owners.owners(kind, value):
                    raise InputError(f"template line {number} carries a customer's {kind}")
                found.add((kind, value))
        whole = self.categories(source)  # wording split over lines: "sorry for⏎your loss"
        if whole:
            raise InputError(f"template carries sensitive content ({', '.join(whole)})")
        self._template_identifiers = frozenset(found)

    # -- every letter -------------------------------------------------------------------------

    def check(self, letter: Letter) -> tuple[GateReason, ...]:
        """The reasons to withhold ``letter`` (empty: it may go out)."""
        reasons: list[GateReason] = []
        if letter.stored_sensitive:
            merged = sorted(f for f in letter.values if f in FREE_TEXT_FIELDS or f in _DERIVED_TEXT)
            if merged:
                reasons.append(GateReason(STORED_ANALYSIS, ",".join(merged)))
        texts = [
            (name, value)
            for name, value in letter.values.items()
            if value and (name in FREE_TEXT_FIELDS or name in _DERIVED_TEXT)
        ]
        for name, value in texts:
            shape = self._shapes.get((name, value), _shape_of)
            if shape is not None:
                reasons.append(GateReason(shape, name))
        found: list[tuple[str, str]] = []
        identifiers: dict[tuple[str, str], None] = {}
        for result in self._scan(letter.text):
            found.extend(result.matches)
            identifiers.update(dict.fromkeys(result.identifiers))
        if found or any("\n" in value for _name, value in texts):
            # which fields carry it, which words they hold as names or places; a value over
            # several lines is read whole
            by_category: dict[str, set[str]] = {}
            exempt: set[str] = set()
            for name, value in texts:
                checked = self._fields.get((name, value), self._field)
                exempt |= checked.exempt
                for category in checked.categories:
                    by_category.setdefault(category, set()).add(name)
            for category, key in found:
                if key not in exempt:
                    by_category.setdefault(category, set())
            for category in sorted(by_category):
                fields = by_category[category]
                reasons.append(GateReason(category, ",".join(sorted(fields)) if fields else LETTER))
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

"""Record-aware detection: the names, emails and phones of customers in the store.

:class:`KnownRecords` compiles the values into Aho-Corasick automata (pyahocorasick)
matched on normalised, case-folded text.  It lives only in memory: it is built
inside the gateway (purpose ``data_quality``) and is never serialised; it has no
``__repr__`` that shows values and refuses pickling.  Built with
:meth:`KnownRecords.from_records`, each value remembers which customers (internal
ids) it belongs to, so :meth:`KnownRecords.matches` can say whose value a mention is.

:class:`RecordAwareAnalysis` is what a note stores: the generic analysis (Presidio and
hushdb's recognizers, which never see the known records) plus the findings that only
record-aware detection produced, each with the customers it came from.  Every finding
protects (masking reads :meth:`Analysis.from_json` of the stored JSON, which keeps all
of them); :meth:`RecordAwareAnalysis.view` is what one person may be shown: the generic
findings and only those record-only findings whose customer that person may see.  A
mention of a customer outside the person's scope therefore looks exactly like a string
that is no customer at all (no oracle through receipts or read-backs).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Literal

import ahocorasick

from core.errors import InputError
from core.pii.analysis import IDENTIFIER, Analysis, Finding
from core.pii.language import has_cjk
from core.pii.normaliser import NormalisedText

KnownKind = Literal["name", "email", "phone"]
_TYPES: Final = {"name": "PERSON", "email": "EMAIL_ADDRESS", "phone": "PHONE_NUMBER"}
#: The customer field a record-aware finding type stands for (what a reader must be allowed to see).
FIELD_OF_TYPE: Final = {"PERSON": "full_name", "EMAIL_ADDRESS": "email", "PHONE_NUMBER": "phone"}
#: Key of a stored finding that only record-aware detection produced: the customers it names.
RECORD_OF: Final = "record_of"
_PHONE_TAIL: Final = 9  # national significant digits compared (ignores country prefixes)
_MIN_LATIN_NAME: Final = 3
_MIN_CJK_NAME: Final = 2
_DIGIT_GLUE: Final = frozenset(" .-()/+\u00a0")
_SPACES: Final = re.compile(r"\s+")


@dataclass(frozen=True, slots=True)
class _Hit:
    start: int
    end: int
    kind: str
    owners: list[str]


@dataclass(frozen=True, slots=True)
class KnownMatch:
    """A mention of a known value: the finding (original offsets) and the customers whose value it is.

    ``customers`` is empty for automata built with :meth:`KnownRecords.from_pairs`.
    """

    finding: Finding
    customers: frozenset[str] = field(default=frozenset())

    def __repr__(self) -> str:
        f = self.finding
        return f"KnownMatch({f.type} {f.start}-{f.end}, <{len(self.customers)} customers>)"


class KnownRecords:
    """Exact matching of known customer values; build with :meth:`from_pairs`."""

    __slots__ = ("_digits", "_size", "_text")

    def __init__(self) -> None:
        self._text = ahocorasick.Automaton()
        self._digits = ahocorasick.Automaton()
        self._size = 0

    @classmethod
    def from_pairs(cls, pairs: Iterable[tuple[str, str]]) -> KnownRecords:
        """Build from ``(kind, value)`` pairs; kind is ``name``, ``email`` or ``phone``."""
        return cls.from_records((kind, value, None) for kind, value in pairs)

    @classmethod
    def from_records(cls, records: Iterable[tuple[str, str, str | None]]) -> KnownRecords:
        """Build from ``(kind, value, customer_id)``; a value shared by customers names them all."""
        self = cls()
        for kind, value, customer in records:
            self._add(kind, value, customer)
        if self._size:
            if len(self._text):
                self._text.make_automaton()
            if len(self._digits):
                self._digits.make_automaton()
        return self

    def __len__(self) -> int:
        return self._size

    def __repr__(self) -> str:
        return f"KnownRecords(<{self._size} values>)"

    def __reduce__(self) -> str | tuple[object, ...]:
        raise TypeError("KnownRecords holds personal data and is never serialised")

    def _add(self, kind: str, value: str, customer: str | None = None) -> None:
        if kind not in _TYPES:
            raise InputError("known record kind must be name, email or phone")
        owners = [customer] if customer else []  # a list (~64 bytes a value), not a set (~200)
        if kind == "phone":
            digits = "".join(c for c in value if c.isdigit())
            if len(digits) >= 7:
                _put(self._digits, digits[-_PHONE_TAIL:], "phone", owners)
                self._size += 1
            return
        key = _SPACES.sub(" ", value.strip()).casefold()
        cjk = has_cjk(key)
        if len(key) < (_MIN_CJK_NAME if cjk else _MIN_LATIN_NAME):
            return
        _put(self._text, key, kind, owners)
        self._size += 1
        if kind == "name" and not cjk and " " in key:
            surname = key.rsplit(" ", 1)[1]
            if len(surname) >= 4:
                _put(self._text, surname, "surname", owners)

    def find(self, norm: NormalisedText) -> list[Finding]:
        """Findings in ORIGINAL offsets for every known value in the text."""
        return [m.finding for m in self.matches(norm)]

    def matches(self, norm: NormalisedText) -> list[KnownMatch]:
        """Every known value in the text (ORIGINAL offsets), with the customers it belongs to."""
        if not self._size:
            return []
        hits: list[_Hit] = []
        if len(self._text) and self._text.kind == ahocorasick.AHOCORASICK:
            hits.extend(self._find_text(norm.text))
        if len(self._digits) and self._digits.kind == ahocorasick.AHOCORASICK:
            hits.extend(self._find_digits(norm.text))
        # a surname inside a matched full name is the same mention
        hits = [
            h for h in hits if not any(o is not h and o.start <= h.start and h.end <= o.end for o in hits)
        ]
        out: list[KnownMatch] = []
        for hit in hits:
            start, end = norm.to_original(hit.start, hit.end)
            out.append(
                KnownMatch(Finding(_TYPES[hit.kind], IDENTIFIER, start, end, 1.0), frozenset(hit.owners))
            )
        return out

    def _find_text(self, text: str) -> Iterable[_Hit]:
        folded = text.casefold()
        if len(folded) != len(text):  # rare: case folding changed length; fall back to lower()
            folded = text.lower()
        for end_idx, (length, kind, owners) in self._text.iter(folded):
            start, end = end_idx - length + 1, end_idx + 1
            latin = not has_cjk(folded[start:end])
            if latin and (_is_word(folded, start - 1) or _is_word(folded, end)):
                continue
            if kind == "surname":
                if not text[start].isupper():
                    continue
                kind = "name"
            yield _Hit(start, end, kind, owners)

    def _find_digits(self, text: str) -> Iterable[_Hit]:
        digits: list[str] = []
        where: list[int] = []
        for i, ch in enumerate(text):
            if ch.isdigit():
                digits.append(ch)
                where.append(i)
            elif ch not in _DIGIT_GLUE:
                digits.append("#")
                where.append(i)
        projected = "".join(digits)
        for end_idx, (length, _kind, owners) in self._digits.iter(projected):
            start = end_idx - length + 1
            nxt = end_idx + 1
            if nxt < len(projected) and projected[nxt].isdigit():
                continue
            # extend left over a country/trunk prefix glued to the match
            while start > 0 and projected[start - 1].isdigit():
                start -= 1
            yield _Hit(where[start], where[end_idx] + 1, "phone", owners)


def _is_word(text: str, i: int) -> bool:
    return 0 <= i < len(text) and (text[i].isalnum() or text[i] == "_")


def _put(automaton: Any, key: str, kind: str, owners: list[str]) -> None:
    """Add ``key``; a key already there keeps one entry naming every customer it belongs to
    (the list grows in place: linear in the customers sharing a value).

    A full name wins over a derived surname (a name matches in any case, a surname only
    capitalised); otherwise the first kind stays.
    """
    old = automaton.get(key, None)
    if old is None:
        automaton.add_word(key, (len(key), kind, list(owners)))  # one list per key: it grows in place
        return
    _length, old_kind, old_owners = old
    old_owners.extend(owners)
    if kind == "name" and old_kind == "surname":
        automaton.add_word(key, (len(key), kind, old_owners))


FindingKey = tuple[str, int, int]
Visibility = Callable[[str, frozenset[str]], bool]
"""``visible(field, customers)``: may this person see ``field`` (``full_name``, ``email``,
``phone``) of at least one of ``customers``?  Anything but a clear yes hides the finding."""


def _key(f: Finding) -> FindingKey:
    return (f.type, f.start, f.end)


@dataclass(frozen=True, slots=True)
class RecordAwareAnalysis:
    """A note's stored analysis: every finding protects; :meth:`view` is what one person is shown.

    ``record_of`` maps each finding that ONLY record-aware detection produced (no generic
    detector reported the same type at the same offsets) to the customers whose value it
    is.  Stored inside the note's encrypted analysis JSON under :data:`RECORD_OF`;
    :meth:`Analysis.from_json` ignores the key, so masking uses every finding.
    """

    analysis: Analysis
    record_of: Mapping[FindingKey, frozenset[str]]

    def __repr__(self) -> str:
        return (
            f"RecordAwareAnalysis({len(self.analysis.findings)} findings, {len(self.record_of)} record-only)"
        )

    @classmethod
    def combine(cls, generic: Analysis, matches: Sequence[KnownMatch]) -> RecordAwareAnalysis:
        """``generic`` is the engine's analysis made WITHOUT known records; ``matches`` are the known
        values in the same text.  A match a generic detector also reported adds nothing (it is
        reported the same way for any string of that shape); the others are kept, with their
        customers, and never drop or alter a generic finding."""
        generic_keys = {_key(f) for f in generic.findings}
        extra: dict[FindingKey, frozenset[str]] = {}
        for m in matches:
            key = _key(m.finding)
            if key not in generic_keys:
                extra[key] = extra.get(key, frozenset()) | m.customers
        if not extra:
            return cls(generic, {})
        findings = generic.findings + tuple(Finding(t, IDENTIFIER, s, e, 1.0) for t, s, e in extra)
        return cls(Analysis.build(language=generic.language, findings=findings), extra)

    def view(self, visible: Visibility) -> Analysis:
        """The analysis as one person may see it: the generic findings, and a record-only finding
        only when ``visible`` says they may see that field of one of its customers.  Labels and
        sensitivity are derived from what is shown, so a hidden finding leaves no trace."""
        if not self.record_of:
            return self.analysis
        shown = tuple(
            f
            for f in self.analysis.findings
            if (owners := self.record_of.get(_key(f))) is None
            or (owners and f.type in FIELD_OF_TYPE and visible(FIELD_OF_TYPE[f.type], owners))
        )
        if len(shown) == len(self.analysis.findings):
            return self.analysis
        return Analysis.build(language=self.analysis.language, findings=shown)

    def to_json(self) -> str:
        doc = self.analysis.to_dict()
        for f in doc["findings"]:
            owners = self.record_of.get((f["type"], f["start"], f["end"]))
            if owners is not None:
                f[RECORD_OF] = sorted(owners)
        return json.dumps(doc, ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def from_json(cls, data: str | bytes) -> RecordAwareAnalysis:
        analysis = Analysis.from_json(data)  # validates the rest; raises InputError
        record_of: dict[FindingKey, frozenset[str]] = {}
        try:
            for f in json.loads(data)["findings"]:
                owners = f.get(RECORD_OF)
                if owners is None:
                    continue
                if not isinstance(owners, list) or not all(isinstance(o, str) for o in owners):
                    raise TypeError("record_of must be a list of ids")
                record_of[(str(f["type"]), int(f["start"]), int(f["end"]))] = frozenset(owners)
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise InputError("stored analysis is not valid JSON of an Analysis") from exc
        return cls(analysis, record_of)

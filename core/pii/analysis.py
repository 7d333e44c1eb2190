"""The value an analysis produces: findings, labels, sensitivity, analyser version.

An :class:`Analysis` is computed once when a note (or any free-text field) is
written and stored with it, encrypted.  Offsets always refer to the ORIGINAL
text, so masking at export needs nothing but the text and this value.  The JSON
form carries no matched values, only types, categories and offsets.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any, Final, Literal, cast

from core.errors import InputError

#: Bump whenever recognizers, word lists or thresholds change: stored analyses
#: with another version are re-analysed before export.
#: 1.5.1: the skeleton reads long leetspeak (p4553d), short leet beside it (1n m3m0ry 0f), a number glued to a
#: capitalised word (Stage4Cancer), a mixed-case postcode-shaped word (Re5t); misspelt terms in fields.
#: 1.5.0: an English word in a Chinese note is no proper noun (Hold住, extra, cheap; not Grace or Paris); a
#: date more than 172 years back keeps its year; a phone number's brackets stay outside it; a verb after a
#: title or kinship word is no name (和老公商量); terse remarks (dad d. 2019, the late Mrs X, homeless, coma).
#: 1.4.9: sympathy worded other ways (saddened to learn of, thoughts are with you, share your grief, get
#: well soon, 痛失至亲, 在天之灵, 早日康复).
#: 1.4.8: the postcode-shaped leetspeak reading of 1.4.6 is withdrawn (it sent most UK addresses, whose
#: postcodes hold 0, 1, 3, 4, 5 or 7, down the slow path of the skeleton: the import screen cost 3x).
#: 1.4.7: terms glued to a number or an underscore (RIP2023); separators between Chinese characters dropped
#: (病·逝); shorthand of death, illness, addiction and debt (DOD, NOK informed, terminal dx, DMP); a word
#: broken over two lines in a field.
#: 1.4.6: a leetspeak word shaped like a postcode's half (aw4y, re5t) is read as letters too, as a variant.
#: 1.4.5: Chinese text that names no one is kept: a news dateline's date, a product's release date, "vs",
#: a character repeated as an interjection, an abbreviation with its edition's year (WCG2011).
#: 1.4.4: the skeleton reads an l in a word in capitals as I (RlP) and a slash between letters as a space.
#: 1.4.3: a date to the day keeps its written year (2013年<DATE_TIME>, <DATE_TIME>, 2013): HIPAA Safe Harbor.
#: 1.4.2: a trademark-shaped Latin word (iPad) or a file extension in a Chinese note is no name;
#: places named after a people or a person (宁夏回族自治区, Christian Oval) are no sensitive term.
#: 1.4.1: Chinese everyday uses of terms, names.
ANALYSER_VERSION: Final = "hushdb-pii/1.5.1"

#: A date to the day keeps its year only when that year is fewer than this many years back (HIPAA Safe
#: Harbor, 45 CFR 164.514(b)(2)(i)(C): all elements of dates except the year, but the year too where it
#: may indicate an age over 89, as a year of birth may); 80, not 90, leaves room for an analysis stored
#: years before its export.
YEAR_KEPT_WITHIN: Final = 80


#: Past this many years back a year is history: the longest human life (122 years) and the 50 years after
#: death for which HIPAA still protects a decedent's health information (45 CFR 160.103, "protected health
#: information" excludes a person dead more than 50 years).  A date there tells no one's age.
HISTORY_BEFORE: Final = 172


def year_kept(year: int, *, today: dt.date | None = None) -> bool:
    """Whether a date's (four-digit) year may stay in clear: fewer than YEAR_KEPT_WITHIN years back, or
    more than HISTORY_BEFORE (the month and day are masked either way)."""
    this_year = (today or dt.date.today()).year
    return year > this_year - YEAR_KEPT_WITHIN or year < this_year - HISTORY_BEFORE


Language = Literal["en", "zh", "mixed"]
Sensitivity = Literal["none", "personal", "sensitive"]

#: Category of direct identifiers (names, contacts, ID numbers, addresses, cards).
IDENTIFIER: Final = "identifier"
#: Category of quasi-identifiers (dates, places, organisations, titles, ages).
QUASI_IDENTIFIER: Final = "quasi_identifier"

#: The special categories and sensitive life events, in a stable order.
SENSITIVE_CATEGORIES: Final[tuple[str, ...]] = (
    "bereavement",
    "accident",
    "health",
    "pregnancy",
    "mental_health",
    "addiction",
    "disability",
    "family_breakdown",
    "financial_distress",
    "religion",
    "political",
    "sexual_orientation",
    "ethnicity",
    "criminal_record",
)


def sensitive_type(category: str) -> str:
    """The entity type of a sensitive category (``health`` -> ``HEALTH``)."""
    return category.upper()


#: A fact's extent (see :attr:`Finding.fact`): (start, end, checked from); the first and third are both
#: ``None`` or both set.
FactExtent = tuple[int | None, int | None, int | None]


@dataclass(frozen=True, slots=True)
class Finding:
    """One span of personal or sensitive content, in original-text offsets (end exclusive).

    ``fact`` (sensitive findings in Chinese text only): where the fact that the finding carries begins
    and ends, read from the Chinese model's words when the note was analysed (see
    :mod:`core.pii.zh_fact`): (its subject's first word, the word before which a new clause begins,
    where the analyser began to check that no possible subject stands before the first).  ``None`` on
    either side when the words do not show it: masking then withholds to that side of the clause (and
    the clauses its subject may be in).
    """

    type: str
    category: str
    start: int
    end: int
    score: float
    fact: FactExtent | None = None

    @property
    def is_sensitive(self) -> bool:
        return self.category in SENSITIVE_CATEGORIES

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "type": self.type,
            "category": self.category,
            "start": self.start,
            "end": self.end,
            "score": round(self.score, 3),
        }
        if self.fact is not None:
            out["fact"] = list(self.fact)
        return out


@dataclass(frozen=True, slots=True)
class Analysis:
    version: str
    language: Language
    findings: tuple[Finding, ...]
    labels: tuple[str, ...]
    sensitivity: Sensitivity

    @classmethod
    def build(cls, *, language: Language, findings: tuple[Finding, ...]) -> Analysis:
        """Derive labels and sensitivity from findings (sorted by position)."""
        ordered = tuple(sorted(findings, key=lambda f: (f.start, -f.end, f.type)))
        labels = tuple(c for c in SENSITIVE_CATEGORIES if any(f.category == c for f in ordered))
        sensitivity: Sensitivity
        if labels:
            sensitivity = "sensitive"
        elif any(f.category == IDENTIFIER for f in ordered):
            sensitivity = "personal"
        else:
            sensitivity = "none"
        return cls(
            version=ANALYSER_VERSION,
            language=language,
            findings=ordered,
            labels=labels,
            sensitivity=sensitivity,
        )

    @property
    def is_current(self) -> bool:
        """False when produced by another analyser version (re-analyse before export)."""
        return self.version == ANALYSER_VERSION

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "language": self.language,
            "findings": [f.to_dict() for f in self.findings],
            "labels": list(self.labels),
            "sensitivity": self.sensitivity,
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def from_json(cls, data: str | bytes) -> Analysis:
        try:
            raw = json.loads(data)
            findings = tuple(
                Finding(
                    type=str(f["type"]),
                    category=str(f["category"]),
                    start=int(f["start"]),
                    end=int(f["end"]),
                    score=float(f["score"]),
                    fact=_fact(f.get("fact")),
                )
                for f in raw["findings"]
            )
            language = str(raw["language"])
            sensitivity = str(raw["sensitivity"])
            if language not in ("en", "zh", "mixed") or sensitivity not in ("none", "personal", "sensitive"):
                raise ValueError("bad language or sensitivity")
            return cls(
                version=str(raw["version"]),
                language=cast(Language, language),
                findings=findings,
                labels=tuple(str(x) for x in raw["labels"]),
                sensitivity=cast(Sensitivity, sensitivity),
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise InputError("stored analysis is not valid JSON of an Analysis") from exc


def _fact(raw: Any) -> FactExtent | None:
    """A stored ``fact`` extent: ``[start or null, end or null, checked from or null]``, or absent."""
    if raw is None:
        return None
    if not isinstance(raw, list):
        raise TypeError("a fact's extent is a list")
    start, end, checked = (None if x is None else int(x) for x in raw)  # ValueError / TypeError
    if (start is None) != (checked is None):
        raise ValueError("a fact's start comes with where it was checked from")
    return (start, end, checked)

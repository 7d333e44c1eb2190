"""Contact blocks: postal labels, signatures and address blocks, masked line by line.

A note that carries an address block ("Jane Doe / Acme Ltd / 12 Mill Lane / Apt. 4 /
Leeds / United Kingdom LS1 4AB") is personal data on every line, yet NER sees short
fragments without a sentence around them and finds only some.  This recognizer
finds the block by its shape and masks each line:

* lines are split on newlines; leading decoration (``>``, ``|``, bullets, ``???``)
  and a ``Label:`` prefix are set aside, only the value is masked;
* a run of short lines (at most eight words, no sentence ending), blank lines
  allowed inside, is a block when one of its lines is an **anchor**: a street line
  (a house number then words), a unit or box line (``Apt. 5``, ``Suite 200``,
  ``PSC 1234, Box 56``), a military address (``APO AE 09012``), a postcode, a
  country with or without a postcode, or a labelled phone line;
* in a block, anchors are masked whatever their case; other lines only when they
  look like names (every word capitalised, a name particle, or the whole text is
  written without capitals), so "Wants the winter catalogue" survives.

Line types: before the first anchor the first line is a PERSON and the rest
ORGANIZATION (a signature's company or job title); anchors are ADDRESS, ZIP_CODE,
LOCATION or PHONE_NUMBER; lines after the first anchor are LOCATION.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

from presidio_analyzer import LocalRecognizer, RecognizerResult
from presidio_analyzer.nlp_engine import NlpArtifacts
from spacy.lang.en.stop_words import STOP_WORDS

from core.pii.gazetteer import gazetteer
from core.pii.recognizers.base import NAME_PARTICLES, is_caseless
from core.pii.recognizers.en_identifiers import STREET as SUFFIXED_STREET

MAX_WORDS: Final = 8
MAX_CHARS: Final = 80
SCORE: Final = 0.7

_LINE: Final = re.compile(r"[^\n]*")
_DECOR: Final = re.compile(r"(?:\s|>|\||•|·|\*|–|—|-(?=\s)|\?{2,})*")
_LABEL: Final = re.compile(r"([^\W\d_][\w .'/&-]{0,30}?)\s*:\s*(?=\S)")
_WORD: Final = re.compile(r"[^\W\d_][\w'’.\-]*|\d[\w\-/.]*")
_STREET: Final = re.compile(r"\d{1,6}[A-Za-z]?(?:[-/]\d{1,5})?\.?,?\s+(?:\d{1,5}\s+)?[^\W\d_]")
_STREET_TAIL: Final = re.compile(r"(?<![\w'’.\-])[^\W\d_][\w'’.\-]*+\s+\d{1,5}[a-z]?\.?(?:\s|$)")
_UNIT: Final = re.compile(
    r"(?:apt|apartment|suite|ste|unit|flat|floor|fl|room|rm|box|p\.?\s?o\.?\s*box|postbox|psc|cmr|"
    r"usns|usnv|uss|uscgc)\b\.?\s*#?\s*[\w\-]*\d",
    re.IGNORECASE,
)
_MILITARY: Final = re.compile(r"\b(?:APO|FPO|DPO)\s+(?:AA|AE|AP)\s+\d{5}\b", re.IGNORECASE)
_POSTCODE: Final = re.compile(
    r"(?:\d{3,5}(?:[ -]\d{2,4})?|\d{2}-\d{3}|[A-Z]\d[A-Z]\s?\d[A-Z]\d|[A-Z]{1,2}\d[A-Z\d]?\s?\d[A-Z]{2})",
    re.IGNORECASE,
)
_TRAILING_POSTCODE: Final = re.compile(r"(?<![\s,])[\s,]++(?:" + _POSTCODE.pattern + r")$", re.IGNORECASE)
_CITY_POSTCODE: Final = re.compile(
    r"(?<![\w'’.\-])(?:[^\W\d_][\w'’.\-]*+,?\s+){1,4}(?:" + _POSTCODE.pattern + r")", re.IGNORECASE
)
_PHONE_LINE: Final = re.compile(
    r"\+?[\d(][\d ().\-]{5,}\d(?:\s*(?:x|ext\.?)\s*\d+)?(?:\s*[-–,]?\s*[^\W\d_]{2,12})?", re.IGNORECASE
)
_BRACKETED: Final = re.compile(r"(?<!\s)\s*+\([^()]*+\)")  # innermost brackets: linear on "(((("
_PHONE_LABEL: Final = re.compile(
    r"(?:phone|tel|telephone|mobile|mob|cell|desk|fax|office|home|work|direct|landline|whatsapp)",
    re.IGNORECASE,
)
# Patterns that scan words start only where a word starts ((?<![\w...]) and possessive runs): started
# inside a long word or run of spaces, each attempt would re-read the rest of it (quadratic).
_SENTENCE_END: Final = re.compile(r"[!?]$|(?<![A-Z])(?<!\b[a-z])(?<!\d)\.$|[,;]$")
# Where a block meets prose ("please send it to 12 Mill Lane / Leeds LS1 4AB after the show"), a line with
# two stop words or more is masked only where an anchor pattern matches, not whole.
_PROSE_ANCHORS: Final = (
    re.compile(r"\d{1,6}[A-Za-z]?\s+(?:\d{1,5}\s+)?(?:[^\W\d_][\w'’.\-]*\s+){1,4}\d{1,5}[a-z]?\b"),
    re.compile(r"(?:(?<=\s)|^)" + _UNIT.pattern + r"(?:,?\s*box\s*\d+)?", re.IGNORECASE),
    _MILITARY,
    SUFFIXED_STREET,
    re.compile(r"^(?:[A-Z]{1,2}\d[A-Z\d]?\s?\d[A-Z]{2}|[A-Z]\d[A-Z]\s?\d[A-Z]\d|\d{4,5})(?=\s)"),
    re.compile(r"(?<![\w'’.\-])(?:[A-ZÀ-ÖØ-Þ][\w'’.\-]*+\s+){1,3}\d{4,5}\b"),
)
# Connecting words that do not make a line prose ("Marshall, Hernandez and Simpson").
_NAME_PARTICLES: Final = NAME_PARTICLES | {"and", "of", "the"}
_PARTICLES: Final = _NAME_PARTICLES | set("dello dos das do zu ibn te i e und et og och & u. s.".split())


@dataclass(frozen=True, slots=True)
class _Line:
    start: int  # of the value, in the text
    end: int
    value: str
    label: str

    @property
    def blank(self) -> bool:
        return not self.value


def _lines(text: str) -> list[_Line]:
    lines: list[_Line] = []
    for m in _LINE.finditer(text):
        raw = m.group(0)
        pos = _DECOR.match(raw)
        offset = pos.end() if pos else 0
        label = ""
        lm = _LABEL.match(raw, offset)
        if lm is not None:
            label = lm.group(1).strip()
            offset = lm.end()
        value = raw[offset:].rstrip()
        lines.append(_Line(m.start() + offset, m.start() + offset + len(value), value, label))
        if m.end() == len(text):
            break
    return lines


def _short(line: _Line) -> bool:
    if not line.value:
        return True
    if len(line.value) > MAX_CHARS or len(_WORD.findall(line.value)) > MAX_WORDS:
        return False
    return not (_SENTENCE_END.search(line.value) and not any(ch.isdigit() for ch in line.value))


def _country(value: str) -> bool:
    core = _BRACKETED.sub("", _TRAILING_POSTCODE.sub("", value)).strip(" ,")
    return bool(core) and gazetteer().kind(core) == "country"


def _stop_words(value: str) -> int:
    return sum(
        1 for w in _WORD.findall(value) if w.lower() in STOP_WORDS and w.lower() not in _NAME_PARTICLES
    )


def _street_start(value: str) -> bool:
    m = _STREET.match(value)
    if m is None:
        return False
    first = _WORD.findall(value[m.end() - 1 :])
    return bool(first) and first[0].lower() not in STOP_WORDS


def _prose(value: str) -> bool:
    return _stop_words(value) >= 2


def _anchor(line: _Line, prose: bool) -> str | None:
    """The entity type when the line anchors a block, else None."""
    v = line.value
    if not v:
        return None
    if prose:
        return "ADDRESS" if any(p.search(v) for p in _PROSE_ANCHORS) else None
    if line.label and _PHONE_LABEL.fullmatch(line.label) and sum(c.isdigit() for c in v) >= 6:
        return "PHONE_NUMBER"
    if _MILITARY.search(v) or _UNIT.match(v):
        return "ADDRESS"
    if _country(v):
        return "LOCATION"
    if _street_start(v) or (_STREET_TAIL.match(v) and any(c.isdigit() for c in v)):
        return "ADDRESS"
    if _POSTCODE.fullmatch(v):
        return "ZIP_CODE"
    if _PHONE_LINE.fullmatch(v) and sum(c.isdigit() for c in v) >= 7:
        return "PHONE_NUMBER"
    if _CITY_POSTCODE.fullmatch(v):
        return "LOCATION"
    return None


def _name_like(value: str, caseless: bool) -> bool:
    words = [w for w in _WORD.findall(value) if not w[0].isdigit()]
    if not words:
        return False
    if caseless:
        return True
    return all(w[0].isupper() or w.lower() in _PARTICLES for w in words) and any(
        w[0].isupper() for w in words
    )


class ContactBlockRecognizer(LocalRecognizer):
    """Masks every line of a postal label, signature or address block (see the module doc)."""

    def __init__(self, *, language: str = "en") -> None:
        super().__init__(
            supported_entities=["PERSON", "ORGANIZATION", "ADDRESS", "ZIP_CODE", "LOCATION", "PHONE_NUMBER"],
            name=f"HushContactBlock_{language}",
            supported_language=language,
        )

    def load(self) -> None:
        """Nothing to load: the gazetteer is shared and loaded on first use."""

    def analyze(
        self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None
    ) -> list[RecognizerResult]:
        if "\n" not in text.strip():
            return []
        caseless = is_caseless(text)
        results: list[RecognizerResult] = []
        run: list[_Line] = []
        for line in _lines(text):
            if _short(line):
                run.append(line)
            else:
                results.extend(self._block(run, caseless))
                run = []
        results.extend(self._block(run, caseless))
        wanted = set(entities) if entities else None
        return [r for r in results if wanted is None or r.entity_type in wanted]

    @staticmethod
    def _block(run: list[_Line], caseless: bool) -> list[RecognizerResult]:
        lines = [ln for ln in run if not ln.blank]
        if len(lines) < 2:
            return []
        prose = [_prose(ln.value) for ln in lines]
        anchors = [_anchor(ln, p) for ln, p in zip(lines, prose, strict=True)]
        if not any(anchors):
            return []
        first = next(i for i, a in enumerate(anchors) if a)
        out: list[RecognizerResult] = []
        for i, (ln, anchor, is_prose) in enumerate(zip(lines, anchors, prose, strict=True)):
            if anchor is not None and is_prose:
                for pattern in _PROSE_ANCHORS:
                    for m in pattern.finditer(ln.value):
                        out.append(RecognizerResult(anchor, ln.start + m.start(), ln.start + m.end(), SCORE))
            elif anchor is not None:
                out.append(RecognizerResult(anchor, ln.start, ln.end, SCORE))
            elif ln.value.endswith(":") or is_prose:
                continue
            elif _name_like(ln.value, caseless):
                kind = "LOCATION" if i > first else ("PERSON" if i == 0 else "ORGANIZATION")
                out.append(RecognizerResult(kind, ln.start, ln.end, SCORE))
        return out

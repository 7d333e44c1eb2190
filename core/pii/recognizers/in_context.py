"""English identifiers recognised by the words around them, not by their own shape.

The small spaCy model misses names, places and organisations that it has never
seen, above all foreign ones and text typed without capitals.  What gives them
away is context that any reader uses:

* **places**: a country name anywhere; a town, city or region from the GeoNames
  gazetteer (:mod:`core.pii.gazetteer`) after a place word ("in", "to", "from",
  "lives in" ...) or before ", <country>"; a word in capitals after a place word;
* **addresses in a sentence**: a house number, a street name and a number
  ("5049 Harjukuja 54, Seinäjoki"), or a street after "lives on", "address:",
  "corner of", with the unit and the town that follow;
* **numbers by their label**: a postcode after "zip", "postcode"; any 12 to 19
  digits after "card" (a card number that fails its checksum is still a card
  number to the person who typed it); 7 or more digits in groups after a phone
  word;
* **people**: the words after "my name is", "called", "speak to", "Dear", a
  relative ("my son Tom"), "Name:", "Directed by"; a list of capitalised words
  in which one is already a person ("Anna, Tom and Jo") is a list of people, and
  a person's name elsewhere in the same text is the same person
  (:func:`propagate_people`);
* **organisations**: the words after "work for", and capitalised words ending in a
  company form ("Acme Holdings", "Smith & Sons Ltd").

Words must be capitalised unless the whole text is written without capitals (then
case says nothing and the context alone decides).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from functools import lru_cache
from typing import Final

from presidio_analyzer import LocalRecognizer, RecognizerResult
from presidio_analyzer.nlp_engine import NlpArtifacts
from spacy.lang.en.stop_words import STOP_WORDS

from core.pii.gazetteer import MAX_WORDS, first_names, fold, gazetteer
from core.pii.recognizers.base import NAME_PARTICLES, is_caseless

_W: Final = r"[^\W\d_][\w'’\-]*"  # a word (any script)
_WP: Final = r"[^\W\d_][\w'’\-]*+"  # the same, possessive: where a pattern starts at a word start
_NAME_WORDS: Final = rf"{_W}(?:\.?[ \t]+{_W}){{0,2}}"
_MONTHS_DAYS: Final = frozenset(
    "january february march april may june july august september october november december "
    "monday tuesday wednesday thursday friday saturday sunday today tomorrow yesterday tonight "
    "christmas easter".split()
)
_NOT_NAMES: Final = frozenset(
    "i me my mine we us our you your he him his she her they them their it its this that these those "
    "the a an and or but if so then there here what who whom which when where why how all any some no "
    "not yes ok okay please thanks thank sorry hello hi dear mr mrs ms miss dr sir madam team customer "
    "client manager sales support everyone someone anyone nobody back home again later soon now".split()
)

_PLACE_WORD: Final = re.compile(
    r"(?:\b(?:in|to|from|at|near|around|outside|via|into|towards?|visit(?:ed|ing)?|leave|left|"
    r"live[sd]?|living|based|born|moved?|flew|fly|flying|travel(?:led|ing)?|trip|relocat(?:ed|ing))\s+)$",
    re.IGNORECASE,
)
_PLACE_CANDIDATE: Final = re.compile(rf"{_W}(?:[ \-]{_W}){{0,{MAX_WORDS - 1}}}")
_FOLLOWED_BY_PLACE: Final = re.compile(rf",\s*({_W}(?:\s{_W}){{0,3}})")

_STREET_INLINE: Final = re.compile(
    rf"(?<![\w.,])\d{{1,6}}[a-z]?\s+(?:\d{{1,5}}\s+)?(?:{_W}\.?\s+){{1,4}}\d{{1,5}}[a-z]?\b\.?"
    rf"(?:\s+(?:apt|apartment|suite|unit|flat)\.?\s*\d+)?",
    re.IGNORECASE,
)
_STREET_AFTER: Final = re.compile(
    rf"\b(?:lives?\s+(?:on|at)|living\s+(?:on|at)|address(?:\s+is)?\s*:?|located\s+(?:on|at)|corner\s+of|"
    rf"enter\s+on|stop\s+at|off\s+at|deliver(?:ed)?\s+to|send\s+(?:it\s+|them\s+)?to|ship(?:ped)?\s+to)\s+"
    rf"(?P<v>(?:\d{{1,6}}\s+)?(?:{_W}\.?\s+){{1,4}}\d{{1,5}}[a-z]?\b\.?"
    rf"(?:\s+(?:apt|apartment|suite|unit|flat)\.?\s*\d+)?)",
    re.IGNORECASE,
)
_TOWN_TAIL: Final = re.compile(rf"(?:,?(?<![ \t])[ \t]++(?P<t>{_W}(?:[ \t]+{_W}){{0,2}}))")
_ZIP: Final = re.compile(
    r"\b(?:zip(?:\s*code)?|post\s*code|postal\s*code|plz)(?:\s+is)?\s*[:#]?\s*"
    r"(?P<v>[A-Z0-9](?:[A-Z0-9]|[ \-](?=[A-Z0-9])){1,9})",
    re.IGNORECASE,
)
_CARD: Final = re.compile(
    r"\b(?:card|cc)(?:\s+(?:number|no\.?|num|#))?\s*[:#]?\s*(?P<v>\d(?:[ \-]?\d){11,18})(?!\d)",
    re.IGNORECASE,
)
_PHONE: Final = re.compile(
    r"\b(?:call(?:ed)?|phone|tel|telephone|mobile|cell|number|fax|whatsapp|text|sms|reach(?:ed)?|"
    r"answering|registered|contact|on|at)(?:\s+(?:me|him|her|them|us|no\.?|number|on|at))?\s*[:#]?\s*"
    r"(?P<v>\+?\(?\d[\d)]*(?:[ .\-]\(?\d+\)?){1,5})(?![\w])",
    re.IGNORECASE,
)
_PERSON_AFTER: Final = re.compile(
    rf"\b(?:(?:my|his|her|their|your|the)\s+)?(?:(?:last|first|full|given|maiden|middle|sur)\s*)?"
    rf"name(?:\s+is|\s*:|\?)\s*(?P<v>{_NAME_WORDS})"
    rf"|\b(?:called|named|call\s+me|calls\s+me|i'm|i\s+am|this\s+is|ask\s+for|speak\s+(?:to|with)|"
    rf"spoke\s+(?:to|with)|talk(?:ed)?\s+(?:to|with)|meet|met|dear|hi|hello|regards,?|thanks,?|"
    rf"directed\s+by:?|written\s+by:?|signed\s+by:?|my\s+(?:kid|son|daughter|wife|husband|partner|mother|"
    rf"father|mum|mom|dad|brother|sister|friend|boss|colleague|grandson|granddaughter|uncle|aunt))\s+"
    rf"(?P<w>{_NAME_WORDS})",
    re.IGNORECASE,
)
_ORG_AFTER: Final = re.compile(
    rf"\b(?:work(?:s|ed|ing)?\s+(?:for|at)|employed\s+(?:by|at)|job\s+at|joined)\s+(?P<v>{_W}(?:[ \t]+{_W}){{0,3}})",
    re.IGNORECASE,
)
_ORG_FORM: Final = re.compile(
    rf"(?<![\w'’\-])(?P<v>(?:{_WP}[,&]?\s+(?:&\s+|and\s+)?){{1,3}}(?:Inc|Ltd|LLC|LLP|GmbH|AG|SA|SAS|SpA|BV|NV|AB|ASA|Oy|PLC|"
    rf"Corp|Corporation|Company|Group|Technologies|Technology|Partners|Holdings|Industries|Systems|"
    rf"Solutions|Markets|Ventures|Labs|Consulting|Associates)\b\.?)"
)
# a list of at most _MAX_LIST words, started only where a word starts: linear on long words and lists
_MAX_LIST: Final = 32
_LIST: Final = re.compile(rf"(?<![\w'’\-]){_WP}(?:,\s+{_WP}){{1,{_MAX_LIST}}},?\s+(?:and|or|&)\s+{_W}")
_WORD: Final = re.compile(_W)
_Add = Callable[[str, int, int, float], None]


def _capitalised(words: Sequence[str], caseless: bool) -> bool:
    if caseless:
        return True
    return (
        bool(words)
        and words[0][0].isupper()
        and all(w[0].isupper() or w.lower() in NAME_PARTICLES for w in words)
    )


def _trim_name(text: str, start: int, end: int, caseless: bool) -> tuple[int, int] | None:
    """Keep the leading capitalised words of text[start:end] that can be a name."""
    kept_end = start
    for m in re.finditer(_W + r"\.?", text[start:end]):
        word = m.group(0).rstrip(".")
        low = word.lower()
        if low in _NOT_NAMES or low in _MONTHS_DAYS:
            break
        if not caseless and not word[0].isupper() and low not in NAME_PARTICLES:
            break
        kept_end = start + m.start() + len(word)
    return (start, kept_end) if kept_end > start else None


def _place_spans(text: str, caseless: bool) -> Iterator[tuple[int, int, str]]:
    gaz = gazetteer()
    pos = 0
    while True:
        m = _PLACE_CANDIDATE.search(text, pos)
        if m is None:
            return
        words = list(_WORD.finditer(m.group(0)))
        hit: tuple[int, int, str] | None = None
        for n in range(len(words), 0, -1):
            name = m.group(0)[words[0].start() : words[n - 1].end()]
            kind = gaz.kind(name)
            if kind is not None and name.lower() not in _MONTHS_DAYS:
                hit = (m.start() + words[0].start(), m.start() + words[n - 1].end(), kind)
                break
        if hit is None:
            pos = m.start() + words[0].end()
            continue
        start, end, kind = hit
        pos = end
        value = text[start:end]
        parts = value.replace("-", " ").split()
        cased = _capitalised(parts, caseless) or value.isupper()
        if not cased:
            continue
        if kind == "country":
            yield start, end, "LOCATION"
            continue
        after = _FOLLOWED_BY_PLACE.match(text, end)
        if _PLACE_WORD.search(text[max(0, start - 24) : start]) or (
            after is not None and gaz.kind(after.group(1)) is not None
        ):
            yield start, end, "LOCATION"


_CAPS_PLACE: Final = re.compile(
    r"\b(?:in|to|from|at|near|visit(?:ed|ing)?)\s+(?P<v>[A-ZÀ-ÖØ-ÞΑ-ΩА-Я]{4,}(?:\s+[A-ZÀ-ÖØ-ÞΑ-ΩА-Я]{2,})*)\b"
)


_TOKEN: Final = re.compile(rf"{_W}|[^\w\s]")
_PERSON_VERBS: Final = frozenset(
    "is was has had have lives lived began begins will would can could said says told asked wants wanted "
    "called shouted replied wrote works worked went came moved spent and".split()
)
_PERSON_BEFORE: Final = frozenset(
    "with to at of about for from by heard met meet call ask tell told dear hi hello thanks mr mrs ms miss "
    "dr prof under named called".split()
)
# Given names that are also everyday English words: taken as a name only before a capitalised surname
# or an initial, or after a title ("Mr", "Dr") or a person word ("with", "Dear").
_WORD_NAMES: Final = frozenset(
    "love will may mark bill grace hope rose joy faith art guy sky rain storm major royal noble rich justice "
    "honor honour angel sterling crystal amber ruby pearl jade ginger olive violet daisy poppy iris summer "
    "autumn winter spring forest river chase hunter miles page lane long young king glen dale cliff drew pat "
    "sue ray don carter reed rowan sunny star honey candy happy precious princess prince baby sonny junior "
    "duke earl baron queen lady dean bishop price cash penny frank sandy rusty dusty misty windy brook "
    "brooke heather holly ivy lily jasmine laurel hazel basil sage clay stone rock wood field ford park "
    "hill dell gay merry patience charity prudence constance trinity destiny harmony melody serenity "
    "liberty unity victory blessing lucky ace bud chip buck bear wolf fox hawk jay robin wren lark "
    "august april june january march christian christ jesus allah buddha moses".split()
)
_SENTENCE_START: Final = frozenset(".!?:;\"“”'\n(")
_INITIAL: Final = re.compile(r"[A-Z]\.?$")


def _people_by_name(text: str, caseless: bool) -> Iterator[tuple[int, int]]:
    """Given names from the name dictionary, in a position and case where a reader takes them as a name,
    with the initials and capitalised surnames that follow."""
    names = first_names()
    tokens = list(_TOKEN.finditer(text))
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        word = tok.group(0)
        low = word.lower()
        if not word[0].isalpha() or fold(word) not in names or low in _MONTHS_DAYS or low in STOP_WORDS:
            i += 1
            continue
        prev = tokens[i - 1].group(0) if i else ""
        gap = text[tokens[i - 1].end() : tok.start()] if i else "\n"
        nxt = tokens[i + 1].group(0) if i + 1 < len(tokens) else ""
        initial = not i or "\n" in gap or prev in _SENTENCE_START
        follows = (
            nxt.lower() in _PERSON_VERBS
            or nxt in {",", ":", "'", "’"}
            or (nxt[:1].isupper() and nxt.isalpha())
        )
        if low in _WORD_NAMES:
            ok = (prev.lower() in _PERSON_BEFORE and (caseless or word[0].isupper())) or (
                not caseless and word[0].isupper() and (nxt[:1].isupper() or _INITIAL.match(nxt) is not None)
            )
        elif caseless:
            ok = prev.lower() in _PERSON_BEFORE or (initial and follows and nxt.lower() in _PERSON_VERBS)
        elif not word[0].isupper() or (word.isupper() and len(word) > 1):
            ok = False
        else:
            ok = not initial or follows or _INITIAL.match(nxt) is not None
        if not ok:
            i += 1
            continue
        j = i + 1
        while j < len(tokens) and j - i <= 3:
            w = tokens[j].group(0)
            if text[tokens[j - 1].end() : tokens[j].start()] not in (" ", ""):
                break
            if w == "." and _INITIAL.match(tokens[j - 1].group(0)):
                j += 1
                continue
            if not w[0].isalpha() or (w.lower() in STOP_WORDS and w.lower() not in NAME_PARTICLES):
                break
            if not caseless and not (w[0].isupper() or w.lower() in NAME_PARTICLES):
                break
            j += 1
        end = tokens[j - 1].end()
        while text[end - 1] == "." and not _INITIAL.match(tokens[j - 1].group(0)) and end > tok.start():
            end -= 1
        yield tok.start(), end
        i = j


_DEMONYM: Final = re.compile(
    r"(?<![\w\-])[^\W\d_]{3,}(?:ian|ean|an|ese|ish|i|er|ic|ois)s?(?![\w\-])", re.IGNORECASE
)
_DEMONYM_SUFFIX: Final = re.compile(r"(?:ian|ean|an|ese|ish|i|er|ic|ois)s?$")


@lru_cache(maxsize=1)
def _country_stems() -> dict[str, tuple[str, ...]]:
    stems: dict[str, list[str]] = {}
    for key in gazetteer().countries:
        if " " not in key and len(key) >= 4:
            stems.setdefault(key[:4], []).append(key)
    return {k: tuple(v) for k, v in stems.items()}


def demonym(word: str) -> bool:
    """True for the name of a country's people or language ("Cambodian", "paraguayans", "Greenlander"):
    the word minus a demonym suffix is the start of a country name (at least four letters shared)."""
    key = fold(word)
    m = _DEMONYM_SUFFIX.search(key)
    if m is None:
        return False
    stem = key[: m.start()]
    if len(stem) < 4:
        return False
    for country in _country_stems().get(stem[:4], ()):
        shared = len(stem) if country.startswith(stem) else 0
        if shared == 0:
            base = country.rstrip("aeiouy")
            shared = len(base) if stem.startswith(base) else 0
        if shared >= 4 and shared >= len(country) - 3:
            return True
    return False


class InContextRecognizer(LocalRecognizer):
    """See the module documentation."""

    ENTITIES: Final = (
        "LOCATION",
        "ADDRESS",
        "ZIP_CODE",
        "CREDIT_CARD",
        "PHONE_NUMBER",
        "PERSON",
        "ORGANIZATION",
    )

    def __init__(self, *, language: str = "en") -> None:
        super().__init__(
            supported_entities=list(self.ENTITIES),
            name=f"HushInContext_{language}",
            supported_language=language,
        )

    def load(self) -> None:
        """Nothing to load."""

    def analyze(
        self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None
    ) -> list[RecognizerResult]:
        caseless = is_caseless(text)
        out: list[RecognizerResult] = []

        def add(entity: str, start: int, end: int, score: float) -> None:
            if start < end:
                out.append(RecognizerResult(entity, start, end, score))

        for start, end, entity in _place_spans(text, caseless):
            add(entity, start, end, 0.6)
        for m in _CAPS_PLACE.finditer(text):
            if m.group("v").lower() not in _MONTHS_DAYS:
                add("LOCATION", *m.span("v"), 0.5)
        for m in _STREET_INLINE.finditer(text):
            self._address(text, m.start(), m.end(), caseless, add)
        for m in _STREET_AFTER.finditer(text):
            self._address(text, *m.span("v"), caseless, add)
        for m in _ZIP.finditer(text):
            add("ZIP_CODE", *m.span("v"), 0.6)
        for m in _CARD.finditer(text):
            add("CREDIT_CARD", *m.span("v"), 0.6)
        for m in _PHONE.finditer(text):
            if 7 <= sum(c.isdigit() for c in m.group("v")) <= 15:
                add("PHONE_NUMBER", *m.span("v"), 0.5)
        for m in _PERSON_AFTER.finditer(text):
            group = "v" if m.group("v") is not None else "w"
            span = _trim_name(text, *m.span(group), caseless)
            if span is not None:
                add("PERSON", *span, 0.55)
        for m in _DEMONYM.finditer(text):
            if (caseless or m.group(0)[0].isupper() or m.group(0).islower()) and demonym(m.group(0)):
                add("NRP", m.start(), m.end(), 0.5)
        for start, end in _people_by_name(text, caseless):
            add("PERSON", start, end, 0.5)
        for m in _ORG_AFTER.finditer(text):
            span = _trim_name(text, *m.span("v"), caseless)
            if span is not None:
                add("ORGANIZATION", *span, 0.5)
        for m in _ORG_FORM.finditer(text):
            words = _WORD.findall(m.group("v"))
            if _capitalised(words, caseless) and words[0].lower() not in _NOT_NAMES:
                add("ORGANIZATION", *m.span("v"), 0.55)
        wanted = set(entities) if entities else None
        return [r for r in out if wanted is None or r.entity_type in wanted]

    @staticmethod
    def _address(text: str, start: int, end: int, caseless: bool, add: _Add) -> None:
        words = _WORD.findall(text[start:end])
        if not words or any(w.lower() in _MONTHS_DAYS or w.lower() in STOP_WORDS for w in words):
            return
        tail = _TOWN_TAIL.match(text, end)
        if tail is not None and text[end : end + 1] == ",":
            span = _trim_name(text, *tail.span("t"), caseless)
            if span is not None:
                end = span[1]
        add("ADDRESS", start, end, 0.6)


def propagate_people(text: str, people: Sequence[tuple[int, int]]) -> list[tuple[int, int]]:
    """Spans that are the same person as one already found: other mentions of a found name's words
    (three letters or more, capitalised as found) and the other items of a list that holds a found name."""
    if not people:
        return []
    caseless = is_caseless(text)
    found: set[tuple[int, int]] = set(people)
    words: set[str] = set()
    for start, end in people:
        for w in _WORD.findall(text[start:end]):
            if len(w) >= 3 and w.lower() not in _NOT_NAMES and w.lower() not in NAME_PARTICLES:
                words.add(w if not caseless else w.lower())
    extra: list[tuple[int, int]] = []
    if words:
        pattern = re.compile(r"(?<![\w'’\-])(?:" + "|".join(map(re.escape, sorted(words))) + r")(?![\w\-])")
        for m in pattern.finditer(text):
            if not any(s <= m.start() and m.end() <= e for s, e in found):
                extra.append(m.span())
    for m in _LIST.finditer(text):
        items = [(m.start() + i.start(), m.start() + i.end()) for i in _WORD.finditer(m.group(0))]
        items = [(s, e) for s, e in items if text[s:e].lower() not in {"and", "or"}]
        if not all(caseless or text[s].isupper() for s, e in items):
            continue
        if any(any(ps <= s and e <= pe for ps, pe in found) for s, e in items):
            extra.extend((s, e) for s, e in items if (s, e) not in found)
    return extra

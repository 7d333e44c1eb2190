"""A Presidio recognizer made of precompiled standard-library regular expressions.

Presidio's own ``PatternRecognizer`` recompiles through the ``regex`` module and
builds an explanation per match; hushdb's rules are compiled once with ``re``,
may report a named group instead of the whole match (so context words such as
"Mr" or "先生" are not masked as the name), may validate the value (checksums),
and a cheap ``prefilter`` skips the recognizer when the text cannot match.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Final

from presidio_analyzer import LocalRecognizer, RecognizerResult
from presidio_analyzer.nlp_engine import NlpArtifacts

Prefilter = Callable[[str], bool]


@dataclass(frozen=True, slots=True)
class Rule:
    entity: str
    pattern: re.Pattern[str]
    score: float
    group: str | int = 0
    validate: Callable[[str], bool] | None = None


#: Exactly the characters for which ``str.isdigit`` is true: decimal digits (``\d``) plus the other
#: digits of Unicode (superscripts, subscripts, circled and Ethiopic digits...).  One regular-expression
#: scan instead of a Python loop over every character (every pre-filtered recognizer asks).
_ANY_DIGIT: Final = re.compile(
    "[\\d\u00b2\u00b3\u00b9\u1369-\u1371\u19da\u2070\u2074-\u2079\u2080-\u2089\u2460-\u2468"
    "\u2474-\u247c\u2488-\u2490\u24ea\u24f5-\u24fd\u24ff\u2776-\u277e\u2780-\u2788\u278a-\u2792"
    "\U00010a40-\U00010a43\U00010e60-\U00010e68\U00011052-\U0001105a\U0001f100-\U0001f10a]"
)


_ASCII_UPPER: Final = re.compile("[A-Z]")


def has_digit(text: str) -> bool:
    """True when any character of ``text`` is a digit (``str.isdigit``)."""
    return _ANY_DIGIT.search(text) is not None


def is_caseless(text: str) -> bool:
    """Written without capitals: then case says nothing about names, and context alone decides."""
    if text.isascii():
        return _ASCII_UPPER.search(text) is None
    return not any(map(str.isupper, text))


#: Lower-case words inside personal and place names ("Willemine ten Pas", "Rue de la Paix").
NAME_PARTICLES: frozenset[str] = frozenset(
    "de da di del della van der den von la le du des ten ter bin al el y".split()
)


class RuleRecognizer(LocalRecognizer):
    def __init__(
        self,
        *,
        name: str,
        language: str,
        rules: Sequence[Rule],
        context: Sequence[str] = (),
        prefilter: Prefilter | None = None,
    ) -> None:
        self._rules = tuple(rules)
        self._prefilter = prefilter
        entities = sorted({r.entity for r in self._rules})
        super().__init__(
            supported_entities=entities,
            name=name,
            supported_language=language,
            context=list(context),
        )

    def load(self) -> None:
        """Nothing to load: rules are compiled at construction."""

    def analyze(
        self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None
    ) -> list[RecognizerResult]:
        if self._prefilter is not None and not self._prefilter(text):
            return []
        wanted = set(entities) if entities else None
        results: list[RecognizerResult] = []
        for rule in self._rules:
            if wanted is not None and rule.entity not in wanted:
                continue
            for match in rule.pattern.finditer(text):
                start, end = match.span(rule.group)
                if start >= end:
                    continue
                if rule.validate is not None and not rule.validate(text[start:end]):
                    continue
                results.append(RecognizerResult(rule.entity, start, end, rule.score))
        return results

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


def has_digit(text: str) -> bool:
    return any(c.isdigit() for c in text)


def is_caseless(text: str) -> bool:
    """Written without capitals: then case says nothing about names, and context alone decides."""
    return not any(c.isupper() for c in text)


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

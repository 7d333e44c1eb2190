"""Sensitive-category term lists compiled into one regular expression per language (no Presidio)."""

from __future__ import annotations

import re

from core.pii.analysis import SENSITIVE_CATEGORIES

SENSITIVE_SCORE = 0.85


def _alternation(fragments: tuple[str, ...]) -> str:
    return "|".join(sorted(fragments, key=len, reverse=True))


def compile_terms(terms: dict[str, tuple[str, ...]], *, word_bounded: bool) -> re.Pattern[str]:
    groups = "|".join(
        f"(?P<{cat}>{_alternation(terms[cat])})" for cat in SENSITIVE_CATEGORIES if cat in terms
    )
    if word_bounded:
        return re.compile(rf"(?<![\w'])(?:{groups})(?![\w'])", re.IGNORECASE)
    return re.compile(f"(?:{groups})", re.IGNORECASE)

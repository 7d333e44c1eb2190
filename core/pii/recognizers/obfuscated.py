"""Obfuscated contact data: "john dot smith at gmail dot com", "john [at] qq [dot] com",
"王 艾特 qq 点 com", and phone numbers split by spaces, dots or dashes.

Language-agnostic; one instance per analysed language.  The top-level domain
must be a common one, so "arrived at noon. He said" is not an address.
"""

from __future__ import annotations

import re
from typing import Final

from core.pii.recognizers.base import Rule, RuleRecognizer

_TLD: Final = (
    r"(?:com|net|org|edu|gov|info|biz|io|co|uk|cn|hk|tw|sg|jp|de|fr|es|it|nl|ie|au|nz|ca|us|me|ru|in|"
    r"eu|ch|se|no|dk|be|at|pl|br|mx)"
)
_OPEN: Final = r"[\(\[\{<]?"
_CLOSE: Final = r"[\)\]\}>]?"
# Separators are atomic groups: "\s*(?\s*" around a word can split the same spaces many ways, and
# trying every split on "john dot john dot ..." was exponential (a 144-byte note froze the API).
_DOT_WORD: Final = rf"(?>\s*{_OPEN}\s*(?:dot|period|点)\s*{_CLOSE}\s*)"
_AT_WORD: Final = rf"(?>\s*{_OPEN}\s*(?:at|@|艾特|圈a)\s*{_CLOSE}\s*)"
_SEP: Final = rf"(?:{_DOT_WORD}|\.)"
_LABEL_CHARS: Final = r"A-Za-z0-9_%+\-"
_LABEL: Final = rf"[{_LABEL_CHARS}]++"  # possessive: a label is the whole run, never a part of it
#: Labels before the "at" and after it: addresses have a few; a bound keeps each attempt short.
_MAX_LABELS: Final = 6

# local part, an obfuscated "at", a domain with an obfuscated or literal dot, a known TLD.  A match
# starts only where a label run starts, so a long run ("1-1-1...") is read once, not once per character.
_EMAIL_OBFUSCATED: Final = re.compile(
    rf"(?<![{_LABEL_CHARS}.])(?P<v>{_LABEL}(?:{_SEP}{_LABEL}){{0,{_MAX_LABELS}}}{_AT_WORD}"
    rf"{_LABEL}(?:{_SEP}{_LABEL}){{0,{_MAX_LABELS}}}?{_SEP}{_TLD}(?:{_SEP}{_TLD})?)(?![A-Za-z0-9])",
    re.IGNORECASE,
)
# 9 to 15 digits split by spaces, dots, dashes or slashes (validated by _split_phone)
_SPLIT_DIGITS: Final = re.compile(r"(?<![A-Za-z0-9_.+-])\+?(?:\d[\s.\-_/·]{0,3}){8,14}\d(?![\w])")
_CN_DIGITS: Final = re.compile(r"[零〇一二三四五六七八九幺两]{9,15}")


def _looks_obfuscated(value: str) -> bool:
    return "@" not in value or " " in value or "[" in value or "(" in value


def _split_phone(value: str) -> bool:
    digits = sum(c.isdigit() for c in value)
    return 9 <= digits <= 15 and any(not c.isdigit() and c != "+" for c in value)


def obfuscated_recognizer(language: str) -> RuleRecognizer:
    return RuleRecognizer(
        name=f"HushObfuscatedContacts_{language}",
        language=language,
        rules=[
            Rule("EMAIL_ADDRESS", _EMAIL_OBFUSCATED, 0.8, group="v", validate=_looks_obfuscated),
            Rule("PHONE_NUMBER", _SPLIT_DIGITS, 0.6, validate=_split_phone),
            Rule("PHONE_NUMBER", _CN_DIGITS, 0.6),
        ],
    )

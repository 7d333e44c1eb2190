"""Decide whether a note is English, Chinese, or mixed (analysed for both)."""

from __future__ import annotations

import re
from typing import Final, Literal

from core.errors import InputError
from core.pii.analysis import Language

LangOption = Literal["auto", "en", "zh"]

_CJK: Final = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_LATIN_WORD: Final = re.compile(r"[A-Za-z]{2,}")
# Latin words that commonly appear inside Chinese notes without making them English.
_MIXED_MIN_LATIN_WORDS: Final = 4


def has_cjk(text: str) -> bool:
    return _CJK.search(text) is not None


def detect_language(text: str, option: str = "auto") -> Language:
    """``en``/``zh`` when forced; otherwise by script: CJK only -> zh, Latin only -> en, both -> mixed."""
    if option == "en":
        return "en"
    if option == "zh":
        return "zh"
    if option != "auto":
        raise InputError("language must be one of auto, en, zh")
    if not has_cjk(text):
        return "en"
    for count, _ in enumerate(_LATIN_WORD.finditer(text), start=1):
        if count >= _MIXED_MIN_LATIN_WORDS:
            return "mixed"
    return "zh"

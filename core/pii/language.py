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
# Links, e-mail addresses and @handles are written in Latin letters in any language: not counted.
_NOT_PROSE: Final = re.compile(
    r"(?:https?://|www\.)[!-~]*|(?<![A-Za-z0-9.+_-])[A-Za-z0-9.+_-]{1,64}@[A-Za-z0-9-]{1,63}\.[A-Za-z0-9.-]{1,63}"
    r"|@[^\s@:：,，。]{1,30}|(?<![A-Za-z0-9-])[A-Za-z0-9-]{1,63}\.(?:com|cn|net|org)\b[!-~]*"
)


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
    prose = _NOT_PROSE.sub(" ", text) if ("/" in text or "@" in text or "." in text) else text
    for count, _ in enumerate(_LATIN_WORD.finditer(prose), start=1):
        if count >= _MIXED_MIN_LATIN_WORDS:
            return "mixed"
    return "zh"

"""Traditional to Simplified Chinese for analysis, one character for one character.

Chinese notes written in Traditional characters (Hong Kong, Macau, Taiwan) go
through the same model and patterns as Simplified ones: the text is converted
with OpenCC's ``t2s`` configuration (package ``opencc``, dictionaries inside the
wheel) and analysed; spans found in the converted text are spans of the
original, because the conversion here never changes the length.  OpenCC's
phrase tables may in principle map a phrase to one of another length; when the
whole-text conversion changes the length, every character is converted on its
own instead (a character whose conversion is not one character stays as it is).
"""

from __future__ import annotations

import re
from typing import Any, Final

from core.errors import ConfigError
from core.forksafe import ForkSafeLock

_CJK: Final = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_LOCK: Final = ForkSafeLock()  # a forked worker builds its own converter
_CONVERTER: list[Any] = []


def _converter() -> Any:
    if not _CONVERTER:
        with _LOCK:
            if not _CONVERTER:
                try:
                    import opencc
                except ImportError as exc:
                    raise ConfigError(
                        "package opencc (Traditional to Simplified Chinese) is not installed"
                    ) from exc
                _CONVERTER.append(opencc.OpenCC("t2s"))
    return _CONVERTER[0]


def to_simplified(text: str) -> str:
    """``text`` in Simplified characters, with exactly the same length (offsets are kept)."""
    if _CJK.search(text) is None:
        return text
    conv = _converter()
    out: str = conv.convert(text)
    if len(out) == len(text):
        return out
    chars: list[str] = []
    for ch in text:
        one: str = conv.convert(ch) if _CJK.match(ch) else ch
        chars.append(one if len(one) == 1 else ch)
    return "".join(chars)

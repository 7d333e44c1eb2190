"""Masking functions: pure, per value, chosen once per plan and applied to every row.

``full``     the value as is.
``partial``  a recognisable fragment:
             email          ``john@example.com``  -> ``j***@example.com``
             phone          ``+44 7700 900123``   -> ``+44 **** ***123`` (country code and last 3 digits)
             birth_date     ``1984-05-17``        -> ``1984-**-**``
             anything else  each run of letters/digits keeps its first character:
                            ``John Smith`` -> ``J*** S****``
``hashed``   ``h:`` + the first 16 hex digits of HMAC-SHA256(key, field NUL normalised value).
             The field name separates domains (an email hash never equals a name hash);
             normalising (case, spaces, phone punctuation) lets duplicates meet.
``none``     withheld: ``None``.

``None`` stays ``None`` under every mask.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Callable
from typing import Final

from core.errors import ConfigError, PolicyError

Masker = Callable[[str | None], str | None]

MIN_HASH_KEY_BYTES: Final = 16
_WORD = re.compile(r"\w+")
_ISO_DATE = re.compile(r"^(\d{4})-\d{2}-\d{2}$")
_PHONE_KEPT_DIGITS: Final = 3


def apply_mask(mask: str, field: str, value: str | None, *, hash_key: bytes) -> str | None:
    """Mask one value of ``field``.  Raises :class:`PolicyError` for an unknown mask."""
    return mask_function(mask, field, hash_key=hash_key)(value)


def mask_function(mask: str, field: str, *, hash_key: bytes) -> Masker:
    """The masking function for one (mask, field), to apply to every row of a query."""
    if mask == "full":
        return _identity
    if mask == "none":
        return _withheld
    if mask == "partial":
        partial = _PARTIAL.get(field, _mask_words)
        return lambda value: None if value is None else partial(value)
    if mask == "hashed":
        if len(hash_key) < MIN_HASH_KEY_BYTES:
            raise ConfigError(f"the masking hash key must have at least {MIN_HASH_KEY_BYTES} bytes")
        prefix = field.encode("utf-8") + b"\x00"
        normalise = _NORMALISE.get(field, _normalise_text)
        return lambda value: None if value is None else _keyed_hash(hash_key, prefix, normalise(value))
    raise PolicyError(f"unknown mask {mask!r}")


def _identity(value: str | None) -> str | None:
    return value


def _withheld(value: str | None) -> str | None:
    return None


def _keyed_hash(key: bytes, prefix: bytes, value: str) -> str:
    return "h:" + hmac.new(key, prefix + value.encode("utf-8"), hashlib.sha256).hexdigest()[:16]


def _mask_words(value: str) -> str:
    return _WORD.sub(lambda match: match.group()[0] + "*" * (len(match.group()) - 1), value)


def _mask_email(value: str) -> str:
    local, at, domain = value.rpartition("@")
    if not at or not local:
        return _mask_words(value)
    return f"{local[0]}***@{domain}"


def _star_digits(value: str, keep: int) -> str:
    total = sum(ch.isdigit() for ch in value)
    seen = 0
    out = []
    for ch in value:
        if ch.isdigit():
            seen += 1
            out.append(ch if seen > total - keep else "*")
        else:
            out.append(ch)
    return "".join(out)


def _mask_phone(value: str) -> str:
    text = value.strip()
    if text.startswith("+"):
        import phonenumbers  # here, not at the top: ~30 ms that `hushdb audit verify` does not need

        try:
            number = phonenumbers.parse(text, None)
        except phonenumbers.NumberParseException:
            number = None
        if number is not None and number.country_code:
            formatted = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
            code = f"+{number.country_code}"
            if formatted.startswith(code):
                return code + _star_digits(formatted[len(code) :], _PHONE_KEPT_DIGITS)
    return _star_digits(text, _PHONE_KEPT_DIGITS)


def _mask_birth_date(value: str) -> str:
    match = _ISO_DATE.match(value.strip())
    if match is None:
        return _mask_words(value)
    return f"{match.group(1)}-**-**"


def _normalise_text(value: str) -> str:
    return " ".join(value.casefold().split())


def _normalise_email(value: str) -> str:
    return value.strip().casefold()


def _normalise_phone(value: str) -> str:
    return "".join(ch for ch in value if ch.isdigit() or ch == "+")


_PARTIAL: Final[dict[str, Callable[[str], str]]] = {
    "email": _mask_email,
    "phone": _mask_phone,
    "birth_date": _mask_birth_date,
}
_NORMALISE: Final[dict[str, Callable[[str], str]]] = {
    "email": _normalise_email,
    "phone": _normalise_phone,
}

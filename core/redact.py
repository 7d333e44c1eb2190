"""One redacting wrapper for secrets and decrypted values: ``repr`` never shows them.

* :class:`Secret` holds one value (key material, a password, a decrypted field);
  ``repr``, ``str`` and ``format`` print ``<redacted>``; :meth:`Secret.reveal` returns it.
* :func:`redacted_repr` is the ``__repr__`` of record types that carry personal data
  (input records, gateway records, settings): it names every field and shows only the
  ones listed as safe, so a traceback, a log line or a debugger shows the shape of a
  record without its values.

Typer apps are built with ``pretty_exceptions_show_locals=False`` as well: a crash never
prints a frame's local variables (decrypted records, keys) whatever the typer version.
"""

from __future__ import annotations

import dataclasses
import hmac
import re
from collections.abc import Iterable
from typing import Any, Final, Generic, TypeVar

T = TypeVar("T")

REDACTED: Final = "<redacted>"


class Secret(Generic[T]):
    """A value that is never printed.  Compare in constant time; unwrap with :meth:`reveal`."""

    __slots__ = ("_value",)

    def __init__(self, value: T) -> None:
        self._value = value

    def reveal(self) -> T:
        """The value itself (for the one place that needs it)."""
        return self._value

    def __repr__(self) -> str:
        return REDACTED

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        return REDACTED

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Secret):
            return NotImplemented
        mine, theirs = self._value, other._value
        if isinstance(mine, bytes | str) and isinstance(theirs, bytes | str) and type(mine) is type(theirs):
            a = mine.encode() if isinstance(mine, str) else mine
            b = theirs.encode() if isinstance(theirs, str) else theirs
            return hmac.compare_digest(a, b)
        return bool(mine == theirs)

    def __hash__(self) -> int:
        return hash((Secret, self._value))


def redacted_repr(obj: Any, *, shown: Iterable[str] = ()) -> str:
    """``Name(field=value, ...)`` of a dataclass instance with every field not in ``shown`` as ``<redacted>``.

    A field whose value is ``None`` is shown as ``None`` (its absence is not a secret).
    """
    safe = frozenset(shown)
    parts = []
    for f in dataclasses.fields(obj):
        if not f.repr:
            continue
        value = getattr(obj, f.name)
        text = repr(value) if f.name in safe or value is None else REDACTED
        parts.append(f"{f.name}={text}")
    return f"{type(obj).__name__}({', '.join(parts)})"


# SQLAlchemy's own reading of a URL's authority: the user name runs to the first ":" or "/",
# the password to the first "@" ("/", "?" and "#" included), so nothing it would send is shown.
# Anchored at the scheme: one linear attempt whatever the text (no rescan from every "://").
_URL_PASSWORD = re.compile(r"^(?P<head>[^:/]*://[^:/]*:)(?P<password>[^@]*)(?P<at>@)")
_URL_SECRET_PARAMS = re.compile(
    r"(?P<head>[?&](?:password|passwd|pwd|sslpassword)=)(?P<value>[^&#]*)", re.IGNORECASE
)


def redact_url(url: str) -> str:
    """A database URL with its password (in the authority or the query) replaced by ``<redacted>``."""
    url = _URL_PASSWORD.sub(lambda m: f"{m['head']}{REDACTED}{m['at']}", url)
    return _URL_SECRET_PARAMS.sub(lambda m: f"{m['head']}{REDACTED}", url)


def redacted_keys(mapping: Any) -> str:
    """``{'email': <redacted>, ...}``: the keys of a mapping of values, none of the values."""
    return "{" + ", ".join(f"{key!r}: {REDACTED}" for key in mapping) + "}"


__all__ = ["REDACTED", "Secret", "redact_url", "redacted_keys", "redacted_repr"]

"""Mail-merge field names: the customer schema's own, plus derived ones.

Base fields are read through the gateway under the subject's access plan and
keep the customer schema's names (``full_name``, ``email``, ``postal_address``
...).  Derived fields are computed from base fields (``first_name`` and
``salutation`` from ``full_name``, ``city`` from ``postal_address``) or from
profiling results keyed by pseudonym (``segment``, ``recommended_product``).
Reading a derived field reads its source, so the source must be allowed too.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Final

from core.errors import InputError

#: Customer fields that can be merged into a letter (scalar values).
BASE_FIELDS: Final[tuple[str, ...]] = (
    "external_id",
    "pseudonym",
    "full_name",
    "email",
    "phone",
    "postal_address",
    "birth_date",
    "owner",
    "created_at",
)
#: Derived field -> the base field it is computed from (None: from profiling results).
DERIVED_FIELDS: Final[Mapping[str, str | None]] = {
    "salutation": "full_name",
    "first_name": "full_name",
    "city": "postal_address",
    "segment": None,
    "recommended_product": None,
}
MERGE_FIELDS: Final[frozenset[str]] = frozenset(BASE_FIELDS) | frozenset(DERIVED_FIELDS)
#: Fields holding free text written by people (screened on write; checked by the gate).
FREE_TEXT_FIELDS: Final[frozenset[str]] = frozenset({"full_name", "postal_address"})

_TITLES: Final = frozenset(
    {"mr", "mrs", "ms", "miss", "mx", "dr", "prof", "sir", "dame", "rev", "lady", "lord"}
)
_CJK: Final = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_COMPOUND_SURNAMES: Final = frozenset(
    {
        "欧阳",
        "司马",
        "诸葛",
        "上官",
        "东方",
        "皇甫",
        "令狐",
        "慕容",
        "尉迟",
        "公孙",
        "长孙",
        "宇文",
        "司徒",
        "夏侯",
    }
)
_UK_POSTCODE: Final = re.compile(r"\b([A-Z]{1,2}[0-9][A-Z0-9]?)\s*([0-9][A-Z]{2})\b", re.IGNORECASE)
_STREET_WORDS: Final = frozenset(
    {
        "road", "rd", "street", "st", "lane", "ln", "avenue", "ave", "close", "drive", "dr", "way",
        "place", "pl", "crescent", "terrace", "grove", "gardens", "court", "square", "row", "hill",
        "park", "walk", "mews", "parade",
    }
)  # fmt: skip
_ZH_CITY: Final = re.compile(r"^(?:.{2,8}?(?:省|自治区))?(.{2,8}?市)")
_ZH_DISTRICT: Final = re.compile(r"^(?:.{2,8}?(?:省|自治区))?(.{2,8}?(?:州|盟|地区|县))")


def parse_fields(raw: Sequence[str]) -> tuple[str, ...]:
    """Validate requested merge fields (order kept, duplicates dropped)."""
    out: list[str] = []
    for name in raw:
        name = name.strip()
        if not name:
            continue
        if name not in MERGE_FIELDS:
            raise InputError(f"unknown merge field {name!r}; one of {', '.join(sorted(MERGE_FIELDS))}")
        if name not in out:
            out.append(name)
    if not out:
        raise InputError("give at least one merge field")
    return tuple(out)


def base_fields_for(fields: Sequence[str]) -> tuple[str, ...]:
    """The customer fields the gateway must read to produce ``fields`` (sources of derived ones)."""
    out: list[str] = []
    for name in fields:
        source = DERIVED_FIELDS.get(name, name)
        if source is not None and source not in out:
            out.append(source)
    return tuple(out)


def has_cjk(text: str) -> bool:
    return _CJK.search(text) is not None


def first_name(full_name: str) -> str:
    """Given name: the first word after a title (Latin), the name after the surname (Chinese)."""
    name = full_name.strip()
    if not name:
        return ""
    if has_cjk(name) and " " not in name:
        surname_len = 2 if name[:2] in _COMPOUND_SURNAMES and len(name) > 2 else 1
        return name[surname_len:] if len(name) > surname_len else name
    words = [w for w in re.split(r"\s+", name) if w]
    while len(words) > 1 and words[0].lower().rstrip(".") in _TITLES:
        words = words[1:]
    return words[0].strip(",")


def salutation(full_name: str) -> str:
    """The opening of a letter in the name's language."""
    name = full_name.strip()
    if not name:
        return "Dear customer"
    if has_cjk(name):
        return f"尊敬的{name}"
    return f"Dear {name}"


def city(postal_address: str) -> str:
    """The town or city of a UK or Chinese postal address ('' when it cannot be told)."""
    address = postal_address.strip()
    if not address:
        return ""
    if has_cjk(address):
        return _zh_city(address)
    return _uk_city(address)


def _zh_city(address: str) -> str:
    compact = re.sub(r"\s+", "", address)
    compact = re.sub(r"^(?:中国|中华人民共和国)", "", compact)
    compact = re.sub(r"^\d{6}", "", compact)  # a leading postcode
    match = _ZH_CITY.match(compact) or _ZH_DISTRICT.match(compact)
    return match.group(1) if match else ""


def _uk_city(address: str) -> str:
    postcode = _UK_POSTCODE.search(address)
    head = address[: postcode.start()] if postcode else address
    parts = [p.strip() for p in re.split(r"[,\n]", head) if p.strip()]
    if not parts:
        return ""
    last = parts[-1]
    if len(parts) > 1 and not re.match(r"^\d", last):
        return _strip_street(last)
    words = last.split()
    # "12 Elm Road Leeds": the words after the last street word.
    for i in range(len(words) - 1, -1, -1):
        if words[i].lower().rstrip(".") in _STREET_WORDS:
            rest = words[i + 1 :]
            return " ".join(rest)
    return words[-1] if postcode and len(words) > 1 and not words[-1][0].isdigit() else ""


def _strip_street(part: str) -> str:
    words = part.split()
    if words and words[0][0].isdigit():
        return ""
    return part

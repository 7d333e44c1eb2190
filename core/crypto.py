"""AES-256-GCM field encryption, key wrapping, HKDF and blind indexes.

Ciphertext layout: ``0x01 | nonce (12 bytes, random) | ciphertext+tag``.
The associated data binds every ciphertext to where it lives::

    b"hushdb/1|" table "|" column "|" row id "|" key version

For fields the key version is the customer's *data-key* version, not the
key-encryption-key version, so that rotating the KEK re-wraps data keys
without re-encrypting data.  A ciphertext moved to another row, column or
table fails authentication and raises :class:`CorruptCiphertextError`
naming the record, never returning garbage.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import unicodedata
from collections.abc import Sequence
from functools import cache, lru_cache

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from core.errors import CorruptCiphertextError, InputError

FORMAT_V1 = b"\x01"
NONCE_BYTES = 12
KEY_BYTES = 32


def new_key() -> bytes:
    return os.urandom(KEY_BYTES)


def hkdf(root: bytes, info: str, length: int = KEY_BYTES) -> bytes:
    """Derive an independent key from ``root`` for one named use."""
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=None, info=info.encode()).derive(root)


def associated_data(table: str, column: str, row_id: str, key_version: int) -> bytes:
    return f"hushdb/1|{table}|{column}|{row_id}|{key_version}".encode()


def seal(aead: AESGCM, plaintext: bytes, aad: bytes) -> bytes:
    nonce = os.urandom(NONCE_BYTES)
    return FORMAT_V1 + nonce + aead.encrypt(nonce, plaintext, aad)


def open_sealed(aead: AESGCM, blob: bytes, aad: bytes, *, record: str) -> bytes:
    """Decrypt ``blob``; any failure names ``record`` (a table/column/row id, never a value)."""
    if len(blob) < 1 + NONCE_BYTES + 16 or blob[:1] != FORMAT_V1:
        raise CorruptCiphertextError(f"ciphertext of {record} is malformed")
    try:
        return aead.decrypt(blob[1 : 1 + NONCE_BYTES], blob[1 + NONCE_BYTES :], aad)
    except InvalidTag as exc:
        raise CorruptCiphertextError(f"ciphertext of {record} failed authentication") from exc


class FieldCipher:
    """Encrypts and decrypts the fields of one row with that row's data key.

    On the read hot path (a scan decrypts five fields per row) the associated
    data is assembled from per-column prefixes computed once per process.
    """

    __slots__ = ("_aead", "_key_version", "_row_id", "_suffix", "_table")

    def __init__(self, data_key: bytes, *, table: str, row_id: str, key_version: int) -> None:
        self._aead = AESGCM(data_key)
        self._table = table
        self._row_id = row_id
        self._key_version = key_version
        self._suffix = f"|{row_id}|{key_version}".encode()

    def _aad(self, column: str) -> bytes:
        prefix = _AAD_PREFIXES.get((self._table, column))
        if prefix is None:
            prefix = _AAD_PREFIXES.setdefault(
                (self._table, column), f"hushdb/1|{self._table}|{column}".encode()
            )
        return prefix + self._suffix

    def encrypt(self, column: str, value: str | None) -> bytes | None:
        if value is None:
            return None
        return seal(self._aead, value.encode("utf-8"), self._aad(column))

    def encrypt_columns(self, values: Sequence[tuple[str, str | None]]) -> list[bytes | None]:
        """:meth:`encrypt` for several columns of this row: the same ciphertexts, cheaper.

        Every ciphertext still has its own random 96-bit nonce; the nonces are
        drawn from the operating system's CSPRNG in one call instead of one per column.
        """
        present = sum(1 for _, value in values if value is not None)
        nonces = os.urandom(NONCE_BYTES * present)
        encrypt = self._aead.encrypt
        out: list[bytes | None] = []
        at = 0
        for column, value in values:
            if value is None:
                out.append(None)
                continue
            nonce = nonces[at : at + NONCE_BYTES]
            at += NONCE_BYTES
            out.append(FORMAT_V1 + nonce + encrypt(nonce, value.encode("utf-8"), self._aad(column)))
        return out

    def decrypt(self, column: str, blob: bytes | None) -> str | None:
        if blob is None:
            return None
        blob = bytes(blob)
        if len(blob) >= 1 + NONCE_BYTES + 16 and blob[0] == 1:
            try:
                raw = self._aead.decrypt(
                    blob[1 : 1 + NONCE_BYTES], blob[1 + NONCE_BYTES :], self._aad(column)
                )
            except InvalidTag:
                raw = None
            if raw is not None:
                try:
                    return raw.decode("utf-8")
                except UnicodeDecodeError:  # pragma: no cover - authenticated data is ours
                    pass
        record = f"{self._table}.{column} of row {self._row_id}"
        open_sealed(self._aead, blob, self._aad(column), record=record)  # raises the precise error
        raise CorruptCiphertextError(f"{record} does not hold UTF-8 text")  # pragma: no cover


_AAD_PREFIXES: dict[tuple[str, str], bytes] = {}


class ColumnsDecryptor:
    """Decrypts a fixed list of columns of many rows of one table: the scan's hot path.

    Built once per query; per row it costs one AES-GCM key set-up and one
    decrypt per column.  Any failure is re-raised by :class:`FieldCipher` with
    its record-naming error, so the fast path never returns garbage.
    """

    __slots__ = ("_columns", "_prefixes", "_table")

    def __init__(self, table: str, columns: Sequence[str]) -> None:
        self._table = table
        self._columns = tuple(columns)
        self._prefixes = tuple(f"hushdb/1|{table}|{c}|".encode() for c in columns)

    def __call__(self, data_key: bytes, row_id: str, blobs: Sequence[bytes | None]) -> list[str | None]:
        decrypt = AESGCM(data_key).decrypt
        suffix = row_id.encode() + b"|1"
        out: list[str | None] = []
        for column, prefix, blob in zip(self._columns, self._prefixes, blobs, strict=True):
            if blob is None:
                out.append(None)
                continue
            try:
                if blob[0] != 1:
                    raise ValueError("unknown ciphertext format")
                out.append(decrypt(blob[1:13], blob[13:], prefix + suffix).decode("utf-8"))
            except (InvalidTag, UnicodeDecodeError, ValueError, IndexError):
                cipher = FieldCipher(data_key, table=self._table, row_id=row_id, key_version=1)
                out.append(cipher.decrypt(column, blob))  # raises the precise, record-naming error
        return out


def blind_index(key: bytes, normalised: str) -> bytes:
    """HMAC-SHA256 of a normalised value: equality look-ups without plaintext."""
    return hmac.new(key, normalised.encode("utf-8"), hashlib.sha256).digest()


_IPAD = bytes(x ^ 0x36 for x in range(256))
_OPAD = bytes(x ^ 0x5C for x in range(256))
_SHA256_BLOCK = 64


class HmacSha256:
    """HMAC-SHA256 (RFC 2104) under one fixed key, for many messages.

    The key's inner and outer padded blocks are hashed once; each message then
    costs two hash-state copies and two short updates, about a third of
    :func:`hmac.new`.  The output is exactly :func:`hmac.digest` (tested).
    """

    __slots__ = ("_inner", "_outer")

    def __init__(self, key: bytes) -> None:
        if len(key) > _SHA256_BLOCK:
            key = hashlib.sha256(key).digest()
        block = key.ljust(_SHA256_BLOCK, b"\0")
        self._inner = hashlib.sha256(block.translate(_IPAD))
        self._outer = hashlib.sha256(block.translate(_OPAD))

    def __repr__(self) -> str:
        return "HmacSha256(<key hidden>)"

    def digest(self, message: bytes) -> bytes:
        inner = self._inner.copy()
        inner.update(message)
        outer = self._outer.copy()
        outer.update(inner.digest())
        return outer.digest()

    def blind_index(self, normalised: str) -> bytes:
        """:func:`blind_index` under this key."""
        return self.digest(normalised.encode("utf-8"))


def normalise_email(value: str) -> str:
    email = unicodedata.normalize("NFKC", value).strip().lower()
    local, sep, domain = email.partition("@")
    if not sep or not local or "." not in domain or " " in email:
        raise InputError("email is not a valid address")
    return email


_E164_LIKE = re.compile(r"\+?[1-9][0-9]{6,14}")
_PHONE_PUNCTUATION = str.maketrans("", "", " -.()\u00a0")


def _fast_e164(text: str) -> str | None:
    """E.164 for input already in international form (``+44 7700 900123``), without a full parse.

    Returns None when the input needs :func:`phonenumbers.parse` (national
    formats, letters, extensions, or a country whose numbers keep a leading
    zero).  The result is exactly what the full parse would give.
    """
    if not text.startswith("+"):
        return None
    digits = text.translate(_PHONE_PUNCTUATION)
    if not _E164_LIKE.fullmatch(digits):
        return None
    digits = digits[1:]
    for code, prefix_for_parsing in _fast_codes().items():
        head = str(code)
        if not digits.startswith(head):
            continue
        national = digits[len(head) :]
        if not national or prefix_for_parsing.match(national):
            return None  # a national prefix the full parse would strip or transform
        if not _possible_length(code, len(national)):
            return None
        return f"+{code}{national}"
    return None


@lru_cache(maxsize=256)
def _possible_length(code: int, length: int) -> bool:
    """:func:`phonenumbers.is_possible_number` for a national number of ``length`` digits.

    That check looks only at the country code and the length of the national
    significant number, so one answer per (code, length) is exact.  ``national``
    never starts with 0 here (the prefix pattern above includes ``0``), so its
    length is the length of ``str(int(national))`` that the library measures.
    """
    import phonenumbers

    number = phonenumbers.PhoneNumber(country_code=code, national_number=10 ** (length - 1))
    return bool(phonenumbers.is_possible_number(number))


def _prefix_for_parsing(region: str) -> re.Pattern[str]:
    import phonenumbers

    meta = phonenumbers.PhoneMetadata.metadata_for_region(region)
    pattern = (meta.national_prefix_for_parsing or meta.national_prefix or "0") if meta else "0"
    return re.compile(f"(?:{pattern}|0)")


@cache
def _fast_codes() -> dict[int, re.Pattern[str]]:
    """The countries of most of our customers; every other number takes the full parse.

    Built on first use: phonenumbers' metadata costs ~30 ms to import, which commands
    that never read a phone number (``hushdb audit verify``) do not pay.
    """
    return {
        44: _prefix_for_parsing("GB"),
        1: _prefix_for_parsing("US"),
        86: _prefix_for_parsing("CN"),
    }


def normalise_phone(value: str, region: str) -> str:
    """The phone number in E.164 form; numbers without a country code use ``region``."""
    return _normalise_phone_text(unicodedata.normalize("NFKC", value).strip(), region)


def _normalise_phone_text(text: str, region: str) -> str:
    """:func:`normalise_phone` of text already NFKC-normalised and stripped."""
    fast = _fast_e164(text)
    if fast is not None:
        return fast
    import phonenumbers

    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException as exc:
        raise InputError("phone is not a valid phone number") from exc
    if not phonenumbers.is_possible_number(number):
        raise InputError("phone is not a valid phone number")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


PHONE_HINT_REGIONS = ("GB", "US", "CN")
"""Regions tried for a national number the default region does not take (those of :func:`_fast_codes`).

A number is accepted from them only when exactly one of them (or the number
read as international without its ``+``) makes it a valid number.
"""

_ADDRESS_SEPARATORS = re.compile(r"[,\n;]+")


@lru_cache(maxsize=1)
def _country_names() -> dict[str, str]:
    """Country name (case-folded, in every language libphonenumber ships) -> region code.

    Read from ``phonenumbers``' own locale data; a name that several regions
    share is left out.
    """
    import phonenumbers
    from phonenumbers.geodata.locale import LOCALE_DATA

    found: dict[str, set[str]] = {}
    for region, names in LOCALE_DATA.items():
        if region not in phonenumbers.SUPPORTED_REGIONS:
            continue
        for name in names.values():
            if name and not name.startswith("*"):
                key = unicodedata.normalize("NFKC", name).casefold().strip()
                found.setdefault(key, set()).add(region)
    return {name: next(iter(regions)) for name, regions in found.items() if len(regions) == 1}


def address_region(address: str | None) -> str | None:
    """The region an address names as its country (its last or first part), if any."""
    if not address:
        return None
    parts = [p.strip(" .") for p in _ADDRESS_SEPARATORS.split(unicodedata.normalize("NFKC", address))]
    parts = [p.casefold() for p in parts if p]
    if not parts:
        return None
    names = _country_names()
    for part in (parts[-1], parts[0]):
        region = names.get(part)
        if region is not None:
            return region
    return None


def _valid_for_region(text: str, region: str) -> str | None:
    import phonenumbers

    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number_for_region(number, region):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def resolve_phone(value: str, region: str, *, address: str | None = None) -> str | None:
    """The number in E.164 form when a region makes it one, else None (stored as given, not indexed).

    In order: ``region`` as :func:`normalise_phone` reads it, unless the
    number is in national form (no ``+`` or ``00``), not valid there, and
    valid in the country ``address`` names (:func:`address_region`), which
    then wins; for a number no region took, the regions
    of :data:`PHONE_HINT_REGIONS` and the digits read as international, when
    exactly one of them makes a valid number.  A number written with its
    country code that is not a possible number there (an outdated one) is
    never re-read under another country.  Bounded: at most seven parses.
    """
    text = unicodedata.normalize("NFKC", value).strip()
    try:
        default: str | None = _normalise_phone_text(text, region)
    except InputError:
        default = None
    if default is not None and (address is None or text.startswith("+")):
        return default
    digits = text.translate(_PHONE_PUNCTUATION)
    if len(digits) > 17 or not digits.isascii() or not digits.isdigit() or digits.startswith("00"):
        return default  # international form, letters or an extension: nothing to re-read
    hinted = address_region(address)
    if hinted is not None and hinted != region:
        if default is not None and _valid_for_region(text, region) is not None:
            return default
        found = _valid_for_region(text, hinted)
        if found is not None:
            return found
    if default is not None:
        return default
    candidates = {_valid_for_region(text, r) for r in PHONE_HINT_REGIONS if r not in (region, hinted)}
    if not digits.startswith("0"):
        candidates.add(_valid_for_region("+" + digits, "ZZ"))
    candidates.discard(None)
    return candidates.pop() if len(candidates) == 1 else None

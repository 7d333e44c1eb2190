"""Field encryption: round trips, associated-data binding, corruption, blind indexes."""

from __future__ import annotations

import phonenumbers
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.crypto import FieldCipher, _fast_e164, blind_index, new_key, normalise_email, normalise_phone
from core.errors import CorruptCiphertextError, InputError

KEY = new_key()


@given(st.text())
@settings(max_examples=200)
def test_round_trip_arbitrary_unicode(value: str) -> None:
    cipher = FieldCipher(KEY, table="customers", row_id="r1", key_version=1)
    blob = cipher.encrypt("full_name", value)
    assert cipher.decrypt("full_name", blob) == value


@pytest.mark.parametrize(
    ("table", "column", "row_id", "version"),
    [
        ("customers", "email", "r1", 1),  # moved to another column
        ("customers", "full_name", "r2", 1),  # moved to another row
        ("notes", "full_name", "r1", 1),  # moved to another table
        ("customers", "full_name", "r1", 2),  # claimed under another key version
    ],
)
def test_ciphertext_is_bound_to_its_place(table: str, column: str, row_id: str, version: int) -> None:
    blob = FieldCipher(KEY, table="customers", row_id="r1", key_version=1).encrypt("full_name", "Ada")
    other = FieldCipher(KEY, table=table, row_id=row_id, key_version=version)
    with pytest.raises(CorruptCiphertextError) as info:
        other.decrypt(column, blob)
    assert row_id in str(info.value)  # names the record
    assert "Ada" not in str(info.value)


def test_flipped_byte_is_an_error_not_garbage() -> None:
    cipher = FieldCipher(KEY, table="customers", row_id="r1", key_version=1)
    blob = bytearray(cipher.encrypt("email", "a@example.com") or b"")
    blob[20] ^= 1
    with pytest.raises(CorruptCiphertextError):
        cipher.decrypt("email", bytes(blob))
    with pytest.raises(CorruptCiphertextError):
        cipher.decrypt("email", b"\x01short")


def test_nonces_are_random() -> None:
    cipher = FieldCipher(KEY, table="customers", row_id="r1", key_version=1)
    assert cipher.encrypt("email", "x") != cipher.encrypt("email", "x")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("  John.Smith@Example.COM ", "john.smith@example.com"),  # trimmed and lower-cased
        ("ＪＯＨＮ@example.com", "john@example.com"),  # full-width letters folded
    ],
)
def test_email_normalisation(raw: str, expected: str) -> None:
    assert normalise_email(raw) == expected


@pytest.mark.parametrize(
    ("raw", "region", "expected"),
    [
        ("07700 900123", "GB", "+447700900123"),  # national UK number
        ("+44 7700 900123", "GB", "+447700900123"),  # international form
        ("+86 139 1234 5678", "GB", "+8613912345678"),  # Chinese mobile
    ],
)
def test_phone_normalisation(raw: str, region: str, expected: str) -> None:
    assert normalise_phone(raw, region) == expected


@pytest.mark.parametrize("bad", ["not-an-email", "a@b", "x y@example.com"])
def test_bad_email_rejected_without_echo(bad: str) -> None:
    with pytest.raises(InputError) as info:
        normalise_email(bad)
    assert bad not in str(info.value)


def test_blind_index_equal_for_equal_normalised_values() -> None:
    k = new_key()
    a = blind_index(k, "email:" + normalise_email("A@Example.com"))
    b = blind_index(k, "email:" + normalise_email("a@example.com "))
    assert a == b
    assert a != blind_index(new_key(), "email:a@example.com")


@given(
    st.one_of(st.sampled_from(["GB", "US", "CN"]), st.sampled_from(sorted(phonenumbers.SUPPORTED_REGIONS))),
    st.integers(min_value=1000, max_value=10**12),
    st.sampled_from(["", " ", "-", "."]),
)
@settings(max_examples=2000)
def test_fast_e164_path_agrees_with_full_parse(region: str, national: int, sep: str) -> None:
    code = phonenumbers.country_code_for_region(region)
    text = f"+{code}{sep}{national}"
    fast = _fast_e164(text)
    try:
        full_number = phonenumbers.parse(text, "GB")
        ok = phonenumbers.is_possible_number(full_number)
    except phonenumbers.NumberParseException:
        ok = False
    if fast is None:
        return  # the caller falls back to the full parse
    assert ok
    assert fast == phonenumbers.format_number(full_number, phonenumbers.PhoneNumberFormat.E164)


@given(st.binary(min_size=0, max_size=200), st.binary(max_size=300))
@settings(max_examples=300)
def test_hmac_sha256_with_precomputed_pads_is_hmac(key: bytes, message: bytes) -> None:
    import hashlib
    import hmac

    from core.crypto import HmacSha256

    assert HmacSha256(key).digest(message) == hmac.digest(key, message, hashlib.sha256)


def test_precomputed_blind_index_matches_blind_index_and_hides_key() -> None:
    from core.crypto import HmacSha256

    k = new_key()
    h = HmacSha256(k)
    assert h.blind_index("email:a@example.com") == blind_index(k, "email:a@example.com")
    assert h.blind_index("phone:+447700900123") != blind_index(new_key(), "phone:+447700900123")
    assert k.hex() not in repr(h)


@given(st.lists(st.one_of(st.none(), st.text(max_size=50)), min_size=1, max_size=7))
@settings(max_examples=200)
def test_encrypt_columns_is_encrypt_per_column(values: list[str | None]) -> None:
    columns = [f"c{i}" for i in range(len(values))]
    cipher = FieldCipher(KEY, table="customers", row_id="r9", key_version=1)
    blobs = cipher.encrypt_columns(list(zip(columns, values, strict=True)))
    assert [b is None for b in blobs] == [v is None for v in values]
    for column, value, blob in zip(columns, values, blobs, strict=True):
        assert cipher.decrypt(column, blob) == value  # bound to its own column and row
    present = [b for b in blobs if b is not None]
    assert len({b[1:13] for b in present}) == len(present)  # a fresh nonce per ciphertext
    if len(present) > 1:
        first = next(i for i, b in enumerate(blobs) if b is not None)
        other = next(i for i, b in enumerate(blobs) if b is not None and i != first)
        with pytest.raises(CorruptCiphertextError):  # not valid under another column's associated data
            cipher.decrypt(columns[other], blobs[first])


@pytest.mark.parametrize("code", [1, 44, 86])
def test_possible_length_cache_agrees_with_phonenumbers(code: int) -> None:
    from core.crypto import _possible_length

    for length in range(1, 18):
        national = int("7" + "1" * (length - 1))
        number = phonenumbers.PhoneNumber(country_code=code, national_number=national)
        assert _possible_length(code, length) == phonenumbers.is_possible_number(number)

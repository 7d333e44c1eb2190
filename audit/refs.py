"""Pseudonymous record references for audit events.

An audit event names the records it touched by ``HMAC-SHA256(audit key,
record id)``, truncated to 32 hex characters (128 bits).  The log never holds a
plaintext identifier, so erasing a customer leaves every event verifiable, and
whoever holds the key can still answer "who saw this person's data" by
computing the reference of one record id.

A scan computes one reference per row returned.  HMAC (RFC 2104) hashes
``key XOR ipad`` and ``key XOR opad`` as the first block of its inner and outer
hash; those two SHA-256 states depend on the key alone, so they are computed
once and copied per reference (about half the cost of a one-shot
``hmac.digest``, which redoes them for every record).  The value is exactly
``hmac.new(key, record_id, sha256).hexdigest()[:32]`` (a test proves it).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from core.errors import KeySourceError

REF_HEX_CHARS = 32
MIN_KEY_BYTES = 32
_BLOCK = 64  # SHA-256 block size
_IPAD = bytes(x ^ 0x36 for x in range(256))
_OPAD = bytes(x ^ 0x5C for x in range(256))


class RecordRefs:
    """Computes record references with one HMAC key (keep it outside the database)."""

    __slots__ = ("_inner", "_outer")

    def __init__(self, key: bytes) -> None:
        if len(key) < MIN_KEY_BYTES:
            raise KeySourceError(f"audit reference key must be at least {MIN_KEY_BYTES} bytes")
        block = bytes(key)
        if len(block) > _BLOCK:
            block = hashlib.sha256(block).digest()
        block = block.ljust(_BLOCK, b"\x00")
        # Keyed hash states (RFC 2104); they stand for the key, so they are never shown.
        self._inner = hashlib.sha256(block.translate(_IPAD))
        self._outer = hashlib.sha256(block.translate(_OPAD))

    def ref(self, record_id: str) -> str:
        """The reference of one record id (32 lowercase hex characters)."""
        inner = self._inner.copy()
        inner.update(record_id.encode("utf-8"))
        outer = self._outer.copy()
        outer.update(inner.digest())
        return outer.hexdigest()[:REF_HEX_CHARS]

    def refs(self, record_ids: Iterable[str]) -> tuple[str, ...]:
        """The references of many record ids, in order (the scan's hot path)."""
        inner_copy, outer_copy = self._inner.copy, self._outer.copy
        out: list[str] = []
        append = out.append
        for record_id in record_ids:
            inner = inner_copy()
            inner.update(record_id.encode("utf-8"))
            outer = outer_copy()
            outer.update(inner.digest())
            append(outer.hexdigest()[:REF_HEX_CHARS])
        return tuple(out)

    def __repr__(self) -> str:
        return "RecordRefs(key=<hidden>)"

"""Pseudonymous record references for audit events.

An audit event names the records it touched by ``HMAC-SHA256(audit key,
record id)``, truncated to 32 hex characters (128 bits).  The log never holds a
plaintext identifier, so erasing a customer leaves every event verifiable, and
whoever holds the key can still answer "who saw this person's data" by
computing the reference of one record id.
"""

from __future__ import annotations

import hmac

from core.errors import KeySourceError

REF_HEX_CHARS = 32
MIN_KEY_BYTES = 32


class RecordRefs:
    """Computes record references with one HMAC key (keep it outside the database)."""

    __slots__ = ("_key",)

    def __init__(self, key: bytes) -> None:
        if len(key) < MIN_KEY_BYTES:
            raise KeySourceError(f"audit reference key must be at least {MIN_KEY_BYTES} bytes")
        self._key = bytes(key)

    def ref(self, record_id: str) -> str:
        """The reference of one record id (32 lowercase hex characters)."""
        # hmac.digest: the one-shot C implementation (same value as hmac.new(...).digest()).
        return hmac.digest(self._key, record_id.encode("utf-8"), "sha256").hex()[:REF_HEX_CHARS]

    def refs(self, record_ids: list[str] | tuple[str, ...]) -> tuple[str, ...]:
        return tuple(self.ref(record_id) for record_id in record_ids)

    def __repr__(self) -> str:
        return "RecordRefs(key=<hidden>)"

"""API keys for the HTTP API: random bearer tokens, stored only as keyed hashes.

A key is shown once, when it is created::

    hush_<key id>_<secret>        key id: 12 hex characters; secret: 32 random bytes, base64url

The table ``api_keys`` keeps the key id, the subject it acts as and
``HMAC-SHA256(k, "<key id>:<secret>")`` where ``k`` is derived from the key
ring's root key (so a copy of the database alone cannot test guesses).  Looking
a key up costs the same whether the key id exists or not, and the hash is
compared with :func:`hmac.compare_digest`.  Creating and revoking keys is
audited (resource ``admin``, field ``apikeys``); keys can be revoked but never
deleted, so the audit log's subjects stay explainable.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import sqlalchemy as sa

from core.crypto import hkdf
from core.db import transaction
from core.errors import AuthError, InputError, NotFoundError
from core.gateway import AccessContext, Gateway
from core.models import UTCDateTime, utcnow

TOKEN_PREFIX = "hush_"  # noqa: S105 (a prefix, not a secret)
KEY_ID_HEX = 12
SECRET_BYTES = 32
_TOKEN_RE = re.compile(r"hush_([0-9a-f]{12})_([A-Za-z0-9_-]{43})")
_KEY_ID_RE = re.compile(r"[0-9a-f]{12}")

apikeys_metadata = sa.MetaData()

api_keys_t = sa.Table(
    "api_keys",
    apikeys_metadata,
    sa.Column("id", sa.String(16), primary_key=True),
    sa.Column("subject", sa.String(128), nullable=False, index=True),
    sa.Column("secret_hash", sa.LargeBinary(32), nullable=False),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("created_by", sa.String(128), nullable=False),
    sa.Column("revoked_at", UTCDateTime(), nullable=True),
)
"""The migration ``0004_apikeys`` creates this table."""


@dataclass(frozen=True, slots=True)
class ApiKeyInfo:
    """What may be shown about a key: never the secret, never its hash."""

    key_id: str
    subject: str
    created_at: dt.datetime
    created_by: str
    revoked_at: dt.datetime | None

    @property
    def active(self) -> bool:
        return self.revoked_at is None


@dataclass(frozen=True, slots=True)
class NewApiKey:
    """A freshly created key.  ``token`` exists only here: it is not stored."""

    info: ApiKeyInfo
    token: str


@dataclass(frozen=True, slots=True)
class Principal:
    """The subject an authenticated request acts as, and which key it used."""

    subject: str
    key_id: str


def _info(row: sa.Row[object]) -> ApiKeyInfo:
    m = row._mapping
    return ApiKeyInfo(
        key_id=str(m["id"]),
        subject=str(m["subject"]),
        created_at=m["created_at"],
        created_by=str(m["created_by"]),
        revoked_at=m["revoked_at"],
    )


class ApiKeys:
    """Create, list, revoke and check API keys; changes are audited through the gateway."""

    def __init__(
        self,
        *,
        gateway: Gateway,
        hash_key: bytes | None = None,
        cache_seconds: float = 0.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._gateway = gateway
        self._engine = gateway.engine
        self._key = hash_key or hkdf(gateway.keyring.provider.root_key(), "hushdb/api-keys/v1")
        self._dummy = self._hash("000000000000", "0" * 43)
        self._cache_seconds = cache_seconds
        self._cache: dict[str, tuple[bytes, Principal, float]] = {}
        self._cache_lock = threading.Lock()
        self._clock = clock

    def _hash(self, key_id: str, secret: str) -> bytes:
        return hmac.new(self._key, f"{key_id}:{secret}".encode(), hashlib.sha256).digest()

    def _authorize(self, ctx: AccessContext) -> None:
        # One policy question for everyone: the local operator (who holds the key file) acts in
        # the role ``operator``, and policy.csv says what that role may manage.
        self._gateway.governance.require(ctx, resource="admin", action="manage", field="apikeys")

    def _audit(
        self, conn: sa.Connection, ctx: AccessContext, operation: str, key_id: str, subject: str
    ) -> None:
        self._gateway.record(
            conn,
            self._gateway.event(
                ctx,
                action=f"apikey_{operation}",
                resource="admin",
                fields=["apikeys"],
                decision="allow",
                row_count=1,
                detail={"key_id": key_id, "key_subject": subject},
            ),
        )

    def create(self, ctx: AccessContext, subject: str) -> NewApiKey:
        """A new key acting as ``subject`` (who must hold a role in the policy files)."""
        self._authorize(ctx)
        subject = subject.strip()
        if not subject or len(subject) > 128:
            raise InputError("subject must be 1-128 characters")
        self._gateway.policies.current.roles_for(subject)  # UnknownSubjectError if it has no role
        key_id = secrets.token_hex(KEY_ID_HEX // 2)
        secret = secrets.token_urlsafe(SECRET_BYTES)
        now = utcnow()
        with transaction(self._engine) as conn:
            conn.execute(
                sa.insert(api_keys_t).values(
                    id=key_id,
                    subject=subject,
                    secret_hash=self._hash(key_id, secret),
                    created_at=now,
                    created_by=ctx.subject,
                    revoked_at=None,
                )
            )
            self._audit(conn, ctx, "create", key_id, subject)
        self._gateway.publish()
        info = ApiKeyInfo(
            key_id=key_id, subject=subject, created_at=now, created_by=ctx.subject, revoked_at=None
        )
        return NewApiKey(info=info, token=f"{TOKEN_PREFIX}{key_id}_{secret}")

    def list(self, ctx: AccessContext) -> list[ApiKeyInfo]:
        self._authorize(ctx)
        with transaction(self._engine) as conn:
            rows = conn.execute(
                sa.select(api_keys_t).order_by(api_keys_t.c.created_at, api_keys_t.c.id)
            ).all()
        return [_info(r) for r in rows]

    def revoke(self, ctx: AccessContext, key_id: str) -> ApiKeyInfo:
        """Revoke a key (idempotent); it stops working on the next request."""
        self._authorize(ctx)
        if not _KEY_ID_RE.fullmatch(key_id):
            raise InputError("a key id is 12 hexadecimal characters")
        with transaction(self._engine) as conn:
            row = conn.execute(sa.select(api_keys_t).where(api_keys_t.c.id == key_id)).first()
            if row is None:
                raise NotFoundError("API key not found")
            info = _info(row)
            if info.revoked_at is None:
                now = utcnow()
                conn.execute(sa.update(api_keys_t).where(api_keys_t.c.id == key_id).values(revoked_at=now))
                self._audit(conn, ctx, "revoke", key_id, info.subject)
                info = ApiKeyInfo(info.key_id, info.subject, info.created_at, info.created_by, now)
        with self._cache_lock:
            self._cache.pop(key_id, None)
        self._gateway.publish()
        return info

    def cached(self, token: str) -> Principal | None:
        """The principal of a key this process checked less than ``cache_seconds`` ago, else None.

        Only a hit skips the database: a key revoked by another process keeps working here for
        at most ``cache_seconds`` (0, the default, disables the cache).
        """
        if self._cache_seconds <= 0:
            return None
        match = _TOKEN_RE.fullmatch(token)
        if not match:
            return None
        entry = self._cache.get(match.group(1))
        if entry is None or self._clock() - entry[2] > self._cache_seconds:
            return None
        if not hmac.compare_digest(self._hash(match.group(1), match.group(2)), entry[0]):
            return None
        return entry[1]

    def authenticate(self, token: str) -> Principal:
        """The principal of a valid, unrevoked key; :class:`AuthError` otherwise (same cost either way)."""
        match = _TOKEN_RE.fullmatch(token)
        key_id, secret = (match.group(1), match.group(2)) if match else ("000000000000", "1" * 43)
        with transaction(self._engine) as conn:
            row = conn.execute(
                sa.select(api_keys_t.c.subject, api_keys_t.c.secret_hash, api_keys_t.c.revoked_at).where(
                    api_keys_t.c.id == key_id
                )
            ).first()
        stored = bytes(row.secret_hash) if row is not None else self._dummy
        computed = self._hash(key_id, secret)
        same = hmac.compare_digest(computed, stored)
        if not (match and row is not None and same and row.revoked_at is None):
            if row is None or row.revoked_at is not None:
                # Forget a cached key only when the key itself is gone, never for a wrong secret:
                # otherwise anyone who knows a key id could keep evicting its owner from the cache.
                with self._cache_lock:
                    self._cache.pop(key_id, None)
            raise AuthError("invalid or revoked API key")
        who = Principal(subject=str(row.subject), key_id=key_id)
        if self._cache_seconds > 0:
            with self._cache_lock:
                self._cache[key_id] = (computed, who, self._clock())
        return who


__all__ = ["TOKEN_PREFIX", "ApiKeyInfo", "ApiKeys", "NewApiKey", "Principal", "api_keys_t"]

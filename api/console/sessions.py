"""Console sessions: an API key exchanged for a short-lived, server-side session.

The browser holds only a random session id (256 bits, base64url) in an
HttpOnly, SameSite=Strict cookie.  The database keeps the session under the
SHA-256 of that id (a copy of the table never yields a usable cookie): the
subject, the id of the API key it signed in with, the roles at sign-in, the two
clocks (idle and absolute expiry) and the erasure receipts issued in it.  The
CSRF token is derived from the session id (HMAC), so it is never stored either.
Nothing personal is in the cookie, and a tampered or stale cookie simply finds
no session.

Because sessions live in the database, every worker of ``hushdb serve
--workers N`` (and every server on the same database) sees the same sessions:
signed in on one, recognised by all; signed out or expired on one, gone for all.
A session ends when its API key is revoked (checked on every request, in the
same query).  The idle clock is written at most every ``touch_seconds``, so a
burst of requests costs one write; expired sessions are deleted at each sign-in,
and the table holds at most ``max_sessions`` rows (the least recently used go).

Failed sign-ins are rate-limited per client address with a sliding window
(:class:`SignInThrottle`); the caller audits each failure.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import secrets
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from core.apikeys import api_keys_t
from core.db import transaction
from core.models import UTCDateTime

SESSION_COOKIE = "hush_console"
LOGIN_CSRF_COOKIE = "hush_console_login"
DEFAULT_IDLE_SECONDS = 15 * 60
DEFAULT_ABSOLUTE_SECONDS = 8 * 60 * 60
MAX_SESSIONS = 10_000
MAX_RECEIPTS = 20
"""Erasure receipts kept per session (the newest)."""
_TOKEN_BYTES = 32
_CSRF_LABEL = b"hushdb console csrf v1"

console_metadata = sa.MetaData()
console_sessions_t = sa.Table(
    "console_sessions",
    console_metadata,
    sa.Column("id_hash", sa.String(64), primary_key=True),
    sa.Column("subject", sa.String(128), nullable=False),
    sa.Column("key_id", sa.String(16), nullable=False, index=True),
    sa.Column("roles", sa.String(512), nullable=False),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("last_seen_at", UTCDateTime(), nullable=False, index=True),
    sa.Column("receipts", sa.Text(), nullable=False),
)
"""The migration ``0011_console_sessions`` creates this table."""


def new_token() -> str:
    return secrets.token_urlsafe(_TOKEN_BYTES)


def same_token(given: str | None, expected: str) -> bool:
    """Constant-time comparison; a missing token never matches."""
    if not given or len(given) > 256:
        return False
    return hmac.compare_digest(given.encode(), expected.encode())


def _id_hash(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


def _csrf_of(session_id: str) -> str:
    mac = hmac.new(session_id.encode(), _CSRF_LABEL, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).decode().rstrip("=")


@dataclass(frozen=True, slots=True)
class SessionSettings:
    idle_seconds: float = DEFAULT_IDLE_SECONDS
    absolute_seconds: float = DEFAULT_ABSOLUTE_SECONDS
    max_sessions: int = MAX_SESSIONS
    failed_sign_ins: int = 5
    """Failed sign-ins allowed per client address within ``failure_window_seconds``."""
    failure_window_seconds: float = 5 * 60

    @property
    def touch_seconds(self) -> float:
        """How stale the stored idle clock may get before a request writes it (at most 30 s)."""
        return min(30.0, self.idle_seconds / 20)


@dataclass(slots=True)
class Session:
    """One signed-in browser.  ``repr`` never shows the session id or the CSRF token."""

    session_id: str = field(repr=False)
    subject: str
    key_id: str
    roles: frozenset[str]
    created: float
    last_seen: float
    receipts: dict[int, dict[str, object]] = field(default_factory=dict, repr=False)
    """Erasure receipts issued in this session, by audit seq (shown and downloadable)."""

    @property
    def csrf(self) -> str:
        """The session's CSRF token: an HMAC of the session id (stored nowhere)."""
        return _csrf_of(self.session_id)


class SessionStore:
    """Sessions in the database with idle and absolute timeouts, shared by every worker."""

    def __init__(
        self, settings: SessionSettings, *, engine: Engine, clock: Callable[[], float] = time.time
    ) -> None:
        self.settings = settings
        self._engine = engine
        self._clock = clock

    def _at(self, seconds: float) -> dt.datetime:
        return dt.datetime.fromtimestamp(seconds, dt.UTC)

    def create(self, *, subject: str, key_id: str, roles: frozenset[str]) -> Session:
        now = self._clock()
        session = Session(
            session_id=new_token(),
            subject=subject,
            key_id=key_id,
            roles=roles,
            created=now,
            last_seen=now,
        )
        t = console_sessions_t
        with transaction(self._engine) as conn:
            conn.execute(sa.delete(t).where(self._expired(now)))
            conn.execute(
                sa.insert(t).values(
                    id_hash=_id_hash(session.session_id),
                    subject=subject,
                    key_id=key_id,
                    roles=",".join(sorted(roles)),
                    created_at=self._at(now),
                    last_seen_at=self._at(now),
                    receipts="{}",
                )
            )
            total = int(conn.execute(sa.select(sa.func.count()).select_from(t)).scalar_one())
            if total > self.settings.max_sessions:
                oldest = (
                    sa.select(t.c.id_hash)
                    .order_by(t.c.last_seen_at, t.c.id_hash)
                    .limit(total - self.settings.max_sessions)
                )
                conn.execute(sa.delete(t).where(t.c.id_hash.in_(oldest.scalar_subquery())))
        return session

    def _expired(self, now: float) -> sa.ColumnElement[bool]:
        t = console_sessions_t.c
        return sa.or_(
            t.last_seen_at < self._at(now - self.settings.idle_seconds),
            t.created_at < self._at(now - self.settings.absolute_seconds),
        )

    def get(self, session_id: str | None) -> Session | None:
        """The live session of ``session_id`` (its idle clock restarts), or None.

        None when the id is unknown, the session expired (it is deleted), or its API key
        was revoked or is gone (every session of that key is deleted).
        """
        if not session_id or len(session_id) > 128:
            return None
        now = self._clock()
        s, k = console_sessions_t.c, api_keys_t.c
        id_hash = _id_hash(session_id)
        with transaction(self._engine) as conn:
            row = conn.execute(
                sa.select(
                    s.subject,
                    s.key_id,
                    s.roles,
                    s.created_at,
                    s.last_seen_at,
                    s.receipts,
                    k.subject.label("key_subject"),
                    k.revoked_at,
                )
                .select_from(console_sessions_t.outerjoin(api_keys_t, k.id == s.key_id))
                .where(s.id_hash == id_hash)
            ).first()
            if row is None:
                return None
            created, last_seen = row.created_at.timestamp(), row.last_seen_at.timestamp()
            if now - last_seen > self.settings.idle_seconds or now - created > self.settings.absolute_seconds:
                conn.execute(sa.delete(console_sessions_t).where(s.id_hash == id_hash))
                return None
            if row.key_subject is None or row.revoked_at is not None or row.key_subject != row.subject:
                conn.execute(sa.delete(console_sessions_t).where(s.key_id == row.key_id))
                return None
            if now - last_seen >= self.settings.touch_seconds:
                conn.execute(
                    sa.update(console_sessions_t)
                    .where(s.id_hash == id_hash)
                    .values(last_seen_at=self._at(now))
                )
                last_seen = now
        return Session(
            session_id=session_id,
            subject=str(row.subject),
            key_id=str(row.key_id),
            roles=frozenset(r for r in str(row.roles).split(",") if r),
            created=created,
            last_seen=last_seen,
            receipts=_receipts(row.receipts),
        )

    def add_receipt(self, session: Session, seq: int, doc: dict[str, object]) -> None:
        """Keep an erasure receipt with the session (the newest :data:`MAX_RECEIPTS`)."""
        session.receipts[seq] = doc
        for old in sorted(session.receipts)[:-MAX_RECEIPTS]:
            del session.receipts[old]
        body = json.dumps({str(k): v for k, v in session.receipts.items()}, sort_keys=True, default=str)
        with transaction(self._engine) as conn:
            conn.execute(
                sa.update(console_sessions_t)
                .where(console_sessions_t.c.id_hash == _id_hash(session.session_id))
                .values(receipts=body)
            )

    def drop(self, session_id: str | None) -> None:
        if session_id:
            with transaction(self._engine) as conn:
                conn.execute(
                    sa.delete(console_sessions_t).where(console_sessions_t.c.id_hash == _id_hash(session_id))
                )

    def drop_key(self, key_id: str) -> int:
        """End every session opened with ``key_id`` (the key was revoked)."""
        with transaction(self._engine) as conn:
            gone = conn.execute(sa.delete(console_sessions_t).where(console_sessions_t.c.key_id == key_id))
        return int(gone.rowcount or 0)

    def __len__(self) -> int:
        with self._engine.connect() as conn:
            return int(conn.execute(sa.select(sa.func.count()).select_from(console_sessions_t)).scalar_one())


def _receipts(raw: Any) -> dict[int, dict[str, object]]:
    try:
        doc = json.loads(raw or "{}")
    except ValueError:
        return {}
    if not isinstance(doc, dict):
        return {}
    return {int(k): v for k, v in doc.items() if str(k).isdigit() and isinstance(v, dict)}


class SignInThrottle:
    """At most ``limit`` failed sign-ins per client address in a sliding window (bounded memory)."""

    def __init__(
        self,
        *,
        limit: int,
        window_seconds: float,
        max_clients: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._limit = limit
        self._window = window_seconds
        self._max_clients = max_clients
        self._clock = clock
        self._lock = threading.Lock()
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()

    def _recent(self, client: str, now: float) -> deque[float]:
        times = self._failures.get(client)
        if times is None:
            times = deque(maxlen=self._limit + 1)
            self._failures[client] = times
            while len(self._failures) > self._max_clients:
                self._failures.popitem(last=False)
        while times and now - times[0] > self._window:
            times.popleft()
        return times

    def blocked(self, client: str) -> bool:
        with self._lock:
            return len(self._recent(client, self._clock())) >= self._limit

    def failed(self, client: str) -> None:
        now = self._clock()
        with self._lock:
            self._recent(client, now).append(now)
            self._failures.move_to_end(client)

    def succeeded(self, client: str) -> None:
        with self._lock:
            self._failures.pop(client, None)


__all__ = [
    "LOGIN_CSRF_COOKIE",
    "MAX_RECEIPTS",
    "SESSION_COOKIE",
    "Session",
    "SessionSettings",
    "SessionStore",
    "SignInThrottle",
    "console_metadata",
    "console_sessions_t",
    "new_token",
    "same_token",
]

"""Console sessions: an API key exchanged for a short-lived, server-side session.

The browser holds only a random session id (256 bits, base64url) in an
HttpOnly, SameSite=Strict cookie; the server keeps the subject, the API key id
it signed in with, the CSRF token and the two clocks (idle and absolute
expiry).  Nothing personal is in the cookie, and a tampered or stale cookie
simply finds no session.

Sessions live in the serving process (a bounded table; the oldest session is
dropped when it is full).  With ``hushdb serve --workers N`` each worker has its
own table, so put the console behind one worker or a sticky load balancer.

Failed sign-ins are rate-limited per client address with a sliding window
(:class:`SignInThrottle`); the caller audits each failure.
"""

from __future__ import annotations

import hmac
import secrets
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, field

SESSION_COOKIE = "hush_console"
LOGIN_CSRF_COOKIE = "hush_console_login"
DEFAULT_IDLE_SECONDS = 15 * 60
DEFAULT_ABSOLUTE_SECONDS = 8 * 60 * 60
MAX_SESSIONS = 10_000
_TOKEN_BYTES = 32


def new_token() -> str:
    return secrets.token_urlsafe(_TOKEN_BYTES)


def same_token(given: str | None, expected: str) -> bool:
    """Constant-time comparison; a missing token never matches."""
    if not given or len(given) > 256:
        return False
    return hmac.compare_digest(given.encode(), expected.encode())


@dataclass(frozen=True, slots=True)
class SessionSettings:
    idle_seconds: float = DEFAULT_IDLE_SECONDS
    absolute_seconds: float = DEFAULT_ABSOLUTE_SECONDS
    max_sessions: int = MAX_SESSIONS
    failed_sign_ins: int = 5
    """Failed sign-ins allowed per client address within ``failure_window_seconds``."""
    failure_window_seconds: float = 5 * 60


@dataclass(slots=True)
class Session:
    """One signed-in browser.  ``repr`` never shows the tokens."""

    session_id: str = field(repr=False)
    token: str = field(repr=False)
    """The API key signed in with, kept server-side only, re-checked so a revoked key ends the session."""
    subject: str
    key_id: str
    roles: frozenset[str]
    csrf: str = field(repr=False)
    created: float
    last_seen: float
    receipts: dict[int, dict[str, object]] = field(default_factory=dict, repr=False)
    """Erasure receipts issued in this session, by audit seq (shown and downloadable)."""


class SessionStore:
    """Server-side sessions with idle and absolute timeouts (thread-safe, bounded)."""

    def __init__(self, settings: SessionSettings, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.settings = settings
        self._clock = clock
        self._lock = threading.Lock()
        self._sessions: OrderedDict[str, Session] = OrderedDict()

    def create(self, *, token: str, subject: str, key_id: str, roles: frozenset[str]) -> Session:
        now = self._clock()
        session = Session(
            session_id=new_token(),
            token=token,
            subject=subject,
            key_id=key_id,
            roles=roles,
            csrf=new_token(),
            created=now,
            last_seen=now,
        )
        with self._lock:
            self._sessions[session.session_id] = session
            while len(self._sessions) > self.settings.max_sessions:
                self._sessions.popitem(last=False)
        return session

    def _expired(self, session: Session, now: float) -> bool:
        return (
            now - session.last_seen > self.settings.idle_seconds
            or now - session.created > self.settings.absolute_seconds
        )

    def get(self, session_id: str | None) -> Session | None:
        """The live session of ``session_id`` (its idle clock restarts), or None when unknown or expired."""
        if not session_id or len(session_id) > 128:
            return None
        now = self._clock()
        with self._lock:
            session = self._sessions.get(session_id)
            if session is None:
                return None
            if self._expired(session, now):
                del self._sessions[session_id]
                return None
            session.last_seen = now
            self._sessions.move_to_end(session_id)
            return session

    def drop(self, session_id: str | None) -> None:
        if session_id:
            with self._lock:
                self._sessions.pop(session_id, None)

    def drop_key(self, key_id: str) -> int:
        """End every session opened with ``key_id`` (the key was revoked)."""
        with self._lock:
            gone = [sid for sid, s in self._sessions.items() if s.key_id == key_id]
            for sid in gone:
                del self._sessions[sid]
        return len(gone)

    def __len__(self) -> int:
        return len(self._sessions)


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
    "SESSION_COOKIE",
    "Session",
    "SessionSettings",
    "SessionStore",
    "SignInThrottle",
    "new_token",
    "same_token",
]

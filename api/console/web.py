"""The console's web plumbing: security headers, sessions from cookies, CSRF, forms, page rendering.

Pages are rendered with Jinja2 (autoescaped).  Errors from the services
(:mod:`core.errors`) become an HTML page with the error's status and its
message (which never holds personal data); refusals are audited by the
services themselves, and refusals of the console's own checks (no session,
bad CSRF token, sign-in) here.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
from fastapi import Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.background import BackgroundTask
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.console.audit_reads import AuditReads
from api.console.people import People
from api.console.profiling_view import ProfilingView
from api.console.sessions import (
    LOGIN_CSRF_COOKIE,
    SESSION_COOKIE,
    Session,
    SessionStore,
    SignInThrottle,
    same_token,
)
from api.http.services import HttpServices
from core.errors import AccessDenied, AuthError, HushError, InputError, NotFoundError
from core.gateway import AccessContext

PREFIX = "/console"
TEMPLATES = Path(__file__).parent / "templates"
STATIC = Path(__file__).parent / "static"
MAX_QUERY_CHARS = 2048
MAX_FORM_BYTES = 16 * 1024
MAX_FORM_FIELDS = 16
ANONYMOUS = "anonymous"
COMPLIANCE, PROFILING, ERASURE, SERVICE = "compliance", "profiling", "erasure", "service"
"""The purposes the pages read with."""
CONSOLE_ROLES = frozenset({"compliance", "dpo", "analyst", "admin"})
"""Roles that may sign in to the console (sales and mail-merge work through the API)."""

CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
SECURITY_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"content-security-policy", CSP.encode()),
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
)


@dataclass(frozen=True, slots=True)
class NavItem:
    path: str
    label: str
    roles: frozenset[str]


NAV: tuple[NavItem, ...] = (
    NavItem("/dashboard", "Dashboard", frozenset({"compliance"})),
    NavItem("/audit", "Audit explorer", frozenset({"compliance"})),
    NavItem("/review", "Review queue", frozenset({"compliance"})),
    NavItem("/people", "Person", frozenset({"compliance"})),
    NavItem("/requests", "Requests", frozenset({"dpo"})),
    NavItem("/profiling", "Profiling", frozenset({"analyst"})),
    NavItem("/policy", "Policy", frozenset({"compliance", "dpo", "admin"})),
)


Page = Callable[[Session, AccessContext], Response]
"""What a page does once the session is known: (session, access context) -> response."""


class SecurityHeaders:
    """Adds the console's security headers (CSP without inline scripts, no framing, no caching).

    Also refuses oversized query strings on console paths with 414 before any work.
    """

    def __init__(self, app: ASGIApp, *, prefix: str = PREFIX) -> None:
        self.app = app
        self.prefix = prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        if not (path == self.prefix or path.startswith(self.prefix + "/")):
            await self.app(scope, receive, send)
            return
        if len(scope.get("query_string", b"")) > MAX_QUERY_CHARS:
            body = b"<!doctype html><title>Request too long</title><h1>Request too long</h1><p>The address is too long.</p>"
            await send(
                {
                    "type": "http.response.start",
                    "status": 414,
                    "headers": [
                        (b"content-type", b"text/html; charset=utf-8"),
                        (b"content-length", str(len(body)).encode()),
                        *SECURITY_HEADERS,
                        (b"cache-control", b"no-store"),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": body})
            return
        static = path.startswith(self.prefix + "/static/")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"cache-control"]
                headers += list(SECURITY_HEADERS)
                headers.append((b"cache-control", b"public, max-age=3600" if static else b"no-store"))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


@dataclass
class Console:
    """Everything the console pages use, built once by :func:`api.console.install_console`."""

    svc: HttpServices
    sessions: SessionStore
    throttle: SignInThrottle
    audit: AuditReads
    people: People
    profiling: ProfilingView
    env: jinja2.Environment
    prefix: str = PREFIX

    # -- sessions -------------------------------------------------------------------

    def session(self, request: Request) -> Session | None:
        """The live session of the request's cookie (a revoked API key ends it).  Call in a worker thread."""
        return self.sessions.get(request.cookies.get(SESSION_COOKIE))

    def context(self, request: Request, session: Session, purpose: str) -> AccessContext:
        return self.svc.hush.context(session.subject, purpose, request.state.request_id)

    def anonymous(self, request: Request) -> AccessContext:
        return AccessContext(
            subject=ANONYMOUS, roles=frozenset(), purpose="compliance", request_id=request.state.request_id
        )

    def refuse(
        self,
        ctx: AccessContext,
        *,
        action: str,
        reason: str,
        detail: Mapping[str, str | int | bool | None] | None = None,
    ) -> None:
        """Audit a refusal of the console's own checks (sign-in, session, CSRF)."""
        self._record(ctx, action, "deny", {"reason": reason, "via": "console", **(detail or {})})

    def allow(
        self, ctx: AccessContext, *, action: str, detail: Mapping[str, str | int | bool | None]
    ) -> None:
        self._record(ctx, action, "allow", {"via": "console", **detail})

    def _record(
        self,
        ctx: AccessContext,
        action: str,
        decision: str,
        detail: Mapping[str, str | int | bool | None],
    ) -> None:
        """One audit event on the console itself (no fields), recorded on its own."""
        gw = self.svc.hush.gateway
        gw.record_alone(
            gw.event(ctx, action=action, resource="console", fields=[], decision=decision, detail=detail)
        )

    # -- pages -----------------------------------------------------------------------

    def no_session(self, request: Request) -> Response:
        """Send the browser to sign in; a cookie that finds no session is an audited refusal."""
        if request.cookies.get(SESSION_COOKIE):
            self.refuse(self.anonymous(request), action="console_view", reason="no live session")
        response = self.to_sign_in()
        self.clear_session_cookie(request, response)
        return response

    def page(self, request: Request, purpose: str, produce: Page) -> Response:
        """A GET page (run in a worker thread): the session, then ``produce``; service errors become pages."""
        session = self.session(request)
        if session is None:
            return self.no_session(request)
        try:
            return produce(session, self.context(request, session, purpose))
        except HushError as exc:
            return self.error_page(request, session, exc)

    async def post(self, request: Request, purpose: str, act: Page) -> Response:
        """A form post: the session, the form, its CSRF token (refusals audited), then ``act`` in a thread.

        ``act`` finds the form in ``request.state.form``.
        """
        session = await run_in_threadpool(self.session, request)
        if session is None:
            return await run_in_threadpool(self.no_session, request)
        try:
            form = await self.form(request)
        except InputError:
            form = {}  # unreadable or not a form: it carries no valid token either
        if not self.csrf_ok(session, form):
            ctx = self.context(request, session, purpose)
            await run_in_threadpool(
                self.refuse, ctx, action="console_post", reason="missing or stale CSRF token"
            )
            return self.error_page(request, session, AccessDenied("missing or stale CSRF token"))
        request.state.form = form

        def work() -> Response:
            try:
                return act(session, self.context(request, session, purpose))
            except HushError as exc:
                return self.error_page(request, session, exc)

        return await run_in_threadpool(work)

    # -- rendering -------------------------------------------------------------------

    def roles_for(self, subject: str) -> frozenset[str]:
        """The subject's roles in the policy in force (none when it holds no role)."""
        try:
            return self.svc.hush.policies.current.roles_for(subject)
        except HushError:
            return frozenset()

    def roles_of(self, session: Session | None) -> frozenset[str]:
        return frozenset() if session is None else self.roles_for(session.subject)

    def nav(self, roles: frozenset[str]) -> list[NavItem]:
        return [item for item in NAV if item.roles & roles]

    def render(
        self,
        request: Request,
        template: str,
        *,
        session: Session | None,
        status: int = 200,
        active: str = "",
        background: BackgroundTask | None = None,
        **values: Any,
    ) -> HTMLResponse:
        roles = self.roles_of(session)
        values.setdefault("flash", None)
        page = self.env.get_template(template).render(
            prefix=self.prefix,
            session=session,
            roles=sorted(roles),
            nav=self.nav(roles),
            active=active,
            csrf=session.csrf if session else "",
            request_id=getattr(request.state, "request_id", ""),
            qs=query_string,
            status=status,
            **values,
        )
        return HTMLResponse(page, status_code=status, background=background)

    def error_page(self, request: Request, session: Session | None, exc: HushError) -> HTMLResponse:
        self.svc.hush.gateway.governance.settle(exc)  # a denial raised inside a transaction is recorded now
        status = exc.http_status if isinstance(exc, HushError) else 500
        if isinstance(exc, AccessDenied):
            heading, message = "Not allowed", "Your role may not open this page or do this for this purpose."
        elif isinstance(exc, NotFoundError):
            heading, message = "Not found", str(exc)
        elif isinstance(exc, AuthError):
            heading, message = "Sign in again", "Your session has ended or the key is not valid."
        elif status < 500:
            heading, message = "Cannot do that", str(exc)
        else:
            heading, message = "Unavailable", "The service could not complete the request; retry later."
        return self.render(
            request,
            "error.html",
            session=session,
            status=status,
            heading=heading,
            message=message,
            title=heading,
        )

    def to_sign_in(self) -> RedirectResponse:
        return RedirectResponse(f"{self.prefix}/sign-in", status_code=303)

    def cookie_secure(self, request: Request) -> bool:
        return request.url.scheme == "https"

    def set_session_cookie(self, request: Request, response: Response, session: Session) -> None:
        response.set_cookie(
            SESSION_COOKIE,
            session.session_id,
            max_age=int(self.sessions.settings.absolute_seconds),
            path=self.prefix,
            httponly=True,
            secure=self.cookie_secure(request),
            samesite="strict",
        )
        response.delete_cookie(LOGIN_CSRF_COOKIE, path=self.prefix)

    def clear_session_cookie(self, request: Request, response: Response) -> None:
        response.delete_cookie(
            SESSION_COOKIE,
            path=self.prefix,
            httponly=True,
            secure=self.cookie_secure(request),
            samesite="strict",
        )

    # -- forms -----------------------------------------------------------------------

    @staticmethod
    async def form(request: Request) -> dict[str, str]:
        """A small url-encoded form (first value of each field); anything else is an input error."""
        ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if ctype != "application/x-www-form-urlencoded":
            raise InputError("the console accepts form posts only")
        body = await request.body()
        if len(body) > MAX_FORM_BYTES:
            raise InputError("the form is too large")
        try:
            pairs = urllib.parse.parse_qsl(
                body.decode("utf-8"),
                keep_blank_values=True,
                strict_parsing=False,
                max_num_fields=MAX_FORM_FIELDS,
            )
        except (UnicodeDecodeError, ValueError) as exc:
            raise InputError("the form could not be read") from exc
        out: dict[str, str] = {}
        for key, value in pairs:
            out.setdefault(key, value)
        return out

    def csrf_ok(self, session: Session, form: Mapping[str, str]) -> bool:
        return same_token(form.get("csrf"), session.csrf)


def query_string(params: Mapping[str, Any], **extra: Any) -> str:
    """``?a=b&...`` for links (empty values dropped); ``""`` when there is nothing."""
    merged = {k: str(v) for k, v in {**params, **extra}.items() if v not in (None, "")}
    return "?" + urllib.parse.urlencode(merged) if merged else ""


_EXTERNAL_ID_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.:")
_FLASHES = {
    "review-cleared": "The review was cleared; the decision and its reason are in the audit log.",
    "review-kept": "The customer stays under review; the decision is in the audit log.",
    "review-deceased": "The customer was marked deceased and left the queue; the decision is in the audit log.",
    "flag-set": "The flag was set.",
    "policy-reloaded": "The policy files were reloaded.",
}


def external_id_of(value: str) -> str:
    """An external id from a path or form, checked like the API's (1-128 of ``A-Za-z0-9-_.:``)."""
    text = value.strip()
    if not text or len(text) > 128 or not set(text) <= _EXTERNAL_ID_CHARS:
        raise InputError("an external id is 1-128 letters, digits and - _ . :")
    return text


def flash_of(request: Request) -> str | None:
    """The confirmation line for ``?done=...`` after an action (fixed sentences only)."""
    return _FLASHES.get(request.query_params.get("done", ""))


def age_text(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    s = max(0, int(seconds))
    if s < 120:
        return f"{s} s"
    if s < 7200:
        return f"{s // 60} min"
    if s < 172800:
        return f"{s // 3600} h"
    return f"{s // 86400} days"


def make_env() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        autoescape=jinja2.select_autoescape(("html",), default=True),
        undefined=jinja2.StrictUndefined,
        trim_blocks=False,
    )


__all__ = [
    "CONSOLE_ROLES",
    "CSP",
    "NAV",
    "PREFIX",
    "STATIC",
    "Console",
    "NavItem",
    "Page",
    "SecurityHeaders",
    "age_text",
    "external_id_of",
    "flash_of",
    "make_env",
    "query_string",
]

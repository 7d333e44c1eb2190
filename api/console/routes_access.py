"""Console sign-in, sign-out and the home redirect (by role)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response

from api.console.sessions import LOGIN_CSRF_COOKIE, Session, new_token, same_token
from api.console.web import COMPLIANCE, CONSOLE_ROLES, Console
from core.errors import AuthError, InputError
from core.gateway import AccessContext

HOME_BY_ROLE = (
    ("compliance", "/dashboard"),
    ("dpo", "/requests"),
    ("analyst", "/profiling"),
    ("admin", "/policy"),
)


def add_access_routes(router: APIRouter, console: Console) -> None:
    @router.get("/")
    def home(request: Request) -> Response:
        session = console.session(request)
        if session is None:
            return console.to_sign_in()
        roles = console.roles_of(session)
        for role, path in HOME_BY_ROLE:
            if role in roles:
                return RedirectResponse(console.prefix + path, status_code=303)
        return console.to_sign_in()  # pragma: no cover (sign-in admits console roles only)

    def sign_in_page(request: Request, message: str | None, status: int) -> Response:
        """The sign-in form with a fresh login CSRF token (and cookie), optionally with an error."""
        token = new_token()
        response = console.render(
            request,
            "sign_in.html",
            session=None,
            status=status,
            title="Sign in",
            login_csrf=token,
            error=message,
            idle_minutes=int(console.sessions.settings.idle_seconds // 60),
            absolute_hours=round(console.sessions.settings.absolute_seconds / 3600, 1),
        )
        response.set_cookie(
            LOGIN_CSRF_COOKIE,
            token,
            max_age=3600,
            path=console.prefix,
            httponly=True,
            secure=console.cookie_secure(request),
            samesite="strict",
        )
        return response

    @router.get("/sign-in")
    def sign_in_form(request: Request) -> Response:
        return sign_in_page(request, None, 200)

    def sign_in_refused(request: Request, message: str, status: int) -> Response:
        return sign_in_page(request, message, status)

    @router.post("/sign-in")
    async def sign_in(request: Request) -> Response:
        client = request.client.host if request.client else "unknown"
        try:
            form = await console.form(request)
        except InputError as exc:
            return sign_in_refused(request, str(exc), 400)
        if not same_token(form.get("csrf"), request.cookies.get(LOGIN_CSRF_COOKIE) or ""):
            await run_in_threadpool(
                console.refuse,
                console.anonymous(request),
                action="sign_in",
                reason="missing or stale CSRF token",
            )
            return sign_in_refused(request, "The form expired; please sign in again.", 403)

        def attempt() -> Response:
            anonymous = console.anonymous(request)
            if console.throttle.blocked(client):
                console.refuse(anonymous, action="sign_in", reason="too many failed sign-ins")
                return sign_in_refused(request, "Too many failed sign-ins; wait a few minutes.", 429)
            token = form.get("api_key", "").strip()
            try:
                who = console.svc.apikeys.authenticate(token)
            except AuthError:
                console.throttle.failed(client)
                console.refuse(anonymous, action="sign_in", reason="invalid or revoked API key")
                return sign_in_refused(request, "That key is not valid.", 401)
            roles = console.roles_for(who.subject)
            ctx = AccessContext(
                subject=who.subject, roles=roles, purpose=COMPLIANCE, request_id=request.state.request_id
            )
            if not roles & CONSOLE_ROLES:
                console.throttle.failed(client)
                console.refuse(ctx, action="sign_in", reason="no console role", detail={"key_id": who.key_id})
                return sign_in_refused(request, "Your role does not use the console; use the API.", 403)
            console.throttle.succeeded(client)
            session = console.sessions.create(subject=who.subject, key_id=who.key_id, roles=roles)
            console.allow(ctx, action="sign_in", detail={"key_id": who.key_id})
            response = RedirectResponse(console.prefix + "/", status_code=303)
            console.set_session_cookie(request, response, session)
            return response

        return await run_in_threadpool(attempt)

    @router.post("/sign-out")
    async def sign_out(request: Request) -> Response:
        def act(session: Session, ctx: AccessContext) -> Response:
            console.sessions.drop(session.session_id)
            console.allow(ctx, action="sign_out", detail={"key_id": session.key_id})
            response = console.to_sign_in()
            console.clear_session_cookie(request, response)
            return response

        return await console.post(request, COMPLIANCE, act)

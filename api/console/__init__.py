"""The compliance console: server-rendered pages at ``/console/`` on the same services as the API.

:func:`install_console` mounts it on the app built by :func:`api.http.app.create_app`
(which ``hushdb serve`` runs), together with the offline API docs
(:func:`install_offline_docs`: Swagger UI and ReDoc served from the app, no CDN).
See ``docs/console.md``.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

from api.console.audit_reads import AuditReads
from api.console.people import People
from api.console.profiling_view import ProfilingView
from api.console.routes import build_router
from api.console.sessions import SessionSettings, SessionStore, SignInThrottle
from api.console.web import PREFIX, STATIC, Console, SecurityHeaders, make_env
from api.http.services import HttpServices
from core.compliance import ReviewDesk

DOCS_STATIC = "/docs-static"


def docs_assets() -> Path:
    """The Swagger UI and ReDoc files shipped in the ``fastapi-offline`` wheel (a dependency)."""
    import fastapi_offline

    return Path(fastapi_offline.__file__).parent / "static"


def install_offline_docs(app: FastAPI) -> None:
    """Serve ``/docs`` and ``/redoc`` with assets from the app instead of a CDN (they work offline)."""
    docs_url, redoc_url, openapi_url = app.docs_url or "/docs", app.redoc_url or "/redoc", app.openapi_url
    replaced = {docs_url, redoc_url, app.swagger_ui_oauth2_redirect_url}
    app.router.routes[:] = [r for r in app.router.routes if getattr(r, "path", None) not in replaced]
    app.mount(DOCS_STATIC, StaticFiles(directory=str(docs_assets())), name="docs-static")
    title = app.title

    async def swagger_ui() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=openapi_url or "/openapi.json",
            title=f"{title} - API docs",
            swagger_js_url=f"{DOCS_STATIC}/swagger-ui-bundle.js",
            swagger_css_url=f"{DOCS_STATIC}/swagger-ui.css",
            swagger_favicon_url=f"{DOCS_STATIC}/favicon.png",
        )

    async def redoc() -> HTMLResponse:
        return get_redoc_html(
            openapi_url=openapi_url or "/openapi.json",
            title=f"{title} - API reference",
            redoc_js_url=f"{DOCS_STATIC}/redoc.standalone.js",
            redoc_favicon_url=f"{DOCS_STATIC}/favicon.png",
            with_google_fonts=False,
        )

    app.add_api_route(docs_url, swagger_ui, methods=["GET"], include_in_schema=False)
    app.add_api_route(redoc_url, redoc, methods=["GET"], include_in_schema=False)


def build_console(svc: HttpServices, settings: SessionSettings | None = None) -> Console:
    """The console's collaborators over the app's services (one composition root)."""
    settings = settings or SessionSettings()
    hush = svc.hush
    return Console(
        svc=svc,
        sessions=SessionStore(settings, engine=hush.engine),
        throttle=SignInThrottle(
            limit=settings.failed_sign_ins, window_seconds=settings.failure_window_seconds
        ),
        audit=AuditReads(
            gateway=hush.gateway,
            compliance=svc.compliance,
            checkpoints_path=str(hush.settings.checkpoints_path),
        ),
        people=People(
            gateway=hush.gateway, desk=ReviewDesk(gateway=hush.gateway), exports_dir=hush.settings.exports_dir
        ),
        profiling=ProfilingView(gateway=hush.gateway),
        env=make_env(),
    )


def install_console(app: FastAPI, settings: SessionSettings | None = None) -> Console:
    """Mount the console at ``/console/`` and the offline API docs on ``app`` (built by ``create_app``)."""
    svc = app.state.services
    assert isinstance(svc, HttpServices)
    console = build_console(svc, settings)
    app.state.console = console
    app.include_router(build_router(console))
    app.mount(f"{PREFIX}/static", StaticFiles(directory=str(STATIC)), name="console-static")
    app.add_middleware(SecurityHeaders, prefix=PREFIX)
    install_offline_docs(app)
    return console


__all__ = ["build_console", "docs_assets", "install_console", "install_offline_docs"]

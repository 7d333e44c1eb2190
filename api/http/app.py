"""The HTTP app factory: ``create_app(hush) -> FastAPI``.

One composition root: the app receives a :class:`~api.wiring.Hush` (built by
``api.wiring``) and builds the API's own collaborators from it (API keys,
compliance queries, data-subject export, mail-merge jobs).  ``hushdb serve``
calls it directly; with ``--workers N`` uvicorn imports :func:`factory`,
which reads the settings with :func:`core.config.load_settings`.

Other packages add routers with ``create_app(hush, extra_routers=[...])`` or
:func:`include` (e.g. the profiling endpoints).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

import anyio.to_thread
from fastapi import APIRouter, FastAPI
from fastapi.openapi.utils import get_openapi

from api.http.access_log import RequestMiddleware, configure_logging
from api.http.jobs import ExportJobs, JobSpec, MailmergeRunner
from api.http.problems import COMMON_ERRORS, PROBLEM_MEDIA_TYPE, error_responses, install_problem_handlers
from api.http.routers import admin, compliance, customers, exports, health, notes
from api.http.routers.health import VERSION
from api.http.services import HttpServices, NoteAdder
from api.wiring import Hush, open_store
from core.apikeys import ApiKeys
from core.compliance import ComplianceQueries
from core.config import load_settings
from core.dsar import DataSubjectExport
from core.export.mailmerge import MailmergeRequest, MailmergeService

log = logging.getLogger(__name__)

API_TITLE = "hushdb"
SQLITE_THREADS = 1
API_KEY_CACHE_SECONDS = 2.0
"""A key revoked by another process (the CLI) stops working here within this time; at once if revoked here."""
BODY_HEADROOM = 128 * 1024


def include(app: FastAPI, router: APIRouter) -> None:
    """Mount ``router`` with the API's problem documents for every error status."""
    app.include_router(router, responses=error_responses(*COMMON_ERRORS))
    app.openapi_schema = None


def mailmerge_jobs(hush: Hush, runner: MailmergeRunner | None = None) -> ExportJobs:
    """Background jobs over the mail-merge service (the same service as ``hushdb export mailmerge``)."""
    if runner is None:
        runner = MailmergeService(gateway=hush.gateway, pii=hush.pii, settings=hush.settings)

    def make_request(spec: JobSpec) -> MailmergeRequest:
        return MailmergeRequest(
            campaign=spec.campaign,
            fields=spec.fields,
            template=spec.template,
            channel=spec.channel,
            format=spec.format,
        )

    return ExportJobs(
        runner=runner,
        make_request=make_request,
        exports_dir=hush.settings.exports_dir,
        retention_hours=hush.settings.export_retention_hours,
    )


def default_routers() -> list[APIRouter]:
    """Routers of other packages that ``hushdb serve`` mounts (profiling, when installed)."""
    try:
        from api.http_profiles import build_router
    except ImportError:
        return []
    return [build_router()]


def _problem_openapi(app: FastAPI) -> dict[str, Any]:
    """The OpenAPI document, with error bodies declared as ``application/problem+json``."""
    if app.openapi_schema:
        return app.openapi_schema
    doc = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
    for item in doc.get("paths", {}).values():
        for op in item.values():
            for status, resp in op.get("responses", {}).items():
                content = resp.get("content", {})
                if status.isdigit() and int(status) >= 400 and "application/json" in content:
                    content[PROBLEM_MEDIA_TYPE] = content.pop("application/json")
    app.openapi_schema = doc
    return doc


def create_app(
    hush: Hush,
    *,
    extra_routers: Sequence[APIRouter] = (),
    notes_service: NoteAdder | None = None,
    export_runner: MailmergeRunner | None = None,
    close_on_shutdown: bool = False,
    warm_up: bool = False,
) -> FastAPI:
    """The FastAPI app over one opened store.

    ``warm_up`` (a real server): load the NLP models and build what analysis otherwise builds on
    first use, in a background thread at start-up, so the first notes written do not pay for it.
    """
    hush.channel, hush.os_user = "http", ""  # every event of this process says it came over HTTP
    compliance_queries = ComplianceQueries(hush=hush)
    jobs = mailmerge_jobs(hush, export_runner)
    svc = HttpServices(
        hush=hush,
        apikeys=ApiKeys(gateway=hush.gateway, cache_seconds=API_KEY_CACHE_SECONDS),
        compliance=compliance_queries,
        dsar=DataSubjectExport(gateway=hush.gateway, reports=compliance_queries),
        notes=notes_service if notes_service is not None else hush.notes,
        jobs=jobs,
    )

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        if hush.settings.is_sqlite:
            # SQLite has one writer, and every governed read appends an audit event: threads of one
            # process queue here (fast hand-over) instead of in SQLite's busy handler (sleeps).
            anyio.to_thread.current_default_thread_limiter().total_tokens = SQLITE_THREADS
        # SIGHUP reloads the policy files (audited) instead of terminating the server.
        uninstall_reload_signal = admin.install_reload_signal(hush.gateway.governance)
        if warm_up:
            threading.Thread(target=_warm_up, args=(hush,), name="hushdb-warm-up", daemon=True).start()
        try:
            yield
        finally:
            uninstall_reload_signal()
            jobs.close()
            if close_on_shutdown:
                hush.close()

    app = FastAPI(
        title=API_TITLE,
        version=VERSION,
        description="A privacy-first, governed customer data store. Every data call needs "
        "`Authorization: Bearer KEY` and `X-Purpose`; every access is audited.",
        lifespan=lifespan,
    )
    app.state.services = svc
    install_problem_handlers(app)
    max_body = 6 * hush.settings.note_max_bytes + BODY_HEADROOM
    app.add_middleware(RequestMiddleware, max_body_bytes=max_body)
    app.include_router(health.router)
    for router in (
        customers.router,
        notes.router,
        exports.router,
        compliance.router,
        admin.router,
        *extra_routers,
    ):
        include(app, router)
    app.openapi = lambda: _problem_openapi(app)  # type: ignore[method-assign]
    from api.console import install_console  # the console at /console/ and offline /docs

    install_console(app)
    return app


def factory() -> FastAPI:
    """For ``uvicorn --factory api.http.app:factory``: settings from the environment, store opened here."""
    settings = load_settings()
    configure_logging(settings.log_level)
    return create_app(
        open_store(settings), extra_routers=default_routers(), close_on_shutdown=True, warm_up=True
    )


def _warm_up(hush: Hush) -> None:
    try:
        hush.pii().preload()
    except Exception:  # analysis loads (and reports) the models itself on first use
        log.warning("warming up the PII engine failed; the first notes will load it", exc_info=False)


__all__ = ["create_app", "default_routers", "factory", "include", "mailmerge_jobs"]

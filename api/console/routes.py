"""The console's router: every page under ``/console/`` (see the ``routes_*`` modules).

Each page reads through the services with the signed-in subject, the subject's
roles (from the policy files) and the page's purpose; the services authorize,
audit, and raise :class:`core.errors.AccessDenied` (audited) for a role that may
not, which becomes a 403 page.  GET pages run in a worker thread; POST forms
read their body, check the CSRF token, then run in a worker thread
(:meth:`api.console.web.Console.page` and :meth:`~api.console.web.Console.post`).
"""

from __future__ import annotations

from fastapi import APIRouter

from api.console.routes_access import add_access_routes
from api.console.routes_compliance import add_compliance_routes
from api.console.routes_other import add_other_routes
from api.console.web import Console


def build_router(console: Console) -> APIRouter:
    router = APIRouter(prefix=console.prefix, include_in_schema=False)
    add_access_routes(router, console)
    add_compliance_routes(router, console)
    add_other_routes(router, console)
    return router


__all__ = ["build_router"]

"""Administration: reload the policy files in a running server (``POST /admin/policy/reload``, SIGHUP).

Both ways run the same path, :meth:`core.governance.Governance.reload_policy`: the new
files are loaded and validated completely, then swapped in with one reference
(copy, load, swap); a broken file keeps the policy in force.  The reload, the new
policy hash and a refused reload are audit events.  The endpoint needs ``admin``/
``manage`` of ``policy`` (the ``admin`` role, purpose ``service``); a signal is the
operator's (whoever may signal the server process) and is recorded as the system.
With ``--workers N`` the supervisor forwards SIGHUP to every worker, and a worker that
reloaded through the endpoint asks it to (:mod:`api.http.supervisor`): every worker
reloads in place and records its own event.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import threading
from collections.abc import Callable

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from api.http.deps import Access, Services
from api.http.supervisor import notify_siblings
from core.errors import HushError
from core.governance import Governance

log = logging.getLogger(__name__)

router = APIRouter(tags=["admin"])


class PolicyReloadRefused(HushError):
    """The policy files were refused; the previous policy stays in force."""

    exit_code = 2
    http_status = 422
    title = "Policy refused"


class PolicyReloadOut(BaseModel):
    model_config = ConfigDict(extra="forbid")

    policy_hash: str = Field(description="SHA-256 of the policy files now in force.")
    previous_hash: str
    changed: bool


@router.post(
    "/admin/policy/reload",
    response_model=PolicyReloadOut,
    summary="Reload the policy files atomically (admin); a broken file keeps the policy in force",
)
def reload_policy(ctx: Access, svc: Services) -> PolicyReloadOut:
    governance = svc.hush.gateway.governance
    governance.require(ctx, resource="admin", action="manage", field="policy")
    result = governance.reload_policy(ctx)
    if result.error is not None:
        raise PolicyReloadRefused(
            f"policy not reloaded, the previous one stays in force: {result.error.message}"
        )
    if result.changed:
        notify_siblings()  # with --workers N, the other workers reload too (each audits its own)
    return PolicyReloadOut(
        policy_hash=result.policy_hash, previous_hash=result.previous_hash, changed=result.changed
    )


def install_reload_signal(governance: Governance) -> Callable[[], None]:
    """Reload the policy on SIGHUP (instead of terminating); returns the function that uninstalls it.

    Must be called from the running event loop in the main thread (the server's lifespan);
    elsewhere (a test client's thread, a platform without SIGHUP) it does nothing.
    """
    hup = getattr(signal, "SIGHUP", None)
    if hup is None or threading.current_thread() is not threading.main_thread():
        return lambda: None
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return lambda: None

    def reload() -> None:
        try:
            result = governance.reload_policy()
        except HushError as exc:  # the audit event could not be written: nothing was swapped unaudited
            log.error("policy reload on SIGHUP could not be recorded: %s", type(exc).__name__)
            return
        if result.ok:
            log.info("policy reloaded on SIGHUP; hash %s", result.policy_hash)
        else:
            log.error("policy reload on SIGHUP refused; the previous policy stays in force")

    def on_hup() -> None:
        loop.run_in_executor(None, reload)

    try:
        loop.add_signal_handler(hup, on_hup)
    except (NotImplementedError, RuntimeError, ValueError):
        return lambda: None

    def uninstall() -> None:
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.remove_signal_handler(hup)

    return uninstall


__all__ = ["PolicyReloadRefused", "install_reload_signal", "router"]

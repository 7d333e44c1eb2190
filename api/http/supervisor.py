"""Several worker processes, one policy: SIGHUP is forwarded to every worker.

uvicorn's own supervisor answers SIGHUP by replacing its workers one by one.  That
would reload the policy only by restarting, leave a refused policy file unrecorded
(a worker that cannot start just dies) and drop the workers' in-memory state.
hushdb's workers reload in place instead (:func:`api.http.routers.admin.install_reload_signal`:
validated, swapped atomically, audited, a broken file keeps the policy in force), so the
supervisor here only passes the signal on: ``kill -HUP <server pid>`` reloads every
worker, and each records its own ``policy_reload`` (or ``policy_reload_failed``) event.

``POST /admin/policy/reload`` reaches one worker; after a successful reload that worker
asks the supervisor (its parent) to forward SIGHUP to the others
(:func:`notify_siblings`).
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import signal
from typing import Any

log = logging.getLogger(__name__)


def is_supervised_worker() -> bool:
    """True in a worker process started by :func:`run_workers` (a spawned child)."""
    return multiprocessing.parent_process() is not None and os.environ.get(_MARK) == str(os.getppid())


def notify_siblings() -> None:
    """Ask the supervisor to forward SIGHUP to every worker (no-op outside a supervised worker)."""
    hup = getattr(signal, "SIGHUP", None)
    if hup is None or not is_supervised_worker():
        return
    with contextlib.suppress(OSError):
        os.kill(os.getppid(), hup)


_MARK = "HUSHDB_SUPERVISOR_PID"  # set by the supervisor for its children; not configuration


def run_workers(app: str, *, workers: int, **options: Any) -> None:
    """Run ``app`` (an import string of a factory) in ``workers`` processes; SIGHUP is forwarded."""
    from uvicorn import Config
    from uvicorn.supervisors import Multiprocess

    class ForwardingMultiprocess(Multiprocess):
        def handle_hup(self) -> None:
            log.info("SIGHUP: asking %d workers to reload the policy", len(self.processes))
            hup = getattr(signal, "SIGHUP")  # noqa: B009 - present wherever this handler runs
            for process in self.processes:
                pid = process.pid
                if pid is not None and process.process.is_alive():
                    with contextlib.suppress(OSError):
                        os.kill(pid, hup)

    config = Config(app, factory=True, workers=workers, **options)
    os.environ[_MARK] = str(os.getpid())
    sock = config.bind_socket()
    try:
        ForwardingMultiprocess(config, sockets=[sock]).run()
    finally:
        sock.close()


__all__ = ["is_supervised_worker", "notify_siblings", "run_workers"]

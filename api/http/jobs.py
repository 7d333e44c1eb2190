"""Mail-merge jobs behind ``POST /exports/mailmerge``: a job table and background threads.

The export itself is the mail-merge service's (``core.export.mailmerge``):
``runner.run(ctx, request, out_dir) -> manifest``.  This module only queues
runs, records their state and serves their files:

* a job record is a small JSON file ``<exports_dir>/.jobs/<job_id>.json``
  (owner, campaign, status, error title, time), so every API worker sees it;
* the run writes into ``<exports_dir>/<job_id>`` (the service writes into a
  temporary directory and renames it at the end: a half-done job never looks
  complete);
* only the subject who started a job can see it or its files (others get 404);
* ``cancel`` (``DELETE /exports/{id}``) stops a queued or running job between two letters
  (status ``cancelled``, partial output removed); a job in another API worker is asked through a
  ``<job_id>.cancel`` marker file, read at most once a second; closing the jobs (server shutdown)
  cancels every running job, so SIGTERM does not wait for a long export;
* at start-up, jobs left ``queued`` or ``running`` by a process that no longer exists are marked
  ``failed``, and output older than the retention (``retention``, default 24 h) is deleted, at
  start-up and whenever jobs are listed or read; output files are 0600 and directories 0700.
"""

from __future__ import annotations

import dataclasses
import inspect
import json
import logging
import os
import shutil
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

from core.errors import HushError, InputError, NotFoundError
from core.gateway import AccessContext
from core.models import utcnow

log = logging.getLogger(__name__)

_JOB_ID_LEN = 32


class MailmergeRunner(Protocol):
    """``core.export.mailmerge.MailmergeService`` as far as jobs need it."""

    def check(self, ctx: AccessContext, request: Any) -> None:
        """Every check that needs no output (purpose, fields, plan, template names); raises."""

    def run(self, ctx: AccessContext, request: Any, out_dir: Path) -> Any:
        """Run the export into ``out_dir``; a runner that also takes ``cancelled`` can be cancelled."""


@dataclass(frozen=True, slots=True)
class JobSpec:
    """What the caller asked for (field names and options, never data)."""

    campaign: str
    fields: tuple[str, ...]
    template: str | None
    channel: str
    format: str


@dataclass
class Job:
    job_id: str
    subject: str
    purpose: str
    campaign: str
    fields: list[str]
    status: str
    created_at: str
    finished_at: str | None = None
    error: dict[str, Any] | None = None
    files: list[str] = field(default_factory=list)
    pid: int | None = None


DEFAULT_RETENTION: timedelta = timedelta(hours=24)
_ACTIVE = ("queued", "running")
_MARKER_EVERY = 1.0  # seconds between two looks at another worker's cancel marker
_PURGE_EVERY = 60.0  # seconds between two retention sweeps on access


def _process_alive(pid: int | None) -> bool:
    if pid is None:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def lock_down(path: Path) -> None:
    """Directories 0700 and files 0600 under ``path`` (export output is plaintext personal data)."""
    if not path.exists():
        return
    for item in [path, *path.rglob("*")]:
        if item.is_symlink():
            continue
        item.chmod(0o700 if item.is_dir() else 0o600)


def manifest_dict(manifest: Any) -> dict[str, Any]:
    """The service's manifest as JSON-ready data (a dataclass, a pydantic model, a mapping or JSON text)."""
    if manifest is None:
        return {}
    if hasattr(manifest, "to_dict"):
        value: Any = manifest.to_dict()
    elif hasattr(manifest, "model_dump"):
        value = manifest.model_dump(mode="json")
    elif dataclasses.is_dataclass(manifest) and not isinstance(manifest, type):
        value = dataclasses.asdict(manifest)
    elif isinstance(manifest, Mapping):
        value = dict(manifest)
    else:
        value = {"summary": str(manifest)}
    doc = json.loads(json.dumps(value, default=str))
    assert isinstance(doc, dict)
    doc.pop("out_dir", None)  # a server path, not the client's business
    return doc


class ExportJobs:
    """Start mail-merge runs in the background and track them."""

    def __init__(
        self,
        *,
        runner: MailmergeRunner,
        make_request: Callable[[JobSpec], Any],
        exports_dir: Path,
        max_parallel: int = 2,
        retention: timedelta = DEFAULT_RETENTION,
        retention_hours: int | None = None,
    ) -> None:
        self._runner = runner
        self._retention = timedelta(hours=retention_hours) if retention_hours is not None else retention
        self._cancels: dict[str, threading.Event] = {}
        self._purged_at = 0.0
        self._make_request = make_request
        self._dir = exports_dir
        self._jobs_dir = exports_dir / ".jobs"
        self._max_parallel = max_parallel
        self._pool = ThreadPoolExecutor(max_workers=max_parallel, thread_name_prefix="hushdb-export")
        self._lock = threading.Lock()
        self._recover()

    # -- start-up, retention, cancellation ----------------------------------------------------

    def _records(self) -> list[Job]:
        if not self._jobs_dir.is_dir():
            return []
        jobs = []
        for path in self._jobs_dir.glob("*.json"):
            job_id = path.name.split(".")[0]
            job = self._load(job_id) if not path.name.endswith(".manifest.json") else None
            if job is not None:
                jobs.append(job)
        return jobs

    def _recover(self) -> None:
        """Fail jobs a dead process left queued or running; delete expired output."""
        for job in self._records():
            if job.status in _ACTIVE and not (job.pid == os.getpid() or _process_alive(job.pid)):
                job.status = "failed"
                job.error = {
                    "status": 500,
                    "title": "Interrupted",
                    "detail": "the server stopped during the job",
                }
                job.finished_at = utcnow().isoformat()
                shutil.rmtree(self._dir / job.job_id, ignore_errors=True)
                self._save(job)
        self.purge_expired()

    def _purge_now_and_then(self) -> None:
        if time.monotonic() - self._purged_at >= _PURGE_EVERY:
            self.purge_expired()

    def purge_expired(self, now: datetime | None = None) -> int:
        """Delete every finished job older than the retention (its output and its records)."""
        self._purged_at = time.monotonic()
        now = now or utcnow()
        removed = 0
        for job in self._records():
            if job.status in _ACTIVE:
                continue
            try:
                created = datetime.fromisoformat(job.created_at)
            except ValueError:
                continue
            if created.tzinfo is None:
                created = created.replace(tzinfo=now.tzinfo)
            if now - created < self._retention:
                continue
            shutil.rmtree(self._dir / job.job_id, ignore_errors=True)
            for suffix in (".manifest.json", ".cancel", ".json"):
                (self._jobs_dir / f"{job.job_id}{suffix}").unlink(missing_ok=True)
            removed += 1
        return removed

    def cancel(self, ctx: AccessContext, job_id: str) -> Job:
        """Stop the caller's queued or running job between two letters; a finished job is left as it is."""
        job = self.get(ctx, job_id)
        if job.status not in _ACTIVE:
            return job
        event = self._cancels.get(job_id)
        if event is not None:
            event.set()
        else:  # another worker runs it: leave a marker it reads between letters
            self._jobs_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
            (self._jobs_dir / f"{job_id}.cancel").touch(mode=0o600)
        if job.status == "queued" or not _process_alive(job.pid):
            job.status = "cancelled"
            job.finished_at = utcnow().isoformat()
            self._save(job)
        return job

    def _cancel_check(self, job_id: str, event: threading.Event) -> Callable[[], bool]:
        marker = self._jobs_dir / f"{job_id}.cancel"
        last = [0.0]

        def cancelled() -> bool:
            if event.is_set():
                return True
            now = time.monotonic()
            if now - last[0] >= _MARKER_EVERY:
                last[0] = now
                if marker.exists():
                    event.set()
            return event.is_set()

        return cancelled

    # -- job records -------------------------------------------------------------------------

    def _record_path(self, job_id: str) -> Path:
        return self._jobs_dir / f"{job_id}.json"

    def _save(self, job: Job) -> None:
        self._jobs_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        tmp = self._jobs_dir / f".{job.job_id}.tmp"
        with self._lock:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                out.write(json.dumps(dataclasses.asdict(job)))
            os.replace(tmp, self._record_path(job.job_id))

    def _load(self, job_id: str) -> Job | None:
        if len(job_id) != _JOB_ID_LEN or not all(c in "0123456789abcdef" for c in job_id):
            return None
        try:
            doc = json.loads(self._record_path(job_id).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return Job(**doc)

    # -- the API -----------------------------------------------------------------------------

    def submit(self, ctx: AccessContext, spec: JobSpec) -> Job:
        request = self._make_request(spec)
        self._runner.check(ctx, request)  # refusals (audited) and bad input surface now, not in the job
        job = Job(
            job_id=uuid.uuid4().hex,
            subject=ctx.subject,
            purpose=ctx.purpose,
            campaign=spec.campaign,
            fields=list(spec.fields),
            status="queued",
            created_at=utcnow().isoformat(),
            pid=os.getpid(),
        )
        self._cancels[job.job_id] = threading.Event()
        self._save(job)
        self._pool.submit(self._run, ctx, job, request)
        self._purge_now_and_then()
        return job

    def _run(self, ctx: AccessContext, job: Job, request: Any) -> None:
        event = self._cancels.setdefault(job.job_id, threading.Event())
        try:
            self._run_job(ctx, job, request, event)
        finally:
            self._cancels.pop(job.job_id, None)
            (self._jobs_dir / f"{job.job_id}.cancel").unlink(missing_ok=True)

    def _run_job(self, ctx: AccessContext, job: Job, request: Any, event: threading.Event) -> None:
        cancelled = self._cancel_check(job.job_id, event)
        if cancelled():
            return  # cancelled while queued (cancel() wrote the record)
        job.status = "running"
        self._save(job)
        out_dir = self._dir / job.job_id
        manifest: dict[str, Any] = {}
        try:
            run: Any = self._runner.run
            if "cancelled" in inspect.signature(run).parameters:
                result = run(ctx, request, out_dir, cancelled=cancelled)
            else:
                result = self._runner.run(ctx, request, out_dir)
            manifest = manifest_dict(result)
            lock_down(out_dir)
        except HushError as exc:
            if cancelled():
                job.status = "cancelled"
                shutil.rmtree(out_dir, ignore_errors=True)
                job.finished_at = utcnow().isoformat()
                self._save(job)
                return
            job.status = "failed"
            # never hand a server path to a client: the job's directory is "<job>" to them
            detail = exc.message.replace(str(out_dir), "<job>") if exc.http_status < 500 else None
            job.error = {"status": exc.http_status, "title": exc.title, "detail": detail}
        except Exception as exc:
            log.error("mail-merge job failed", exc_info=(type(exc), exc, None))
            job.status = "failed"
            job.error = {"status": 500, "title": "Internal error", "detail": None}
        else:
            job.status = "succeeded"
            job.files = self._list_files(out_dir)
            (self._jobs_dir / f"{job.job_id}.manifest.json").write_text(
                json.dumps(manifest), encoding="utf-8"
            )
            (self._jobs_dir / f"{job.job_id}.manifest.json").chmod(0o600)
        job.finished_at = utcnow().isoformat()
        self._save(job)

    @staticmethod
    def _list_files(out_dir: Path) -> list[str]:
        if not out_dir.is_dir():
            return []
        return sorted(p.relative_to(out_dir).as_posix() for p in out_dir.rglob("*") if p.is_file())

    def get(self, ctx: AccessContext, job_id: str) -> Job:
        self._purge_now_and_then()
        job = self._load(job_id)
        if job is None or job.subject != ctx.subject:
            raise NotFoundError("export job not found")
        return job

    def manifest(self, job: Job) -> dict[str, Any] | None:
        if job.status != "succeeded":
            return None
        try:
            doc = json.loads((self._jobs_dir / f"{job.job_id}.manifest.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return doc if isinstance(doc, dict) else None

    def file(self, ctx: AccessContext, job_id: str, name: str) -> Path:
        """The path of one output file of a finished job (only names the job listed)."""
        job = self.get(ctx, job_id)
        if name not in job.files:
            raise NotFoundError("file not found in this export")
        root = (self._dir / job.job_id).resolve()
        path = (root / name).resolve()
        if not path.is_relative_to(root) or not path.is_file():
            raise NotFoundError("file not found in this export")
        return path

    def wait(self) -> None:
        """Finish every queued job (tests)."""
        self._pool.shutdown(wait=True)
        self._pool = ThreadPoolExecutor(max_workers=self._max_parallel, thread_name_prefix="hushdb-export")

    def close(self) -> None:
        """Cancel every job of this process (they stop at the next letter) and wait for the threads."""
        for event in list(self._cancels.values()):
            event.set()
        self._pool.shutdown(wait=True, cancel_futures=True)


def field_list(fields: Sequence[str]) -> tuple[str, ...]:
    names = tuple(f.strip() for f in fields)
    bad = [n for n in names if not n or len(n) > 64 or not n.replace("_", "").isalnum()]
    if bad:
        raise InputError("field names are letters, digits and underscores")
    return names


__all__ = ["ExportJobs", "Job", "JobSpec", "MailmergeRunner", "field_list", "manifest_dict"]

"""Mail-merge jobs behind ``POST /exports/mailmerge``: a job table and background threads.

The export itself is the mail-merge service's (``core.export.mailmerge``):
``runner.run(ctx, request, out_dir) -> manifest``.  This module only queues
runs, records their state and serves their files:

* a job record is a small JSON file ``<exports_dir>/.jobs/<job_id>.json``
  (owner, campaign, status, error title, time), so every API worker sees it;
* the run writes into ``<exports_dir>/<job_id>`` (the service writes into a
  temporary directory and renames it at the end: a half-done job never looks
  complete);
* only the subject who started a job can see it or its files (others get 404).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import threading
import uuid
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
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

    def run(self, ctx: AccessContext, request: Any, out_dir: Path) -> Any: ...


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
    ) -> None:
        self._runner = runner
        self._make_request = make_request
        self._dir = exports_dir
        self._jobs_dir = exports_dir / ".jobs"
        self._max_parallel = max_parallel
        self._pool = ThreadPoolExecutor(max_workers=max_parallel, thread_name_prefix="hushdb-export")
        self._lock = threading.Lock()

    # -- job records -------------------------------------------------------------------------

    def _record_path(self, job_id: str) -> Path:
        return self._jobs_dir / f"{job_id}.json"

    def _save(self, job: Job) -> None:
        self._jobs_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        tmp = self._jobs_dir / f".{job.job_id}.tmp"
        with self._lock:
            tmp.write_text(json.dumps(dataclasses.asdict(job)), encoding="utf-8")
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
        )
        self._save(job)
        self._pool.submit(self._run, ctx, job, request)
        return job

    def _run(self, ctx: AccessContext, job: Job, request: Any) -> None:
        job.status = "running"
        self._save(job)
        out_dir = self._dir / job.job_id
        manifest: dict[str, Any] = {}
        try:
            manifest = manifest_dict(self._runner.run(ctx, request, out_dir))
        except HushError as exc:
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
        job.finished_at = utcnow().isoformat()
        self._save(job)

    @staticmethod
    def _list_files(out_dir: Path) -> list[str]:
        if not out_dir.is_dir():
            return []
        return sorted(p.relative_to(out_dir).as_posix() for p in out_dir.rglob("*") if p.is_file())

    def get(self, ctx: AccessContext, job_id: str) -> Job:
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
        self._pool.shutdown(wait=True, cancel_futures=True)


def field_list(fields: Sequence[str]) -> tuple[str, ...]:
    names = tuple(f.strip() for f in fields)
    bad = [n for n in names if not n or len(n) > 64 or not n.replace("_", "").isalnum()]
    if bad:
        raise InputError("field names are letters, digits and underscores")
    return names


__all__ = ["ExportJobs", "Job", "JobSpec", "MailmergeRunner", "field_list", "manifest_dict"]

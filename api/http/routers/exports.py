"""Mail-merge jobs: start one, poll it, fetch its files (``/exports``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Annotated, Any

from fastapi import APIRouter, Path, Response
from fastapi.responses import FileResponse

from api.http.deps import Access, Services
from api.http.jobs import ExportJobs, Job, JobSpec, field_list
from api.http.problems import FeatureUnavailable
from api.http.schemas import JobOut, MailmergeJobIn
from core.errors import NotFoundError
from core.gateway import AccessContext
from core.records import CUSTOMER_FIELDS

router = APIRouter(tags=["exports"])

JobIdPath = Annotated[str, Path(min_length=32, max_length=32, pattern=r"^[0-9a-f]{32}$")]
FileNamePath = Annotated[str, Path(min_length=1, max_length=255, pattern=r"^[A-Za-z0-9_.\-/]+$")]
MEDIA_TYPES = {
    ".csv": "text/csv",
    ".jsonl": "application/x-ndjson",
    ".json": "application/json",
    ".txt": "text/plain",
    ".html": "text/html",
}
OCTETS = "application/octet-stream"


def _jobs(svc: Services) -> ExportJobs:
    if svc.jobs is None:
        raise FeatureUnavailable("the mail-merge service is not installed in this build")
    return svc.jobs


def _record_export(
    svc: Services,
    ctx: AccessContext,
    *,
    fields: Sequence[str],
    decision: str,
    detail: Mapping[str, str | int | bool | None],
) -> None:
    """Audit one decision on an export job (action ``export`` on ``customer``), on its own."""
    gateway = svc.hush.gateway
    gateway.record_alone(
        gateway.event(
            ctx, action="export", resource="customer", fields=fields, decision=decision, detail=detail
        )
    )


def _authorize_read(svc: Services, ctx: AccessContext) -> None:
    """Refuse (audited) when the caller may read no customer field for its purpose at all."""
    svc.hush.gateway.authorize(
        ctx, resource="customer", action="read", fields=None, all_fields=CUSTOMER_FIELDS
    )


def _own_job(
    svc: Services, jobs: ExportJobs, ctx: AccessContext, job_id: str, *, purpose: bool = False
) -> Job:
    """The caller's job (for the caller's purpose when ``purpose``).  Someone else's job, or none,
    answers 404 like a missing one, and the attempt is recorded as a denial."""
    try:
        job = jobs.get(ctx, job_id)
        if purpose and ctx.purpose != job.purpose:
            raise NotFoundError("export job not found")  # the same answer as for someone else's job
    except NotFoundError:
        _record_export(
            svc,
            ctx,
            fields=(),
            decision="deny",
            detail={"reason": "export job not found", "job_id": job_id},
        )
        raise
    return job


def _job_out(jobs: ExportJobs, job: Job) -> JobOut:
    return JobOut.model_validate(
        {
            "job_id": job.job_id,
            "status": job.status,
            "campaign": job.campaign,
            "created_at": job.created_at,
            "finished_at": job.finished_at,
            "error": job.error,
            "manifest": jobs.manifest(job),
            "files": job.files,
        }
    )


@router.post(
    "/exports/mailmerge",
    status_code=202,
    response_model=JobOut,
    summary="Start a mail-merge campaign job (purpose marketing); poll GET /exports/{job_id}",
)
def start_mailmerge(body: MailmergeJobIn, ctx: Access, svc: Services, response: Response) -> JobOut:
    jobs = _jobs(svc)
    # Refuse at once (audited) when the caller may read no customer field for this purpose at all;
    # the service itself checks the exact fields before any output.
    _authorize_read(svc, ctx)
    spec = JobSpec(
        campaign=body.campaign,
        fields=field_list(body.fields),
        template=body.template,
        channel=body.channel,
        format=body.format,
    )
    job = jobs.submit(ctx, spec)
    response.headers["Location"] = f"/exports/{job.job_id}"
    return _job_out(jobs, job)


@router.get("/exports/{job_id}", response_model=JobOut, summary="Status and manifest of a job")
def get_job(job_id: JobIdPath, ctx: Access, svc: Services) -> JobOut:
    jobs = _jobs(svc)
    return _job_out(jobs, _own_job(svc, jobs, ctx, job_id))


@router.delete(
    "/exports/{job_id}",
    response_model=JobOut,
    summary="Cancel a queued or running job",
    description=(
        "Stops the job between two letters: status `cancelled`, partial output removed, the "
        "cancellation audited.  A finished job is returned unchanged."
    ),
)
def cancel_job(job_id: JobIdPath, ctx: Access, svc: Services) -> JobOut:
    jobs = _jobs(svc)
    job = _own_job(svc, jobs, ctx, job_id, purpose=True)
    job = jobs.cancel(ctx, job.job_id)
    _record_export(svc, ctx, fields=(), decision="allow", detail={"cancel": job_id, "status": job.status})
    return _job_out(jobs, job)


@router.get(
    "/exports/{job_id}/files/{name:path}",
    response_class=FileResponse,
    responses={
        200: {
            "description": "The file (letters, recipients, quarantine list or manifest).",
            "content": {
                t: {
                    "schema": {"type": "object"}
                    if t == "application/json"
                    else {"type": "string", "format": "binary"}
                }
                for t in [*MEDIA_TYPES.values(), OCTETS]
            },
        }
    },
    summary="Download one output file of a finished job (audited)",
)
def get_job_file(job_id: JobIdPath, name: FileNamePath, ctx: Access, svc: Services) -> Any:
    jobs = _jobs(svc)
    job = _own_job(svc, jobs, ctx, job_id, purpose=True)
    # The caller must still hold a read plan for this purpose (a role removed since is refused, audited).
    _authorize_read(svc, ctx)
    path = jobs.file(ctx, job_id, name)
    _record_export(
        svc,
        ctx,
        fields=job.fields,
        decision="allow",
        detail={"operation": "download", "job_id": job.job_id, "file": name[:128]},
    )
    return FileResponse(path, media_type=MEDIA_TYPES.get(path.suffix.lower(), OCTETS))

"""Jobs in the pool (batch runs, baselines from images) and uploaded images read into memory.

:func:`start_job` records a job ``queued`` in the store, hands its work to the bounded pool and
returns at once (the route answers 202); the pool thread marks it ``running``, then ``done`` or
``failed`` with a reason a client may read (a domain error's message; an unexpected error is
logged and reported as "internal error", never with its traceback).
"""

from __future__ import annotations

import logging
import os
import re
import uuid
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Literal

from fastapi import UploadFile
from pydantic import BaseModel, Field

from visiondrift.errors import VisionDriftError
from visiondrift.service._problems import ServiceProblem

if TYPE_CHECKING:
    from visiondrift.service._state import ServiceState
    from visiondrift.store import Job

__all__ = ["JobOut", "owner_dead", "read_uploads", "start_job"]

logger = logging.getLogger("visiondrift.service")

_UNSAFE = re.compile(r"[^A-Za-z0-9._ -]")


class JobOut(BaseModel):
    """A job the service runs in its pool: a batch run or a baseline made from images."""

    job_id: str = Field(description="32 hex digits; a run job's id is its run's id.")
    dataset: str
    kind: Literal["run", "baseline"]
    status: Literal["queued", "running", "done", "failed"]
    created_at: datetime
    started_at: datetime | None = None
    finished_at: datetime | None = None
    baseline_id: str | None = Field(None, description="The baseline a baseline job made.")
    error: str | None = Field(None, description="Why a failed job failed.")
    links: dict[str, str] = Field(default_factory=dict, description="Where to look next.")


def job_out(job: Job) -> JobOut:
    """A stored job as the API shows it (its owner, a process name, is not shown)."""
    links = {"self": f"/v1/jobs/{job.job_id}"}
    if job.kind == "run":
        links = {
            "self": f"/v1/runs/{job.job_id}",
            "report": f"/v1/runs/{job.job_id}/report",
            "html": f"/v1/runs/{job.job_id}/report.html",
            "markdown": f"/v1/runs/{job.job_id}/summary.md",
        }
    elif job.baseline_id is not None:
        links["baseline"] = f"/v1/baselines/{job.baseline_id}"
    return JobOut(
        job_id=job.job_id,
        dataset=job.dataset,
        kind=job.kind,
        status=job.status,
        created_at=job.created_at,
        started_at=job.started_at,
        finished_at=job.finished_at,
        baseline_id=job.baseline_id,
        error=job.error,
        links=links,
    )


def start_job(
    service: ServiceState,
    kind: Literal["run", "baseline"],
    dataset: str,
    work: Callable[[str], str | None],
) -> Job:
    """Record a job and start ``work(job_id)`` in the pool (it returns the baseline id of a
    baseline job); 429 when the pool is full (the job is then forgotten)."""
    job_id = uuid.uuid4().hex
    jobs = service.store.jobs
    job = jobs.create(job_id, dataset, kind, owner=service.owner)
    try:
        service.pool.submit(_run, service, job_id, work, what=f"a {kind} job")
    except ServiceProblem:
        jobs.discard(job_id)
        raise
    return job


def _run(service: ServiceState, job_id: str, work: Callable[[str], str | None]) -> None:
    jobs = service.store.jobs
    try:
        jobs.start(job_id)
        made = work(job_id)
    except VisionDriftError as err:
        logger.warning("Job %s failed: %s", job_id, err)
        jobs.fail(job_id, str(err))
    except Exception:
        logger.exception("Job %s failed with an unexpected error", job_id)
        try:
            jobs.fail(job_id, "internal error: the service failed on this job; see its log")
        except VisionDriftError:
            logger.exception("Cannot record the failure of job %s", job_id)
    else:
        jobs.finish(job_id, made)


def owner_dead(owner: str | None, me: str) -> bool:
    """Whether the process named ``owner`` (``host:pid:random``) has stopped: a process of this
    host that is no longer running (or whose pid is now this process's). Owners on other hosts
    cannot be checked from here and count as alive."""
    if owner is None:
        return True
    parts = owner.rsplit(":", 2)
    if len(parts) != 3 or owner == me:
        return False
    host, pid_text, _ = parts
    if host != me.rsplit(":", 2)[0] or not pid_text.isdigit():
        return False
    pid = int(pid_text)
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def _name(raw: str | None, index: int, taken: set[str]) -> str:
    base = (raw or "").replace("\\", "/").rsplit("/", 1)[-1]
    base = _UNSAFE.sub("_", base).strip(" .")[:120] or f"image-{index:05d}"
    name = base
    while name in taken:
        name = f"{index:05d}-{base}"
        index += 100_000
    taken.add(name)
    return name


async def read_uploads(files: Sequence[UploadFile], max_images: int) -> dict[str, bytes]:
    """The uploaded images, by a safe name (the upload's own name without folders).

    Raises a 413 problem for more than ``max_images`` files, 422 for none.
    """
    if not files:
        raise ServiceProblem(
            422,
            "No images",
            "The request holds no image: send them as multipart form parts named 'files'.",
            slug="no-images",
        )
    if len(files) > max_images:
        raise ServiceProblem(
            413,
            "Too many images",
            f"The request holds {len(files)} images; the service takes {max_images} at most "
            "in one batch (service.max_images). Split the batch.",
            slug="too-many-images",
        )
    images: dict[str, bytes] = {}
    taken: set[str] = set()
    for i, upload in enumerate(files):
        try:
            images[_name(upload.filename, i, taken)] = await upload.read()
        finally:
            await upload.close()
    return images

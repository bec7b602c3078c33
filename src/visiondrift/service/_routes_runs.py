"""Batch runs: post a batch (uploaded images, or a source the service may read) and get its run
id at once (202); the run is done in the pool by :class:`~visiondrift.app.Monitor` with the
dataset's active baseline, the history store and the sinks of the settings (alerts), exactly as
``visiondrift monitor`` does it. Poll ``GET /v1/runs/{run_id}``; read the report as JSON, as
the HTML page or as the Markdown summary, rendered on demand from the stored report for any run
of the store (a window's too) and cached in ``service.data_dir``.

Scope ``write`` to post, ``read`` to look.
"""

from __future__ import annotations

import logging
from asyncio import to_thread
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

from fastapi import APIRouter, Depends, File, UploadFile
from fastapi.responses import FileResponse, JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from visiondrift.errors import RunNotFoundError, StoreError, VisionDriftError
from visiondrift.service._auth import require
from visiondrift.service._params import DatasetName, Id32
from visiondrift.service._problems import PROBLEMS, ServiceProblem
from visiondrift.service._routes_history import RunRecord, run_record
from visiondrift.service._state import ServiceState, state
from visiondrift.service._work import JobOut, job_out, read_uploads, start_job

if TYPE_CHECKING:
    from visiondrift.store import Job

__all__ = ["router"]

logger = logging.getLogger("visiondrift.service")

router = APIRouter(prefix="/v1", tags=["runs"])

_READ = Depends(require("read"))
_WRITE = Depends(require("write"))
_STATE = Depends(state)


def _problems(*codes: int) -> dict[int | str, dict[str, Any]]:
    return {c: PROBLEMS[c] for c in (400, 401, 403, *codes, 422, 500, 503)}


class RunIn(BaseModel):
    """A batch the service reads itself."""

    model_config = ConfigDict(extra="forbid")

    source: str = Field(
        min_length=1,
        max_length=2000,
        description="A folder (or predictions file) under one of service.roots, or a URL under "
        "service.url_prefixes.",
        examples=["prod/20261129"],
    )


class RunOut(BaseModel):
    """A run: its job's progress and, once recorded, the stored run."""

    run_id: str
    dataset: str | None
    status: Literal["queued", "running", "done", "failed"]
    error: str | None = Field(None, description="Why a failed run failed.")
    created_at: datetime | None = None
    finished_at: datetime | None = None
    run: RunRecord | None = Field(None, description="The recorded run (when done).")
    links: dict[str, str]


def _links(run_id: str) -> dict[str, str]:
    return {
        "self": f"/v1/runs/{run_id}",
        "report": f"/v1/runs/{run_id}/report",
        "html": f"/v1/runs/{run_id}/report.html",
        "markdown": f"/v1/runs/{run_id}/summary.md",
        "metrics": f"/v1/runs/{run_id}/metrics",
    }


def _batch(service: ServiceState, dataset: str, source: Any) -> JSONResponse:
    """Start a batch run of ``dataset`` on ``source``; 409 without an active baseline."""
    stored = service.store.baselines.active(dataset)
    if stored is None:
        raise ServiceProblem(
            409,
            "No active baseline",
            f"The dataset {dataset!r} has no active baseline to compare with; add one with "
            "POST /v1/baselines (a saved profile) or POST /v1/baselines/images.",
            slug="no-baseline",
        )
    baseline_id = stored.baseline_id

    def work(run_id: str) -> None:
        _run_batch(service, dataset, baseline_id, source, run_id)
        return None

    job = start_job(service, "run", dataset, work)
    body = job_out(job)
    return JSONResponse(
        body.model_dump(mode="json"), status_code=202, headers={"Location": body.links["self"]}
    )


def _run_batch(
    service: ServiceState, dataset: str, baseline_id: str, source: Any, run_id: str
) -> None:
    """The run itself (a pool thread): the monitor, its history and sinks, the metrics."""
    from visiondrift.app import monitor_from_settings

    settings, store = service.settings, service.store
    try:
        baseline = store.baselines.profile(baseline_id)
    except KeyError as err:
        raise StoreError(
            f"The baseline {baseline_id} was deleted before the run started; post the batch again."
        ) from err
    if isinstance(source, dict):
        from visiondrift.sources import BytesSource

        source = BytesSource(source, location="upload")
    monitor = monitor_from_settings(baseline, settings, store)
    result = monitor.run(
        source, dataset=dataset, run_id=run_id, command="visiondrift serve: batch", workers=1
    )
    lost = next((f for f in result.failures if f.sink == "history"), None)
    if lost is not None:
        raise StoreError(f"The run could not be recorded: {lost.error}")
    service.metrics.run_recorded(result, kind="batch")


@router.post(
    "/datasets/{dataset}/runs",
    status_code=202,
    response_model=JobOut,
    summary="Run a batch the service reads (a folder under a root, an allowed URL)",
    responses=_problems(409, 429),
    dependencies=[_WRITE],
)
async def post_run(dataset: DatasetName, body: RunIn, service: ServiceState = _STATE) -> Any:
    """202 with the run id at once; the batch is profiled and compared in the pool."""
    from visiondrift.service._sources import resolve_source

    where = await to_thread(resolve_source, body.source, service.settings.service)
    return await to_thread(_batch, service, dataset, where)


@router.post(
    "/datasets/{dataset}/runs/images",
    status_code=202,
    response_model=JobOut,
    summary="Run a batch of uploaded images",
    responses=_problems(400, 409, 413, 429),
    dependencies=[_WRITE],
)
async def post_run_images(
    dataset: DatasetName,
    files: Annotated[
        list[UploadFile], File(min_length=1, description="The images (multipart parts 'files').")
    ],
    service: ServiceState = _STATE,
) -> Any:
    """202 with the run id at once; images are decoded under the baseline's pixel limit."""
    images = await read_uploads(files, service.settings.service.max_images)
    return await to_thread(_batch, service, dataset, images)


def _status(service: ServiceState, run_id: str) -> RunOut:
    store = service.store
    job: Job | None = store.jobs.get(run_id)
    if job is not None and job.kind != "run":
        job = None  # a baseline's job is not a run (GET /v1/jobs/{id} shows it)
    try:
        stored = store.get(run_id) if job is None or job.status == "done" else None
    except RunNotFoundError:
        stored = None
    if job is None and stored is None:
        raise ServiceProblem(
            404,
            "Not found",
            f"No run has the id {run_id}; GET /v1/datasets/{{dataset}}/runs lists them.",
            slug="not-found",
        )
    if job is None:
        assert stored is not None
        return RunOut(
            run_id=run_id,
            dataset=stored.dataset,
            status="done",
            created_at=stored.started_at,
            finished_at=stored.ran_at,
            run=run_record(stored),
            links=_links(run_id),
        )
    return RunOut(
        run_id=run_id,
        dataset=job.dataset,
        status=job.status,
        error=job.error,
        created_at=job.created_at,
        finished_at=job.finished_at,
        run=None if stored is None else run_record(stored),
        links=_links(run_id),
    )


@router.get(
    "/runs/{run_id:hex32}",
    response_model=RunOut,
    summary="A run: queued, running, done (with its record) or failed (with why)",
    responses=_problems(404),
    dependencies=[_READ],
)
async def get_run(run_id: Id32, service: ServiceState = _STATE) -> RunOut:
    """A batch run's job, or any run of the store (a closed window's, a CLI run's)."""
    return await to_thread(_status, service, run_id)


def _finished(service: ServiceState, run_id: str) -> None:
    """404 for an unknown run, 409 for one not recorded yet (or failed)."""
    found = _status(service, run_id)
    if found.run is None:
        why = f"it failed: {found.error}" if found.status == "failed" else f"it is {found.status}"
        raise ServiceProblem(
            409,
            "Run not finished",
            f"The run {run_id} has no report: {why}. Poll /v1/runs/{run_id}.",
            slug="run-not-done",
            headers={"Retry-After": "1"} if found.status != "failed" else None,
        )
    if not found.run.has_report:
        raise ServiceProblem(
            404,
            "Not found",
            f"The report of run {run_id} was pruned from the store; its metrics remain at "
            f"/v1/runs/{run_id}/metrics.",
            slug="not-found",
        )


@router.get(
    "/runs/{run_id:hex32}/report",
    response_model=dict[str, Any],
    summary="A run's JSON report",
    responses=_problems(404, 409),
    dependencies=[_READ],
)
async def get_report(run_id: Id32, service: ServiceState = _STATE) -> Any:
    """The full drift report, as ``visiondrift monitor -o report.json`` writes it."""

    def read() -> dict[str, Any]:
        _finished(service, run_id)
        data: dict[str, Any] = service.store.report(run_id).model_dump(mode="json")
        return data

    return JSONResponse(await to_thread(read))


def _rendered(service: ServiceState, run_id: str, kind: Literal["html", "md"]) -> Path:
    """The run's page or summary in the cache, rendered first if it is not there."""
    from visiondrift.app import Outputs, write_outputs

    _finished(service, run_id)
    folder = service.data_dir / "reports"
    path = folder / f"{run_id}.{kind}"
    if path.is_file():
        return path
    folder.mkdir(parents=True, exist_ok=True)
    store = service.store
    run = store.get(run_id)
    report = store.report(run_id)
    trend_runs = service.settings.store.trend_runs
    at = run.ran_at if run.window is None else run.window[0]
    try:
        series = store.run_trends(
            report,
            run_id=run_id,
            at=at,
            dataset=run.dataset,
            last_runs=trend_runs - 1,
            until=run.ran_at,
        )
    except VisionDriftError as err:
        logger.warning("No trends on run %s's page: %s", run_id, err)
        series = []
    trends = series if any(len(s.points) > 1 for s in series) else None
    outputs = Outputs(
        html=path if kind == "html" else None,
        markdown=path if kind == "md" else None,
        thumbnails=False,
    )
    write_outputs(report, outputs, trends=trends)  # atomic: a reader sees all or nothing
    return path


def _document(kind: Literal["html", "md"]) -> dict[int | str, dict[str, Any]]:
    media = "text/html" if kind == "html" else "text/markdown"
    return {200: {"content": {media: {"schema": {"type": "string"}}}, "description": "OK"}}


@router.get(
    "/runs/{run_id:hex32}/report.html",
    response_class=FileResponse,
    summary="A run's HTML page",
    responses=_document("html") | _problems(404, 409, 429),
    dependencies=[_READ],
)
async def get_report_html(run_id: Id32, service: ServiceState = _STATE) -> FileResponse:
    """The self-contained page (with the dataset's trends up to this run), rendered once."""
    path = await service.pool.run(_rendered, service, run_id, "html", what="rendering a page")
    return FileResponse(path, media_type="text/html; charset=utf-8")


@router.get(
    "/runs/{run_id:hex32}/summary.md",
    response_class=FileResponse,
    summary="A run's Markdown summary",
    responses=_document("md") | _problems(404, 409, 429),
    dependencies=[_READ],
)
async def get_summary_md(run_id: Id32, service: ServiceState = _STATE) -> FileResponse:
    """The short summary (for a pull request, a chat message), rendered once."""
    path = await service.pool.run(_rendered, service, run_id, "md", what="rendering a summary")
    return FileResponse(path, media_type="text/markdown; charset=utf-8")

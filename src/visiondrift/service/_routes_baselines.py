"""``/v1/baselines``: upload a saved profile, or have one made from images or a source; list,
show, read its profile, activate, delete; ``/v1/jobs/{id}``: how a baseline job went.

One baseline per dataset is active (windows and batch runs compare with it); adding one makes
it active. Writes need the ``admin`` scope, reads ``read``.
"""

from __future__ import annotations

from asyncio import to_thread
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, File, Form, Query, Response, UploadFile
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, model_validator

from visiondrift.service._auth import require
from visiondrift.service._params import DATASET_PATTERN, Id32
from visiondrift.service._problems import PROBLEMS, ServiceProblem
from visiondrift.service._state import ServiceState, state
from visiondrift.service._work import JobOut, job_out, read_uploads, start_job

__all__ = ["BaselineOut", "baseline_out", "router"]

router = APIRouter(prefix="/v1", tags=["baselines"])

_READ = Depends(require("read"))
_ADMIN = Depends(require("admin"))
_STATE = Depends(state)
_ACCEPTED: dict[int | str, dict[str, Any]] = {
    202: {"model": JobOut, "description": "A job makes the baseline."}
}


def _problems(*codes: int) -> dict[int | str, dict[str, Any]]:
    return {
        code: PROBLEMS[code] for code in (400, 401, 403, *codes, 429, 500, 503) if code in PROBLEMS
    }


class BaselineOut(BaseModel):
    """A baseline of the service (its profile: ``GET /v1/baselines/{id}/profile``)."""

    baseline_id: str = Field(description="32 hex digits.")
    dataset: str
    name: str
    sha256: str = Field(description="SHA-256 of the profile's canonical JSON.")
    kind: Literal["images", "predictions"]
    n_images: int = Field(description="Images or prediction records it was made from.")
    active: bool = Field(description="Whether windows and batch runs compare with it.")
    created_at: datetime
    links: dict[str, str] = Field(default_factory=dict)


class BaselineIn(BaseModel):
    """A baseline to add: a saved profile (``visiondrift baseline ... -o baseline.json``), or
    a ``source`` the service reads (a folder under ``service.roots``, an allowed URL)."""

    model_config = ConfigDict(extra="forbid")

    dataset: str = Field(pattern=DATASET_PATTERN, examples=["skin-lesions"])
    name: str | None = Field(None, min_length=1, max_length=200)
    profile: dict[str, Any] | None = Field(None, description="A saved profile (its JSON).")
    source: str | None = Field(
        None,
        min_length=1,
        max_length=2000,
        description="A folder under one of service.roots, or a URL under service.url_prefixes.",
    )

    @model_validator(mode="after")
    def _one_of(self) -> BaselineIn:
        if (self.profile is None) == (self.source is None):
            raise ValueError("give exactly one of 'profile' (a saved profile) and 'source'")
        return self


def baseline_out(found: Any) -> BaselineOut:
    """A stored baseline as the API shows it."""
    return BaselineOut(
        baseline_id=found.baseline_id,
        dataset=found.dataset,
        name=found.name,
        sha256=found.sha256,
        kind=found.kind,
        n_images=found.n_images,
        active=found.active,
        created_at=found.created_at,
        links={
            "self": f"/v1/baselines/{found.baseline_id}",
            "profile": f"/v1/baselines/{found.baseline_id}/profile",
        },
    )


def _not_found(baseline_id: str) -> ServiceProblem:
    return ServiceProblem(
        404,
        "Not found",
        f"No baseline has the id {baseline_id}; GET /v1/baselines lists them.",
        slug="not-found",
    )


def _accepted(job: JobOut) -> JSONResponse:
    return JSONResponse(
        job.model_dump(mode="json"), status_code=202, headers={"Location": job.links["self"]}
    )


def _check_limits(profile: Any, service: ServiceState) -> None:
    allowed = service.settings.profile.decode.max_pixels
    if profile.config.limits.max_pixels > allowed:
        raise ServiceProblem(
            422,
            "Baseline not allowed",
            f"The profile decodes images of up to {profile.config.limits.max_pixels:,} pixels; "
            f"this service allows {allowed:,} (profile.decode.max_pixels, the decompression-"
            "bomb guard). Make the baseline with --max-pixels at most that.",
            slug="limits",
        )


def _profile_images(service: ServiceState, source: Any) -> Any:
    """The baseline profile of images or a source, with the service's ``[profile]`` settings."""
    from visiondrift.app import open_batch

    p = service.settings.profile
    m = p.measure
    return open_batch(
        source,
        workers=1,  # the pool is the service's parallelism
        reservoir_size=p.reservoir_size,
        seed=p.seed,
        max_pixels=p.decode.max_pixels,
        min_side=p.decode.min_side,
        max_listed_bad_files=p.max_listed_bad_files,
        work_size=m.work_size,
        colour_size=m.colour_size,
        noise_size=m.noise_size,
        clip_dark=m.clip_dark,
        clip_bright=m.clip_bright,
        labels="none" if isinstance(source, dict) else p.labels,
    )


def _baseline_job(
    service: ServiceState, dataset: str, name: str | None, source: Any
) -> JSONResponse:
    def work(job_id: str) -> str:
        if isinstance(source, dict):
            from visiondrift.sources import BytesSource

            made = _profile_images(service, BytesSource(source, location="upload"))
        else:
            made = _profile_images(service, source)
        return service.store.baselines.add(
            dataset, made.with_dataset(dataset), name=name
        ).baseline_id

    job = start_job(service, "baseline", dataset, work)
    return _accepted(job_out(job))


@router.post(
    "/baselines",
    status_code=201,
    response_model=BaselineOut,
    summary="Add a baseline: a saved profile (201) or a source to profile (202)",
    responses=_ACCEPTED | _problems(404, 413, 422),
    dependencies=[_ADMIN],
)
async def add_baseline(body: BaselineIn, service: ServiceState = _STATE) -> Any:
    """A saved profile becomes the dataset's active baseline at once (201). A ``source`` is
    profiled in the pool with the service's ``[profile]`` settings (202 and a job to poll at
    ``/v1/jobs/{id}``)."""
    if body.source is not None:
        from visiondrift.service._sources import resolve_source

        where = await to_thread(resolve_source, body.source, service.settings.service)
        return _baseline_job(service, body.dataset, body.name, where)
    from visiondrift.profiles import Profile

    data = body.profile or {}

    def load() -> Any:
        return Profile.from_dict(data, origin="the uploaded profile")

    profile = await service.pool.run(load, what="reading a profile")
    _check_limits(profile, service)
    stored = await to_thread(service.store.baselines.add, body.dataset, profile, name=body.name)
    return baseline_out(stored)


@router.post(
    "/baselines/images",
    status_code=202,
    response_model=JobOut,
    summary="Make a baseline from uploaded images",
    responses=_problems(400, 413, 422),
    dependencies=[_ADMIN],
)
async def add_baseline_images(
    dataset: Annotated[str, Form(pattern=DATASET_PATTERN)],
    files: Annotated[
        list[UploadFile], File(min_length=1, description="The images (multipart parts 'files').")
    ],
    name: Annotated[str | None, Form(min_length=1, max_length=200)] = None,
    service: ServiceState = _STATE,
) -> Any:
    """The images are profiled in the pool (decoded under ``profile.decode.max_pixels``); the
    baseline becomes the dataset's active one. Poll the job at ``/v1/jobs/{id}``."""
    images = await read_uploads(files, service.settings.service.max_images)
    return _baseline_job(service, dataset, name, images)


@router.get(
    "/baselines",
    response_model=list[BaselineOut],
    summary="List the baselines",
    responses=_problems(422),
    dependencies=[_READ],
)
async def list_baselines(
    dataset: Annotated[str | None, Query(pattern=DATASET_PATTERN)] = None,
    service: ServiceState = _STATE,
) -> list[BaselineOut]:
    """Newest first; ``?dataset=`` keeps one dataset's."""
    found = await to_thread(service.store.baselines.list, dataset)
    return [baseline_out(b) for b in found]


@router.get(
    "/baselines/{baseline_id:hex32}",
    response_model=BaselineOut,
    summary="Show a baseline",
    responses=_problems(404, 422),
    dependencies=[_READ],
)
async def get_baseline(baseline_id: Id32, service: ServiceState = _STATE) -> BaselineOut:
    """The baseline's record."""
    found = await to_thread(service.store.baselines.get, baseline_id)
    if found is None:
        raise _not_found(baseline_id)
    return baseline_out(found)


@router.get(
    "/baselines/{baseline_id:hex32}/profile",
    response_model=dict[str, Any],
    summary="Read a baseline's profile",
    responses=_problems(404, 422),
    dependencies=[_READ],
)
async def get_baseline_profile(baseline_id: Id32, service: ServiceState = _STATE) -> Any:
    """The saved profile, as ``visiondrift baseline`` writes it (to compare elsewhere)."""

    def read() -> dict[str, Any] | None:
        try:
            return service.store.baselines.profile(baseline_id).to_dict()
        except KeyError:
            return None

    found = await service.pool.run(read, what="reading a profile")
    if found is None:
        raise _not_found(baseline_id)
    return JSONResponse(found)


@router.post(
    "/baselines/{baseline_id:hex32}/activate",
    response_model=BaselineOut,
    summary="Make a baseline its dataset's active one",
    responses=_problems(404, 422),
    dependencies=[_ADMIN],
)
async def activate_baseline(baseline_id: Id32, service: ServiceState = _STATE) -> BaselineOut:
    """Windows opened and batches posted from now on compare with it."""
    found = await to_thread(service.store.baselines.activate, baseline_id)
    if found is None:
        raise _not_found(baseline_id)
    return baseline_out(found)


@router.delete(
    "/baselines/{baseline_id:hex32}",
    status_code=204,
    response_class=Response,
    summary="Delete a baseline",
    responses=_problems(404, 422),
    dependencies=[_ADMIN],
)
async def delete_baseline(baseline_id: Id32, service: ServiceState = _STATE) -> Response:
    """Deleting the active baseline leaves its dataset without one (records and batches are
    then refused with 409 until another is added or activated)."""
    if not await to_thread(service.store.baselines.delete, baseline_id):
        raise _not_found(baseline_id)
    return Response(status_code=204)


@router.get(
    "/jobs/{job_id:hex32}",
    response_model=JobOut,
    summary="How a job goes (a baseline being made, a batch run)",
    tags=["jobs"],
    responses=_problems(404, 422),
    dependencies=[_READ],
)
async def get_job(job_id: Id32, service: ServiceState = _STATE) -> JobOut:
    """``queued``, ``running``, ``done`` (with the baseline it made) or ``failed`` (with why)."""
    found = await to_thread(service.store.jobs.get, job_id)
    if found is None:
        raise ServiceProblem(404, "Not found", f"No job has the id {job_id}.", slug="not-found")
    return job_out(found)

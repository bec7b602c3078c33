"""Prediction logging: records, labels, the open window, and the stream of closed windows.

``POST /v1/datasets/{dataset}/records`` answers 202 only once every record of the request is
committed to the store (a killed service loses no acknowledged record). ``GET
/v1/datasets/{dataset}/events`` is a Server-Sent Events stream of each closed window's verdict,
read from the store (so it sees the windows every server process closes).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import Response, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from visiondrift.service._auth import SECURITY, authorize, require
from visiondrift.service._events import event_id, parse_event_id, window_event
from visiondrift.service._params import DatasetName
from visiondrift.service._problems import PROBLEMS
from visiondrift.service._records import RecordBatch, parse_records_body, records_body_schema
from visiondrift.service._state import ServiceState, state
from visiondrift.store._windows import Window

__all__ = ["router"]

router = APIRouter(prefix="/v1/datasets/{dataset}", tags=["records"])

Dataset = DatasetName


class WindowOut(BaseModel):
    """A window of a dataset's records."""

    window_id: str = Field(description="32 hex digits; also the id of its run once closed.")
    status: Literal["open", "closing", "closed", "failed"]
    records: int = Field(description="Records it holds (unusable ones included).")
    bad: int = Field(description="Unusable records (an image that did not decode...).")
    opened_at: datetime = Field(description="When its first record arrived (UTC).")
    closes_at: datetime | None = Field(
        description="Open: when it closes by time (null: by count only). Otherwise: its end."
    )
    run_id: str | None = Field(None, description="Its run, once closed.")


def _window(w: Window | None) -> WindowOut | None:
    if w is None:
        return None
    return WindowOut(
        window_id=w.window_id,
        status=w.status,
        records=w.n_records,
        bad=w.n_bad,
        opened_at=w.opened_at,
        closes_at=w.deadline,
        run_id=w.run_id,
    )


class RecordsAccepted(BaseModel):
    """The records were written to the store."""

    accepted: int = Field(description="Records written (unusable ones included).")
    bad: int = Field(description="Of them, records stored as unusable (their reason counted).")
    window: WindowOut | None = Field(description="The window the last record went into.")
    closed: list[str] = Field(
        description="Windows this request closed (count reached, deadline passed, new "
        "baseline); their verdicts follow on the event stream."
    )


class LabelIn(BaseModel):
    """The true class of a record posted earlier."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(
        min_length=1, max_length=200, pattern=r"^[^\x00]+$", description="The record's id."
    )
    label: str = Field(
        min_length=1, max_length=200, pattern=r"^[^\x00]+$", description="Its true class."
    )


class LabelsIn(BaseModel):
    """Labels for records posted earlier."""

    model_config = ConfigDict(extra="forbid")

    labels: list[LabelIn] = Field(min_length=1, max_length=10_000)


class LabelsJoined(BaseModel):
    """What became of the labels."""

    joined: int = Field(description="Joined to records of the open window: in its verdict.")
    late: int = Field(
        description="Joined to records of windows already closing or closed: stored, but "
        "their verdicts are recorded already."
    )
    unknown: int = Field(description="No record of the dataset has this id (or it was pruned).")


class WindowLimits(BaseModel):
    """When a window of the dataset closes."""

    count: int | None = Field(description="Records per window (null: no count limit).")
    seconds: float | None = Field(description="Seconds after its first record (null: none).")


class OpenWindow(BaseModel):
    """A dataset's open window (null when no record is waiting) and its limits."""

    dataset: str
    window: WindowOut | None
    limits: WindowLimits


class CloseAnswer(BaseModel):
    """The window now closing (null: the dataset had no open window)."""

    window: WindowOut | None


_ERRORS: dict[int | str, dict[str, Any]] = {k: PROBLEMS[k] for k in (401, 403, 422, 503)}


@router.post(
    "/records",
    status_code=202,
    response_model=RecordsAccepted,
    summary="Log predictions (one record or a batch)",
    responses={
        **_ERRORS,
        409: {**PROBLEMS[422], "description": "The dataset has no active baseline."},
        413: PROBLEMS[413],
        429: PROBLEMS[429],
    },
    # The body is read by pydantic's JSON parser in one pass (parse_records_body), not by
    # FastAPI (json.loads, then validation): documented here.
    # The key is checked in the route (authorize), not by a dependency: declared here.
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": records_body_schema()[0]}},
        },
        "security": SECURITY,
    },
)
async def post_records(dataset: Dataset, request: Request) -> Response:
    """Write the records into the dataset's open window; 202 once they are in the store.

    The body is one record or `{"records": [...]}`. Each record has the model's
    `probabilities` (one per class of the dataset's active baseline), and, when the baseline
    was made from images, the `image` (base64; decoded and measured by the service, no pixels
    kept); optionally an `id` (to join a label later), a `label`, a `timestamp` and
    `metadata`. A record that does not validate refuses the whole request (422, every such
    record listed in `errors` by index and field); nothing is written. An image that does not
    decode is stored as an unusable record (counted by reason in the window's verdict).
    """
    await authorize(request, "write")
    service: ServiceState = request.app.state.vd  # (not a dependency: the hot route)
    payload = parse_records_body(await request.body(), request.headers.get("content-type"))
    batch = isinstance(payload, RecordBatch)
    records = payload.records if isinstance(payload, RecordBatch) else [payload]
    ack = await service.windows.append(dataset, records, "records" if batch else "")
    result = ack.result
    answer = RecordsAccepted(
        accepted=result.accepted,
        bad=result.bad,
        window=_window(result.window),
        closed=list(result.closing),
    )
    # Serialised here (the model is valid by construction): FastAPI would dump it to Python
    # objects, validate them again and encode them, six times the work.
    return Response(answer.model_dump_json(), status_code=202, media_type="application/json")


@router.post(
    "/labels",
    response_model=LabelsJoined,
    summary="Join true labels to records posted earlier",
    responses=_ERRORS,
)
async def post_labels(
    dataset: Dataset,
    payload: LabelsIn,
    service: ServiceState = Depends(state),  # noqa: B008
    _key: object = Depends(require("write")),
) -> LabelsJoined:
    """Set the label of the dataset's records with these ids (the last label of an id wins)."""
    labels = {item.id: item.label for item in payload.labels}
    found = await asyncio.to_thread(service.store.windows.join_labels, dataset, labels)
    return LabelsJoined(joined=found.joined, late=found.late, unknown=found.unknown)


@router.get(
    "/window",
    response_model=OpenWindow,
    summary="The dataset's open window",
    responses=_ERRORS,
)
async def get_window(
    dataset: Dataset,
    service: ServiceState = Depends(state),  # noqa: B008
    _key: object = Depends(require("read")),
) -> OpenWindow:
    """The window taking the dataset's records now (`window` null when none is open)."""
    found = await asyncio.to_thread(service.store.windows.open_window, dataset)
    limits = service.settings.service.window_for(dataset)
    return OpenWindow(
        dataset=dataset,
        window=_window(found),
        limits=WindowLimits(count=limits.count, seconds=limits.seconds),
    )


@router.post(
    "/window/close",
    status_code=202,
    response_model=CloseAnswer,
    summary="Close the dataset's open window now",
    responses=_ERRORS,
)
async def close_window(
    dataset: Dataset,
    service: ServiceState = Depends(state),  # noqa: B008
    _key: object = Depends(require("admin")),
) -> CloseAnswer:
    """Close the open window now, whatever its count and time; its verdict follows on the
    event stream (202)."""
    found = await asyncio.to_thread(service.windows.close_now, dataset)
    return CloseAnswer(window=_window(found))


@router.get(
    "/events",
    summary="Closed windows' verdicts as Server-Sent Events",
    response_class=StreamingResponse,
    responses={
        **_ERRORS,
        200: {
            "description": "`text/event-stream`: one `window` event per closed window "
            "(`id`: its position, `data`: JSON of its verdict and headline metrics), and a "
            "`: keep-alive` comment every service.heartbeat seconds.",
            "content": {"text/event-stream": {"schema": {"type": "string"}}},
        },
    },
)
async def events(
    dataset: Dataset,
    service: ServiceState = Depends(state),  # noqa: B008
    _key: object = Depends(require("read")),
    last_event_id: Annotated[
        str | None,
        Header(max_length=100, description="Resume after this event (sent by EventSource)."),
    ] = None,
    replay: Annotated[
        int,
        Query(ge=0, le=100, description="Without Last-Event-ID: first send the last N windows."),
    ] = 0,
    seconds: Annotated[
        float | None,
        Query(gt=0, le=86_400, description="End the stream after this many seconds."),
    ] = None,
) -> StreamingResponse:
    """Each window of the dataset whose verdict is recorded, as it happens (`event: window`).

    The events are read from the store, so they include windows closed by every server
    process; `Last-Event-ID` resumes after an event (an unknown id starts from now).
    """
    position = parse_event_id(last_event_id)
    if position is None:
        position = await asyncio.to_thread(_start, service, dataset, replay)
    return StreamingResponse(
        _stream(service, dataset, position, seconds),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


def _start(service: ServiceState, dataset: str, replay: int) -> tuple[datetime, str] | None:
    windows = service.store.windows
    if replay == 0:
        last = windows.last_finished(dataset)
        return None if last is None or last.closed_at is None else (last.closed_at, last.window_id)
    recent = windows.finished_after(dataset, None, limit=replay + 1, newest_first=True)
    if len(recent) <= replay:
        return None
    first = recent[-1]  # the window before the last `replay`: the stream starts after it
    assert first.closed_at is not None
    return first.closed_at, first.window_id


async def _stream(
    service: ServiceState,
    dataset: str,
    position: tuple[datetime, str] | None,
    seconds: float | None,
) -> AsyncIterator[str]:
    heartbeat = service.settings.service.heartbeat
    poll = min(1.0, heartbeat)
    yield f": events of {dataset}\nretry: 2000\n\n"
    last_sent = time.monotonic()
    end = None if seconds is None else last_sent + seconds
    while end is None or time.monotonic() < end:
        found = await asyncio.to_thread(_read, service, dataset, position)
        for window, payload in found:
            assert window.closed_at is not None
            position = (window.closed_at, window.window_id)
            data = json.dumps(payload, separators=(",", ":"), allow_nan=False, default=str)
            yield f"id: {event_id(window)}\nevent: window\ndata: {data}\n\n"
            last_sent = time.monotonic()
        if time.monotonic() - last_sent >= heartbeat:
            yield ": keep-alive\n\n"
            last_sent = time.monotonic()
        wait = poll if end is None else max(0.0, min(poll, end - time.monotonic()))
        await service.events.wait(wait)


def _read(
    service: ServiceState, dataset: str, position: tuple[datetime, str] | None
) -> list[tuple[Window, dict[str, object]]]:
    found = service.store.windows.finished_after(dataset, position, limit=50)
    return [(w, window_event(service.store, w)) for w in found]

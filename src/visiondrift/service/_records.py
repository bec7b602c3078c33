"""Posted records: their schema, the checks against the dataset's baseline, and how each is
turned into the row the store keeps (probabilities as float32, an image as its measurements).

A request is checked whole before anything is written: one record that does not fit the
baseline (wrong number of probabilities, an image where the baseline has none...) refuses the
request with 422, every such record listed by index and field; nothing is written. An image
that does not decode (or breaks a decoder limit: the bomb guard) is not a bad request: it is
stored as an unusable record with its reason, counted in the window's profile like a bad file
of a batch.
"""

from __future__ import annotations

import binascii
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    WithJsonSchema,
    field_validator,
)

from visiondrift.service._problems import ProblemItem

if TYPE_CHECKING:
    from visiondrift.decode import DecodeLimits
    from visiondrift.profiles import Profile
    from visiondrift.store import StoredBaseline
    from visiondrift.store._windows import NewRecord

__all__ = [
    "ActiveBaseline",
    "RecordBatch",
    "RecordIn",
    "RecordsBody",
    "check_records",
    "encode_records",
    "measure_records",
]

#: How far the probabilities of a record may sum from 1.
SUM_TOLERANCE = 1e-3
#: The most metadata entries of a record, and the longest key and text value.
MAX_META = 16
MAX_META_KEY = 64
MAX_META_TEXT = 200


def _base64(value: Any) -> bytes:
    if not isinstance(value, str):
        raise ValueError("the image must be a base64 text (standard alphabet, padded)")
    try:
        return binascii.a2b_base64(value, strict_mode=True)
    except (binascii.Error, ValueError) as err:
        raise ValueError(f"the image is not valid base64 ({err})") from err


Base64Image = Annotated[
    bytes,
    BeforeValidator(_base64),
    WithJsonSchema({"type": "string", "contentEncoding": "base64"}),
]

MetaKey = Annotated[str, Field(min_length=1, max_length=MAX_META_KEY)]
MetaValue = Annotated[str, Field(max_length=MAX_META_TEXT)] | bool | int | float


class RecordIn(BaseModel):
    """One prediction of the model (and, optionally, the image it saw)."""

    model_config = ConfigDict(extra="forbid")

    id: str | None = Field(
        None,
        min_length=1,
        max_length=200,
        description="The record's id, to join a label posted later (POST .../labels).",
    )
    probabilities: list[float] | None = Field(
        None,
        min_length=1,
        max_length=100_000,
        description="The model's class probabilities: finite, non-negative, summing to 1 "
        "(within 0.001), one per class of the dataset's baseline.",
    )
    image: Base64Image | None = Field(
        None,
        description="The image the model saw, base64; decoded and measured by the service (no "
        "pixels are stored). Needed when the baseline was made from images.",
    )
    label: str | None = Field(
        None, min_length=1, max_length=200, description="The true class, when known."
    )
    timestamp: datetime | None = Field(
        None, description="When the prediction was made (ISO 8601; without a zone: UTC)."
    )
    metadata: (
        dict[Annotated[str, Field(min_length=1, max_length=MAX_META_KEY)], MetaValue] | None
    ) = Field(
        None,
        max_length=MAX_META,
        description="A small flat map (device, site...): at most 16 entries, texts of at "
        "most 200 characters.",
    )

    @field_validator("probabilities")
    @classmethod
    def _probabilities(cls, value: list[float] | None) -> list[float] | None:
        if value is None:
            return None
        for i, p in enumerate(value):
            if not math.isfinite(p) or p < 0.0:
                raise ValueError(
                    f"probabilities must be finite and non-negative; item {i} is {p!r}"
                )
        total = math.fsum(value)
        if abs(total - 1.0) > SUM_TOLERANCE:
            raise ValueError(
                f"probabilities must sum to 1 (within {SUM_TOLERANCE:g}); they sum to "
                f"{total:.6g} (send probabilities, not logits: apply softmax first)"
            )
        return value

    @field_validator("metadata")
    @classmethod
    def _metadata(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        if value is None:
            return None
        for key, item in value.items():
            if isinstance(item, float) and not math.isfinite(item):
                raise ValueError(f"metadata values must be finite numbers; {key!r} is {item!r}")
        return value


class RecordBatch(BaseModel):
    """Several records, written together (all, or none when one does not validate)."""

    model_config = ConfigDict(extra="forbid")

    records: list[RecordIn] = Field(min_length=1, description="The records, in order.")


def _which(value: Any) -> str:
    return "batch" if isinstance(value, dict) and "records" in value else "record"


#: The body of ``POST /v1/datasets/{dataset}/records``: one record, or ``{"records": [...]}``.
RecordsBody = Annotated[
    Annotated[RecordBatch, Tag("batch")] | Annotated[RecordIn, Tag("record")],
    Discriminator(_which),
]


@dataclass(frozen=True)
class ActiveBaseline:
    """A dataset's active baseline, as the record checks and the window closer need it."""

    stored: StoredBaseline
    profile: Profile
    #: Classes a record's probabilities must have (``None``: no probabilities expected).
    n_classes: int | None
    #: Whether records carry an image (a baseline of images).
    images: bool


def active_baseline(stored: StoredBaseline, profile: Profile) -> ActiveBaseline:
    """What records of a dataset with this baseline must carry."""
    images = stored.kind == "images"
    n_classes = None if profile.model is None else len(profile.model.class_names)
    return ActiveBaseline(stored, profile, n_classes, images)


def check_records(records: Sequence[RecordIn], base: ActiveBaseline, loc: str) -> list[ProblemItem]:
    """Why each record does not fit ``base`` (empty: all fit). ``loc`` is ``records`` for a
    batch, ``""`` for a single record."""
    errors: list[ProblemItem] = []
    kind = "images" if base.images else "predictions"

    def where(i: int, field: str) -> list[str | int]:
        return ["body", loc, i, field] if loc else ["body", field]

    for i, r in enumerate(records):
        if base.n_classes is None:
            if r.probabilities is not None:
                errors.append(
                    ProblemItem(
                        loc=where(i, "probabilities"),
                        msg="the dataset's baseline has no model: send no probabilities",
                    )
                )
        elif r.probabilities is None:
            errors.append(
                ProblemItem(
                    loc=where(i, "probabilities"),
                    msg=f"the dataset's baseline ({kind}) has a model of {base.n_classes} "
                    "classes: probabilities are required",
                )
            )
        elif len(r.probabilities) != base.n_classes:
            errors.append(
                ProblemItem(
                    loc=where(i, "probabilities"),
                    msg=f"the dataset's baseline has {base.n_classes} classes; this record has "
                    f"{len(r.probabilities)} probabilities",
                )
            )
        if base.images and r.image is None:
            errors.append(
                ProblemItem(
                    loc=where(i, "image"),
                    msg="the dataset's baseline was made from images: an image is required",
                )
            )
        elif not base.images and r.image is not None:
            errors.append(
                ProblemItem(
                    loc=where(i, "image"),
                    msg="the dataset's baseline was made from predictions: send no image",
                )
            )
    return errors


def _common(r: RecordIn) -> dict[str, Any]:
    from visiondrift.store._windows import encode_probs

    ts = r.timestamp
    if ts is not None:
        ts = ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts.astimezone(UTC)
    return {
        "record_id": r.id,
        "ts": ts,
        "label": r.label,
        "probs": None if r.probabilities is None else encode_probs(r.probabilities),
        "meta": None if not r.metadata else json.dumps(r.metadata, separators=(",", ":")),
    }


def encode_records(records: Sequence[RecordIn]) -> list[NewRecord]:
    """Records without images as the store keeps them (cheap: done on the event loop)."""
    from visiondrift.store._windows import NewRecord

    return [NewRecord(**_common(r)) for r in records]


def measure_records(
    records: Sequence[RecordIn], config: Any, limits: DecodeLimits
) -> list[NewRecord]:
    """Records with images as the store keeps them: each image decoded under ``limits`` (the
    bomb guard) and measured with the baseline's settings ``config``; an image that cannot be
    used becomes an unusable record with its reason. Runs in the pool."""
    from visiondrift.decode import BadFile, decode_image
    from visiondrift.errors import MeasureError
    from visiondrift.measure._measurer import ImageMeasurer
    from visiondrift.measure.custom import resolve_image_metrics
    from visiondrift.store._windows import NewRecord, encode_measured

    metrics = resolve_image_metrics(config.image_metrics)
    out: list[NewRecord] = []
    for i, r in enumerate(records):
        common = _common(r)
        name = r.id or f"record {i}"
        decoded = decode_image(r.image or b"", name, limits)
        if isinstance(decoded, BadFile):
            out.append(NewRecord(**common, bad_reason=decoded.reason, detail=decoded.detail))
            continue
        try:
            measurer = ImageMeasurer(config.measure, metrics)
            measurer.add(decoded)
            hists, values = measurer.finish()
        except (ValueError, OSError, MemoryError, MeasureError) as err:
            reason = "measure_error" if isinstance(err, MeasureError) else "decode_error"
            out.append(
                NewRecord(**common, bad_reason=reason, detail=f"{type(err).__name__}: {err}")
            )
            continue
        measured = encode_measured(hists[0], values[0], format=decoded.format, mode=decoded.mode)
        out.append(NewRecord(**common, measured=measured))
    return out

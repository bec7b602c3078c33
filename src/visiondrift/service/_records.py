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
import contextlib
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
    TypeAdapter,
    WithJsonSchema,
    field_validator,
)

from visiondrift.service._problems import ProblemItem

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

    from visiondrift.decode import DecodeLimits
    from visiondrift.profiles import Profile
    from visiondrift.store import StoredBaseline
    from visiondrift.store._windows import NewRecord, RecordBlock

__all__ = [
    "ActiveBaseline",
    "RecordBatch",
    "RecordIn",
    "RecordsBody",
    "block_of_records",
    "check_probabilities",
    "check_records",
    "encode_records",
    "measure_records",
    "parse_records_body",
    "probability_matrix",
    "records_body_schema",
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

#: One probability: a finite number (NaN and infinities are refused while the JSON is read).
Probability = Annotated[float, Field(allow_inf_nan=False)]

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
    probabilities: list[Probability] | None = Field(
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

    @field_validator("id", "label")
    @classmethod
    def _text(cls, value: str | None) -> str | None:
        if value is not None and "\x00" in value:
            raise ValueError("a text may not hold the NUL character")
        return value

    @field_validator("timestamp")
    @classmethod
    def _timestamp(cls, value: datetime | None) -> datetime | None:
        if value is None:
            return None
        try:
            return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
        except OverflowError as err:
            raise ValueError(f"the timestamp is out of range in UTC ({err})") from err

    @field_validator("metadata")
    @classmethod
    def _metadata(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        if value is None:
            return None
        for key, item in value.items():
            if "\x00" in key or (isinstance(item, str) and "\x00" in item):
                raise ValueError("metadata may not hold the NUL character")
            if isinstance(item, float) and not math.isfinite(item):
                raise ValueError(f"metadata values must be finite numbers; {key!r} is {item!r}")
            if isinstance(item, int) and not isinstance(item, bool) and abs(item) >= 2**63:
                raise ValueError(f"metadata integers must fit in 64 bits; {key!r} does not")
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

_BODY: TypeAdapter[RecordBatch | RecordIn] = TypeAdapter(RecordsBody)


def records_body_schema() -> tuple[dict[str, Any], dict[str, Any]]:
    """The JSON schema of :data:`RecordsBody` as the OpenAPI document refers to it, and the
    component schemas it refers to (``RecordBatch``, ``RecordIn``)."""
    schema = _BODY.json_schema(ref_template="#/components/schemas/{model}")
    components = schema.pop("$defs", {})
    return schema, components


def parse_records_body(body: bytes, content_type: str | None) -> RecordBatch | RecordIn:
    """The records of a request body, read and validated in one pass (pydantic's JSON
    parser: no Python objects are built for the JSON first; the hot path of the service).

    Raises FastAPI's ``RequestValidationError`` (422, the errors located under ``body``, as
    for any route) when the body is not JSON or does not validate.
    """
    from fastapi.exceptions import RequestValidationError
    from pydantic import ValidationError

    if content_type is not None:
        media = content_type.partition(";")[0].strip().lower()
        if media != "application/json" and not (
            media.startswith("application/") and media.endswith("+json")
        ):
            raise RequestValidationError(
                [
                    {
                        "type": "content_type",
                        "loc": ("body",),
                        "msg": f"the body must be JSON (Content-Type: application/json), not "
                        f"{media or 'empty'}",
                        "input": None,
                    }
                ]
            )
    if b'"records"' in body:
        # Most likely a batch (the hot path): read as one at once. The discriminated union
        # has to turn the whole body into Python objects to call its discriminator first (a
        # fifth of the time of reading a batch); a body that is not a valid batch goes on to
        # it, so every error is the one it reports.
        with contextlib.suppress(ValidationError):
            return RecordBatch.model_validate_json(body)
    try:
        return _BODY.validate_json(body)
    except ValidationError as err:
        raise RequestValidationError(
            [{**e, "loc": ("body", *e["loc"])} for e in err.errors(include_url=False)]
        ) from None


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


def probability_matrix(records: Sequence[RecordIn]) -> NDArray[np.float64] | None:
    """The records' probabilities as one ``(records, classes)`` array, when every record has
    as many (the usual request); ``None`` otherwise."""
    import numpy as np

    try:
        matrix = np.asarray([r.probabilities for r in records], dtype=np.float64)
    except (TypeError, ValueError):  # a record without probabilities, or rows of two lengths
        return None
    return matrix if matrix.ndim == 2 and matrix.shape[1] > 0 else None


def check_probabilities(
    records: Sequence[RecordIn], loc: str, matrix: NDArray[np.float64] | None = None
) -> list[ProblemItem]:
    """Why the probabilities of some records are not a probability distribution: a negative
    value, or a sum off 1 by more than :data:`SUM_TOLERANCE` (finite already: the JSON reader
    refused NaN and infinities). One pass over the request's :func:`probability_matrix` when
    there is one. ``loc`` as for :func:`check_records`."""
    import numpy as np

    if matrix is not None:
        off = np.abs(matrix.sum(axis=1) - 1.0) > SUM_TOLERANCE
        if matrix.min() >= 0.0 and not off.any():
            return []  # (the usual request)
        suspects = np.flatnonzero((matrix < 0.0).any(axis=1) | off).tolist()
    else:
        suspects = [i for i, r in enumerate(records) if r.probabilities is not None]
    found: list[ProblemItem] = []
    for i in suspects:
        values = records[i].probabilities
        assert values is not None
        where: list[str | int] = (
            ["body", loc, i, "probabilities"] if loc else ["body", "probabilities"]
        )
        bad = next((k for k, p in enumerate(values) if p < 0.0), None)
        if bad is not None:
            found.append(
                ProblemItem(
                    loc=where,
                    msg="probabilities must be finite and non-negative; item "
                    f"{bad} is {values[bad]!r}",
                )
            )
            continue
        total = math.fsum(values)
        if abs(total - 1.0) > SUM_TOLERANCE:
            found.append(
                ProblemItem(
                    loc=where,
                    msg=f"probabilities must sum to 1 (within {SUM_TOLERANCE:g}); they sum to "
                    f"{total:.6g} (send probabilities, not logits: apply softmax first)",
                )
            )
    return found


def check_records(
    records: Sequence[RecordIn],
    base: ActiveBaseline,
    loc: str,
    matrix: NDArray[np.float64] | None = None,
) -> list[ProblemItem]:
    """Why each record does not fit ``base`` (empty: all fit). ``loc`` is ``records`` for a
    batch, ``""`` for a single record; ``matrix`` the records' :func:`probability_matrix`."""
    if (
        matrix is not None
        and base.n_classes == matrix.shape[1]
        and not base.images
        and all(r.image is None for r in records)
    ):
        return []  # each has as many probabilities as the baseline has classes, no image
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


_META = json.JSONEncoder(separators=(",", ":"), allow_nan=False)


def _common(r: RecordIn) -> dict[str, Any]:
    from visiondrift.store._windows import encode_probs

    return {
        "record_id": r.id,
        "ts": r.timestamp,
        "label": r.label,
        "probs": None if r.probabilities is None else encode_probs(r.probabilities),
        "meta": None if not r.metadata else _META.encode(r.metadata),
    }


def encode_records(
    records: Sequence[RecordIn], matrix: NDArray[np.float64] | None = None
) -> list[NewRecord]:
    """Records without images as the store keeps them (cheap: done on the event loop; with
    the request's :func:`probability_matrix`, the probabilities are encoded in one go)."""
    from visiondrift.store._windows import NewRecord, encode_probs, encode_probs_matrix

    encoded: Sequence[bytes | None]
    if matrix is not None:
        encoded = encode_probs_matrix(matrix)
    else:
        encoded = [
            None if r.probabilities is None else encode_probs(r.probabilities) for r in records
        ]
    meta = _META.encode
    return [
        NewRecord(
            r.id,
            r.timestamp,  # UTC already (validated)
            r.label,
            blob,
            None,
            None,
            None,
            None if not r.metadata else meta(r.metadata),
        )
        for r, blob in zip(records, encoded, strict=True)
    ]


def block_of_records(records: Sequence[RecordIn], matrix: NDArray[np.float64]) -> RecordBlock:
    """Records of probabilities (no images) as the one block the store keeps of them: the
    request's :func:`probability_matrix` converted to float32 in one go (cheap: done on the
    event loop)."""
    from visiondrift.store._windows import RecordBlock

    meta = _META.encode
    return RecordBlock.of_columns(
        matrix.astype("<f4").tobytes(),
        int(matrix.shape[1]),
        [r.id for r in records],
        [r.label for r in records],
        [r.timestamp for r in records],  # UTC already (validated)
        [None if not r.metadata else meta(r.metadata) for r in records],
    )


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

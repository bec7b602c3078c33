"""The saved profile document as pydantic models, and its JSON Schema.

:class:`ProfileDocument` describes what :meth:`visiondrift.profiles.Profile.to_dict` writes
(format version :data:`~visiondrift.profiles.PROFILE_FORMAT_VERSION`); :func:`profile_json_schema`
turns it into the JSON Schema committed as ``docs/schema/profile.schema.json``
(``python scripts/profile_schema.py`` regenerates it; a test fails when the committed file
differs). Loading profiles does not use these models (the loader checks the document itself and
reads older versions too), so this module, which imports pydantic, is not imported by
:mod:`visiondrift.profiles`. May import pydantic and the plain profile modules.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from visiondrift.decode._records import BadFileReason
from visiondrift.names import NamePolicy
from visiondrift.profiles._profile import PROFILE_FORMAT, PROFILE_FORMAT_VERSION

__all__ = ["ProfileDocument", "profile_json_schema", "render_profile_schema"]

_Count = Field(ge=0)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class MomentsDoc(_Strict):
    """Count, mean, sum of squared deviations, min and max of a set of values."""

    count: int = _Count
    mean: float
    m2: float = Field(ge=0)
    min: float | None = Field(description="null when count is 0")
    max: float | None = Field(description="null when count is 0")


class WindowDoc(_Strict):
    """The time span of the images: start <= end, ISO 8601 in UTC."""

    start: datetime
    end: datetime


class SourceDoc(_Strict):
    """One source the images came from (records of one source are added up)."""

    kind: Literal["folder", "imagefolder", "list", "merged", "predictions"]
    location: str
    n_listed: int = _Count
    n_selected: int = _Count
    max_images: int | None = Field(ge=1)
    seed: int


class MeasureDoc(_Strict):
    """Settings of the per-image measurements (:class:`visiondrift.measure.MeasureConfig`)."""

    work_size: int
    colour_size: int
    noise_size: int
    clip_dark: int
    clip_bright: int
    version: int


class LimitsDoc(_Strict):
    """Decoding limits (:class:`visiondrift.decode.DecodeLimits`)."""

    max_pixels: int = Field(ge=1)
    min_side: int = Field(ge=1)


class PreprocessingDoc(_Strict):
    """How images become the model's input; options at their defaults are left out."""

    size: list[int] | None = Field(default=None, min_length=2, max_length=2)
    resize: Literal["stretch", "shorter-side-crop"] | None = None
    resize_shorter: int | None = None
    interpolation: Literal["nearest", "bilinear", "bicubic", "area"] | None = None
    scaling: Literal["auto", "raw", "0-1", "-1-1", "imagenet"] | None = None
    mean: list[float] | None = None
    std: list[float] | None = None
    channel_order: Literal["RGB", "BGR"] | None = None
    layout: Literal["auto", "NCHW", "NHWC"] | None = None


class ModelSpecDoc(_Strict):
    """The classifier run on every image (:class:`visiondrift.models.ModelSpec`); options at
    their defaults are left out."""

    path: str
    preprocessing: PreprocessingDoc | None = None
    output: str | None = None
    labels: list[str] | None = None
    labels_file: str | None = None
    embedding: str | None = None
    activation: str | None = None
    batch_size: int | None = None
    num_threads: int | None = None
    format: str | None = None
    distribution_tolerance: float | None = None


class ConfigDoc(_Strict):
    """The settings the profile was built with (profiles merge only when they match)."""

    measure: MeasureDoc
    limits: LimitsDoc
    reservoir_size: int = Field(ge=10)
    seed: int
    max_listed_bad_files: int = _Count
    model: ModelSpecDoc | None
    low_confidence: float = Field(ge=0, le=1)
    embedding_components: int = Field(ge=1)
    names: NamePolicy
    #: Registered per-image metrics measured beside the built-in properties: name -> version.
    image_metrics: dict[str, int] = Field(default_factory=dict)


class BadFileDoc(_Strict):
    """A file or record that could not be used."""

    name: str
    reason: BadFileReason
    detail: str


class IntegrityDoc(_Strict):
    """Unusable files: all counted by reason, the first ones (by name) listed."""

    bad_counts: dict[str, int]
    bad_files: list[BadFileDoc]


class ChannelsDoc(_Strict):
    """Exact 256-bin histograms of the 8-bit R, G, B and luminance values."""

    r: list[int] = Field(min_length=256, max_length=256)
    g: list[int] = Field(min_length=256, max_length=256)
    b: list[int] = Field(min_length=256, max_length=256)
    l: list[int] = Field(min_length=256, max_length=256)  # noqa: E741 - the channel's name


class ReservoirDoc(_Strict):
    """A bounded, seeded uniform sample of per-image records (one entry per record)."""

    capacity: int = Field(ge=1)
    keys: list[int]
    names: list[str]
    labels: list[str | None]
    values: dict[str, list[float]]
    vectors: dict[str, list[list[float]]]


class ModelSummaryDoc(_Strict):
    """What the model said about the images."""

    class_names: list[str]
    description: dict[str, Any]
    predicted: dict[str, int]
    confidence: MomentsDoc
    margin: MomentsDoc
    entropy: MomentsDoc
    confidence_hist: list[int]
    n_low_confidence: int = _Count
    class_confidence: dict[str, MomentsDoc]
    projection: dict[str, Any] | None


class ProfileDocument(_Strict):
    """A visiondrift profile as saved by ``Profile.save`` (format version 2)."""

    model_config = ConfigDict(extra="forbid", title="visiondrift profile")

    format: Literal["visiondrift.profile"]
    format_version: Literal[2]
    package_version: str
    created_at: str
    dataset: str | None
    window: WindowDoc | None
    sources: list[SourceDoc]
    source_count: int = _Count
    config: ConfigDoc
    n_files: int = _Count
    n_images: int = _Count
    integrity: IntegrityDoc
    channels: ChannelsDoc
    moments: dict[str, MomentsDoc]
    formats: dict[str, int]
    modes: dict[str, int]
    labels: dict[str, int]
    reservoir: ReservoirDoc
    extra: dict[str, Any]
    model: ModelSummaryDoc | None


def profile_json_schema() -> dict[str, Any]:
    """The JSON Schema of a saved profile document."""
    schema = ProfileDocument.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["description"] = (
        f"A {PROFILE_FORMAT} document, format version {PROFILE_FORMAT_VERSION}. "
        "Generated by scripts/profile_schema.py; do not edit by hand."
    )
    return schema


def render_profile_schema() -> str:
    """The schema as the committed file holds it (sorted keys, two-space indent)."""
    return json.dumps(profile_json_schema(), indent=2, sort_keys=True) + "\n"

"""Consistency checks of a loaded profile: a damaged or edited file is refused, never half-used.

:func:`check_profile` looks at what a valid profile always satisfies (every reservoir column has
one entry per record, counts are finite and non-negative, histograms have their shape) and
returns the first violation as a sentence naming the field, or ``None``. The loader turns that
sentence into a :class:`~visiondrift.errors.ProfileFormatError`.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING

import numpy as np

from visiondrift.decode import BAD_FILE_REASONS
from visiondrift.measure.properties import CHANNELS

if TYPE_CHECKING:
    from visiondrift.profiles import Profile
    from visiondrift.profiles.model_summary import ModelSummary
    from visiondrift.profiles.sketches import Moments, Reservoir

__all__ = ["MAX_PLAUSIBLE_VALUE", "REQUIRED_KEYS", "check_profile", "missing_key"]

#: Largest magnitude of a per-image value, moment or model output that a real profile holds (file
#: sizes and pixel counts stay far below it). Larger values only come from an edited file, and
#: would overflow the statistics computed from them.
MAX_PLAUSIBLE_VALUE = 1e15

#: Keys every saved profile has, by dotted path of the object holding them.
REQUIRED_KEYS: Mapping[str, tuple[str, ...]] = {
    "": (
        "config",
        "n_files",
        "n_images",
        "integrity",
        "channels",
        "moments",
        "formats",
        "modes",
        "labels",
        "reservoir",
        "sources",
        "created_at",
        "package_version",
    ),
    "config": ("measure", "limits", "reservoir_size", "seed", "max_listed_bad_files"),
    "integrity": ("bad_counts", "bad_files"),
    "channels": CHANNELS,
    "reservoir": ("capacity", "keys", "names", "labels", "values"),
}


def missing_key(data: Mapping[str, object]) -> str | None:
    """The dotted path of the first required key that ``data`` lacks, or ``None``."""
    for parent, keys in REQUIRED_KEYS.items():
        holder: object = data if not parent else data.get(parent)
        if not isinstance(holder, Mapping):
            return parent or "<document>"
        for key in keys:
            if key not in holder:
                return f"{parent}.{key}" if parent else key
    return None


def _count(value: float, field: str) -> str | None:
    if not math.isfinite(value) or value < 0:
        return f"'{field}' must be a finite, non-negative count; found {value!r}"
    return None


def _moments(m: Moments, field: str) -> str | None:
    problem = _count(m.count, f"{field}.count")
    if problem or m.count == 0:
        return problem
    for name, bound in (
        ("mean", MAX_PLAUSIBLE_VALUE),
        ("m2", MAX_PLAUSIBLE_VALUE**2),
        ("min", MAX_PLAUSIBLE_VALUE),
        ("max", MAX_PLAUSIBLE_VALUE),
    ):
        value = getattr(m, name)
        if not math.isfinite(value) or abs(value) > bound:
            return f"'{field}.{name}' must be a finite number up to {bound:g}; found {value!r}"
    if m.m2 < 0 or m.min > m.max:
        return f"'{field}' is inconsistent (negative m2, or min above max)"
    return None


def _counts(counts: Mapping[str, int], field: str) -> Iterator[str | None]:
    for key, value in counts.items():
        yield _count(value, f"{field}.{key}")


def _reservoir(r: Reservoir) -> Iterator[str | None]:
    n = len(r.keys)
    if r.capacity < 1:
        yield f"'reservoir.capacity' must be at least 1; found {r.capacity}"
    if n > r.capacity:
        yield f"'reservoir.keys' holds {n} records, more than its capacity {r.capacity}"
    for field, size in (("names", len(r.names)), ("labels", len(r.labels))):
        if size != n:
            yield f"'reservoir.{field}' has {size} entries but 'reservoir.keys' has {n}"
    for name, column in r.values.items():
        if column.ndim != 1 or column.shape[0] != n:
            yield (
                f"'reservoir.values.{name}' has {column.shape[0] if column.ndim else 0} entries "
                f"but 'reservoir.keys' has {n}"
            )
        elif (np.abs(column) > MAX_PLAUSIBLE_VALUE).any():
            yield (
                f"'reservoir.values.{name}' holds a value beyond +-{MAX_PLAUSIBLE_VALUE:g} "
                "(no image property reaches it)"
            )
    for name, vectors in r.vectors.items():
        if vectors.ndim != 2 or vectors.shape[0] != n:
            rows = vectors.shape[0] if vectors.ndim else 0
            yield f"'reservoir.vectors.{name}' has {rows} rows but 'reservoir.keys' has {n}"
        elif not (np.abs(vectors) <= MAX_PLAUSIBLE_VALUE).all():
            yield (
                f"'reservoir.vectors.{name}' holds a non-finite value or one beyond "
                f"+-{MAX_PLAUSIBLE_VALUE:g}"
            )


def _model(m: ModelSummary, r: Reservoir) -> Iterator[str | None]:
    if not m.class_names:
        yield "'model.class_names' is empty"
    for name in ("confidence", "margin", "entropy"):
        yield _moments(getattr(m, name), f"model.{name}")
    for key, moments in m.class_confidence.items():
        yield _moments(moments, f"model.class_confidence.{key}")
    yield from _counts(m.predicted.counts, "model.predicted")
    yield _count(m.n_low_confidence, "model.n_low_confidence")
    hist = m.confidence_hist
    if hist.ndim != 1 or (hist < 0).any():
        yield "'model.confidence_hist' must be a list of non-negative counts"
    probs = r.vectors.get("probs")
    if (
        probs is not None
        and probs.ndim == 2
        and len(probs)
        and probs.shape[1] != len(m.class_names)
    ):
        yield (
            f"'reservoir.vectors.probs' has {probs.shape[1]} columns but 'model.class_names' "
            f"names {len(m.class_names)} classes"
        )


_SOURCE_KINDS = ("folder", "imagefolder", "list", "merged", "predictions")


def _whole(value: object, field: str, minimum: int) -> str | None:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        return f"'{field}' must be an integer of at least {minimum}; found {value!r}"
    return None


def _sources_and_limits(p: Profile) -> Iterator[str | None]:
    for i, s in enumerate(p.sources):
        if s.kind not in _SOURCE_KINDS:
            yield f"'sources.{i}.kind' must be one of {list(_SOURCE_KINDS)}; found {s.kind!r}"
        if not isinstance(s.location, str):
            yield f"'sources.{i}.location' must be a string; found {s.location!r}"
        yield _whole(s.n_listed, f"sources.{i}.n_listed", 0)
        yield _whole(s.n_selected, f"sources.{i}.n_selected", 0)
        if s.max_images is not None:
            yield _whole(s.max_images, f"sources.{i}.max_images", 1)
        if isinstance(s.seed, bool) or not isinstance(s.seed, int):
            yield f"'sources.{i}.seed' must be an integer; found {s.seed!r}"
    yield _whole(p.source_count, "source_count", len(p.sources))
    yield _whole(p.config.limits.max_pixels, "config.limits.max_pixels", 1)
    yield _whole(p.config.limits.min_side, "config.limits.min_side", 1)


def _problems(p: Profile) -> Iterator[str | None]:
    yield from _sources_and_limits(p)
    yield _count(p.n_files, "n_files")
    yield _count(p.n_images, "n_images")
    if p.n_images > p.n_files:
        yield f"'n_images' ({p.n_images}) is larger than 'n_files' ({p.n_files})"
    yield from _counts(p.bad_counts, "integrity.bad_counts")
    for reason in [*p.bad_counts, *(b.reason for b in p.bad_files)]:
        if reason not in BAD_FILE_REASONS:
            yield (
                f"'integrity' names the reason {reason!r}; known reasons are "
                f"{sorted(BAD_FILE_REASONS)}"
            )
    if p.channels.shape != (len(CHANNELS), 256):
        yield f"'channels' must hold {len(CHANNELS)} histograms of 256 counts"
    elif (p.channels < 0).any():
        yield "'channels' holds a negative count"
    for name, moments in p.moments.items():
        yield _moments(moments, f"moments.{name}")
    for field in ("formats", "modes", "labels"):
        yield from _counts(getattr(p, field).counts, field)
    yield from _reservoir(p.reservoir)
    if p.model is not None:
        yield from _model(p.model, p.reservoir)


def check_profile(profile: Profile) -> str | None:
    """The first inconsistency of ``profile`` as a sentence naming the field, or ``None``."""
    for problem in _problems(profile):
        if problem is not None:
            return problem
    return None

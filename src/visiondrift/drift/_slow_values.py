"""What the slow-drift check reads of one run: per metric, the moments of every image and the
values of the images the profile's reservoir kept (:class:`RunValues`), with a compact binary form
the history store keeps beside each run's profile."""

from __future__ import annotations

import json
import zlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Final

import numpy as np
from numpy.typing import NDArray

from visiondrift.drift._slow_words import MODEL_CONFIDENCE
from visiondrift.errors import ProfileFormatError
from visiondrift.profiles._profile import Profile
from visiondrift.profiles.sketches import Moments

__all__ = ["RunValues", "Sample", "merge_samples", "sample_of"]

_EMPTY: Final = np.zeros(0, dtype=np.float64)
#: Name and version of the binary form (:meth:`RunValues.to_bytes`).
VALUES_FORMAT: Final = "visiondrift.run_values"
VALUES_FORMAT_VERSION: Final = 1


@dataclass(frozen=True)
class Sample:
    """One metric in one run (or merged runs): moments of every image, reservoir values."""

    moments: Moments
    values: NDArray[np.float64]


EMPTY_SAMPLE: Final = Sample(Moments.empty(), _EMPTY)


def sample_of(profile: Profile, metric: str) -> Sample:
    """``metric`` in ``profile`` (empty when the profile has no values of it)."""
    if metric == MODEL_CONFIDENCE:
        moments = Moments.empty() if profile.model is None else profile.model.confidence
    else:
        moments = profile.moments.get(metric, Moments.empty())
    values = profile.reservoir.values.get(metric, _EMPTY)
    return Sample(moments, np.asarray(values, dtype=np.float64))


def merge_samples(samples: Iterable[Sample]) -> Sample:
    """The images of every sample: moments merged, reservoir values pooled."""
    samples = list(samples)
    moments = Moments.empty()
    for s in samples:
        moments = moments.merge(s.moments)
    return Sample(moments, np.concatenate([s.values for s in samples]) if samples else _EMPTY)


@dataclass(frozen=True)
class RunValues:
    """What the slow-drift check needs of one run, without the rest of its profile.

    Attributes
    ----------
    n_images
        The run's images.
    samples
        Per metric: the moments of every image and the reservoir's values.

    Examples
    --------
    >>> values = RunValues.of(Profile.empty(), ["brightness"])
    >>> RunValues.from_bytes(values.to_bytes()) == values
    True
    """

    n_images: int
    samples: Mapping[str, Sample] = field(default_factory=dict)

    @classmethod
    def of(cls, profile: Profile, metrics: Iterable[str]) -> RunValues:
        """The values of ``metrics`` in ``profile``."""
        return cls(profile.n_images, {m: sample_of(profile, m) for m in metrics})

    def sample(self, metric: str) -> Sample | None:
        """``metric``'s sample, or ``None`` when these values do not hold it."""
        return self.samples.get(metric)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, RunValues):
            return NotImplemented
        return (
            self.n_images == other.n_images
            and self.samples.keys() == other.samples.keys()
            and all(
                self.samples[m].moments == other.samples[m].moments
                and np.array_equal(self.samples[m].values, other.samples[m].values)
                for m in self.samples
            )
        )

    __hash__ = None  # type: ignore[assignment]

    def to_bytes(self) -> bytes:
        """A compact form: a JSON header, then every metric's values as little-endian float64,
        zlib-compressed. Exact: :meth:`from_bytes` gives back equal values."""
        names = sorted(self.samples)
        header = {
            "format": VALUES_FORMAT,
            "format_version": VALUES_FORMAT_VERSION,
            "n_images": self.n_images,
            "metrics": [
                {
                    "name": m,
                    "moments": self.samples[m].moments.to_dict(),
                    "n": int(self.samples[m].values.size),
                }
                for m in names
            ],
        }
        body = b"".join(self.samples[m].values.astype("<f8").tobytes() for m in names)
        return zlib.compress(json.dumps(header).encode("utf-8") + b"\n" + body, 1)

    @classmethod
    def from_bytes(cls, blob: bytes, *, origin: str = "<bytes>") -> RunValues:
        """Values written by :meth:`to_bytes`."""
        try:
            raw = zlib.decompress(bytes(blob))
            head, _, body = raw.partition(b"\n")
            header = json.loads(head)
            if header.get("format") != VALUES_FORMAT:
                raise ValueError(f"format {header.get('format')!r}")
            if header.get("format_version") != VALUES_FORMAT_VERSION:
                raise ValueError(f"format version {header.get('format_version')!r}")
            samples: dict[str, Sample] = {}
            offset = 0
            for entry in header["metrics"]:
                n = int(entry["n"])
                values = np.frombuffer(body, dtype="<f8", count=n, offset=offset)
                offset += 8 * n
                samples[str(entry["name"])] = Sample(
                    Moments.from_dict(entry["moments"]), values.astype(np.float64)
                )
            if offset != len(body):
                raise ValueError(f"{len(body) - offset} bytes left over")
            return cls(int(header["n_images"]), samples)
        except (zlib.error, ValueError, KeyError, TypeError) as err:
            raise ProfileFormatError(
                f"{origin}: the stored slow-drift values are damaged ({err}); the run's profile "
                "still has them."
            ) from err

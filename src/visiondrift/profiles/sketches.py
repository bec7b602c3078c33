"""Mergeable summaries of fixed size: moments, binned histograms and a seeded reservoir.

Every summary here is immutable, has a zero (``empty``), and ``merge`` returns a new object, so
that ``a.merge(b)`` summarises the union of what ``a`` and ``b`` saw, whatever the order in which
images were read or the number of workers that read them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

__all__ = ["CategoryCounts", "Moments", "Reservoir"]


@dataclass(frozen=True)
class Moments:
    """Count, mean, sum of squared deviations, min and max (Chan et al.'s parallel update)."""

    count: int
    mean: float
    m2: float
    min: float
    max: float

    @classmethod
    def empty(cls) -> Moments:
        return cls(0, 0.0, 0.0, float("inf"), float("-inf"))

    @classmethod
    def of(cls, values: NDArray[np.float64]) -> Moments:
        if values.size == 0:
            return cls.empty()
        mean = float(values.mean())
        return cls(
            int(values.size),
            mean,
            float(((values - mean) ** 2).sum()),
            float(values.min()),
            float(values.max()),
        )

    @property
    def std(self) -> float:
        return float(np.sqrt(self.m2 / (self.count - 1))) if self.count > 1 else 0.0

    def merge(self, other: Moments) -> Moments:
        if other.count == 0:
            return self
        if self.count == 0:
            return other
        n = self.count + other.count
        delta = other.mean - self.mean
        mean = self.mean + delta * other.count / n
        m2 = self.m2 + other.m2 + delta * delta * self.count * other.count / n
        return Moments(n, mean, m2, min(self.min, other.min), max(self.max, other.max))

    def to_dict(self) -> dict[str, float | int | None]:
        return {
            "count": self.count,
            "mean": self.mean,
            "m2": self.m2,
            "min": self.min if self.count else None,
            "max": self.max if self.count else None,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Moments:
        count = int(data["count"])
        if count == 0:
            return cls.empty()
        return cls(
            count, float(data["mean"]), float(data["m2"]), float(data["min"]), float(data["max"])
        )


@dataclass(frozen=True)
class CategoryCounts:
    """Counts of a categorical value (image format, colour mode, label...)."""

    counts: Mapping[str, int]

    @classmethod
    def empty(cls) -> CategoryCounts:
        return cls({})

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def merge(self, other: CategoryCounts) -> CategoryCounts:
        merged = dict(self.counts)
        for key, value in other.counts.items():
            merged[key] = merged.get(key, 0) + value
        return CategoryCounts(dict(sorted(merged.items())))

    def to_dict(self) -> dict[str, int]:
        return dict(sorted(self.counts.items()))

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CategoryCounts:
        return cls({str(k): int(v) for k, v in sorted(data.items())})


def _stack_rows(a: NDArray[np.float32], b: NDArray[np.float32]) -> NDArray[np.float32]:
    """Rows of ``a`` then ``b``; an empty side (whose width may be unknown) is skipped."""
    if a.shape[0] == 0:
        return b
    if b.shape[0] == 0:
        return a
    return np.concatenate([a, b])


@dataclass(frozen=True)
class Reservoir:
    """A bounded, seeded, mergeable uniform sample of per-image records (bottom-k sampling).

    Each image has a key: a seeded 64-bit hash of its path. The reservoir keeps the ``capacity``
    records with the smallest keys. Because the keys do not depend on reading order, the sample
    of a union is the bottom-k of the union of the samples: merging is exact and commutative.

    ``values`` maps a column name to a float array (one entry per record); ``names`` and
    ``labels`` are the image names and labels; ``vectors`` holds per-image vectors such as
    probability vectors (2-D arrays, one row per record).
    """

    capacity: int
    keys: NDArray[np.uint64]
    names: tuple[str, ...]
    labels: tuple[str | None, ...]
    values: Mapping[str, NDArray[np.float64]]
    vectors: Mapping[str, NDArray[np.float32]]

    @classmethod
    def empty(cls, capacity: int, columns: Sequence[str] = ()) -> Reservoir:
        return cls(
            capacity,
            np.zeros(0, dtype=np.uint64),
            (),
            (),
            {c: np.zeros(0, dtype=np.float64) for c in columns},
            {},
        )

    def __len__(self) -> int:
        return int(self.keys.size)

    def take(self, order: NDArray[np.intp]) -> Reservoir:
        """A reservoir made of the records at positions ``order``."""
        return Reservoir(
            self.capacity,
            self.keys[order],
            tuple(self.names[i] for i in order),
            tuple(self.labels[i] for i in order),
            {k: v[order] for k, v in self.values.items()},
            {k: v[order] for k, v in self.vectors.items()},
        )

    def bounded(self) -> Reservoir:
        """Sort records by key and keep the ``capacity`` smallest."""
        order = np.argsort(self.keys, kind="stable")[: self.capacity]
        return self.take(order)

    def _with_vectors_of(self, other: Reservoir) -> Reservoir:
        """This reservoir with empty ``(0, d)`` vector columns for those only ``other`` has.

        Only meaningful for a reservoir without records: a worker whose images were all
        unreadable never learns the width of the probability vectors.
        """
        vectors = dict(self.vectors)
        for k, v in other.vectors.items():
            if k not in vectors:
                vectors[k] = np.zeros((0, *v.shape[1:]), dtype=np.float32)
        return Reservoir(self.capacity, self.keys, self.names, self.labels, self.values, vectors)

    @property
    def is_zero(self) -> bool:
        """No records and no columns: the reservoir of :meth:`Profile.empty`, which merges
        with a reservoir of any columns."""
        return len(self) == 0 and not self.values and not self.vectors

    def merge(self, other: Reservoir) -> Reservoir:
        """The bottom-``capacity`` sample of both reservoirs (a new object)."""
        if self.is_zero and self.capacity >= other.capacity:
            return other.bounded()
        if other.is_zero and other.capacity >= self.capacity:
            return self.bounded()
        if len(self) == 0 and set(other.vectors) > set(self.vectors):
            return self._with_vectors_of(other).merge(other)
        if len(other) == 0 and set(self.vectors) > set(other.vectors):
            return self.merge(other._with_vectors_of(self))
        if set(self.values) != set(other.values) or set(self.vectors) != set(other.vectors):
            from visiondrift.errors import IncompatibleProfilesError

            raise IncompatibleProfilesError(
                "Cannot merge reservoirs with different columns: "
                f"{sorted(self.values)} + {sorted(self.vectors)} vs "
                f"{sorted(other.values)} + {sorted(other.vectors)}."
            )
        combined = Reservoir(
            min(self.capacity, other.capacity),
            np.concatenate([self.keys, other.keys]),
            self.names + other.names,
            self.labels + other.labels,
            {k: np.concatenate([v, other.values[k]]) for k, v in self.values.items()},
            {k: _stack_rows(v, other.vectors[k]) for k, v in self.vectors.items()},
        )
        return combined.bounded()

    def to_dict(self) -> dict[str, Any]:
        return {
            "capacity": self.capacity,
            "keys": [int(k) for k in self.keys],
            "names": list(self.names),
            "labels": list(self.labels),
            "values": {k: v.tolist() for k, v in sorted(self.values.items())},
            "vectors": {k: v.tolist() for k, v in sorted(self.vectors.items())},
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Reservoir:
        n = len(data["keys"])
        vectors: dict[str, NDArray[np.float32]] = {}
        for k, v in data.get("vectors", {}).items():
            arr = np.asarray(v, dtype=np.float32)
            vectors[k] = arr.reshape(n, -1) if arr.size or n == 0 else arr.reshape(0, 0)
        return cls(
            int(data["capacity"]),
            np.asarray(data["keys"], dtype=np.uint64),
            tuple(str(x) for x in data["names"]),
            tuple(None if x is None else str(x) for x in data["labels"]),
            {k: np.asarray(v, dtype=np.float64) for k, v in data["values"].items()},
            vectors,
        )

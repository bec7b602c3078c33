"""What a model said about a set of images: exact, mergeable summaries of its predictions.

:class:`ModelSummary` is the model part of a :class:`~visiondrift.profiles.Profile`: counts of
predicted classes, moments of the top-1 probability, margin and entropy, a confidence histogram
and per-class confidence. :func:`model_columns` turns probability vectors into the per-image
columns the profile's reservoir keeps.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
from numpy.typing import NDArray

from visiondrift.errors import IncompatibleProfilesError
from visiondrift.profiles.sketches import CategoryCounts, Moments

__all__ = [
    "CONFIDENCE_BINS",
    "MODEL_COLUMNS",
    "ModelSummary",
    "model_column_values",
    "model_columns",
]

#: Per-image model columns of the reservoir (with a model): predicted class index, top-1
#: probability, top-1 minus top-2 probability, and the entropy of the probabilities (nats).
MODEL_COLUMNS: Final = ("model_class", "model_confidence", "model_margin", "model_entropy")
#: Bins of the confidence histogram on [0, 1].
CONFIDENCE_BINS: Final = 20


@dataclass(frozen=True, eq=False)
class ModelSummary:
    """What the model said about a set of images: exact, mergeable summaries.

    Attributes
    ----------
    class_names
        One name per model output class.
    description
        Provenance: model path, format, input shape, dtype and layout, output, embedding.
    predicted
        Counts of predicted (top-1) classes, by class name.
    confidence, margin, entropy
        Moments of the top-1 probability, top-1 minus top-2, and the entropy (nats).
    confidence_hist
        Counts of top-1 probabilities in ``CONFIDENCE_BINS`` equal bins on [0, 1].
    n_low_confidence
        Predictions with a top-1 probability below the profile's ``low_confidence``.
    class_confidence
        Moments of the top-1 probability per predicted class.
    projection
        The embedding projection (:meth:`EmbeddingProjection.to_dict`), or ``None``.
    """

    class_names: tuple[str, ...]
    description: Mapping[str, Any]
    predicted: CategoryCounts
    confidence: Moments
    margin: Moments
    entropy: Moments
    confidence_hist: NDArray[np.int64]
    n_low_confidence: int
    class_confidence: Mapping[str, Moments]
    projection: Mapping[str, Any] | None = None

    @classmethod
    def empty(
        cls,
        class_names: Sequence[str],
        description: Mapping[str, Any],
        projection: Mapping[str, Any] | None = None,
    ) -> ModelSummary:
        return cls(
            class_names=tuple(class_names),
            description=dict(description),
            predicted=CategoryCounts.empty(),
            confidence=Moments.empty(),
            margin=Moments.empty(),
            entropy=Moments.empty(),
            confidence_hist=np.zeros(CONFIDENCE_BINS, dtype=np.int64),
            n_low_confidence=0,
            class_confidence={},
            projection=None if projection is None else dict(projection),
        )

    @property
    def n(self) -> int:
        """Number of images the model saw."""
        return self.confidence.count

    @property
    def low_confidence_share(self) -> float:
        return self.n_low_confidence / self.n if self.n else 0.0

    @property
    def frequencies(self) -> dict[str, float]:
        """Share of images predicted as each class (every class, zeros included)."""
        total = self.predicted.total
        return {
            c: (self.predicted.counts.get(c, 0) / total if total else 0.0) for c in self.class_names
        }

    def add(self, probs: NDArray[np.float32], low_confidence: float) -> ModelSummary:
        """This summary plus a batch of probability vectors ``(n, k)``."""
        p = probs.astype(np.float64)
        cls_idx, conf, margin, ent = model_columns(p)
        names = self.class_names
        counts: dict[str, int] = {}
        per_class: dict[str, Moments] = {}
        for i in np.unique(cls_idx).tolist():
            sel = cls_idx == i
            name = names[int(i)] if int(i) < len(names) else str(int(i))
            counts[name] = int(sel.sum())
            per_class[name] = Moments.of(conf[sel])
        hist = np.bincount(
            np.minimum((conf * CONFIDENCE_BINS).astype(np.int64), CONFIDENCE_BINS - 1),
            minlength=CONFIDENCE_BINS,
        ).astype(np.int64)
        batch = ModelSummary(
            class_names=self.class_names,
            description=self.description,
            predicted=CategoryCounts(dict(sorted(counts.items()))),
            confidence=Moments.of(conf),
            margin=Moments.of(margin),
            entropy=Moments.of(ent),
            confidence_hist=hist,
            n_low_confidence=int((conf < low_confidence).sum()),
            class_confidence=per_class,
            projection=self.projection,
        )
        return self.merge(batch)

    def merge(self, other: ModelSummary) -> ModelSummary:
        if self.class_names != other.class_names:
            raise IncompatibleProfilesError(
                "Cannot merge profiles made with models of different classes: "
                f"{list(self.class_names)} vs {list(other.class_names)}."
            )
        if self.projection and other.projection and self.projection != other.projection:
            raise IncompatibleProfilesError(
                "Cannot merge profiles whose embeddings were projected differently: "
                f"{dict(self.projection)} vs {dict(other.projection)}."
            )
        per_class = dict(self.class_confidence)
        for k, v in other.class_confidence.items():
            per_class[k] = per_class[k].merge(v) if k in per_class else v
        return ModelSummary(
            class_names=self.class_names,
            description=self.description or other.description,
            predicted=self.predicted.merge(other.predicted),
            confidence=self.confidence.merge(other.confidence),
            margin=self.margin.merge(other.margin),
            entropy=self.entropy.merge(other.entropy),
            confidence_hist=self.confidence_hist + other.confidence_hist,
            n_low_confidence=self.n_low_confidence + other.n_low_confidence,
            class_confidence=dict(sorted(per_class.items())),
            projection=self.projection or other.projection,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "class_names": list(self.class_names),
            "description": dict(self.description),
            "predicted": self.predicted.to_dict(),
            "confidence": self.confidence.to_dict(),
            "margin": self.margin.to_dict(),
            "entropy": self.entropy.to_dict(),
            "confidence_hist": self.confidence_hist.tolist(),
            "n_low_confidence": self.n_low_confidence,
            "class_confidence": {k: v.to_dict() for k, v in sorted(self.class_confidence.items())},
            "projection": None if self.projection is None else dict(self.projection),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ModelSummary:
        return cls(
            class_names=tuple(str(c) for c in data["class_names"]),
            description=dict(data["description"]),
            predicted=CategoryCounts.from_dict(data["predicted"]),
            confidence=Moments.from_dict(data["confidence"]),
            margin=Moments.from_dict(data["margin"]),
            entropy=Moments.from_dict(data["entropy"]),
            confidence_hist=np.asarray(data["confidence_hist"], dtype=np.int64),
            n_low_confidence=int(data["n_low_confidence"]),
            class_confidence={
                str(k): Moments.from_dict(v) for k, v in data["class_confidence"].items()
            },
            projection=None if data.get("projection") is None else dict(data["projection"]),
        )


def model_columns(
    probs: NDArray[np.float64],
) -> tuple[NDArray[np.int64], NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """Predicted class, top-1 probability, margin (top-1 minus top-2) and entropy (nats)."""
    cls_idx = np.argmax(probs, axis=1).astype(np.int64)
    if probs.shape[1] > 1:
        top2 = -np.partition(-probs, 1, axis=1)[:, :2]
        conf, margin = top2[:, 0], top2[:, 0] - top2[:, 1]
    else:
        conf = probs[:, 0].copy()
        margin = conf.copy()
    with np.errstate(divide="ignore", invalid="ignore"):
        ent = -np.where(probs > 0, probs * np.log(probs), 0.0).sum(axis=1)
    return cls_idx, conf, margin, np.maximum(ent, 0.0)


def model_column_values(probs: NDArray[np.floating[Any]]) -> dict[str, NDArray[np.float64]]:
    """The reservoir's per-image model columns (:data:`MODEL_COLUMNS`) of probability vectors."""
    cls_idx, conf, margin, ent = model_columns(probs.astype(np.float64))
    return dict(zip(MODEL_COLUMNS, (cls_idx.astype(np.float64), conf, margin, ent), strict=True))

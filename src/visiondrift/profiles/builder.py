"""The one way to build a profile: :class:`ProfileBuilder` (mutable) sees records one by one.

Every way data comes in goes through the same builder, so the reservoir, the counts and the
invariants are coded once:

- :meth:`ProfileBuilder.add_image`: a decoded image (and what the model said about it); it is
  measured in batches with :class:`~visiondrift.measure.ImageMeasurer`;
- :meth:`ProfileBuilder.add_measured`: an image already measured (its histograms and property
  values), as a worker elsewhere or a test hands over;
- :meth:`ProfileBuilder.add_prediction`: one prediction made elsewhere (a probability vector, no
  image), as a predictions file or a service hands over;
- :meth:`ProfileBuilder.add_bad`: a file or record that could not be used.

A profile holds either images or prediction records (their reservoirs have different columns):
adding both to one builder is refused. This module imports numpy and the plain profile modules;
Pillow is imported (through the measurer) only when the first image is added.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from numpy.typing import NDArray

from visiondrift.decode._records import BadFile
from visiondrift.errors import ConfigError
from visiondrift.measure.custom import resolve_image_metrics
from visiondrift.measure.properties import CHANNELS, PROPERTY_NAMES
from visiondrift.profiles._profile import Profile
from visiondrift.profiles.config import ProfileConfig
from visiondrift.profiles.model_summary import ModelSummary, model_column_values
from visiondrift.profiles.provenance import Window
from visiondrift.profiles.sketches import CategoryCounts, Moments, Reservoir
from visiondrift.sources import ImageItem, SourceInfo, item_key
from visiondrift.sources._base import item_keys

if TYPE_CHECKING:
    from visiondrift.decode._image import DecodedImage
    from visiondrift.measure._measurer import ImageMeasurer

__all__ = ["Prediction", "ProfileBuilder"]

#: Per-image model output handed to :meth:`ProfileBuilder.add_image`: the probability vector
#: and the projected embedding (or ``None``).
Prediction = tuple[NDArray[np.float32], NDArray[np.float32] | None]
_Kind = Literal["images", "predictions"]


def _bad_order(b: BadFile) -> tuple[str, str, str]:
    return (b.name, b.reason, b.detail)


class ProfileBuilder:
    """Sees images or prediction records one at a time and builds a :class:`Profile`.

    Images are measured in batches of ``measure_batch`` (only small working copies are kept
    between batches); memory stays bounded: per-record rows are folded into the moments and the
    reservoir every ``reservoir_size`` records.

    Parameters
    ----------
    config
        The profile's settings (the defaults when ``None``).
    dataset
        The dataset the records belong to, saved in the profile (``None``: not named).
    window
        The time window the records belong to (``None``: not known).

    Examples
    --------
    >>> import numpy as np
    >>> builder = ProfileBuilder(ProfileConfig(reservoir_size=10), dataset="shop")
    >>> builder.set_model(["cat", "dog"], {"format": "predictions"})
    >>> builder.add_prediction("a.jpg", np.array([0.9, 0.1]), label="cat")
    >>> builder.add_prediction("b.jpg", np.array([0.3, 0.7]))
    >>> profile = builder.build()
    >>> profile.n_images, profile.model.predicted.counts, profile.dataset
    (2, {'cat': 1, 'dog': 1}, 'shop')
    """

    #: Images measured together (numpy then runs each operation once per batch).
    measure_batch: int = 64

    def __init__(
        self,
        config: ProfileConfig | None = None,
        *,
        dataset: str | None = None,
        window: Window | None = None,
    ) -> None:
        self.config = config or ProfileConfig()
        self.dataset = dataset
        self.window = window
        self._kind: _Kind | None = None
        self._channels = np.zeros((len(CHANNELS), 256), dtype=np.int64)
        self._bad_counts: dict[str, int] = {}
        self._bad_files: list[BadFile] = []
        self._formats: dict[str, int] = {}
        self._modes: dict[str, int] = {}
        self._labels: dict[str, int] = {}
        self._n_files = 0
        self._n_images = 0
        self._moments = {name: Moments.empty() for name in PROPERTY_NAMES}
        self._reservoir = Reservoir.empty(self.config.reservoir_size)
        self._keys: list[int] = []
        self._names: list[str] = []
        self._row_labels: list[str | None] = []
        self._rows: list[NDArray[np.float64]] = []
        self._model: ModelSummary | None = None
        self._probs: list[NDArray[np.floating[Any]]] = []
        self._embeddings: list[NDArray[np.float32]] = []
        self._measurer: ImageMeasurer | None = None
        self._pending: list[ImageItem] = []
        #: Per-image values of an image: the built-in properties, then the registered metrics
        #: the settings name (in name order, as the measurer computes them).
        self._columns = PROPERTY_NAMES + tuple(sorted(self.config.image_metrics))
        # Checked now, before any image: a metric the settings name must be registered here.
        self._image_metrics = resolve_image_metrics(self.config.image_metrics)

    @property
    def n_images(self) -> int:
        """Images (or prediction records) added so far, unusable ones not counted."""
        return self._n_images

    def set_model(
        self,
        class_names: Sequence[str],
        description: Mapping[str, Any],
        projection: Mapping[str, Any] | None = None,
    ) -> None:
        """Say which model the predictions come from (call before adding predictions).

        For images, the profile must be built with a model (``config.model``); prediction
        records come from a model run elsewhere, described by ``description``.
        """
        if self._kind == "images" and self.config.model is None:
            raise ConfigError("This profile is built without a model (config.model is None).")
        if self._model is None:
            self._model = ModelSummary.empty(class_names, description, projection)
        elif projection is not None and self._model.projection is None:
            self._model = replace(self._model, projection=dict(projection))

    def add_bad(self, bad: BadFile) -> None:
        """Count (and list, up to ``max_listed_bad_files``) a file or record that is unusable."""
        self._n_files += 1
        self._bad_counts[bad.reason] = self._bad_counts.get(bad.reason, 0) + 1
        self._bad_files.append(bad)
        if len(self._bad_files) > 2 * self.config.max_listed_bad_files:
            self._bad_files.sort(key=_bad_order)
            del self._bad_files[self.config.max_listed_bad_files :]

    def _start(self, kind: _Kind) -> None:
        if self._kind is None:
            if kind == "images" and self.config.model is None and self._model is not None:
                raise ConfigError("This profile is built without a model (config.model is None).")
            self._kind = kind
        elif self._kind != kind:
            raise ConfigError(
                f"This builder holds {self._kind}; it cannot take {kind} as well (a profile "
                "holds either images or prediction records). Build a second profile for them."
            )

    def add_image(
        self, item: ImageItem, decoded: DecodedImage, prediction: Prediction | None = None
    ) -> None:
        """Measure one decoded image; with a model, ``prediction`` is what the model said."""
        if (prediction is None) != (self.config.model is None):
            raise ConfigError(
                "add_image needs a prediction exactly when the profile is built with a model."
            )
        self._start("images")
        if self._measurer is None:
            from visiondrift.measure._measurer import ImageMeasurer

            self._measurer = ImageMeasurer(self.config.measure, self._image_metrics)
        self._measurer.add(decoded)
        self._pending.append(item)
        if prediction is not None:
            self._probs.append(np.asarray(prediction[0], dtype=np.float32))
            if prediction[1] is not None:
                self._embeddings.append(np.asarray(prediction[1], dtype=np.float32))
        self._count(decoded.format, decoded.mode, item.label)
        if len(self._pending) >= self.measure_batch:
            self._measure_pending()

    def add_measured(
        self,
        item: ImageItem,
        histograms: NDArray[np.integer[Any]],
        values: NDArray[np.floating[Any]],
        *,
        format: str,
        mode: str,
        prediction: Prediction | None = None,
    ) -> None:
        """Add one image already measured.

        Parameters
        ----------
        item
            The image's path, name and label.
        histograms
            Its ``(4, 256)`` counts of R, G, B and luminance values.
        values
            Its property values, in the order of :data:`~visiondrift.measure.PROPERTY_NAMES`,
            then those of the registered per-image metrics the settings name, in name order.
        format, mode
            The file's format (``"JPEG"``...) and colour mode (``"RGB"``...).
        prediction
            What the model said, exactly when the profile is built with a model.
        """
        if (prediction is None) != (self.config.model is None):
            raise ConfigError(
                "add_measured needs a prediction exactly when the profile is built with a model."
            )
        hist = np.asarray(histograms, dtype=np.int64)
        row = np.asarray(values, dtype=np.float64)
        if hist.shape != (len(CHANNELS), 256) or row.shape != (len(self._columns),):
            raise ConfigError(
                f"add_measured needs histograms of shape ({len(CHANNELS)}, 256) and "
                f"{len(self._columns)} values ({', '.join(self._columns)}); got {hist.shape} "
                f"and {row.shape}."
            )
        self._start("images")
        self._measure_pending()
        if prediction is not None:
            self._probs.append(np.asarray(prediction[0], dtype=np.float32))
            if prediction[1] is not None:
                self._embeddings.append(np.asarray(prediction[1], dtype=np.float32))
        self._count(format, mode, item.label)
        self._channels += hist
        self._record(item, row)
        if len(self._rows) >= self.config.reservoir_size:
            self._flush()

    def add_prediction(
        self,
        key: str,
        probabilities: NDArray[np.floating[Any]] | Sequence[float],
        label: str | None = None,
        metadata: Mapping[str, Any] | None = None,
        *,
        name: str | None = None,
    ) -> None:
        """Add one prediction made elsewhere: a probability vector, no image.

        Parameters
        ----------
        key
            What identifies the record; its seeded hash decides whether the record is sampled
            into the reservoir, so the same key is sampled the same way in every profile.
        probabilities
            The class probabilities (validated by the caller: finite, summing to 1).
        label
            The true class, when known.
        metadata
            What the front end knows about the record (request id, camera...). Not saved: a
            profile keeps nothing per record beyond the reservoir's sample.
        name
            The name shown in reports (``key`` when ``None``).
        """
        del metadata  # accepted for front ends; deliberately not recorded
        self._start("predictions")
        probs = np.asarray(probabilities, dtype=np.float64).reshape(-1)
        if self._model is None:
            self.set_model([str(i) for i in range(probs.size)], {})
        assert self._model is not None
        if probs.size != len(self._model.class_names):
            raise ConfigError(
                f"The prediction '{name or key}' has {probs.size} probabilities where the model "
                f"has {len(self._model.class_names)} classes."
            )
        self._n_files += 1
        self._n_images += 1
        if label is not None:
            self._labels[label] = self._labels.get(label, 0) + 1
        self._keys.append(item_key(self.config.seed, key))
        self._names.append(key if name is None else name)
        self._row_labels.append(label)
        self._probs.append(probs)
        if len(self._keys) >= self.config.reservoir_size:
            self._flush()

    def add_predictions(
        self,
        keys: Sequence[str],
        probabilities: NDArray[np.floating[Any]],
        labels: Sequence[str | None] | None = None,
    ) -> None:
        """Add many predictions at once: what :meth:`add_prediction` does for each row of
        ``probabilities`` (one per key; ``labels`` one per key, or ``None``), in one go. The
        profile is the same as with one call per prediction, in the same order.

        Parameters
        ----------
        keys
            What identifies each record (also its name in reports).
        probabilities
            An ``(n, classes)`` array (validated by the caller: finite, rows summing to 1).
        labels
            Each record's true class, or ``None`` when no record has one.
        """
        probs = np.asarray(probabilities, dtype=np.float64)
        n = len(keys)
        if probs.ndim != 2 or probs.shape[0] != n:
            raise ConfigError(
                f"add_predictions needs one row of probabilities per key ({n}); got an array "
                f"of shape {probs.shape}."
            )
        if labels is not None and len(labels) != n:
            raise ConfigError(f"add_predictions needs one label per key ({n}); got {len(labels)}.")
        if n == 0:
            return
        self._start("predictions")
        if self._model is None:
            self.set_model([str(i) for i in range(probs.shape[1])], {})
        assert self._model is not None
        if probs.shape[1] != len(self._model.class_names):
            raise ConfigError(
                f"The predictions have {probs.shape[1]} probabilities where the model has "
                f"{len(self._model.class_names)} classes."
            )
        self._n_files += n
        self._n_images += n
        rows_labels: Sequence[str | None] = [None] * n if labels is None else labels
        for label in rows_labels:
            if label is not None:
                self._labels[label] = self._labels.get(label, 0) + 1
        seed = self.config.seed
        size = self.config.reservoir_size
        start = 0
        while start < n:
            take = min(n - start, max(1, size - len(self._keys)))
            part = keys[start : start + take]
            self._keys.extend(item_keys(seed, part))
            self._names.extend(part)
            self._row_labels.extend(rows_labels[start : start + take])
            self._probs.append(probs[start : start + take])
            start += take
            if len(self._keys) >= size:
                self._flush()

    def _count(self, format: str, mode: str, label: str | None) -> None:
        self._n_files += 1
        self._n_images += 1
        self._formats[format] = self._formats.get(format, 0) + 1
        self._modes[mode] = self._modes.get(mode, 0) + 1
        if label is not None:
            self._labels[label] = self._labels.get(label, 0) + 1

    def _measure_pending(self) -> None:
        if not self._pending or self._measurer is None:
            return
        hists, values = self._measurer.finish()
        self._channels += hists.sum(axis=0)
        pending, self._pending = self._pending, []
        for item, row in zip(pending, values, strict=True):
            self._record(item, row)
        if len(self._rows) >= self.config.reservoir_size:
            self._flush()

    def _record(self, item: ImageItem, row: NDArray[np.float64]) -> None:
        self._keys.append(item_key(self.config.seed, self._sampling_identity(item, row)))
        self._names.append(item.name)
        self._row_labels.append(item.label)
        self._rows.append(row)

    def _sampling_identity(self, item: ImageItem, row: NDArray[np.float64]) -> str:
        """What an image's sampling key hashes: its path, unless names may not be recorded.

        The keys are stored and the seed is public, so a key of the path would let anyone test
        a guessed path. With ``names="hash"`` the key hashes the keyed hash of the name; with
        ``"drop"`` it hashes the image's own measurements, which the profile stores anyway.
        """
        if self.config.names == "keep":
            return item.path
        if self.config.names == "hash":
            return item.name
        return np.asarray(row, dtype=np.float64).tobytes().hex()

    def _flush(self) -> None:
        self._measure_pending()
        if not self._keys:
            return
        columns: dict[str, NDArray[np.float64]] = {}
        if self._kind == "images":
            table = np.vstack(self._rows)
            columns = {name: table[:, i].copy() for i, name in enumerate(self._columns)}
            for name in PROPERTY_NAMES:
                self._moments[name] = self._moments[name].merge(Moments.of(columns[name]))
        vectors: dict[str, NDArray[np.float32]] = {}
        if self._probs:
            vectors = self._flush_model(columns)
        batch = Reservoir(
            self.config.reservoir_size,
            np.asarray(self._keys, dtype=np.uint64),
            tuple(self._names),
            tuple(self._row_labels),
            columns,
            vectors,
        )
        self._reservoir = self._reservoir.merge(batch)
        self._keys, self._names, self._row_labels, self._rows = [], [], [], []

    def _flush_model(
        self, columns: dict[str, NDArray[np.float64]]
    ) -> dict[str, NDArray[np.float32]]:
        if self._model is None:
            raise ConfigError("ProfileBuilder.set_model must be called before adding predictions.")
        probs = np.vstack(self._probs)
        if self._kind == "images":
            probs = probs.astype(np.float32)
        columns.update(model_column_values(probs))
        probs32 = probs.astype(np.float32)
        self._model = self._model.add(probs32, self.config.low_confidence)
        vectors = {"probs": probs32}
        if self._embeddings:
            if len(self._embeddings) != len(self._probs):
                raise ConfigError("Every image needs an embedding once one image has one.")
            vectors["embedding"] = np.vstack(self._embeddings).astype(np.float32)
        self._probs, self._embeddings = [], []
        return vectors

    def build(self, source: SourceInfo | None = None) -> Profile:
        """The profile of everything added so far (the builder can go on afterwards).

        Parameters
        ----------
        source
            Where the records came from, saved in the profile's provenance.
        """
        self._flush()
        return Profile(
            config=self.config,
            n_files=self._n_files,
            n_images=self._n_images,
            bad_counts=dict(sorted(self._bad_counts.items())),
            bad_files=tuple(sorted(self._bad_files, key=_bad_order))[
                : self.config.max_listed_bad_files
            ],
            channels=self._channels.copy(),
            moments=dict(self._moments),
            formats=CategoryCounts(dict(sorted(self._formats.items()))),
            modes=CategoryCounts(dict(sorted(self._modes.items()))),
            labels=CategoryCounts(dict(sorted(self._labels.items()))),
            reservoir=self._reservoir,
            sources=(source,) if source is not None else (),
            created_at=datetime.now(UTC).isoformat(timespec="seconds"),
            model=self._model,
            dataset=self.dataset,
            window=self.window,
        )

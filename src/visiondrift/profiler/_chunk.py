"""The chunk function: a list of items in, one partial profile out (what every executor maps).

Each image is read and decoded once; it is measured and, with a model, the model runs on
batches of the same decoded arrays. One bad image never stops the chunk: it is counted as
unusable with its reason. Runs in whichever process the executor chose, so it takes everything
it needs as arguments (the items, the settings, a model reference) and keeps nothing between
calls but what the model reference holds.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from visiondrift.decode import BadFile, DecodedImage, DecodeLimits, decode_image
from visiondrift.errors import MeasureError
from visiondrift.profiler._model_ref import ModelRef
from visiondrift.profiles import Profile, ProfileBuilder, ProfileConfig
from visiondrift.sources import Item, redact_url

if TYPE_CHECKING:
    from visiondrift.models import Model, ModelInfo

__all__ = ["model_description", "profile_chunk"]


def model_description(info: ModelInfo) -> dict[str, Any]:
    """Provenance of a model for a profile: file, format, input and outputs."""
    return {
        "path": str(info.path),
        "format": info.format,
        "input": info.input.name,
        "input_shape": [info.height, info.width, info.channels],
        "input_dtype": info.input.dtype,
        "layout": info.layout,
        "expects": info.expects(),
        "output": info.output,
        "num_classes": info.num_classes,
        "class_names_source": info.class_names_source,
        "embedding": info.embedding,
        "embedding_dim": info.embedding_dim,
    }


def _read(item: Item) -> bytes | str | BadFile:
    """What the decoder takes for ``item``: its local path, its bytes, or why it cannot be read.

    A source's opener may raise anything (an HTTP error, a denied S3 request): the image is then
    ``unreadable`` and the run goes on. The message keeps no URL password (:func:`redact_url`).
    """
    if item.opener is None:
        return item.path
    try:
        return item.opener()
    except Exception as err:  # any opener's own error: one image never stops a run
        return BadFile(item.key, "unreadable", redact_url(f"{type(err).__name__}: {err}"))


def _unusable(item: Item, err: Exception) -> BadFile:
    """An image that decoded but could not be measured: a registered per-image metric failed
    (``measure_error``, the message names the metric), or the pixels could not be used."""
    if isinstance(err, MeasureError):
        return BadFile(item.key, "measure_error", str(err))
    return BadFile(item.key, "decode_error", f"{type(err).__name__}: {err}")


def _decode(item: Item, limits: DecodeLimits) -> DecodedImage | BadFile:
    data = _read(item)
    if isinstance(data, BadFile):
        return data
    return decode_image(data, item.key, limits)


def _chunk_with_model(
    items: Iterable[Item], config: ProfileConfig, builder: ProfileBuilder, model: Model
) -> None:
    """Decode each image once; measure it and run the model on batches of the same arrays."""
    from visiondrift.models import EmbeddingProjection
    from visiondrift.models.preprocessing import presizer

    assert config.model is not None
    info = model.info
    # Each decoded image is resized for the model here when that gives the same batch, so the
    # adapter only copies it (see presizer).
    model_input = presizer(info.preprocessing, model.input_target)
    projection: EmbeddingProjection | None = None

    def make_projection(dim: int) -> EmbeddingProjection:
        return EmbeddingProjection(dim, config.embedding_components, seed=config.seed)

    if info.embedding is not None and info.embedding_dim:
        projection = make_projection(info.embedding_dim)
    builder.set_model(
        info.class_names,
        model_description(info),
        None if projection is None else projection.to_dict(),
    )
    pending: list[tuple[Item, DecodedImage, NDArray[np.uint8]]] = []

    def run() -> None:
        nonlocal projection
        out = model.predict([arr for _, _, arr in pending])
        embedding = out.embedding
        if embedding is not None:
            if projection is None:
                projection = make_projection(int(np.prod(embedding.shape[1:])))
                builder.set_model(info.class_names, model_description(info), projection.to_dict())
            embedding = projection.apply(embedding)
        for i, (item, decoded, _) in enumerate(pending):
            emb = None if embedding is None else embedding[i]
            try:
                builder.add_image(item, decoded, (out.probabilities[i], emb))
            except (ValueError, OSError, MemoryError) as err:
                builder.add_bad(_unusable(item, err))
        pending.clear()

    for item in items:
        decoded = _decode(item, config.limits)
        if isinstance(decoded, BadFile):
            builder.add_bad(decoded)
            continue
        try:
            array = model_input(decoded.image)
        except (ValueError, OSError, MemoryError) as err:
            builder.add_bad(BadFile(item.key, "decode_error", f"{type(err).__name__}: {err}"))
            continue
        pending.append((item, decoded, array))
        if len(pending) >= config.model.batch_size:
            run()
    if pending:
        run()


def profile_chunk(
    items: Iterable[Item], config: ProfileConfig, model: Model | None = None
) -> Profile:
    """The partial profile of some images: the function the profiler maps over chunks.

    Parameters
    ----------
    items
        The images (:class:`~visiondrift.sources.Item`), read through their opener or path.
    config
        The profile's configuration; ``config.model`` says whether a model runs.
    model
        The loaded model of ``config.model``. ``None`` with a model in ``config`` loads it for
        this call (pass it loaded to profile many chunks).

    Returns
    -------
    Profile
        The profile of ``items``; partial profiles merge exactly
        (:meth:`~visiondrift.profiles.Profile.merge`), whatever the order.

    Examples
    --------
    >>> from visiondrift.profiles import ProfileConfig
    >>> from visiondrift.sources import Item
    >>> profile_chunk([Item("empty.png", opener=lambda: b"")], ProfileConfig()).bad_counts
    {'empty': 1}
    """
    builder = ProfileBuilder(config)
    if config.model is not None:
        _chunk_with_model(items, config, builder, config.model.load() if model is None else model)
        return builder.build()
    for item in items:
        decoded = _decode(item, config.limits)
        if isinstance(decoded, BadFile):
            builder.add_bad(decoded)
        else:
            try:
                builder.add_image(item, decoded)
            except (ValueError, OSError, MemoryError) as err:
                builder.add_bad(_unusable(item, err))
    return builder.build()


def _run_chunk(items: Sequence[Item], config: ProfileConfig, ref: ModelRef | None) -> Profile:
    """What an executor runs: :func:`profile_chunk` with the run's model."""
    return profile_chunk(items, config, None if ref is None else ref.get())

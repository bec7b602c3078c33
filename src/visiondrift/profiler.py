"""Profile a source of images in parallel: one decode per image, partial profiles that merge.

The parent process lists the files and cuts them into chunks; worker processes decode and measure
each chunk into a partial :class:`~visiondrift.profiles.Profile`; the parent merges the partial
profiles as they arrive. Because merging is exact, the result does not depend on the number of
workers or the order in which chunks finish.
"""

from __future__ import annotations

import json
import multiprocessing as mp
import multiprocessing.pool
import os
import signal
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from visiondrift._defaults import DEFAULTS
from visiondrift.decode import BadFile, DecodedImage, DecodeLimits, decode_image
from visiondrift.errors import ConfigError, NoReadableImagesError
from visiondrift.measure.properties import MeasureConfig
from visiondrift.names import (
    REDACTED,
    NamePolicy,
    NamesKey,
    anonymise,
    check_policy,
    hash_name,
    record_location,
    recorded_names,
    scrub_detail,
)
from visiondrift.profiles import Profile, ProfileBuilder, ProfileConfig
from visiondrift.sources import FileListSource, FolderSource, ImageItem, LabelMode, open_source

if TYPE_CHECKING:
    from visiondrift.models import Model, ModelInfo, ModelSpec

__all__ = ["ProgressCallback", "default_workers", "model_description", "profile", "profile_items"]

#: Called in the parent process with (files done, files in total) after each chunk.
ProgressCallback = Callable[[int, int], None]

#: Below this many files the work is done in the calling process. Workers are forked (a few
#: milliseconds each); starting and stopping the pool costs about 10 ms, which parallel decoding
#: pays back only after a few dozen images (``benchmarks/RESULTS.md``, "Start-up"). The profile is
#: the same either way: partial profiles merge exactly. ``profile`` starts its pool before
#: listing the source (so that workers do not inherit the file list), so it skips the pool up
#: front only when ``max_images`` is below this threshold.
SERIAL_THRESHOLD = 64


def default_workers() -> int:
    """The number of CPU cores this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


#: The model loaded in this process, keyed by process id and spec (one model at a time).
_MODEL_CACHE: dict[str, Model] = {}


def _load_model(spec: ModelSpec) -> Model:
    """The model of ``spec``, loaded once per process and kept for every later chunk."""
    key = f"{os.getpid()}:{json.dumps(spec.to_dict(), sort_keys=True, default=str)}"
    model = _MODEL_CACHE.get(key)
    if model is None:
        _MODEL_CACHE.clear()
        model = spec.load()
        _MODEL_CACHE[key] = model
    return model


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


def _profile_chunk_with_model(
    items: Sequence[ImageItem], config: ProfileConfig, builder: ProfileBuilder
) -> None:
    """Decode each image once; measure it and run the model on batches of the same arrays."""
    from visiondrift.models import EmbeddingProjection

    assert config.model is not None
    from visiondrift.models.preprocessing import presizer

    model = _load_model(config.model)
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
    pending: list[tuple[ImageItem, DecodedImage, NDArray[np.uint8]]] = []

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
                builder.add_bad(BadFile(item.name, "decode_error", f"{type(err).__name__}: {err}"))
        pending.clear()

    for item in items:
        decoded = decode_image(item.path, item.name, config.limits)
        if isinstance(decoded, BadFile):
            builder.add_bad(decoded)
            continue
        try:
            array = model_input(decoded.image)
        except (ValueError, OSError, MemoryError) as err:
            builder.add_bad(BadFile(item.name, "decode_error", f"{type(err).__name__}: {err}"))
            continue
        pending.append((item, decoded, array))
        if len(pending) >= config.model.batch_size:
            run()
    if pending:
        run()


def _profile_chunk(items: Sequence[ImageItem], config: ProfileConfig) -> Profile:
    builder = ProfileBuilder(config)
    if config.model is not None:
        _profile_chunk_with_model(items, config, builder)
        return builder.build()
    for item in items:
        decoded = decode_image(item.path, item.name, config.limits)
        if isinstance(decoded, BadFile):
            builder.add_bad(decoded)
        else:
            try:
                builder.add_image(item, decoded)
            except (ValueError, OSError, MemoryError) as err:
                builder.add_bad(BadFile(item.name, "decode_error", f"{type(err).__name__}: {err}"))
    return builder.build()


def _worker(args: tuple[Sequence[ImageItem], ProfileConfig]) -> Profile:
    return _profile_chunk(*args)


def _chunks(items: Sequence[ImageItem], workers: int) -> list[Sequence[ImageItem]]:
    size = max(16, min(256, len(items) // (workers * 8) or 16))
    return [items[i : i + size] for i in range(0, len(items), size)]


def _context() -> mp.context.BaseContext:
    # fork starts workers in milliseconds; elsewhere fall back to the platform default.
    methods = mp.get_all_start_methods()
    return mp.get_context("fork" if "fork" in methods else None)


def _check_workers(workers: int | None) -> int:
    n_workers = default_workers() if workers is None else workers
    if not isinstance(n_workers, int) or isinstance(n_workers, bool) or n_workers < 1:
        raise ConfigError(f"The 'workers' option must be a positive integer. Got {workers!r}.")
    return n_workers


def _preload_runtime(spec: ModelSpec) -> None:
    """Import the model's runtime in this process before the workers are forked.

    Importing onnxruntime and onnx (or LiteRT) takes a few tenths of a second; done once here,
    forked workers inherit the modules instead of each importing them again. Only modules are
    imported: each worker still opens its own session (a session must not cross a fork). A
    missing runtime is reported later, by the worker's load, with the usual message.
    """
    from visiondrift.errors import VisionDriftError

    try:
        if spec.resolved_format == "onnx":
            from visiondrift.models.onnx import import_onnx, import_onnxruntime

            import_onnxruntime()
            import_onnx()
        else:
            from visiondrift.models.tflite import import_interpreter

            import_interpreter()
    except (VisionDriftError, ImportError):
        return


def _ignore_interrupt() -> None:
    """Workers leave Ctrl-C to the parent, which stops them (no traceback from each worker)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _start_pool(n_workers: int) -> mp.pool.Pool | None:
    """Worker processes, started before the files are listed so they don't inherit the list."""
    if n_workers <= 1:
        return None
    return _context().Pool(processes=n_workers, initializer=_ignore_interrupt)


def profile_items(
    items: Sequence[ImageItem],
    config: ProfileConfig,
    *,
    workers: int | None = None,
    progress: ProgressCallback | None = None,
    pool: mp.pool.Pool | None = None,
) -> Profile:
    """Profile a list of images with ``workers`` processes (default: the CPU cores).

    ``pool`` is an already started pool of that many processes (it is used, not closed).
    """
    n_workers = _check_workers(workers)
    total = len(items)
    if n_workers == 1 or total < SERIAL_THRESHOLD:
        partials = []
        done = 0
        for chunk in _chunks(items, 1):
            partials.append(_profile_chunk(chunk, config))
            done += len(chunk)
            if progress is not None:
                progress(done, total)
        return Profile.merge_all(partials) if partials else ProfileBuilder(config).build()
    chunks = _chunks(items, n_workers)
    result: Profile | None = None
    done = 0
    own = pool is None
    workers_pool = _start_pool(n_workers) if pool is None else pool
    assert workers_pool is not None
    try:
        for partial in workers_pool.imap_unordered(_worker, [(c, config) for c in chunks]):
            result = partial if result is None else result.merge(partial)
            done += partial.n_files
            if progress is not None:
                progress(done, total)
    finally:
        if own:
            workers_pool.terminate()
            workers_pool.join()
    assert result is not None
    return result


def _resolve_model(
    model: ModelSpec | str | os.PathLike[str] | None, base: ModelSpec | None
) -> ModelSpec | None:
    """The spec to use: ``model`` (a spec, or a path replacing ``base``'s path), else ``base``."""
    if model is None:
        return base
    from visiondrift.models import ModelSpec

    if isinstance(model, ModelSpec):
        return model
    if isinstance(model, str | os.PathLike):
        return ModelSpec(Path(model)) if base is None else replace(base, path=Path(model))
    raise ConfigError(
        "The 'model' option must be a ModelSpec or the path of an ONNX or TFLite model. "
        f"Got {type(model).__name__} instead."
    )


def profile(
    source: str | os.PathLike[str] | FolderSource | FileListSource,
    *,
    model: ModelSpec | str | os.PathLike[str] | None = None,
    low_confidence: float = DEFAULTS.model.low_confidence,
    workers: int | None = None,
    max_images: int | None = None,
    seed: int = DEFAULTS.profile.seed,
    labels: LabelMode = DEFAULTS.profile.labels,
    reservoir_size: int = DEFAULTS.profile.reservoir_size,
    work_size: int = DEFAULTS.profile.measure.work_size,
    colour_size: int = DEFAULTS.profile.measure.colour_size,
    noise_size: int = DEFAULTS.profile.measure.noise_size,
    clip_dark: int = DEFAULTS.profile.measure.clip_dark,
    clip_bright: int = DEFAULTS.profile.measure.clip_bright,
    max_pixels: int = DEFAULTS.profile.decode.max_pixels,
    min_side: int = DEFAULTS.profile.decode.min_side,
    max_listed_bad_files: int = DEFAULTS.profile.max_listed_bad_files,
    progress: ProgressCallback | None = None,
    config: ProfileConfig | None = None,
    names: NamePolicy | None = None,
    names_key: NamesKey | bytes | None = None,
    names_root: str | os.PathLike[str] | None = None,
    allow_empty: bool = False,
) -> Profile:
    """Profile the images of ``source`` (a folder, a list file, or a source object).

    Parameters
    ----------
    source
        A folder (read recursively; the ImageFolder layout gives labels), a text file listing
        image paths, or a :class:`~visiondrift.sources.FolderSource` /
        :class:`~visiondrift.sources.FileListSource`.
    model
        A classifier to run on every image: a :class:`~visiondrift.models.ModelSpec` or the path
        of an ``.onnx`` / ``.tflite`` file. Each worker loads it once and runs it on batches of
        the images it has decoded anyway. With ``config`` given, a path replaces the path of
        ``config.model`` (same preprocessing and options) and a spec replaces it entirely.
    low_confidence
        Top-1 probability below which a prediction counts as low-confidence.
    workers
        Number of processes; default the number of CPU cores.
    max_images
        Profile at most this many images, sampled reproducibly with ``seed``.
    seed
        Seed of the sampling and of the reservoir.
    labels
        ``"auto"``, ``"imagefolder"`` or ``"none"``: how folder names become labels.
    reservoir_size, work_size, colour_size, noise_size, clip_dark, clip_bright, max_pixels, \
min_side, max_listed_bad_files
        See :class:`~visiondrift.profiles.ProfileConfig`,
        :class:`~visiondrift.measure.properties.MeasureConfig` and
        :class:`~visiondrift.decode.DecodeLimits`.
    progress
        Called as ``progress(done, total)`` after each chunk of files.
    config
        A complete configuration; when given, it replaces the individual options above.
    names
        What the profile records of file names: ``"keep"``, ``"hash"`` (a keyed hash, needs
        ``names_key``) or ``"drop"`` (positions only); default ``config.names``, else
        ``"keep"``. See :mod:`visiondrift.names`.
    names_key
        The secret key of ``names="hash"``, e.g. ``NamesKey.from_env("VISIONDRIFT_NAMES_KEY")``;
        it is used, never stored.
    names_root
        Record the source's location relative to this folder (else: as given with ``"keep"``,
        ``"<redacted>"`` otherwise).
    allow_empty
        Return the profile even when none of the listed files could be used (a production batch
        of unusable files is itself a finding), instead of raising.

    Returns
    -------
    Profile
        The profile. Unusable files, and sub-folders that could not be listed (reason
        ``unreadable``), are counted and listed in it.

    Raises
    ------
    NoReadableImagesError
        When the source lists no image, or (without ``allow_empty``) none of its images can be
        decoded.

    Examples
    --------
    ::

        import visiondrift
        baseline = visiondrift.profile("data/val")
    """
    if config is None:
        config = ProfileConfig(
            measure=MeasureConfig(work_size, colour_size, noise_size, clip_dark, clip_bright),
            limits=DecodeLimits(max_pixels=max_pixels, min_side=min_side),
            reservoir_size=reservoir_size,
            seed=seed,
            max_listed_bad_files=max_listed_bad_files,
            model=_resolve_model(model, None),
            low_confidence=low_confidence,
        )
    elif model is not None:
        config = replace(config, model=_resolve_model(model, config.model))
    if names is not None and check_policy(names) != config.names:
        config = replace(config, names=names)
    key = NamesKey(names_key) if isinstance(names_key, bytes) else names_key
    recorded_names([], config.names, key)  # a missing key is refused before any work
    if config.names != "keep" and labels == "auto":
        labels = "none"  # folder names become labels only when asked for explicitly
    if config.model is not None:
        from visiondrift.models._adapter import check_model_file

        check_model_file(config.model.path)  # a clear message before any worker starts
    n_workers = _check_workers(workers)
    if max_images is not None and max_images < SERIAL_THRESHOLD:
        n_workers = 1  # no pool for a small sample (see SERIAL_THRESHOLD)
    if config.model is not None and n_workers > 1:
        _preload_runtime(config.model)
    pool = _start_pool(n_workers)
    try:
        src = open_source(source, labels=labels, max_images=max_images, seed=config.seed)
        if not src.items:
            skipped = "".join(
                f" The sub-folder '{name}' was skipped: {detail}."
                for name, detail in src.unreadable
            )
            raise NoReadableImagesError(
                f"No image files found in '{src.info.location}'.{skipped[:500]} visiondrift "
                "reads JPEG, PNG, BMP, GIF, WebP and TIFF files (by extension when listing a "
                "folder); check the path."
            )
        items = anonymise(src.items, config.names, key)
        result = profile_items(items, config, workers=n_workers, progress=progress, pool=pool)
    finally:
        if pool is not None:
            pool.terminate()
            pool.join()
    if src.unreadable:
        folders = ProfileBuilder(config)
        for name, detail in src.unreadable:
            folders.add_bad(BadFile(name, "unreadable", detail))
        result = result.merge(folders.build())
    info = replace(src.info, location=record_location(src.info.location, config.names, names_root))
    result = replace(result, sources=(info,))
    if config.names != "keep":
        result = _scrub_bad_files(result, src.items, items, key)
    if result.n_images == 0 and not allow_empty:
        raise NoReadableImagesError(no_images_message(src.info.location, result))
    return result


def _scrub_bad_files(
    result: Profile,
    originals: Sequence[ImageItem],
    items: Sequence[ImageItem],
    key: NamesKey | None,
) -> Profile:
    """Remove every part of an unusable file's path from its detail (the name is already out).

    A listed file whose name is not one the source recorded (a path reported by some other
    step) is hashed, or redacted with ``names="drop"``, so that no path reaches the profile.
    """
    original = {new.name: old for new, old in zip(items, originals, strict=True)}
    bad = []
    for b in result.bad_files:
        old = original.get(b.name)
        if old is not None:
            bad.append(replace(b, detail=scrub_detail(b.detail, [old.path, old.name])))
            continue
        name = REDACTED if result.config.names == "drop" else hash_name(b.name, key or b"")
        bad.append(replace(b, name=name, detail=scrub_detail(b.detail, [b.name])))
    return replace(result, bad_files=tuple(bad))


def no_images_message(location: str, result: Profile) -> str:
    reasons = Counter(result.bad_counts)
    summary = ", ".join(f"{count} {reason}" for reason, count in reasons.most_common())
    example: Any = result.bad_files[0] if result.bad_files else None
    detail = f" For example '{example.name}': {example.detail}." if example else ""
    return (
        f"None of the {result.n_files} files in '{location}' could be read as an image "
        f"({summary}).{detail} Check that the folder holds JPEG, PNG, BMP, GIF, WebP or TIFF "
        "images."
    )

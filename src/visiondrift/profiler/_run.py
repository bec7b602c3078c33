"""Profile a source of images in parallel: one decode per image, partial profiles that merge.

The parent process consumes the source as a stream and cuts it into chunks while it is being
listed; an executor maps one public chunk function, :func:`profile_chunk` (items in, partial
:class:`~visiondrift.profiles.Profile` out), over the chunks; the parent merges the partial
profiles as they arrive. Because merging is exact and the reservoir is keyed by a hash, the
result does not depend on the number of workers, the executor, or the order of the items.

The executor is a seam: the default pool of forked processes, any
``concurrent.futures.Executor`` (threads or processes), or a Dask client (its ``submit`` has
the same shape). There is no model cache in the calling process: a run loads its model once (or
uses a loaded model it is given); a worker process keeps the model of the chunks it is sent.

Imports: numpy, the decoder, the profile builder, the sources, the names policy; model
adapters only when a model is used.
"""

from __future__ import annotations

import itertools
import multiprocessing as mp
import multiprocessing.pool
import os
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from visiondrift._defaults import DEFAULTS
from visiondrift.decode import BadFile, DecodeLimits
from visiondrift.errors import ConfigError, NoReadableImagesError, SourceError
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
from visiondrift.profiler._chunk import _run_chunk, model_description, profile_chunk
from visiondrift.profiler._executors import (
    ChunkExecutor,
    ChunkFuture,
    PoolExecutor,
    SerialExecutor,
    start_pool,
)
from visiondrift.profiler._model_ref import ModelLike, ModelRef, preload_runtime, resolve_model
from visiondrift.profiles import Profile, ProfileBuilder, ProfileConfig
from visiondrift.sources import Item, LabelMode, ListingChanged, Source, open_source

if TYPE_CHECKING:
    from visiondrift.models import Model

__all__ = [
    "ChunkExecutor",
    "ChunkFuture",
    "ModelLike",
    "ProgressCallback",
    "default_workers",
    "model_description",
    "profile",
    "profile_chunk",
    "profile_items",
]

#: Called in the parent process with (files done, files listed so far) after each chunk.
ProgressCallback = Callable[[int, int], None]

#: Below this many files the work is done in the calling process. Workers are forked (a few
#: milliseconds each); starting and stopping the pool costs about 10 ms, which parallel decoding
#: pays back only after a few dozen images (``benchmarks/RESULTS.md``, "Start-up"). The profile is
#: the same either way: partial profiles merge exactly. ``profile`` reads this many items of
#: the source before it decides (the parent never holds more of the listing than that).
SERIAL_THRESHOLD = 64


def default_workers() -> int:
    """The number of CPU cores this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def _chunk_size(listed: int, workers: int) -> int:
    """Chunks grow with the listing: 16 images first (the first image is decoded at once), then
    half of what is listed so far per worker (so few chunks overall), at most 256 images."""
    return max(16, min(256, listed // (workers * 4)))


def _stream_chunks(items: Iterator[Item], workers: int) -> Iterator[list[Item]]:
    listed = 0
    while True:
        chunk = list(itertools.islice(items, _chunk_size(listed, workers)))
        if not chunk:
            return
        listed += len(chunk)
        yield chunk


class _Renamer:
    """Replaces names as the names policy says, chunk by chunk (positions count on), and
    remembers each renamed item's original path and name until its chunk is back."""

    def __init__(self, policy: NamePolicy, key: NamesKey | None) -> None:
        self.policy = policy
        self.key = key
        self.position = 0

    def __call__(self, chunk: list[Item]) -> tuple[list[Item], dict[str, tuple[str, str]]]:
        if self.policy == "keep":
            return chunk, {}
        renamed = anonymise(chunk, self.policy, self.key, start=self.position)
        self.position += len(chunk)
        return renamed, {
            new.key: (old.path, old.key) for new, old in zip(renamed, chunk, strict=True)
        }


def _map_chunks(
    items: Iterator[Item],
    config: ProfileConfig,
    executor: ChunkExecutor,
    ref: ModelRef | None,
    workers: int,
    progress: ProgressCallback | None,
    rename: _Renamer,
) -> Profile | None:
    """Map :func:`profile_chunk` over the chunks of ``items`` and merge the partial profiles.

    At most two chunks per worker are in flight, so neither the listing nor the parent's memory
    runs ahead of the workers. The next chunk is listed before the current one is submitted, so
    ``progress`` sees ``done == listed`` only once, at the end. ``None`` when there were no
    items.
    """
    inflight: deque[tuple[ChunkFuture, dict[str, tuple[str, str]]]] = deque()
    result: Profile | None = None
    done = listed = 0
    window = 2 * workers

    def collect() -> None:
        nonlocal result, done
        future, originals = inflight.popleft()
        partial: Profile = future.result()
        if originals:
            partial = _scrub_bad_files(partial, originals, rename.key)
        result = partial if result is None else result.merge(partial)
        done += partial.n_files
        if progress is not None:
            progress(done, listed)

    try:
        chunks = _stream_chunks(items, workers)
        chunk = next(chunks, None)
        listed = 0 if chunk is None else len(chunk)
        while chunk is not None:
            following = next(chunks, None)
            listed += 0 if following is None else len(following)
            renamed, originals = rename(chunk)
            inflight.append((executor.submit(_run_chunk, renamed, config, ref), originals))
            while inflight and (len(inflight) >= window or inflight[0][0].done()):
                collect()
            chunk = following
    except ListingChanged:
        for future, _ in inflight:  # let the workers finish before the listing starts over
            future.result()
        raise
    while inflight:
        collect()
    return result


def _check_workers(workers: int | None) -> int:
    n_workers = default_workers() if workers is None else workers
    if not isinstance(n_workers, int) or isinstance(n_workers, bool) or n_workers < 1:
        raise ConfigError(f"The 'workers' option must be a positive integer. Got {workers!r}.")
    return n_workers


def _in_process(executor: ChunkExecutor | None) -> bool:
    """Whether chunks run in this process (so a loaded model can be shared, not pickled)."""
    return executor is None or isinstance(executor, ThreadPoolExecutor | SerialExecutor)


def _model_ref(
    config: ProfileConfig, loaded: Model | None, executor: ChunkExecutor | None
) -> ModelRef | None:
    """The run's model: loaded once here when chunks run in this process (unless given)."""
    if config.model is None:
        return None
    if loaded is None and _in_process(executor):
        loaded = config.model.load()
    return ModelRef(config.model, loaded)


def profile_items(
    items: Iterable[Item],
    config: ProfileConfig,
    *,
    workers: int | None = None,
    progress: ProgressCallback | None = None,
    pool: mp.pool.Pool | None = None,
    executor: ChunkExecutor | None = None,
    model: Model | None = None,
) -> Profile:
    """Profile images with ``workers`` processes (default: the CPU cores) or an executor.

    Parameters
    ----------
    items
        The images, a list or a lazy iterable (consumed once, chunk by chunk).
    config
        The profile's configuration.
    workers
        Number of processes of the default pool; with ``executor``, how many chunks it runs
        at once (two per worker are kept in flight).
    progress
        Called as ``progress(done, listed)`` after each chunk.
    pool
        An already started ``multiprocessing`` pool of that many processes (used, not closed).
    executor
        Where chunks run instead: any ``concurrent.futures.Executor`` or a Dask client.
    model
        The loaded model of ``config.model`` (else it is loaded once per run in this process,
        or once per worker process).
    """
    n_workers = _check_workers(workers)
    chosen: ChunkExecutor
    own = None
    if executor is not None:
        chosen = executor
    elif pool is not None:
        chosen = PoolExecutor(pool)
    elif n_workers > 1:
        own = start_pool(n_workers)
        chosen = PoolExecutor(own)
    else:
        chosen = SerialExecutor()
    try:
        ref = _model_ref(config, model, None if isinstance(chosen, SerialExecutor) else chosen)
        result = _map_chunks(
            iter(items), config, chosen, ref, n_workers, progress, _Renamer("keep", None)
        )
    finally:
        if own is not None:
            own.terminate()
            own.join()
    return result if result is not None else ProfileBuilder(config).build()


def profile(
    source: object,
    *,
    model: ModelLike | None = None,
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
    executor: ChunkExecutor | None = None,
) -> Profile:
    """Profile the images of ``source`` (a folder, a list file, a URL, bytes, or a source).

    The source is consumed as a stream of chunks: the first images are decoded while the rest
    is still being listed, and the parent never holds the whole listing (except where sampling
    with ``max_images`` needs it).

    Parameters
    ----------
    source
        A folder (read recursively; the ImageFolder layout gives labels), a text file listing
        image paths, an fsspec URL (``s3://bucket/prefix``, ``https://``, ``memory://``...), a
        mapping of name -> bytes, or any :class:`~visiondrift.sources.Source` (see
        :func:`~visiondrift.sources.open_source`).
    model
        A classifier to run on every image: a :class:`~visiondrift.models.ModelSpec`, the path
        of an ``.onnx`` / ``.tflite`` file, or a model already loaded with
        :meth:`~visiondrift.models.ModelSpec.load` (a long-running process loads it once and
        passes it to every run; worker processes still load their own). With ``config`` given,
        a path replaces the path of ``config.model`` (same preprocessing and options) and a
        spec or a loaded model replaces it entirely.
    low_confidence
        Top-1 probability below which a prediction counts as low-confidence.
    workers
        Number of processes; default the number of CPU cores.
    max_images
        Profile at most this many images, sampled reproducibly with ``seed`` (the source is
        listed completely before the first image is decoded: sampling needs every name).
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
        Called as ``progress(done, listed)`` after each chunk of files (``listed`` grows while
        the source is listed).
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
    executor
        Where the chunks run: any ``concurrent.futures.Executor`` (or a Dask client) instead of
        the default pool of ``workers`` processes. The profile is the same.

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
    loaded: Model | None
    if config is None:
        spec, loaded = resolve_model(model, None)
        config = ProfileConfig(
            measure=MeasureConfig(work_size, colour_size, noise_size, clip_dark, clip_bright),
            limits=DecodeLimits(max_pixels=max_pixels, min_side=min_side),
            reservoir_size=reservoir_size,
            seed=seed,
            max_listed_bad_files=max_listed_bad_files,
            model=spec,
            low_confidence=low_confidence,
        )
    else:
        spec, loaded = resolve_model(model, config.model)
        if model is not None:
            config = replace(config, model=spec)
    if names is not None and check_policy(names) != config.names:
        config = replace(config, names=names)
    key = NamesKey(names_key) if isinstance(names_key, bytes) else names_key
    recorded_names([], config.names, key)  # a missing key is refused before any work
    if config.names != "keep" and labels == "auto":
        labels = "none"  # folder names become labels only when asked for explicitly
    if config.model is not None and loaded is None:
        from visiondrift.models._adapter import check_model_file

        check_model_file(config.model.path)  # a clear message before any worker starts
    n_workers = _check_workers(workers)
    if max_images is not None and max_images < SERIAL_THRESHOLD:
        n_workers = 1  # no pool for a small sample (see SERIAL_THRESHOLD)
    src = open_source(source, labels=labels, max_images=max_images, seed=config.seed)
    result: Profile | None = None
    for attempt in range(3):
        try:
            result = _profile_stream(
                src, config, loaded, n_workers, executor, progress, _Renamer(config.names, key)
            )
            break
        except ListingChanged:
            if attempt == 2:
                raise SourceError(
                    f"The source '{src.info.location}' changed while it was read three times; "
                    "profile it when it is no longer being written to."
                ) from None
    if result is None:
        skipped = "".join(
            f" The sub-folder '{name}' was skipped: {detail}." for name, detail in src.unreadable
        )
        raise NoReadableImagesError(
            f"No image files found in '{src.info.location}'.{skipped[:500]} visiondrift "
            "reads JPEG, PNG, BMP, GIF, WebP and TIFF files (by extension when listing a "
            "folder); check the path."
        )
    if src.unreadable:
        folders = ProfileBuilder(config)
        for name, detail in src.unreadable:
            folders.add_bad(BadFile(name, "unreadable", detail))
        unreadable = folders.build()
        if config.names != "keep":
            unreadable = _scrub_bad_files(unreadable, {}, key)
        result = result.merge(unreadable)
    info = src.info
    info = replace(info, location=record_location(info.location, config.names, names_root))
    result = replace(result, sources=(info,))
    if result.n_images == 0 and not allow_empty:
        raise NoReadableImagesError(no_images_message(src.info.location, result))
    return result


def _profile_stream(
    src: Source,
    config: ProfileConfig,
    loaded: Model | None,
    n_workers: int,
    executor: ChunkExecutor | None,
    progress: ProgressCallback | None,
    rename: _Renamer,
) -> Profile | None:
    """One pass over ``src``: serially when it is small (see :data:`SERIAL_THRESHOLD`), else
    with ``executor`` or a pool of ``n_workers`` processes started after the first items."""
    stream = iter(src)
    head = list(itertools.islice(stream, SERIAL_THRESHOLD))
    items = itertools.chain(head, stream)
    own: mp.pool.Pool | None = None
    chosen: ChunkExecutor
    if executor is not None:
        chosen = executor
    elif n_workers == 1 or len(head) < SERIAL_THRESHOLD:
        chosen = SerialExecutor()
    else:
        if config.model is not None:
            preload_runtime(config.model)
        own = start_pool(n_workers)
        chosen = PoolExecutor(own)
    try:
        ref = _model_ref(config, loaded, chosen)
        return _map_chunks(items, config, chosen, ref, n_workers, progress, rename)
    finally:
        if own is not None:
            own.terminate()
            own.join()


def _scrub_bad_files(
    result: Profile, originals: Mapping[str, tuple[str, str]], key: NamesKey | None
) -> Profile:
    """Remove every part of an unusable file's path from its detail (the name is already out).

    ``originals`` maps a recorded name to the file's original path and name. A listed file
    whose name is not there (a path reported by some other step) is hashed, or redacted with
    ``names="drop"``, so that no path reaches the profile.
    """
    bad = []
    for b in result.bad_files:
        old = originals.get(b.name)
        if old is not None:
            bad.append(replace(b, detail=scrub_detail(b.detail, list(old))))
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

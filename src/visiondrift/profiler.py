"""Profile a source of images in parallel: one decode per image, partial profiles that merge.

The parent process lists the files and cuts them into chunks; worker processes decode and measure
each chunk into a partial :class:`~visiondrift.profiles.Profile`; the parent merges the partial
profiles as they arrive. Because merging is exact, the result does not depend on the number of
workers or the order in which chunks finish.
"""

from __future__ import annotations

import multiprocessing as mp
import os
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

from visiondrift.decode import BadFile, DecodeLimits, decode_image
from visiondrift.errors import ConfigError, NoReadableImagesError
from visiondrift.profiles import Profile, ProfileBuilder, ProfileConfig
from visiondrift.properties import MeasureConfig
from visiondrift.sources import FileListSource, FolderSource, ImageItem, LabelMode, open_source

__all__ = ["ProgressCallback", "default_workers", "profile", "profile_items"]

#: Called in the parent process with (files done, files in total) after each chunk.
ProgressCallback = Callable[[int, int], None]

#: Below this many files the work is done in the calling process (no worker start-up cost).
SERIAL_THRESHOLD = 64


def default_workers() -> int:
    """The number of CPU cores this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def _profile_chunk(items: Sequence[ImageItem], config: ProfileConfig) -> Profile:
    builder = ProfileBuilder(config)
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


def profile_items(
    items: Sequence[ImageItem],
    config: ProfileConfig,
    *,
    workers: int | None = None,
    progress: ProgressCallback | None = None,
) -> Profile:
    """Profile a list of images with ``workers`` processes (default: the CPU cores)."""
    n_workers = default_workers() if workers is None else workers
    if not isinstance(n_workers, int) or n_workers < 1:
        raise ConfigError(f"The 'workers' option must be a positive integer. Got {workers!r}.")
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
    with _context().Pool(processes=min(n_workers, len(chunks))) as pool:
        for partial in pool.imap_unordered(_worker, [(c, config) for c in chunks]):
            result = partial if result is None else result.merge(partial)
            done += partial.n_files
            if progress is not None:
                progress(done, total)
    assert result is not None
    return result


def profile(
    source: str | os.PathLike[str] | FolderSource | FileListSource,
    *,
    workers: int | None = None,
    max_images: int | None = None,
    seed: int = 0,
    labels: LabelMode = "auto",
    reservoir_size: int = 10_000,
    work_size: int = 128,
    colour_size: int = 32,
    noise_size: int = 128,
    clip_dark: int = 5,
    clip_bright: int = 250,
    max_pixels: int = 89_478_485,
    min_side: int = 8,
    max_listed_bad_files: int = 1_000,
    progress: ProgressCallback | None = None,
    config: ProfileConfig | None = None,
) -> Profile:
    """Profile the images of ``source`` (a folder, a list file, or a source object).

    Parameters
    ----------
    source
        A folder (read recursively; the ImageFolder layout gives labels), a text file listing
        image paths, or a :class:`~visiondrift.sources.FolderSource` /
        :class:`~visiondrift.sources.FileListSource`.
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
        :class:`~visiondrift.properties.MeasureConfig` and
        :class:`~visiondrift.decode.DecodeLimits`.
    progress
        Called as ``progress(done, total)`` after each chunk of files.
    config
        A complete configuration; when given, it replaces the individual options above.

    Returns
    -------
    Profile
        The profile. Unusable files are counted and listed in it.

    Raises
    ------
    NoReadableImagesError
        When the source lists no image, or none of its images can be decoded.

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
        )
    src = open_source(source, labels=labels, max_images=max_images, seed=config.seed)
    if not src.items:
        raise NoReadableImagesError(
            f"No image files found in '{src.info.location}'. visiondrift reads JPEG, PNG, BMP, "
            "GIF, WebP and TIFF files (by extension when listing a folder); check the path."
        )
    result = profile_items(src.items, config, workers=workers, progress=progress)
    result = replace(result, sources=(src.info,))
    if result.n_images == 0:
        raise NoReadableImagesError(no_images_message(src.info.location, result))
    return result


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

"""Where images come from: the :class:`Source` protocol, :class:`Item`, and the built-in sources.

A source yields :class:`Item` records lazily (a key, a way to open the bytes, an optional label
and metadata); decoding happens where the items are consumed. Built-ins:

- :class:`FolderSource`: a local folder, recursively (the ImageFolder layout gives labels);
- :class:`FileListSource`: a text file listing image paths (and labels);
- :class:`BytesSource`: images in memory, name -> bytes (what an upload endpoint hands over);
- :class:`FsspecSource`: any fsspec URL (``s3://``, ``gs://``, ``https://``, ``memory://``,
  ``file://``).

:func:`open_source` turns what a user passed (a path, a URL, a mapping, a source) into a source
by asking each registered factory in turn; the built-ins are registered with
:func:`register_source`, the same function a user's own source uses.

Imports: the standard library and :mod:`visiondrift.errors`; fsspec only when a URL is opened.
Nothing here imports Pillow.

May import :mod:`visiondrift.errors` and the standard library at import time (fsspec on first use
of a URL); nothing of decoding, profiles or reports.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from visiondrift.errors import ConfigError
from visiondrift.sources._base import (
    IMAGE_EXTENSIONS,
    ImageItem,
    Item,
    LabelMode,
    ListingChanged,
    Opener,
    Source,
    SourceInfo,
    SourceKind,
    item_key,
    looks_like_sequence,
    redact_error,
    redact_url,
)
from visiondrift.sources.folder import FileListSource, FolderSource
from visiondrift.sources.memory import BytesSource
from visiondrift.sources.remote import FsspecSource

__all__ = [
    "IMAGE_EXTENSIONS",
    "BytesSource",
    "FileListSource",
    "FolderSource",
    "FsspecSource",
    "ImageItem",
    "Item",
    "LabelMode",
    "ListingChanged",
    "Opener",
    "Source",
    "SourceFactory",
    "SourceInfo",
    "SourceKind",
    "SourceOptions",
    "item_key",
    "looks_like_sequence",
    "open_source",
    "redact_error",
    "redact_url",
    "register_source",
    "registered_sources",
]


@dataclass(frozen=True)
class SourceOptions:
    """What the caller of :func:`open_source` asked for, handed to every factory."""

    labels: LabelMode = "auto"
    max_images: int | None = None
    seed: int = 0


#: Makes a source of what the user passed, or returns ``None`` when it does not apply.
SourceFactory = Callable[[object, SourceOptions], "Source | None"]

_FACTORIES: list[tuple[str, SourceFactory]] = []


def register_source(name: str, factory: SourceFactory, *, first: bool = True) -> None:
    """Register a factory that :func:`open_source` asks to make a source.

    Parameters
    ----------
    name
        The factory's name; registering a name again replaces the earlier factory.
    factory
        ``factory(spec, options)`` returns a :class:`Source` made of ``spec`` (what the user
        passed) or ``None`` when ``spec`` is not for it.
    first
        Ask this factory before those registered earlier (so a user's factory can claim a URL
        scheme or a path before the built-ins); ``False`` asks it after them.

    Examples
    --------
    >>> def numbered(spec, options):
    ...     if isinstance(spec, str) and spec.startswith("numbered:"):
    ...         n = int(spec.split(":", 1)[1])
    ...         return BytesSource({f"{i}.png": b"" for i in range(n)}, location=spec)
    ...     return None
    >>> register_source("numbered", numbered)
    >>> open_source("numbered:3").info.n_listed
    3
    """
    global _FACTORIES
    kept = [(n, f) for n, f in _FACTORIES if n != name]
    _FACTORIES = [(name, factory), *kept] if first else [*kept, (name, factory)]


def registered_sources() -> list[str]:
    """The names of the registered factories, in the order :func:`open_source` asks them."""
    return [name for name, _ in _FACTORIES]


def open_source(
    source: object,
    *,
    labels: LabelMode = "auto",
    max_images: int | None = None,
    seed: int = 0,
) -> Source:
    """Turn what the user passed (a folder, a list file, a URL, name -> bytes, or a source)
    into a :class:`Source`, asking each registered factory in turn."""
    options = SourceOptions(labels=labels, max_images=max_images, seed=seed)
    for _, factory in _FACTORIES:
        made = factory(source, options)
        if made is not None:
            return made
    raise ConfigError(
        "A source must be a folder path, a text file listing image paths, a URL "
        "(s3://, gs://, https://, memory://, file://...), a mapping of name -> bytes, or a "
        f"Source object. Got {type(source).__name__} instead (factories asked: "
        f"{', '.join(registered_sources())})."
    )


_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*://")


def _already_a_source(spec: object, options: SourceOptions) -> Source | None:
    return spec if isinstance(spec, Source) and not isinstance(spec, str | Mapping) else None


def _bytes(spec: object, options: SourceOptions) -> Source | None:
    if isinstance(spec, Mapping):
        return BytesSource(spec, max_images=options.max_images, seed=options.seed)
    return None


def _url(spec: object, options: SourceOptions) -> Source | None:
    if not (isinstance(spec, str) and _URL.match(spec)):
        return None
    return FsspecSource(
        spec, labels=options.labels, max_images=options.max_images, seed=options.seed
    )


def _list_file(spec: object, options: SourceOptions) -> Source | None:
    if not isinstance(spec, str | os.PathLike):
        return None
    path = Path(spec)
    if path.is_file() and path.suffix.lower() in (".txt", ".lst", ".csv"):
        return FileListSource(path, max_images=options.max_images, seed=options.seed)
    return None


def _folder(spec: object, options: SourceOptions) -> Source | None:
    if not isinstance(spec, str | os.PathLike):
        return None
    return FolderSource(
        spec, labels=options.labels, max_images=options.max_images, seed=options.seed
    )


for _name, _factory in (
    ("source", _already_a_source),
    ("bytes", _bytes),
    ("url", _url),
    ("list", _list_file),
    ("folder", _folder),
):
    register_source(_name, _factory, first=False)
del _name, _factory

"""The source contract: :class:`Item`, the :class:`Source` protocol, :class:`SourceInfo`.

Plain Python and the standard library only (no Pillow, no fsspec), so that a saved profile can
name its sources without importing anything that reads images.
"""

from __future__ import annotations

import functools
import hashlib
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Protocol, runtime_checkable

from visiondrift.errors import ConfigError

__all__ = [
    "IMAGE_EXTENSIONS",
    "ImageItem",
    "Item",
    "LabelMode",
    "ListingChanged",
    "Opener",
    "Source",
    "SourceInfo",
    "SourceKind",
    "check_max_images",
    "item_key",
    "looks_like_sequence",
    "redact_error",
    "redact_url",
    "select",
]

#: File name extensions listed from folders (case-insensitive). Files with other extensions are
#: ignored when a folder is listed; a list file may name any file.
IMAGE_EXTENSIONS: frozenset[str] = frozenset(
    {".jpg", ".jpeg", ".jpe", ".jfif", ".png", ".bmp", ".dib", ".gif", ".webp", ".tif", ".tiff"}
)

LabelMode = Literal["auto", "imagefolder", "none"]

#: What kind of source a profile came from (stored in its provenance).
SourceKind = Literal["folder", "imagefolder", "list", "merged", "predictions"]

#: Reads the bytes of one item. It runs where the item is decoded (a worker process, a thread,
#: a Dask worker), so it must be picklable when items cross a process boundary.
Opener = Callable[[], bytes]

#: A folder name made only of digits and the separators of dates and times (``2024-04-01``,
#: ``20240401``, ``2024_04_01T10:30``, ``12.30``, ``007``): a date, a time or a sequence number.
_SEQUENCE_NAME: re.Pattern[str] = re.compile(r"[0-9][0-9\-_.:T ]*")

#: The user-information part of a URL (``scheme://user:password@``).
_USERINFO: re.Pattern[str] = re.compile(
    r"(?P<scheme>[A-Za-z][A-Za-z0-9+.\-]*://)(?P<info>[^/@\s]*)@"
)


def looks_like_sequence(name: str) -> bool:
    """Whether a folder name is a date, a time or a plain number rather than a class name.

    >>> [looks_like_sequence(n) for n in ("2024-04-01", "001", "10:30", "cat", "n01440764")]
    [True, True, True, False, False]
    """
    return _SEQUENCE_NAME.fullmatch(name.strip()) is not None


def redact_url(text: str) -> str:
    """``text`` with the password of every ``scheme://user:password@host`` URL in it removed.

    The user name stays (it says whose access was used); the password never reaches a profile,
    a report, a log line or an error message.

    >>> redact_url("https://ann:s3cret@example.org/a.png failed")
    'https://ann@example.org/a.png failed'
    >>> redact_url("s3://bucket/key.png")
    's3://bucket/key.png'
    """

    def user_only(match: re.Match[str]) -> str:
        user = match.group("info").split(":", 1)[0]
        return f"{match.group('scheme')}{user}@" if user else match.group("scheme")

    return _USERINFO.sub(user_only, text)


def redact_error(err: BaseException) -> BaseException:
    """``err`` itself, or a copy of it whose message has no URL password (for ``raise ... from``:
    a chained traceback must not print what the message hides)."""
    text = str(err)
    safe = redact_url(text)
    if safe == text:
        return err
    try:
        copy = type(err)(safe)
    except Exception:  # an exception class that takes other arguments
        copy = RuntimeError(f"{type(err).__name__}: {safe}")
    return copy


def item_key(seed: int, path: str) -> int:
    """A seeded 64-bit hash of a path: the sampling priority of an image (smaller is kept)."""
    digest = _keyed(seed).copy()  # a third cheaper than keying a new hash (a closed window
    digest.update(path.encode("utf-8", "surrogateescape"))  # hashes every record's key)
    return int.from_bytes(digest.digest(), "little")


def item_keys(seed: int, paths: Iterable[str]) -> list[int]:
    """:func:`item_key` of each path (one loop: a closed window hashes 100,000 record keys)."""
    copy = _keyed(seed).copy
    keys = []
    for path in paths:
        digest = copy()
        digest.update(path.encode("utf-8", "surrogateescape"))
        keys.append(int.from_bytes(digest.digest(), "little"))
    return keys


@functools.lru_cache(maxsize=8)
def _keyed(seed: int) -> hashlib.blake2b:
    """A BLAKE2b-64 keyed with ``seed``, nothing hashed yet (copied for each key)."""
    return hashlib.blake2b(digest_size=8, key=seed.to_bytes(8, "little", signed=True))


@dataclass(frozen=True, slots=True)
class Item:
    """One image to read: its key, where it is, how to open it, its label and metadata.

    Parameters
    ----------
    key
        The name recorded in reports (a path relative to the source's root, an object key, the
        name of an upload). Unique within a source.
    path
        Where the image is: a local file path, or a URL without credentials (see
        :func:`redact_url`). It identifies the image for sampling; it is never opened when
        ``opener`` is given. Default: the ``key`` (bytes that exist only in memory).
    label
        The image's true class, if known.
    metadata
        Anything else the source knows about the image (sizes, times, tags), as strings.
    opener
        Reads the image's bytes. ``None``: the image is the local file ``path``, which the
        decoder opens itself (streaming it, without a copy).

    Examples
    --------
    >>> item = Item("cat/1.png", "/data/cat/1.png", label="cat")
    >>> item.name, item.label
    ('cat/1.png', 'cat')
    >>> Item("upload.jpg", opener=lambda: b"...").read()
    b'...'
    """

    key: str
    path: str = ""
    label: str | None = None
    metadata: Mapping[str, str] | None = None
    opener: Opener | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if not self.path:
            object.__setattr__(self, "path", self.key)

    @property
    def name(self) -> str:
        """The name recorded in reports: the :attr:`key`."""
        return self.key

    def read(self) -> bytes:
        """The image's bytes (from ``opener``, else from the local file ``path``)."""
        if self.opener is not None:
            return self.opener()
        return Path(self.path).read_bytes()


#: The earlier name of :class:`Item`.
ImageItem = Item


@dataclass(frozen=True)
class SourceInfo:
    """Description of a source, stored in a profile's provenance."""

    kind: SourceKind
    location: str
    n_listed: int
    n_selected: int
    max_images: int | None = None
    seed: int = 0
    #: What the listing decided or skipped that the user should know (labels read or not, a
    #: symlink loop skipped). Shown to the user, not saved: notes name folders.
    notes: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "notes", tuple(str(n) for n in self.notes))

    def to_dict(self) -> dict[str, object]:
        return {
            "kind": self.kind,
            "location": self.location,
            "n_listed": self.n_listed,
            "n_selected": self.n_selected,
            "max_images": self.max_images,
            "seed": self.seed,
        }


class ListingChanged(Exception):
    """Raised by a source's iterator when items it already yielded must be taken back.

    A folder read with ``labels="auto"`` decides from its first listing whether folder names are
    labels; when the rest of the tree contradicts that guess, the labels already handed out are
    wrong. The consumer (the profiler) then discards what it built and iterates again; the
    second iteration uses the layout decided from the complete listing and does not raise.
    """


@runtime_checkable
class Source(Protocol):
    """Where images come from: an iterable of :class:`Item` that lists lazily.

    Iterating may start before the whole source has been listed: the first item is yielded as
    soon as it is known, so decoding starts while the listing goes on. Built-ins and a user's own
    sources implement the same three members and are registered the same way
    (:func:`visiondrift.sources.register_source`).
    """

    def __iter__(self) -> Iterator[Item]:
        """Yield the items. May raise :class:`ListingChanged` once, after which a second
        iteration gives the final items."""
        ...

    @property
    def info(self) -> SourceInfo:
        """The source's description, complete once an iteration has ended (lists it if not)."""
        ...

    @property
    def unreadable(self) -> Sequence[tuple[str, str]]:
        """Parts of the source that could not be listed: (name ending in '/', why)."""
        ...


def check_max_images(max_images: int | None) -> None:
    """Refuse a ``max_images`` that is not a positive integer."""
    if max_images is not None and (
        not isinstance(max_images, int) or isinstance(max_images, bool) or max_images < 1
    ):
        raise ConfigError(
            f"The 'max_images' option must be a positive integer. Got {max_images!r} instead."
        )


def select(items: list[Item], max_images: int | None, seed: int) -> list[Item]:
    """At most ``max_images`` of ``items``: those with the smallest seeded hash of their path.

    The sample does not depend on the order of ``items``; it needs them all (the full listing).
    """
    if max_images is None or len(items) <= max_images:
        return items
    ranked = sorted(items, key=lambda item: item_key(seed, item.path or item.key))[:max_images]
    return sorted(ranked, key=lambda item: item.path or item.key)

"""Where images come from: a folder read recursively, an ImageFolder tree, or a list file.

A source lists :class:`ImageItem` records in a deterministic order (sorted by path) and never
opens the images; decoding happens in the workers. Sampling (``max_images`` with ``seed``) keeps
the ``max_images`` files with the smallest seeded hash of their path, so the sample is the same
whatever order the file system returns and whichever worker reads the files.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from visiondrift.errors import ConfigError, SourceError

__all__ = [
    "IMAGE_EXTENSIONS",
    "FileListSource",
    "FolderSource",
    "ImageItem",
    "LabelMode",
    "SourceInfo",
    "item_key",
    "looks_like_sequence",
    "open_source",
]

#: File name extensions listed from folders (case-insensitive). Files with other extensions are
#: ignored when a folder is listed; a list file may name any file.
IMAGE_EXTENSIONS: frozenset[str] = frozenset(
    {".jpg", ".jpeg", ".jpe", ".jfif", ".png", ".bmp", ".dib", ".gif", ".webp", ".tif", ".tiff"}
)

LabelMode = Literal["auto", "imagefolder", "none"]

#: A folder name made only of digits and the separators of dates and times (``2024-04-01``,
#: ``20240401``, ``2024_04_01T10:30``, ``12.30``, ``007``): a date, a time or a sequence number.
_SEQUENCE_NAME: re.Pattern[str] = re.compile(r"[0-9][0-9\-_.:T ]*")


def looks_like_sequence(name: str) -> bool:
    """Whether a folder name is a date, a time or a plain number rather than a class name.

    >>> [looks_like_sequence(n) for n in ("2024-04-01", "001", "10:30", "cat", "n01440764")]
    [True, True, True, False, False]
    """
    return _SEQUENCE_NAME.fullmatch(name.strip()) is not None


def item_key(seed: int, path: str) -> int:
    """A seeded 64-bit hash of a path: the sampling priority of an image (smaller is kept)."""
    digest = hashlib.blake2b(
        path.encode("utf-8", "surrogateescape"),
        digest_size=8,
        key=seed.to_bytes(8, "little", signed=True),
    )
    return int.from_bytes(digest.digest(), "little")


@dataclass(frozen=True, slots=True)
class ImageItem:
    """One image to read: its path, the name shown in reports, and its label if known."""

    path: str
    name: str
    label: str | None = None


@dataclass(frozen=True)
class SourceInfo:
    """Description of a source, stored in a profile's provenance."""

    kind: Literal["folder", "imagefolder", "list", "merged", "predictions"]
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


def _check_max_images(max_images: int | None) -> None:
    if max_images is not None and (not isinstance(max_images, int) or max_images < 1):
        raise ConfigError(
            f"The 'max_images' option must be a positive integer. Got {max_images!r} instead."
        )


def _select(items: list[ImageItem], max_images: int | None, seed: int) -> list[ImageItem]:
    if max_images is None or len(items) <= max_images:
        return items
    ranked = sorted(items, key=lambda item: item_key(seed, item.path))[:max_images]
    return sorted(ranked, key=lambda item: item.path)


class FolderSource:
    """All images under a folder, recursively, sorted by relative path.

    Parameters
    ----------
    root
        The folder to read.
    labels
        ``"imagefolder"`` takes the first sub-folder under ``root`` as each image's label (the
        torchvision ImageFolder layout); ``"none"`` records no label; ``"auto"`` uses the
        ImageFolder layout when every image lies exactly one folder below ``root``, there are
        at least two such folders, and no folder name is a date, a time or a plain number
        (:func:`looks_like_sequence`: folders such as ``2024-04-01/`` split batches, not
        classes). :attr:`notes` says what was decided.
    max_images
        Keep at most this many images, chosen reproducibly with ``seed``.
    seed
        Seed of the sampling hash.

    Symbolic links to folders are followed, but each real folder is read once: a link back to a
    folder already read (a loop) is skipped and noted. A sub-folder that cannot be listed is
    recorded in :attr:`unreadable` (reason ``unreadable``) and the listing goes on.
    """

    def __init__(
        self,
        root: str | os.PathLike[str],
        *,
        labels: LabelMode = "auto",
        max_images: int | None = None,
        seed: int = 0,
    ) -> None:
        self.root = Path(root)
        if labels not in ("auto", "imagefolder", "none"):
            raise ConfigError(
                "The 'labels' option must be one of 'auto', 'imagefolder', 'none'. "
                f"Got {labels!r} instead."
            )
        _check_max_images(max_images)
        self.labels: LabelMode = labels
        self.max_images = max_images
        self.seed = seed
        if not self.root.exists():
            raise SourceError(f"The image folder '{self.root}' does not exist.")
        if not self.root.is_dir():
            raise SourceError(
                f"'{self.root}' is not a folder. Pass a folder of images, a text file listing "
                "image paths (one per line, ending in .txt), or a saved profile (.json)."
            )
        #: Sub-folders that could not be listed: (name ending in '/', why).
        self.unreadable: list[tuple[str, str]] = []
        self.notes: list[str] = []
        self._listed = self._walk()
        self._layout = self._detect_layout(self._listed)
        self.items: list[ImageItem] = _select(
            [self._item(rel) for rel in self._listed], max_images, seed
        )

    def _walk(self) -> list[str]:
        found: list[str] = []
        seen: set[tuple[int, int]] = set()
        root_stat = os.stat(self.root)
        seen.add((root_stat.st_dev, root_stat.st_ino))
        stack = [""]
        while stack:
            rel_dir = stack.pop()
            directory = self.root / rel_dir if rel_dir else self.root
            try:
                entries = sorted(os.scandir(directory), key=lambda e: e.name)
            except OSError as err:
                if not rel_dir:
                    raise SourceError(f"Cannot list the folder '{directory}': {err}") from err
                reason = err.strerror or type(err).__name__
                self.unreadable.append((f"{rel_dir}/", f"cannot list the folder: {reason}"))
                continue
            subdirs: list[str] = []
            for entry in entries:
                rel = f"{rel_dir}/{entry.name}" if rel_dir else entry.name
                if entry.name.startswith("."):
                    continue
                try:
                    is_dir = entry.is_dir(follow_symlinks=True)
                except OSError as err:  # a link to itself, or a loop the OS refuses to resolve
                    self.notes.append(f"skipped '{rel}': {err.strerror or err}")
                    continue
                if is_dir:
                    try:
                        st = entry.stat(follow_symlinks=True)
                    except OSError as err:
                        reason = err.strerror or type(err).__name__
                        self.unreadable.append((f"{rel}/", f"cannot read the folder: {reason}"))
                        continue
                    if (st.st_dev, st.st_ino) in seen:
                        self.notes.append(
                            f"skipped '{rel}/': it leads to a folder already read "
                            "(a symbolic link loop or a second link to the same folder)"
                        )
                        continue
                    seen.add((st.st_dev, st.st_ino))
                    subdirs.append(rel)
                elif os.path.splitext(entry.name)[1].lower() in IMAGE_EXTENSIONS:
                    found.append(rel)
            stack.extend(reversed(subdirs))
        found.sort()
        return found

    def _detect_layout(self, rels: Sequence[str]) -> Literal["folder", "imagefolder"]:
        if self.labels == "imagefolder":
            return "imagefolder"
        if self.labels == "none" or not rels:
            return "folder"
        if all(rel.count("/") == 1 for rel in rels):
            classes = sorted({rel.split("/", 1)[0] for rel in rels})
            if len(classes) >= 2:
                dated = [c for c in classes if looks_like_sequence(c)]
                if not dated:
                    return "imagefolder"
                self.notes.append(
                    f"no labels read: sub-folder names such as '{dated[0]}' look like dates, "
                    "times or sequence numbers, not classes; use --labels imagefolder if they "
                    "are classes"
                )
        return "folder"

    def _item(self, rel: str) -> ImageItem:
        label = rel.split("/", 1)[0] if self._layout == "imagefolder" and "/" in rel else None
        return ImageItem(path=str(self.root / rel), name=rel, label=label)

    @property
    def info(self) -> SourceInfo:
        return SourceInfo(
            kind=self._layout,
            location=str(self.root),
            n_listed=len(self._listed),
            n_selected=len(self.items),
            max_images=self.max_images,
            seed=self.seed,
            notes=tuple(self.notes),
        )


class FileListSource:
    """Images named in a text file, one path per line (relative paths are relative to the file).

    A line may carry a label after a tab or a comma (``path<TAB>label``). Blank lines and lines
    starting with ``#`` are skipped.
    """

    def __init__(
        self,
        list_file: str | os.PathLike[str],
        *,
        max_images: int | None = None,
        seed: int = 0,
    ) -> None:
        self.list_file = Path(list_file)
        _check_max_images(max_images)
        self.max_images = max_images
        self.seed = seed
        try:
            text = self.list_file.read_text(encoding="utf-8")
        except FileNotFoundError as err:
            raise SourceError(f"The image list file '{self.list_file}' does not exist.") from err
        except (OSError, UnicodeDecodeError) as err:
            raise SourceError(
                f"Cannot read the image list file '{self.list_file}' as UTF-8 text: {err}"
            ) from err
        #: Always empty for a list file (kept so that every source has the same attributes).
        self.unreadable: list[tuple[str, str]] = []
        self.notes: list[str] = []
        base = self.list_file.parent
        items: list[ImageItem] = []
        for line in text.splitlines():
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            label: str | None = None
            for sep in ("\t", ","):
                if sep in line:
                    line, label = (part.strip() for part in line.split(sep, 1))
                    break
            path = Path(line)
            full = path if path.is_absolute() else base / path
            items.append(ImageItem(path=str(full), name=line, label=label or None))
        items.sort(key=lambda item: item.path)
        self._n_listed = len(items)
        self.items = _select(items, max_images, seed)

    @property
    def info(self) -> SourceInfo:
        return SourceInfo(
            kind="list",
            location=str(self.list_file),
            n_listed=self._n_listed,
            n_selected=len(self.items),
            max_images=self.max_images,
            seed=self.seed,
        )


def open_source(
    source: str | os.PathLike[str] | FolderSource | FileListSource,
    *,
    labels: LabelMode = "auto",
    max_images: int | None = None,
    seed: int = 0,
) -> FolderSource | FileListSource:
    """Turn what the user passed (folder, list file, or source object) into a source."""
    if isinstance(source, FolderSource | FileListSource):
        return source
    if isinstance(source, str | os.PathLike):
        path = Path(source)
        if path.is_file() and path.suffix.lower() in (".txt", ".lst", ".csv"):
            return FileListSource(path, max_images=max_images, seed=seed)
        return FolderSource(path, labels=labels, max_images=max_images, seed=seed)
    raise ConfigError(
        "A source must be a folder path, a text file listing image paths, or a FolderSource / "
        f"FileListSource. Got {type(source).__name__} instead."
    )

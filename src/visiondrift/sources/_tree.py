"""A lazy walk over a tree of image files, shared by local folders and fsspec URLs.

A tree source lists one directory at a time and yields each image as soon as its directory has
been listed, in the order of the sorted relative paths (a directory ``d`` sorts as ``d/``), so
the order is the same as sorting the complete listing. Whether the first-level folder names are
labels (``labels="auto"``) is guessed from the root's listing and checked against the whole
tree; when the guess was wrong the iterator raises :class:`ListingChanged` at its end and the next
iteration uses the layout decided from everything.

Imports: the standard library and :mod:`visiondrift.sources._base` only.
"""

from __future__ import annotations

import posixpath
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Literal

from visiondrift.errors import ConfigError
from visiondrift.sources._base import (
    IMAGE_EXTENSIONS,
    Item,
    LabelMode,
    ListingChanged,
    SourceInfo,
    check_max_images,
    looks_like_sequence,
    select,
)

__all__ = ["Entry", "TreeSource"]

Layout = Literal["folder", "imagefolder"]


@dataclass(frozen=True, slots=True)
class Entry:
    """One entry of a directory listing: its name and whether it is a directory."""

    name: str
    is_dir: bool


class _LayoutCheck:
    """The facts about a whole listing that decide the ImageFolder layout (a few counters)."""

    def __init__(self) -> None:
        self.n = 0
        self.depth_one = True
        self.classes: set[str] = set()

    def see(self, rel: str) -> None:
        self.n += 1
        if rel.count("/") != 1:
            self.depth_one = False
        elif self.depth_one:
            self.classes.add(rel.split("/", 1)[0])


def _guess(labels: LabelMode, root: Sequence[Entry]) -> Layout:
    """The layout to use while listing, from the root's entries only."""
    if labels != "auto":
        return "imagefolder" if labels == "imagefolder" else "folder"
    if any(not e.is_dir and _is_image(e.name) for e in root):
        return "folder"  # an image in the root: certain
    folders = [e.name for e in root if e.is_dir]
    if len(folders) < 2 or any(looks_like_sequence(f) for f in folders):
        return "folder"
    return "imagefolder"


def _is_image(name: str) -> bool:
    return posixpath.splitext(name)[1].lower() in IMAGE_EXTENSIONS


class TreeSource(ABC):
    """A source that walks a tree of directories lazily (see the module docstring).

    Subclasses say how to list one directory (:meth:`_list`) and how to make an item of a file
    (:meth:`_item`). Sub-directories that cannot be listed are recorded in :attr:`unreadable`.
    """

    def __init__(self, *, labels: LabelMode, max_images: int | None, seed: int) -> None:
        if labels not in ("auto", "imagefolder", "none"):
            raise ConfigError(
                "The 'labels' option must be one of 'auto', 'imagefolder', 'none'. "
                f"Got {labels!r} instead."
            )
        check_max_images(max_images)
        self.labels: LabelMode = labels
        self.max_images = max_images
        self.seed = seed
        #: Sub-folders that could not be listed: (name ending in '/', why).
        self.unreadable: list[tuple[str, str]] = []
        self.notes: list[str] = []
        self._layout: Layout | None = None  # decided from a complete listing
        self._n_listed: int | None = None
        self._n_selected = 0
        self._items: list[Item] | None = None

    # -- what a subclass provides ----------------------------------------------------------

    @property
    @abstractmethod
    def location(self) -> str:
        """Where the tree is, as recorded (no credentials)."""

    @abstractmethod
    def _list(self, rel_dir: str) -> list[Entry] | None:
        """The entries of ``rel_dir`` ('' is the root); ``None`` when it cannot be listed (the
        subclass then records why in :attr:`unreadable`; the root raises instead)."""

    @abstractmethod
    def _item(self, rel: str, label: str | None) -> Item:
        """The item of the file at ``rel``."""

    def _start(self) -> None:  # noqa: B027 - optional hook
        """Called before each walk (a subclass resets its own per-walk state)."""

    # -- the walk ---------------------------------------------------------------------------

    def _walk(self) -> Iterator[tuple[str, list[Entry]]]:
        """Relative paths of the image files, in sorted order; the root's entries first."""
        root = self._list("")
        assert root is not None
        yield "", root
        stack: list[tuple[str, list[Entry], int]] = [("", root, 0)]
        while stack:
            rel_dir, entries, i = stack.pop()
            if i >= len(entries):
                continue
            stack.append((rel_dir, entries, i + 1))
            entry = entries[i]
            rel = f"{rel_dir}/{entry.name}" if rel_dir else entry.name
            if not entry.is_dir:
                if _is_image(entry.name):
                    yield rel, []
                continue
            listed = self._list(rel)
            if listed is not None:
                stack.append((rel, listed, 0))

    @staticmethod
    def _sorted(entries: list[Entry]) -> list[Entry]:
        """Entries in the order of the sorted relative paths below them (a folder as 'name/')."""
        return sorted(entries, key=lambda e: e.name + "/" if e.is_dir else e.name)

    def _label(self, rel: str, layout: Layout) -> str | None:
        return rel.split("/", 1)[0] if layout == "imagefolder" and "/" in rel else None

    def _decide(self, check: _LayoutCheck) -> Layout:
        """The layout of the complete listing (and a note when dates were not taken as labels)."""
        if self.labels == "imagefolder":
            return "imagefolder"
        if self.labels == "none" or check.n == 0:
            return "folder"
        if check.depth_one and len(check.classes) >= 2:
            classes = sorted(check.classes)
            dated = [c for c in classes if looks_like_sequence(c)]
            if not dated:
                return "imagefolder"
            self.notes.append(
                f"no labels read: sub-folder names such as '{dated[0]}' look like dates, "
                "times or sequence numbers, not classes; use --labels imagefolder if they "
                "are classes"
            )
        return "folder"

    def __iter__(self) -> Iterator[Item]:
        """Yield the items while listing (all first with ``max_images``: sampling needs them)."""
        self.unreadable = []
        self.notes = []
        self._start()
        check = _LayoutCheck()
        walk = self._walk()
        _, root = next(walk)
        if self.max_images is not None:
            rels = [rel for rel, _ in walk]
            for rel in rels:
                check.see(rel)
            layout = self._decide(check)
            chosen = select(
                [self._item(rel, self._label(rel, layout)) for rel in rels],
                self.max_images,
                self.seed,
            )
            self._finish(layout, check.n, len(chosen))
            yield from chosen
            return
        guess = self._layout if self._layout is not None else _guess(self.labels, root)
        for rel, _ in walk:
            check.see(rel)
            yield self._item(rel, self._label(rel, guess))
        layout = self._decide(check)
        self._finish(layout, check.n, check.n)
        if layout != guess:
            raise ListingChanged(
                f"'{self.location}' was listed with layout '{guess}' but is '{layout}'"
            )

    def _finish(self, layout: Layout, n_listed: int, n_selected: int) -> None:
        self._layout = layout
        self._n_listed = n_listed
        self._n_selected = n_selected

    # -- the complete listing ---------------------------------------------------------------

    @property
    def items(self) -> list[Item]:
        """Every item, listed completely, in sorted order (kept after the first call)."""
        if self._items is None:
            try:
                items = list(self)
            except ListingChanged:
                items = list(self)
            self._items = items
        return self._items

    @property
    def info(self) -> SourceInfo:
        """The source's description (lists the whole tree first if no iteration has ended)."""
        if self._layout is None:
            _ = self.items
        assert self._layout is not None
        assert self._n_listed is not None
        return SourceInfo(
            kind=self._layout,
            location=self.location,
            n_listed=self._n_listed,
            n_selected=self._n_selected,
            max_images=self.max_images,
            seed=self.seed,
            notes=tuple(self.notes),
        )

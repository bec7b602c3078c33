"""Local folders read recursively (optionally in the ImageFolder layout) and list files.

:class:`FolderSource` lists one folder at a time and yields each image as soon as its folder has
been read, so decoding starts before a large tree has been listed. :class:`FileListSource` reads
a text file naming images. Sampling (``max_images`` with ``seed``) keeps the ``max_images``
files with the smallest seeded hash of their path, so the sample is the same whatever order the
file system returns and whichever worker reads the files; it needs the complete listing, so a
sampled source lists everything before it yields its first item.

Imports: the standard library, :mod:`visiondrift.errors` and the other modules of
:mod:`visiondrift.sources`.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

from visiondrift.errors import SourceError
from visiondrift.sources._base import Item, LabelMode, SourceInfo, check_max_images, select
from visiondrift.sources._tree import Entry, TreeSource

__all__ = ["FileListSource", "FolderSource"]


class FolderSource(TreeSource):
    """All images under a folder, recursively, in the order of their sorted relative paths.

    Parameters
    ----------
    root
        The folder to read.
    labels
        ``"imagefolder"`` takes the first sub-folder under ``root`` as each image's label (the
        torchvision ImageFolder layout); ``"none"`` records no label; ``"auto"`` uses the
        ImageFolder layout when every image lies exactly one folder below ``root``, there are
        at least two such folders, and no folder name is a date, a time or a plain number
        (:func:`~visiondrift.sources.looks_like_sequence`: folders such as ``2024-04-01/``
        split batches, not classes). :attr:`notes` says what was decided. While listing,
        ``"auto"`` goes by the root's own entries; in the rare tree where the rest of the
        listing says otherwise, iteration ends with
        :class:`~visiondrift.sources.ListingChanged` and the next iteration is right.
    max_images
        Keep at most this many images, chosen reproducibly with ``seed`` (this lists the whole
        tree before the first item is yielded).
    seed
        Seed of the sampling hash.

    Symbolic links to folders are followed, but each real folder is read once: a link back to a
    folder already read (a loop) is skipped and noted. A sub-folder that cannot be listed is
    recorded in :attr:`unreadable` (reason ``unreadable``) and the listing goes on.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> for rel in ("cat/1.png", "dog/2.png"):
    ...     (root / rel).parent.mkdir(exist_ok=True)
    ...     _ = (root / rel).write_bytes(b"")
    >>> [(item.key, item.label) for item in FolderSource(root)]
    [('cat/1.png', 'cat'), ('dog/2.png', 'dog')]
    """

    def __init__(
        self,
        root: str | os.PathLike[str],
        *,
        labels: LabelMode = "auto",
        max_images: int | None = None,
        seed: int = 0,
    ) -> None:
        super().__init__(labels=labels, max_images=max_images, seed=seed)
        self.root = Path(root)
        if not self.root.exists():
            raise SourceError(f"The image folder '{self.root}' does not exist.")
        if not self.root.is_dir():
            raise SourceError(
                f"'{self.root}' is not a folder. Pass a folder of images, a text file listing "
                "image paths (one per line, ending in .txt), or a saved profile (.json)."
            )
        self._seen: set[tuple[int, int]] = set()

    @property
    def location(self) -> str:
        return str(self.root)

    def _start(self) -> None:
        root_stat = os.stat(self.root)
        self._seen = {(root_stat.st_dev, root_stat.st_ino)}

    def _list(self, rel_dir: str) -> list[Entry] | None:
        directory = self.root / rel_dir if rel_dir else self.root
        try:
            with os.scandir(directory) as scan:
                entries = list(scan)
        except OSError as err:
            if not rel_dir:
                raise SourceError(f"Cannot list the folder '{directory}': {err}") from err
            reason = err.strerror or type(err).__name__
            self.unreadable.append((f"{rel_dir}/", f"cannot list the folder: {reason}"))
            return None
        out: list[Entry] = []
        for entry in entries:
            if entry.name.startswith("."):
                continue
            rel = f"{rel_dir}/{entry.name}" if rel_dir else entry.name
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
                if (st.st_dev, st.st_ino) in self._seen:
                    self.notes.append(
                        f"skipped '{rel}/': it leads to a folder already read "
                        "(a symbolic link loop or a second link to the same folder)"
                    )
                    continue
                self._seen.add((st.st_dev, st.st_ino))
            out.append(Entry(entry.name, is_dir))
        return self._sorted(out)

    def _item(self, rel: str, label: str | None) -> Item:
        return Item(key=rel, path=str(self.root / rel), label=label)


class FileListSource:
    """Images named in a text file, one path per line (relative paths are relative to the file).

    A line may carry a label after a tab or a comma (``path<TAB>label``). Blank lines and lines
    starting with ``#`` are skipped. The file is read when the source is made; items come in
    the order of their paths.
    """

    def __init__(
        self,
        list_file: str | os.PathLike[str],
        *,
        max_images: int | None = None,
        seed: int = 0,
    ) -> None:
        self.list_file = Path(list_file)
        check_max_images(max_images)
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
        items: list[Item] = []
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
            items.append(Item(key=line, path=str(full), label=label or None))
        items.sort(key=lambda item: item.path)
        self._n_listed = len(items)
        self.items: list[Item] = select(items, max_images, seed)

    def __iter__(self) -> Iterator[Item]:
        return iter(self.items)

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

"""Images held in memory: what an upload endpoint hands over (a mapping of name -> bytes).

Imports: the standard library and the other modules of :mod:`visiondrift.sources`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass

from visiondrift.errors import ConfigError
from visiondrift.sources._base import Item, SourceInfo, check_max_images, select

__all__ = ["BytesSource"]


@dataclass(frozen=True, slots=True)
class _Bytes:
    """The opener of bytes already in memory (picklable: the bytes travel with the item)."""

    data: bytes

    def __call__(self) -> bytes:
        return self.data


class BytesSource:
    """Images given as bytes, each under a name (the key recorded in reports).

    Parameters
    ----------
    images
        A mapping of name -> bytes, or an iterable of (name, bytes) pairs (read lazily, once).
    labels
        Optional true class of each name.
    max_images
        Keep at most this many images, chosen reproducibly with ``seed`` (reads all first).
    seed
        Seed of the sampling hash.
    location
        What the profile records as the source's location.

    Examples
    --------
    >>> source = BytesSource({"a.png": b"...", "b.png": b"..."}, labels={"a.png": "cat"})
    >>> [(item.key, item.label) for item in source]
    [('a.png', 'cat'), ('b.png', None)]
    >>> source.info.n_listed
    2
    """

    def __init__(
        self,
        images: Mapping[str, bytes] | Iterable[tuple[str, bytes]],
        *,
        labels: Mapping[str, str] | None = None,
        max_images: int | None = None,
        seed: int = 0,
        location: str = "<memory>",
    ) -> None:
        check_max_images(max_images)
        self._images = images
        self._labels = dict(labels or {})
        self.max_images = max_images
        self.seed = seed
        self.location = location
        self.unreadable: list[tuple[str, str]] = []
        self._n_listed = 0
        self._n_selected = 0
        self._consumed = False

    def _pairs(self) -> Iterator[tuple[str, bytes]]:
        pairs = self._images.items() if isinstance(self._images, Mapping) else self._images
        for pair in pairs:
            try:
                name, data = pair
            except (TypeError, ValueError) as err:
                raise ConfigError(
                    "A BytesSource takes a mapping of name -> bytes or (name, bytes) pairs. "
                    f"Got an element of type {type(pair).__name__} instead."
                ) from err
            if not isinstance(name, str) or not isinstance(data, bytes | bytearray | memoryview):
                raise ConfigError(
                    "A BytesSource takes a mapping of name -> bytes. Got "
                    f"{type(name).__name__} -> {type(data).__name__} instead."
                )
            yield name, bytes(data)

    def _make(self, name: str, data: bytes) -> Item:
        return Item(key=name, label=self._labels.get(name), opener=_Bytes(data))

    def __iter__(self) -> Iterator[Item]:
        if self._consumed and not isinstance(self._images, Mapping):
            raise ConfigError(
                "This BytesSource was made from a one-pass iterable that has been read already; "
                "pass a mapping to read it more than once."
            )
        self._consumed = True
        if self.max_images is not None:
            items = [self._make(n, d) for n, d in self._pairs()]
            chosen = select(items, self.max_images, self.seed)
            self._n_listed, self._n_selected = len(items), len(chosen)
            yield from chosen
            return
        n = 0
        for name, data in self._pairs():
            n += 1
            yield self._make(name, data)
        self._n_listed = self._n_selected = n

    @property
    def info(self) -> SourceInfo:
        if not self._consumed:
            for _ in self:
                pass
        return SourceInfo(
            kind="list",
            location=self.location,
            n_listed=self._n_listed,
            n_selected=self._n_selected,
            max_images=self.max_images,
            seed=self.seed,
        )

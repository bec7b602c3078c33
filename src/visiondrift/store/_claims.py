"""The batches ``watch`` took (``vd_claims``): one row per batch, so each is processed once."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from visiondrift.store._store import HistoryStore

__all__ = ["Claims"]


class Claims:
    """The claims of a :class:`~visiondrift.store.HistoryStore`."""

    def __init__(self, store: HistoryStore) -> None:
        self.store = store

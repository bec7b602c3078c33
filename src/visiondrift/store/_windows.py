"""The windows of records posted to the service (vd_windows, vd_records) (placeholder)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from visiondrift.store._store import HistoryStore

__all__ = ["StoredRecord", "Window", "Windows"]


@dataclass(frozen=True)
class Window:
    """One row (placeholder)."""

    dataset: str


@dataclass(frozen=True)
class StoredRecord:
    """One stored record (placeholder: filled in by the windows work)."""

    window_id: str
    seq: int


class Windows:
    """The windows of records posted to the service (vd_windows, vd_records) of a store."""

    def __init__(self, store: HistoryStore) -> None:
        self.store = store

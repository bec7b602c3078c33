"""The baselines uploaded to the service (vd_baselines) (placeholder)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from visiondrift.store._store import HistoryStore

__all__ = ["Baselines", "StoredBaseline"]


@dataclass(frozen=True)
class StoredBaseline:
    """One row (placeholder)."""

    dataset: str


class Baselines:
    """The baselines uploaded to the service (vd_baselines) of a store."""

    def __init__(self, store: HistoryStore) -> None:
        self.store = store

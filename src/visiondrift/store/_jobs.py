"""The batch runs and baselines asked of the service (vd_jobs) (placeholder)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from visiondrift.store._store import HistoryStore

__all__ = ["Job", "Jobs"]


@dataclass(frozen=True)
class Job:
    """One row (placeholder)."""

    dataset: str


class Jobs:
    """The batch runs and baselines asked of the service (vd_jobs) of a store."""

    def __init__(self, store: HistoryStore) -> None:
        self.store = store

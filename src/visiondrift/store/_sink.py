"""The history store as a sink: every finished run recorded, in one transaction."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from visiondrift.app import RunResult
    from visiondrift.store._store import HistoryStore

__all__ = ["HistorySink"]


@dataclass(frozen=True)
class HistorySink:
    """Records each run in ``store``; a store that fails raises, and the monitor records that.

    Parameters
    ----------
    store
        Where runs go.
    keep_profile
        Keep each run's batch profile (for rolling baselines and slow drift).
    """

    store: HistoryStore
    keep_profile: bool = True
    name: str = "history"

    def handle(self, result: RunResult) -> None:
        self.store.record(result, keep_profile=self.keep_profile)

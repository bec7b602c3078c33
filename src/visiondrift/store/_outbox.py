"""The alert outbox (``vd_alerts``) and each (dataset, channel)'s alert state (``vd_alert_state``).

Every alert is written here before it is sent; senders take due alerts with a short claim so
that two processes never send one twice, and record what the receiver answered.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from visiondrift.store._store import HistoryStore

__all__ = ["Outbox"]


class Outbox:
    """The outbox and alert state of a :class:`~visiondrift.store.HistoryStore`."""

    def __init__(self, store: HistoryStore) -> None:
        self.store = store

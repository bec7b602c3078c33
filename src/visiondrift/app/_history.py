"""The history store a front end opens from the ``[store]`` settings."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from visiondrift.settings import StoreSettings
    from visiondrift.store import HistoryStore

__all__ = ["history_from_settings"]


def history_from_settings(
    settings: StoreSettings | None = None, *, required: bool = False
) -> HistoryStore | None:
    """The store the ``[store]`` settings name (default settings: the user data folder's file).

    Returns ``None`` when ``store.enabled`` is false, unless ``required`` (the ``history``
    commands read the store whether or not monitor runs record into it). Opening does not
    connect: the first read or write does.
    """
    from visiondrift.store import HistoryStore

    if settings is None:
        from visiondrift.settings import StoreSettings

        settings = StoreSettings()
    if not settings.enabled and not required:
        return None
    return HistoryStore(settings.url, pg_schema=settings.pg_schema, timeout=settings.timeout)

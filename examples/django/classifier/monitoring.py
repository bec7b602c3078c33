"""The shop's one visiondrift client, made from the settings at first use.

The client holds each prediction and sends them in batches from a background thread, so a
request never waits for the monitor. When the monitor is unreachable, predictions go on: the
client keeps the records and sends them later (up to its ``max_pending``); records it has to
drop, and records the monitor refuses, are logged as warnings (``on_error``), never raised into
a request.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from django.conf import settings

from visiondrift.client import Client
from visiondrift.errors import ServiceError

logger = logging.getLogger("classifier.monitoring")

_client: Client | None = None
_lock = threading.Lock()


def _warn(err: ServiceError) -> None:
    logger.warning("visiondrift: %s", err)


def client() -> Client:
    """The process's client (made at first use, after a fork too: the client handles it)."""
    global _client
    with _lock:
        if _client is None:
            _client = Client(
                settings.VISIONDRIFT_URL,
                settings.VISIONDRIFT_API_KEY,
                on_error=_warn,
                **settings.VISIONDRIFT_CLIENT,
            )
        return _client


def dataset() -> str:
    """The dataset the shop's predictions go to."""
    return str(settings.VISIONDRIFT_DATASET)


def reset() -> None:
    """Close the client (sending what it holds); the next use makes a new one."""
    global _client
    with _lock:
        old, _client = _client, None
    if old is not None:
        try:
            old.close()
        except ServiceError as err:
            _warn(err)


def on_setting_changed(*, setting: str, **kwargs: Any) -> None:
    if setting.startswith("VISIONDRIFT_"):
        reset()

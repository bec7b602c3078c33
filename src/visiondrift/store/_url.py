"""Where the history store is: a path, a SQLite or PostgreSQL URL, or the default file."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from visiondrift._settings_load import mask_url_password
from visiondrift.errors import ConfigError

if TYPE_CHECKING:
    from sqlalchemy.engine import URL

__all__ = ["default_store_path", "shown_url", "store_url"]

#: The default store's file name, in the platform's user data folder.
DEFAULT_FILE_NAME = "history.sqlite"


def default_store_path() -> Path:
    """``history.sqlite`` in the user data folder (``~/.local/share/visiondrift`` on Linux)."""
    import platformdirs

    return platformdirs.user_data_path("visiondrift", appauthor=False) / DEFAULT_FILE_NAME


def store_url(location: str | os.PathLike[str] | None) -> URL:
    """The SQLAlchemy URL of a store location.

    Parameters
    ----------
    location
        A file path (a SQLite file), ``sqlite:///PATH``, ``postgresql://...`` or
        ``postgresql+psycopg://...``; ``None`` is :func:`default_store_path`.

    Examples
    --------
    >>> shown_url(store_url("postgresql://ml:secret@db.example/metrics"))
    'postgresql+psycopg://ml:***@db.example/metrics'
    >>> store_url("runs.sqlite").drivername
    'sqlite'
    """
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    if location is None:
        return make_url(f"sqlite:///{default_store_path()}")
    text = os.fspath(location)
    if not text.strip():
        raise ConfigError(
            "The store location is empty. Give a SQLite file path, sqlite:///PATH or "
            "postgresql+psycopg://USER@HOST/DATABASE."
        )
    if "://" not in text:
        return make_url(f"sqlite:///{Path(text).expanduser().absolute()}")
    try:
        url = make_url(text)
    except (ArgumentError, ValueError) as err:  # ValueError: a port that is not a number
        shown = mask_url_password(text, "***")
        raise ConfigError(
            f"The store URL {shown!r} cannot be read: {err}. Give sqlite:///PATH or "
            "postgresql+psycopg://USER@HOST/DATABASE."
        ) from err
    backend = url.get_backend_name()
    if backend == "postgresql" or url.drivername == "postgres":
        if url.drivername in ("postgresql", "postgres", "postgresql+psycopg2"):
            url = url.set(drivername="postgresql+psycopg")
        if url.drivername != "postgresql+psycopg":
            raise ConfigError(
                f"The store URL {shown_url(url)!r} names the driver {url.drivername!r}; the "
                "history store talks to PostgreSQL through psycopg 3: postgresql+psycopg://..."
            )
        return url
    if backend == "sqlite":
        if url.database in (None, "", ":memory:"):
            raise ConfigError(
                "The store needs a SQLite file, not an in-memory database (runs would be lost "
                "when the process ends). Give sqlite:///PATH."
            )
        return url
    raise ConfigError(
        f"The store URL {shown_url(url)!r} uses {url.drivername!r}; the history store supports "
        "SQLite (a path or sqlite:///PATH) and PostgreSQL (postgresql+psycopg://...)."
    )


def shown_url(url: URL) -> str:
    """The store as it may be printed or logged: a SQLite file's path, or the URL with its
    password masked."""
    if url.get_backend_name() == "sqlite" and url.database:
        return str(url.database)
    return url.render_as_string(hide_password=True)

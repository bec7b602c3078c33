"""Connections to the store: SQLite in WAL mode with a busy timeout, or PostgreSQL (psycopg 3).

Writes take the database's write lock when they begin (``BEGIN IMMEDIATE`` on SQLite), so two
processes recording at once queue behind each other for up to ``timeout`` seconds instead of
failing on a lock upgrade; readers never wait for a writer (WAL).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from visiondrift.errors import ConfigError, StoreError

if TYPE_CHECKING:
    from sqlalchemy.engine import URL, Engine

__all__ = ["WRITE", "make_engine"]

#: Execution option that marks a connection as a writer (``BEGIN IMMEDIATE`` on SQLite).
WRITE = "visiondrift_write"

_SCHEMA_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def _wal(cursor: Any, timeout: float) -> None:
    """Put the file in WAL mode (once; the mode is kept in the file).

    Switching the mode needs the file to itself and SQLite does not wait for that (no busy
    handler), so while another process creates the store this retries until ``timeout``.
    """
    import sqlite3
    import time

    deadline = time.monotonic() + timeout
    while True:
        try:
            if str(cursor.execute("PRAGMA journal_mode").fetchone()[0]).lower() == "wal":
                return
            cursor.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as err:
            if "locked" not in str(err) or time.monotonic() > deadline:
                raise
            time.sleep(0.02)


def make_engine(url: URL, *, timeout: float, pg_schema: str | None = None) -> Engine:
    """An engine for ``url``; ``timeout`` seconds bound lock waits and connection attempts."""
    from sqlalchemy import create_engine, event

    if url.get_backend_name() == "sqlite":
        path = Path(str(url.database))
        engine = create_engine(url, connect_args={"timeout": timeout})

        @event.listens_for(engine, "do_connect")
        def _make_folder(*_args: Any) -> None:
            # On first use, not when the store is opened: a store that cannot be made fails the
            # operation (a monitor's history sink), never the constructor.
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as err:
                raise StoreError(
                    f"Cannot create the folder of the history store '{path}': {err}. Give "
                    "another location with --store or VISIONDRIFT_STORE."
                ) from err

        @event.listens_for(engine, "connect")
        def _connect(dbapi_connection: Any, _record: Any) -> None:
            # The driver's own transaction handling off: SQLAlchemy's BEGIN below decides.
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            cursor.execute(f"PRAGMA busy_timeout = {int(timeout * 1000)}")
            _wal(cursor, timeout)
            cursor.execute("PRAGMA foreign_keys = ON")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _begin(conn: Any) -> None:
            write = conn.get_execution_options().get(WRITE, False)
            conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

        return engine
    try:
        import psycopg  # noqa: F401
    except ImportError as err:
        raise StoreError(
            "A PostgreSQL history store needs the 'postgres' extra: "
            "pip install 'visiondrift[postgres]'"
        ) from err
    options = f"-c lock_timeout={int(timeout * 1000)}"
    if pg_schema is not None:
        if not _SCHEMA_NAME.match(pg_schema):
            raise ConfigError(
                "The store's PostgreSQL schema must be a plain identifier (lower-case letters, "
                f"digits, _; at most 63). Got {pg_schema!r} instead."
            )
        options += f" -c search_path={pg_schema}"
    return create_engine(
        url,
        connect_args={"connect_timeout": max(1, int(timeout)), "options": options},
        pool_pre_ping=True,
    )

"""Schema migrations of the history store (Alembic revisions shipped in ``migrations/``).

A store is brought to the latest revision on first use and by ``visiondrift history migrate``.
The upgrade runs in one transaction under a lock (``BEGIN IMMEDIATE`` on SQLite, an advisory
lock on PostgreSQL), so two processes opening a new store at once migrate it once.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from visiondrift.store._engine import WRITE

if TYPE_CHECKING:
    from alembic.config import Config
    from sqlalchemy.engine import Connection, Engine

__all__ = ["VERSION_TABLE", "current_revision", "head_revision", "make_hypertable", "migrate"]

#: Alembic's version table, named so it never meets an application's own.
VERSION_TABLE = "vd_alembic_version"
#: Key of the PostgreSQL advisory lock held while migrating ("vdmigr" in ASCII).
ADVISORY_LOCK_KEY = 0x7664_6D69_6772


def _config() -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", "visiondrift.store:migrations")
    return config


def head_revision() -> str:
    """The latest revision this release knows."""
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(_config()).get_current_head()
    assert head is not None
    return head


def known_revisions() -> list[str]:
    """Every revision this release knows, oldest first."""
    from alembic.script import ScriptDirectory

    return [
        s.revision for s in reversed(list(ScriptDirectory.from_config(_config()).walk_revisions()))
    ]


def current_revision(conn: Connection) -> str | None:
    """The revision the store is at (``None``: an empty database)."""
    from alembic.runtime.migration import MigrationContext

    context = MigrationContext.configure(conn, opts={"version_table": VERSION_TABLE})
    return context.get_current_revision()


def migrate(engine: Engine, *, pg_schema: str | None = None) -> tuple[str | None, str]:
    """Upgrade the store to the latest revision; returns (revision before, revision after)."""
    from alembic import command
    from sqlalchemy import text

    head = head_revision()
    if engine.dialect.name == "sqlite":
        # A store already at head needs no write lock: a reader (or a writer queueing behind
        # another process) must not wait for, or fail on, a lock it does not need.
        with engine.connect() as conn:
            before = current_revision(conn)
        if before == head:
            return before, head
    with engine.connect().execution_options(**{WRITE: True}) as conn:
        with conn.begin():
            if conn.dialect.name == "postgresql":
                conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": ADVISORY_LOCK_KEY})
                if pg_schema is not None:
                    conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{pg_schema}"'))
            before = current_revision(conn)
            if before is not None and before not in known_revisions():
                from visiondrift.errors import StoreError

                raise StoreError(
                    f"The history store is at schema revision {before!r}, written by a newer "
                    f"release of visiondrift; this release knows revisions up to {head!r}. "
                    "Upgrade visiondrift (pip install -U visiondrift) to use this store."
                )
            if before != head:
                config = _config()
                config.attributes["connection"] = conn
                command.upgrade(config, "head")
            elif conn.dialect.name == "postgresql":
                make_hypertable(conn)  # TimescaleDB installed after the store was made
        return before, head


def make_hypertable(conn: Connection) -> bool:
    """Make ``vd_metrics`` a TimescaleDB hypertable when the extension is installed.

    Returns whether the table is (now) a hypertable. Plain PostgreSQL: nothing to do.
    """
    from sqlalchemy import text

    has_timescale = conn.execute(
        text("SELECT 1 FROM pg_extension WHERE extname = 'timescaledb'")
    ).first()
    if has_timescale is None:
        return False
    conn.execute(
        text(
            "SELECT create_hypertable('vd_metrics', 'ran_at', if_not_exists => TRUE, "
            "migrate_data => TRUE)"
        )
    )
    return True

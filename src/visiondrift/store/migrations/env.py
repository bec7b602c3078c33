"""Alembic environment of the history store: runs on the connection the store hands over.

The store (``visiondrift.store._migrate``) opens one transaction, takes the migration lock
(``BEGIN IMMEDIATE`` on SQLite, an advisory lock on PostgreSQL) and passes the connection in
``config.attributes["connection"]``; every revision runs inside that one transaction.
"""

from __future__ import annotations

from alembic import context

from visiondrift.store._migrate import VERSION_TABLE

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    version_table=VERSION_TABLE,
    render_as_batch=connection.dialect.name == "sqlite",
    transactional_ddl=True,
)
with context.begin_transaction():
    context.run_migrations()

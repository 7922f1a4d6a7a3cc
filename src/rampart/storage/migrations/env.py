"""Alembic environment: runs Rampart's migrations on a connection.

``Database.migrate`` passes an open connection (already holding the migration
lock, inside a transaction) through ``config.attributes["connection"]``; the
migrations then run inside that transaction. Run from the ``alembic`` command
line (``alembic -c src/rampart/storage/migrations/alembic.ini revision
--autogenerate -m ...``) the URL comes from ``RAMPART_DATABASE_URL`` or the
ini's ``sqlalchemy.url``.
"""

from __future__ import annotations

import os

from alembic import context
from sqlalchemy import Connection

from rampart.storage.db import VERSION_TABLE, Database
from rampart.storage.schema import metadata


def _configure_and_run(connection: Connection) -> None:
    """Run pending revisions on ``connection``."""
    context.configure(
        connection=connection,
        target_metadata=metadata,
        version_table=VERSION_TABLE,
        # SQLite can't ALTER most things; batch mode recreates tables instead.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def _run_standalone() -> None:
    """Alembic command-line use: open our own Database for the URL."""
    url = os.environ.get("RAMPART_DATABASE_URL") or context.config.get_main_option(
        "sqlalchemy.url"
    )
    if not url:
        raise SystemExit("set RAMPART_DATABASE_URL or sqlalchemy.url")
    database = Database(url)
    try:
        with database.engine.begin() as connection:
            _configure_and_run(connection)
    finally:
        database.dispose()


def _main() -> None:
    if context.is_offline_mode():
        raise SystemExit("Rampart migrations run online only")
    connection = context.config.attributes.get("connection")
    if connection is None:
        _run_standalone()
    else:
        _configure_and_run(connection)


_main()

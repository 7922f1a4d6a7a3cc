"""The database: one engine per process, migrations, one transaction per call.

SQLite (embedded default, WAL mode, in the data dir) and PostgreSQL (through
psycopg 3) run the same schema. Everything that touches the database goes
through ``Database`` so that both behave alike: the same transaction
boundaries, the same locking for migrations, timezone-aware timestamps.
"""

from __future__ import annotations

import hashlib
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.orm import Session
from sqlalchemy.pool import StaticPool

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
VERSION_TABLE = "rampart_schema_version"
SQLITE_BUSY_TIMEOUT_S = 30.0
_BEGIN_OPTION = "rampart_sqlite_begin"
_POSTGRES_DRIVERS = {"postgres", "postgresql", "postgresql+psycopg"}


def normalize_url(url: str | URL) -> URL:
    """The URL with PostgreSQL pointed at psycopg 3, the one driver we ship.

    ``postgresql://`` and ``postgres://`` are what people paste from their
    hosting provider; SQLAlchemy would pick psycopg2 for them, which is not
    installed.
    """
    parsed = make_url(url)
    if parsed.drivername in _POSTGRES_DRIVERS:
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


def lock_key(name: str) -> int:
    """A stable signed 64-bit key for PostgreSQL advisory locks named ``name``."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)


def _is_memory_sqlite(url: URL) -> bool:
    return url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:")


def _sqlite_on_connect(dbapi_connection: Any, _record: Any) -> None:
    """Per-connection SQLite setup: our own BEGINs, WAL, foreign keys."""
    # Let SQLAlchemy's "begin" event emit BEGIN; pysqlite's own is unreliable.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(f"PRAGMA busy_timeout = {int(SQLITE_BUSY_TIMEOUT_S * 1000)}")
        cursor.execute("PRAGMA foreign_keys = ON")
        _enter_wal(cursor)
        cursor.execute("PRAGMA synchronous = FULL")
    finally:
        cursor.close()


def _enter_wal(cursor: Any) -> None:
    """Switch the database file to WAL, waiting out other processes doing the same.

    SQLite answers "database is locked" at once, without its busy handler,
    when another connection is switching the file or recovering its WAL at
    that moment (several processes opening a new data dir together), so the
    switch is retried until the busy timeout. WAL is a property of the file:
    once another process has switched it there is nothing left to do.
    """
    deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_S
    delay = 0.005
    while True:
        try:
            if cursor.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                cursor.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() >= deadline:
                raise
            time.sleep(delay)
            delay = min(delay * 2, 0.25)


def _sqlite_on_begin(connection: Connection) -> None:
    """BEGIN IMMEDIATE for writers, so lock upgrades never fail with SQLITE_BUSY."""
    mode = connection.get_execution_options().get(_BEGIN_OPTION, "DEFERRED")
    if mode != "NONE":  # NONE: single-statement reads run in SQLite's autocommit
        connection.exec_driver_sql(f"BEGIN {mode}")


def _build_engine(url: URL, echo: bool) -> Engine:
    if url.get_backend_name() != "sqlite":
        return create_engine(url, echo=echo, pool_pre_ping=True)
    kwargs: dict[str, Any] = {"connect_args": {"timeout": SQLITE_BUSY_TIMEOUT_S}}
    if _is_memory_sqlite(url):
        kwargs = {"connect_args": {"check_same_thread": False}, "poolclass": StaticPool}
    engine = create_engine(url, echo=echo, **kwargs)
    event.listen(engine, "connect", _sqlite_on_connect)
    event.listen(engine, "begin", _sqlite_on_begin)
    return engine


class Database:
    """One database: its engine, its migrations, its transactions.

    Create one per process (the engine holds the connection pool) and share it.
    """

    def __init__(self, url: str | URL, *, echo: bool = False) -> None:
        self.url = normalize_url(url)
        self._engine = _build_engine(self.url, echo)
        self._writer = self._engine.execution_options(**{_BEGIN_OPTION: "IMMEDIATE"})
        self._single = self._engine.execution_options(**{_BEGIN_OPTION: "NONE"})

    @property
    def engine(self) -> Engine:
        """The SQLAlchemy engine (connection pool) for this database."""
        return self._engine

    @property
    def in_memory(self) -> bool:
        """An in-memory SQLite database: it lives in this process only."""
        return _is_memory_sqlite(self.url)

    @property
    def dialect_name(self) -> str:
        """``sqlite`` or ``postgresql``: for the few places that must differ."""
        return self._engine.dialect.name

    def migrate(self, revision: str = "head") -> None:
        """Bring the schema up to ``revision``; safe when processes race.

        All migrations run in one transaction that first takes a database-wide
        lock (SQLite's write lock via BEGIN IMMEDIATE, a PostgreSQL advisory
        lock), so a second process waits and then finds nothing left to do.
        """
        self._run_alembic(command.upgrade, revision)

    def downgrade(self, revision: str) -> None:
        """Step the schema back to ``revision`` (``base`` drops everything)."""
        self._run_alembic(command.downgrade, revision)

    def _run_alembic(self, action: Callable[[Config, str], None], revision: str) -> None:
        with self._writer.connect() as connection, connection.begin():
            self.lock(connection, "rampart.migrate")
            config = _alembic_config()
            config.attributes["connection"] = connection
            action(config, revision)

    def current_revision(self) -> str | None:
        """The schema revision the database is at (None before the first migrate)."""
        with self._engine.connect() as connection:
            context = MigrationContext.configure(
                connection, opts={"version_table": VERSION_TABLE}
            )
            return context.get_current_revision()

    @staticmethod
    def head_revision() -> str | None:
        """The newest revision this code knows about."""
        return ScriptDirectory.from_config(_alembic_config()).get_current_head()

    @contextmanager
    def session(self) -> Iterator[Session]:
        """One transaction: commits when the block ends, rolls back on error.

        On SQLite the transaction starts with BEGIN IMMEDIATE (takes the write
        lock up front, waiting up to the busy timeout) so that read-then-write
        code never fails half-way on a lock upgrade.
        """
        with Session(self._writer, expire_on_commit=False) as session, session.begin():
            yield session

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A read-only snapshot for hot paths: no write lock, no ORM session."""
        with self._engine.connect() as connection, connection.begin():
            yield connection

    @contextmanager
    def read_one(self) -> Iterator[Connection]:
        """For one read statement on the hot path: no BEGIN/COMMIT round trips.

        A single statement is atomic on its own; use ``read`` when several
        statements must see the same snapshot.
        """
        with self._single.connect() as connection:
            yield connection

    def lock(self, connection: Connection | Session, name: str) -> None:
        """Serialize a critical section across processes until the transaction ends.

        PostgreSQL: a transaction-scoped advisory lock. SQLite: nothing to do,
        writers already hold the database's single write lock.
        """
        if self.dialect_name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": lock_key(name)})

    def dispose(self) -> None:
        """Close all pooled connections (at shutdown, and after fork)."""
        self._engine.dispose()


def _alembic_config() -> Config:
    """Alembic's configuration, built in code: servers read no ini file."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config

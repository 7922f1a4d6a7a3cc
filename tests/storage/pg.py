"""Database fixtures: SQLite in tmp_path, and PostgreSQL in a throwaway schema.

PostgreSQL tests run only when ``RAMPART_TEST_POSTGRES_URL`` is set; each test
gets a fresh schema (via ``search_path``) that is dropped afterwards, so runs
never see each other's tables.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from rampart.storage.db import Database, normalize_url

POSTGRES_ENV = "RAMPART_TEST_POSTGRES_URL"


def postgres_base_url() -> str | None:
    """The server the PostgreSQL tests use, if any."""
    return os.environ.get(POSTGRES_ENV) or None


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A URL whose connections live in a new, empty schema."""
    base = postgres_base_url()
    if base is None:
        pytest.skip(f"{POSTGRES_ENV} is not set")
    schema = f"rampart_test_{uuid.uuid4().hex[:12]}"
    admin = Database(base)
    with admin.engine.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = normalize_url(base).update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.engine.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def sqlite_url_in(directory: Path) -> str:
    """A file database in ``directory`` (the embedded default's layout)."""
    return f"sqlite:///{directory / 'rampart.db'}"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def any_db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Each test that takes it runs on SQLite and (when available) PostgreSQL."""
    if request.param == "sqlite":
        return sqlite_url_in(tmp_path)
    return request.getfixturevalue("postgres_url")


@pytest.fixture
def any_db(any_db_url: str) -> Iterator[Database]:
    """A migrated database on each backend."""
    db = Database(any_db_url)
    db.migrate()
    yield db
    db.dispose()

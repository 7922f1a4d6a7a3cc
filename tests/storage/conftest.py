"""Database fixtures for the storage tests."""

from tests.storage.pg import any_db, any_db_url, postgres_url  # noqa: F401 - fixtures

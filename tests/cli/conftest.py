"""Database fixtures for the CLI tests."""

from tests.storage.pg import postgres_url  # noqa: F401 - fixture

"""Fixtures of the KMS service tests (the session's server comes from tests/conftest.py)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Server


@pytest.fixture
def kms(server: Server) -> Any:
    """A root KMS client on the session's server."""
    return server.client("kms")


@pytest.fixture(scope="module")
def other_root(server: Server) -> tuple[str, dict[str, str]]:
    """A second account on the same server and its root credentials."""
    return server.new_account("kms-tenant")

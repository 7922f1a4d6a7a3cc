"""Fixtures of the IAM service tests."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Server


@pytest.fixture
def iam(server: Server) -> Any:
    """A root IAM client on the session's server."""
    return server.client("iam")

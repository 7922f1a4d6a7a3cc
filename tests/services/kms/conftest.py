"""Fixtures of the KMS service tests (the session's server comes from tests/conftest.py)."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest

from tests.conftest import Server
from tests.services.iam.helpers import unique


@pytest.fixture
def kms(server: Server) -> Any:
    """A root KMS client on the session's server."""
    return server.client("kms")


@pytest.fixture(scope="module")
def other_root(server: Server) -> tuple[str, dict[str, str]]:
    """A second account on the same server and its root credentials."""
    made = subprocess.run(
        [sys.executable, "-m", "rampart", "account", "create", "--name", unique("kms-tenant"), "--json",
         "--data-dir", str(server.data_dir)],
        capture_output=True, text=True, check=True, env=server.env,
    )
    found = json.loads(made.stdout)
    return found["AccountId"], {"aws_access_key_id": found["AccessKeyId"],
                                "aws_secret_access_key": found["SecretAccessKey"]}

"""Concurrent writers on one key, on a PostgreSQL-backed server (SQLite's writers are serialized anyway).

Without a row lock, two TagResource calls read the same tags and the later write drops the earlier
one's tag, and two RotateKeyOnDemand calls both insert the same material version (a 500).
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Server, start_server
from tests.storage.pg import postgres_url  # noqa: F401 - fixture

pytestmark = pytest.mark.postgres


@pytest.fixture
def pg_server(postgres_url: str, tmp_path: Path) -> Iterator[Server]:  # noqa: F811
    """A server of its own whose database is PostgreSQL."""
    running = start_server(tmp_path / "data", {"RAMPART_DATABASE_URL": postgres_url}, ["--workers", "3"])
    yield running
    running.stop()


def _all(calls: list[Any]) -> list[Any]:
    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(lambda call: call(), calls))


def test_concurrent_tagging_and_rotation_lose_nothing(pg_server: Server) -> None:
    kms = pg_server.client("kms")
    key = kms.create_key()["KeyMetadata"]["KeyId"]
    clients = [pg_server.client("kms") for _ in range(12)]
    _all([lambda i=i: clients[i].tag_resource(KeyId=key, Tags=[{"TagKey": f"t{i}", "TagValue": "v"}])
          for i in range(12)])
    tags = {t["TagKey"] for t in kms.list_resource_tags(KeyId=key)["Tags"]}
    assert tags == {f"t{i}" for i in range(12)}
    _all([lambda i=i: clients[i].rotate_key_on_demand(KeyId=key) for i in range(8)])
    assert len(kms.list_key_rotations(KeyId=key)["Rotations"]) == 8

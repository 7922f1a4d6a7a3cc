"""With several worker processes, a change made through one is honoured by all at once (not after a cache TTL)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from rampart.storage.generations import CHECK_INTERVAL_SECONDS
from tests.conftest import Server, start_server
from tests.services.iam.helpers import allow, unique

# Well inside the caches' 2 s TTL: only the generation watch can make the other worker notice this soon.
SETTLE = 3 * CHECK_INTERVAL_SECONDS
CALLS = 24  # spread over both workers


@pytest.fixture(scope="module")
def two_workers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    running = start_server(Path(tmp_path_factory.mktemp("rampart-workers")), args=["--workers", "2"])
    yield running
    running.stop()


def outcomes(call: object) -> set[str]:
    """The error codes (or "ok") of repeated calls, which land on both workers."""
    seen = set()
    for _ in range(CALLS):
        try:
            call()  # type: ignore[operator]
            seen.add("ok")
        except ClientError as error:
            seen.add(error.response["Error"]["Code"])
    return seen


def test_deactivated_key_stops_on_every_worker(two_workers: Server) -> None:
    iam = two_workers.client("iam")
    name = unique("w")
    iam.create_user(UserName=name)
    key = iam.create_access_key(UserName=name)["AccessKey"]
    sts = two_workers.client("sts", aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"])
    assert outcomes(sts.get_caller_identity) == {"ok"}  # both workers have the key cached now
    iam.update_access_key(UserName=name, AccessKeyId=key["AccessKeyId"], Status="Inactive")
    time.sleep(SETTLE)
    assert outcomes(sts.get_caller_identity) == {"InvalidClientTokenId"}


def test_policy_change_applies_on_every_worker(two_workers: Server) -> None:
    iam = two_workers.client("iam")
    name = unique("w")
    iam.create_user(UserName=name)
    iam.put_user_policy(UserName=name, PolicyName="p", PolicyDocument=json.dumps(allow("iam:ListGroups")))
    key = iam.create_access_key(UserName=name)["AccessKey"]
    as_user = two_workers.client("iam", aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"])
    assert outcomes(as_user.list_groups) == {"ok"}
    iam.delete_user_policy(UserName=name, PolicyName="p")
    time.sleep(SETTLE)
    assert outcomes(as_user.list_groups) == {"AccessDenied"}

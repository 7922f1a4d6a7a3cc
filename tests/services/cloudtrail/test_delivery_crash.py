"""A server killed in the middle of delivery loses nothing and duplicates nothing once restarted.

The test-mode hooks RAMPART_TEST_CRASH_AFTER_TAKE / RAMPART_TEST_CRASH_AFTER_PUT make the process
``os._exit`` (as abrupt as SIGKILL: no shutdown, no flush) right after the take commit, or right
after the first PUT reached S3 but before the file was marked delivered.
"""

from __future__ import annotations

import secrets
from pathlib import Path

import httpx
import pytest

from rampart.jobs import LEASE
from tests.conftest import Server, start_server
from tests.services.cloudtrail.delivery_support import (
    DELIVERY_SECONDS,
    all_records,
    deliver,
    event_ids,
    make_bucket,
)


def _crash_round(server: Server) -> None:
    """Advance to the next round and run it: the hook kills the server during it."""
    server.admin("POST", "clock/advance", json={"seconds": DELIVERY_SECONDS + 1})
    try:
        server.admin("POST", "jobs/run")
    except httpx.TransportError:
        pass  # the server died while answering
    assert server.process.wait(timeout=30) != 0


@pytest.mark.parametrize("hook", ["RAMPART_TEST_CRASH_AFTER_TAKE", "RAMPART_TEST_CRASH_AFTER_PUT"])
def test_killed_mid_delivery_then_restarted_delivers_every_event_exactly_once(tmp_path: Path, hook: str) -> None:
    data_dir = tmp_path / "data"
    server = start_server(data_dir, extra_env={hook: "1"})
    try:
        s3, ct, iam = server.client("s3"), server.client("cloudtrail"), server.client("iam")
        bucket = make_bucket(s3, server.account_id)
        arn = ct.create_trail(Name="crashy", S3BucketName=bucket)["TrailARN"]
        ct.start_logging(Name=arn)
        users = [f"u-{secrets.token_hex(3)}-{n}" for n in range(5)]
        for name in users:
            iam.create_user(UserName=name)
        _crash_round(server)
    finally:
        if server.process.poll() is None:
            server.process.kill()
            server.process.wait()
    restarted = start_server(data_dir, extra_env={hook: "0"})
    try:
        # The killed round's lease must run out first (the clock's offset did not survive the restart).
        restarted.admin("POST", "clock/advance", json={"seconds": LEASE.total_seconds() + DELIVERY_SECONDS + 5})
        deliver(restarted)
        deliver(restarted)  # a second round finds nothing left to send again
        records = all_records(restarted.client("s3"), bucket)
        ids = event_ids(records)
        assert len(ids) == len(set(ids))
        created = sorted((r.get("requestParameters") or {}).get("userName") for r in records
                         if r["eventName"] == "CreateUser")
        assert created == sorted(users)
        status = restarted.client("cloudtrail").get_trail_status(Name=arn)
        assert status.get("LatestDeliveryTime") and not status.get("LatestDeliveryError")
    finally:
        restarted.stop()

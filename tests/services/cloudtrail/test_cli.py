"""The real AWS CLI (v1) against the server through AWS_ENDPOINT_URL: lookup-events, describe-trails,
get-trail-status, as a user would type them."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from typing import Any

from tests.conftest import Server
from tests.services.cloudtrail.support import trail_bucket
from tests.services.sts.core_helpers import allow, user_keys


def aws(server: Server, creds: dict[str, str], *args: str) -> Any:
    """Run ``aws <args>`` with only these credentials and the endpoint in the environment; its JSON output."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update({"AWS_ENDPOINT_URL": server.endpoint, "AWS_ACCESS_KEY_ID": creds["aws_access_key_id"],
                "AWS_SECRET_ACCESS_KEY": creds["aws_secret_access_key"], "AWS_DEFAULT_REGION": "us-east-1",
                "AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull})
    done = subprocess.run([sys.executable, "-m", "awscli", *args, "--output", "json"], capture_output=True,
                          text=True, env=env, check=False, timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout) if done.stdout.strip() else None


def test_lookup_events_by_username(server: Server) -> None:
    _, root = server.new_account("ct-cli")
    user, keys = user_keys(server, allow("*"), root_keys=(root["aws_access_key_id"], root["aws_secret_access_key"]))
    iam = server.client("iam", **keys)
    iam.get_user()
    iam.list_roles()
    server.client("iam", **root).list_users()  # root's call: not the user's

    found = aws(server, root, "cloudtrail", "lookup-events",
                "--lookup-attributes", f"AttributeKey=Username,AttributeValue={user}")["Events"]
    assert {e["EventName"] for e in found} == {"GetUser", "ListRoles"}
    assert {e["Username"] for e in found} == {user}
    assert all(json.loads(e["CloudTrailEvent"])["userIdentity"]["userName"] == user for e in found)
    assert aws(server, root, "cloudtrail", "lookup-events", "--lookup-attributes",
               "AttributeKey=Username,AttributeValue=nobody-here")["Events"] == []


def test_describe_trails_and_trail_status(server: Server) -> None:
    account, root = server.new_account("ct-cli")
    bucket = trail_bucket(server.client("s3", **root), account, f"ct-cli-{secrets.token_hex(5)}")
    arn = server.client("cloudtrail", **root).create_trail(Name="cli", S3BucketName=bucket)["TrailARN"]

    trails = aws(server, root, "cloudtrail", "describe-trails")["trailList"]
    assert [(t["Name"], t["TrailARN"], t["S3BucketName"], t["HomeRegion"]) for t in trails] == \
        [("cli", arn, bucket, "us-east-1")]
    assert aws(server, root, "cloudtrail", "get-trail-status", "--name", "cli")["IsLogging"] is False
    aws(server, root, "cloudtrail", "start-logging", "--name", arn)
    status = aws(server, root, "cloudtrail", "get-trail-status", "--name", arn)
    assert status["IsLogging"] is True and status["TimeLoggingStarted"].endswith("Z")
    assert "StartLoggingTime" in status

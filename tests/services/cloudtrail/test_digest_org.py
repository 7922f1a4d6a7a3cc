"""Organization trail digests against the arbiter: ``aws cloudtrail validate-logs --account-id <member>``.

AWS writes an organization trail's digests per member account under
``AWSLogs/<org-id>/<member>/CloudTrail-Digest/<region>/`` with the member in
the file name and in awsAccountId; the CLI finds them from the trail (it asks
Organizations for the id) and needs ``--account-id`` to pick the member.
The management account, which owns the bucket, runs both validators.
"""

from __future__ import annotations

import datetime as dt
import gzip
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Server, start_server
from tests.services.cloudtrail.delivery_support import (
    DIGEST_ENV,
    DIGEST_ROUND_SECONDS,
    make_bucket,
    run_round,
    trail_organization,
)

HOME, OTHER_REGION = "us-east-1", "eu-west-1"
REGIONS = pytest.mark.parametrize("region", [HOME, OTHER_REGION])


@dataclass
class OrgChain:
    """The organization trail under test and who is who."""

    server: Server
    management: str
    creds: dict[str, str]
    member: str
    org_id: str
    arn: str
    bucket: str
    start: str
    s3: Any

    def keys(self, account: str, folder: str, region: str) -> list[str]:
        prefix = f"AWSLogs/{self.org_id}/{account}/{folder}/{region}/"
        pages = self.s3.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix)
        return sorted(item["Key"] for page in pages for item in page.get("Contents", []))



@pytest.fixture(scope="module")
def org_chain(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OrgChain]:
    server = start_server(Path(tmp_path_factory.mktemp("org-digests")), extra_env=DIGEST_ENV)
    try:
        start = (dt.datetime.now(dt.UTC) - dt.timedelta(minutes=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
        organization = trail_organization(server, "org-digest")
        management, creds = organization.management, organization.management_creds
        member, member_creds, org_id = organization.member, organization.member_creds, organization.org_id
        s3 = server.client("s3", **creds)
        bucket = make_bucket(s3, management, org_id=org_id)
        ct = server.client("cloudtrail", **creds)
        arn = ct.create_trail(Name="org-audit", S3BucketName=bucket, IsOrganizationTrail=True,
                              IsMultiRegionTrail=True, EnableLogFileValidation=True)["TrailARN"]
        ct.start_logging(Name=arn)
        member_iam = server.client("iam", **member_creds)
        member_kms = server.client("kms", region_name=OTHER_REGION, **member_creds)
        for round_number in range(3):
            for _ in range(round_number + 1):
                member_iam.list_users()
                member_kms.list_keys()
            run_round(server, DIGEST_ROUND_SECONDS)
        run_round(server, DIGEST_ROUND_SECONDS)  # a round whose window holds at most the previous round's own PUTs
        yield OrgChain(server, management, creds, member, org_id, arn, bucket, start, s3)
    finally:
        server.stop()


def aws_validate(chain: OrgChain, account_id: str | None, region: str = HOME) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update({"AWS_ENDPOINT_URL": chain.server.endpoint, "AWS_ACCESS_KEY_ID": chain.creds["aws_access_key_id"],
                "AWS_SECRET_ACCESS_KEY": chain.creds["aws_secret_access_key"], "AWS_DEFAULT_REGION": region,
                "AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull})
    # --region, not only AWS_DEFAULT_REGION: without it the CLI lists the home region's digests.
    extra = ["--region", region, *(["--account-id", account_id] if account_id else [])]
    return subprocess.run([sys.executable, "-m", "awscli", "cloudtrail", "validate-logs", "--trail-arn", chain.arn,
                           "--start-time", chain.start, "--verbose", *extra],
                          check=False, capture_output=True, text=True, env=env, timeout=120)


def rampart_validate(chain: OrgChain, account_id: str | None, region: str = HOME) -> subprocess.CompletedProcess[str]:
    extra = ["--region", region, *(["--account-id", account_id] if account_id else [])]
    return subprocess.run([sys.executable, "-m", "rampart", "trail", "validate", "--trail-arn", chain.arn,
                           "--start-time", chain.start, "--verbose", "--data-dir", str(chain.server.data_dir),
                           *extra],
                          check=False, capture_output=True, text=True, env=chain.server.env, timeout=120)


def _document(chain: OrgChain, key: str) -> dict[str, Any]:
    body = chain.s3.get_object(Bucket=chain.bucket, Key=key)["Body"].read()
    return dict(json.loads(gzip.decompress(body)))


@REGIONS
def test_member_digests_sit_under_the_org_path_and_name_the_member(org_chain: OrgChain, region: str) -> None:
    keys = org_chain.keys(org_chain.member, "CloudTrail-Digest", region)
    assert keys
    for key in keys:
        name = key.rsplit("/", 1)[1]
        assert name.startswith(f"{org_chain.member}_CloudTrail-Digest_{region}_org-audit_{HOME}_")
        document = _document(org_chain, key)
        assert (document["awsAccountId"], document["digestS3Object"]) == (org_chain.member, key)
        for entry in document["logFiles"]:
            assert entry["s3Object"].startswith(f"AWSLogs/{org_chain.org_id}/{org_chain.member}/CloudTrail/{region}/")


@REGIONS
@pytest.mark.parametrize("runner", [aws_validate, rampart_validate], ids=["aws-cli", "rampart"])
def test_the_member_chain_is_all_valid(org_chain: OrgChain, runner: Any, region: str) -> None:
    done = runner(org_chain, org_chain.member, region)
    assert done.returncode == 0, done.stdout + done.stderr
    digest_keys = org_chain.keys(org_chain.member, "CloudTrail-Digest", region)
    logs = [entry["s3Object"] for key in digest_keys for entry in _document(org_chain, key)["logFiles"]]
    assert logs, "the member's calls were digested"
    assert f"{len(digest_keys)}/{len(digest_keys)} digest files valid" in done.stdout, done.stdout
    assert f"{len(logs)}/{len(logs)} log files valid" in done.stdout, done.stdout


def test_the_cli_wants_the_member_account_for_an_organization_trail(org_chain: OrgChain) -> None:
    done = aws_validate(org_chain, None)
    assert done.returncode != 0
    assert "--account-id" in done.stderr, done.stderr


@REGIONS
def test_a_tampered_member_log_file_is_reported(org_chain: OrgChain, region: str) -> None:
    digest_keys = org_chain.keys(org_chain.member, "CloudTrail-Digest", region)
    changed = next(entry["s3Object"] for key in digest_keys for entry in _document(org_chain, key)["logFiles"])
    original = org_chain.s3.get_object(Bucket=org_chain.bucket, Key=changed)["Body"].read()
    org_chain.s3.put_object(Bucket=org_chain.bucket, Key=changed, Body=gzip.compress(b'{"Records":[]}'))
    try:
        for runner in (aws_validate, rampart_validate):
            done = runner(org_chain, org_chain.member, region)
            assert done.returncode != 0, done.stdout
            invalid = [line for line in done.stderr.splitlines() if "\tINVALID" in line]
            expected = f"Log file\ts3://{org_chain.bucket}/{changed}\tINVALID: hash value doesn't match"
            assert invalid == [expected], (runner.__name__, done.stdout, done.stderr)
    finally:
        org_chain.s3.put_object(Bucket=org_chain.bucket, Key=changed, Body=original)

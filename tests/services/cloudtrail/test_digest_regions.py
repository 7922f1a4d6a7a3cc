"""Multi-region trails keep a digest chain in every served region (RAMPART_REGIONS), log files or not.

``aws cloudtrail validate-logs --region R`` lists only R's digests; a region
the trail covers but where nothing happened must still show a signed, linked
chain from the time logging started, so that an emptied region reads as
tampering, not as quiet. A single-region trail keeps its home region only.
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

from rampart.config import Settings
from rampart.services.cloudtrail import digests
from tests.conftest import Server, start_server
from tests.services.cloudtrail.delivery_support import (
    DIGEST_ENV,
    DIGEST_ROUND_SECONDS,
    make_bucket,
    run_round,
)

ROUNDS = 3
HOME, QUIET, ALSO_QUIET = "us-east-1", "eu-west-1", "ap-southeast-2"


@dataclass
class Regions:
    """A multi-region and a single-region trail of one account, only ever called in the home region."""

    server: Server
    account_id: str
    creds: dict[str, str]
    multi: str
    single: str
    bucket: str
    start: str
    s3: Any

    def digest_keys(self, trail: str, region: str) -> list[str]:
        prefix = f"AWSLogs/{self.account_id}/CloudTrail-Digest/{region}/"
        pages = self.s3.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix)
        return sorted(item["Key"] for page in pages for item in page.get("Contents", [])
                      if f"_{trail}_{HOME}_" in item["Key"])

    def document(self, key: str) -> dict[str, Any]:
        return dict(json.loads(gzip.decompress(self.s3.get_object(Bucket=self.bucket, Key=key)["Body"].read())))



@pytest.fixture(scope="module")
def regions(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Regions]:
    server = start_server(Path(tmp_path_factory.mktemp("digest-regions")), extra_env={
        **DIGEST_ENV, "RAMPART_REGIONS": f"{HOME}, {QUIET},{ALSO_QUIET}"})
    try:
        start = (dt.datetime.now(dt.UTC) - dt.timedelta(minutes=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
        account_id, creds = server.new_account("digest-regions")
        s3, ct = server.client("s3", **creds), server.client("cloudtrail", **creds)
        bucket = make_bucket(s3, account_id)
        multi = ct.create_trail(Name="everywhere", S3BucketName=bucket, IsMultiRegionTrail=True,
                                EnableLogFileValidation=True)["TrailARN"]
        single = ct.create_trail(Name="homebody", S3BucketName=bucket, EnableLogFileValidation=True)["TrailARN"]
        ct.start_logging(Name=multi)
        ct.start_logging(Name=single)
        for _ in range(ROUNDS):
            s3.list_buckets()
            run_round(server, DIGEST_ROUND_SECONDS)
        yield Regions(server, account_id, creds, multi, single, bucket, start, s3)
    finally:
        server.stop()


def aws_validate(chain: Regions, region: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update({"AWS_ENDPOINT_URL": chain.server.endpoint, "AWS_ACCESS_KEY_ID": chain.creds["aws_access_key_id"],
                "AWS_SECRET_ACCESS_KEY": chain.creds["aws_secret_access_key"], "AWS_DEFAULT_REGION": region,
                "AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull})
    return subprocess.run([sys.executable, "-m", "awscli", "cloudtrail", "validate-logs", "--trail-arn", chain.multi,
                           "--start-time", chain.start, "--verbose", "--region", region],
                          check=False, capture_output=True, text=True, env=env, timeout=120)


@pytest.mark.parametrize("region", [QUIET, ALSO_QUIET])
def test_a_quiet_region_has_an_empty_linked_chain_from_logging_start(regions: Regions, region: str) -> None:
    keys = regions.digest_keys("everywhere", region)
    assert len(keys) == ROUNDS
    documents = [regions.document(key) for key in keys]
    assert all(document["logFiles"] == [] for document in documents)
    assert documents[0]["previousDigestS3Object"] is None
    assert [d["previousDigestS3Object"] for d in documents[1:]] == keys[:-1]
    home_first = regions.document(regions.digest_keys("everywhere", HOME)[0])
    assert documents[0]["digestStartTime"] == home_first["digestStartTime"]  # both begin when logging started


def test_a_single_region_trail_keeps_its_home_region_only(regions: Regions) -> None:
    assert len(regions.digest_keys("homebody", HOME)) == ROUNDS
    assert regions.digest_keys("homebody", QUIET) == regions.digest_keys("homebody", ALSO_QUIET) == []


@pytest.mark.parametrize("region", [HOME, QUIET])
def test_the_cli_finds_every_region_valid(regions: Regions, region: str) -> None:
    done = aws_validate(regions, region)
    assert done.returncode == 0, done.stdout + done.stderr
    keys = regions.digest_keys("everywhere", region)
    assert f"{len(keys)}/{len(keys)} digest files valid" in done.stdout, done.stdout
    for key in keys:
        assert f"s3://{regions.bucket}/{key}\tvalid" in done.stdout


def test_a_deleted_digest_of_a_quiet_region_is_reported(regions: Regions) -> None:
    keys = regions.digest_keys("everywhere", QUIET)
    middle = keys[len(keys) // 2]
    got = regions.s3.get_object(Bucket=regions.bucket, Key=middle)
    body, metadata = got["Body"].read(), got["Metadata"]
    regions.s3.delete_object(Bucket=regions.bucket, Key=middle)
    try:
        done = aws_validate(regions, QUIET)
        assert done.returncode != 0, done.stdout
        invalid = [line for line in done.stderr.splitlines() if "\tINVALID" in line]
        assert invalid == [f"Digest file\ts3://{regions.bucket}/{middle}\tINVALID: not found"], done.stderr
    finally:
        regions.s3.put_object(Bucket=regions.bucket, Key=middle, Body=body, Metadata=metadata)


@dataclass(frozen=True)
class _Trail:
    account_id: str = "111122223333"
    home_region: str = HOME
    multi_region: bool = True


@pytest.mark.parametrize(("trail", "known", "served", "expected"), [
    (_Trail(multi_region=False), set(), (HOME, QUIET), [("111122223333", HOME)]),
    (_Trail(multi_region=False, home_region=QUIET), set(), (HOME,), [("111122223333", QUIET)]),
    (_Trail(), set(), (HOME, QUIET), [("111122223333", HOME), ("111122223333", QUIET)]),
    (_Trail(home_region=QUIET), set(), (HOME,), [("111122223333", HOME), ("111122223333", QUIET)]),
    (_Trail(), {("111122223333", ALSO_QUIET)}, (HOME,),
     [("111122223333", HOME), ("111122223333", ALSO_QUIET)]),
    (_Trail(), {("444455556666", QUIET)}, (HOME,),  # an organization member: every served region too
     [("111122223333", HOME), ("444455556666", HOME), ("444455556666", QUIET)]),
], ids=["single", "single-elsewhere", "multi", "multi-elsewhere", "multi-delivered", "member"])
def test_chain_pairs(trail: _Trail, known: set[tuple[str, str]], served: tuple[str, ...],
                     expected: list[tuple[str, str]]) -> None:
    assert digests.chain_pairs(trail, known, served) == sorted(expected)


@pytest.mark.parametrize(("value", "expected"), [
    (None, ("us-west-2",)),
    ("", ("us-west-2",)),
    ("eu-west-1", ("eu-west-1",)),
    (" us-east-1 , eu-west-1,,", ("us-east-1", "eu-west-1")),
])
def test_served_regions_from_the_environment(monkeypatch: pytest.MonkeyPatch, value: str | None,
                                             expected: tuple[str, ...]) -> None:
    monkeypatch.setenv("RAMPART_REGION", "us-west-2")
    if value is None:
        monkeypatch.delenv("RAMPART_REGIONS", raising=False)
    else:
        monkeypatch.setenv("RAMPART_REGIONS", value)
    assert digests.served_regions(Settings.from_env()) == expected

"""The digest chain against the arbiter: ``aws cloudtrail validate-logs`` and ``rampart trail validate``.

One server of this module's own (its clock moves, by the short digest and
delivery intervals only, so digest keys stay near the real time the CLI
uses as its end time). One trail with validation on delivers over several
rounds; then each tampering is made, checked with both validators, and undone.
"""

from __future__ import annotations

import datetime as dt
import gzip
import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from rampart.services.cloudtrail import digests, signing
from tests.conftest import Server, start_server
from tests.services.cloudtrail.delivery_support import (
    DIGEST_ENV,
    DIGEST_ROUND_SECONDS,
    make_bucket,
    run_round,
)

ROUNDS = 3


@dataclass
class Chain:
    """The trail under test and what it delivered."""

    server: Server
    account_id: str
    creds: dict[str, str]
    arn: str
    bucket: str
    start: str
    s3: Any

    def keys(self, folder: str) -> list[str]:
        pages = self.s3.get_paginator("list_objects_v2").paginate(Bucket=self.bucket)
        return sorted(item["Key"] for page in pages for item in page.get("Contents", [])
                      if f"/{folder}/" in item["Key"])



@pytest.fixture(scope="module")
def chain(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Chain]:
    server = start_server(Path(tmp_path_factory.mktemp("digests")), extra_env=DIGEST_ENV)
    try:
        start = (dt.datetime.now(dt.UTC) - dt.timedelta(minutes=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
        account_id, creds = server.new_account("digests")
        s3, ct = server.client("s3", **creds), server.client("cloudtrail", **creds)
        bucket = make_bucket(s3, account_id)
        arn = ct.create_trail(Name="audit", S3BucketName=bucket, EnableLogFileValidation=True)["TrailARN"]
        ct.start_logging(Name=arn)
        for round_number in range(ROUNDS):
            for _ in range(round_number + 1):
                s3.list_buckets()
            run_round(server, DIGEST_ROUND_SECONDS)
        run_round(server, DIGEST_ROUND_SECONDS)  # a round whose window has only the previous round's own PUTs, or nothing
        yield Chain(server, account_id, creds, arn, bucket, start, s3)
    finally:
        server.stop()


def aws_validate(chain: Chain) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update({"AWS_ENDPOINT_URL": chain.server.endpoint, "AWS_ACCESS_KEY_ID": chain.creds["aws_access_key_id"],
                "AWS_SECRET_ACCESS_KEY": chain.creds["aws_secret_access_key"], "AWS_DEFAULT_REGION": "us-east-1",
                "AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull})
    return subprocess.run([sys.executable, "-m", "awscli", "cloudtrail", "validate-logs", "--trail-arn", chain.arn,
                           "--start-time", chain.start, "--verbose"],
                          check=False, capture_output=True, text=True, env=env, timeout=120)


def rampart_validate(chain: Chain) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "rampart", "trail", "validate", "--trail-arn", chain.arn,
                           "--start-time", chain.start, "--verbose", "--data-dir", str(chain.server.data_dir)],
                          check=False, capture_output=True, text=True, env=chain.server.env, timeout=120)


def _counts(output: str) -> tuple[int, int]:
    digest_line = next(line for line in output.splitlines() if "digest files valid" in line)
    log_line = next(line for line in output.splitlines() if "log files valid" in line)
    return int(digest_line.split("/")[0]), int(log_line.split("/")[0])


@pytest.mark.parametrize("runner", [aws_validate, rampart_validate], ids=["aws-cli", "rampart"])
def test_an_untouched_chain_is_all_valid(chain: Chain, runner: Callable[[Chain], Any]) -> None:
    done = runner(chain)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Results requested for" in done.stdout
    digest_keys = chain.keys("CloudTrail-Digest")
    log_keys = [entry["s3Object"] for key in digest_keys
                for entry in json.loads(gzip.decompress(_read(chain, key)[0]))["logFiles"]]
    assert len(digest_keys) >= ROUNDS + 1  # a digest every round, log files or not
    # Every delivered file is listed, but for those delivered after the last digest's end.
    assert len(log_keys) == len(set(log_keys)) >= len(chain.keys("CloudTrail")) - 1
    assert f"{len(digest_keys)}/{len(digest_keys)} digest files valid" in done.stdout, done.stdout
    assert f"{len(log_keys)}/{len(log_keys)} log files valid" in done.stdout, done.stdout
    for key in digest_keys + log_keys:
        assert f"s3://{chain.bucket}/{key}\tvalid" in done.stdout


def _read(chain: Chain, key: str) -> tuple[bytes, dict[str, str]]:
    got = chain.s3.get_object(Bucket=chain.bucket, Key=key)
    return got["Body"].read(), got["Metadata"]


def _put(chain: Chain, key: str, body: bytes, metadata: dict[str, str]) -> None:
    chain.s3.put_object(Bucket=chain.bucket, Key=key, Body=body, Metadata=metadata)


def _middle_digest(chain: Chain) -> str:
    keys = chain.keys("CloudTrail-Digest")
    return keys[len(keys) // 2]


def _listed_log(chain: Chain) -> str:
    for key in chain.keys("CloudTrail-Digest"):
        files = json.loads(gzip.decompress(_read(chain, key)[0]))["logFiles"]
        if files:
            return str(files[0]["s3Object"])
    raise AssertionError("no digest lists a log file")


def modify_log(chain: Chain) -> tuple[str, str]:
    key = _listed_log(chain)
    _put(chain, key, gzip.compress(b'{"Records":[]}'), {})
    return key, "INVALID: hash value doesn't match"


def delete_log(chain: Chain) -> tuple[str, str]:
    key = _listed_log(chain)
    chain.s3.delete_object(Bucket=chain.bucket, Key=key)
    return key, "INVALID: not found"


def modify_digest(chain: Chain) -> tuple[str, str]:
    key = _middle_digest(chain)
    body, metadata = _read(chain, key)
    document = json.loads(gzip.decompress(body))
    document["logFiles"] = []
    _put(chain, key, gzip.compress(json.dumps(document).encode()), metadata)
    return key, "INVALID: signature verification failed"


def delete_digest(chain: Chain) -> tuple[str, str]:
    key = _middle_digest(chain)
    chain.s3.delete_object(Bucket=chain.bucket, Key=key)
    return key, "INVALID: not found"


def forge_digest(chain: Chain) -> tuple[str, str]:
    """The same digest, re-signed with a key that is not CloudTrail's."""
    key = _middle_digest(chain)
    body, metadata = _read(chain, key)
    inflated = gzip.decompress(body)
    document = json.loads(inflated)
    message = digests.string_to_sign(document["digestEndTime"], chain.bucket, key, inflated,
                                     document["previousDigestSignature"])
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    forged = signing.SigningKey(signing.PublicKey("", "", b"", dt.datetime.now(dt.UTC), dt.datetime.now(dt.UTC)),
                                private)
    _put(chain, key, body, {**metadata, "signature": forged.sign(message)})
    return key, "INVALID: signature verification failed"


@pytest.mark.parametrize("tamper", [modify_log, delete_log, modify_digest, delete_digest, forge_digest])
def test_tampering_is_reported_on_exactly_that_file(chain: Chain, tamper: Callable[[Chain], tuple[str, str]]) -> None:
    originals = {key: _read(chain, key) for key in chain.keys("CloudTrail-Digest") + chain.keys("CloudTrail")}
    changed, expected = tamper(chain)
    try:
        for runner in (aws_validate, rampart_validate):
            done = runner(chain)
            assert done.returncode != 0, done.stdout
            invalid = [line for line in done.stderr.splitlines() if "\tINVALID" in line]
            label = "Digest" if "CloudTrail-Digest" in changed else "Log"
            line = f"{label} file\ts3://{chain.bucket}/{changed}\t{expected}"
            assert invalid == [line], (runner.__name__, done.stdout, done.stderr)
    finally:
        _put(chain, changed, *originals[changed])

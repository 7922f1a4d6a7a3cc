"""The internal API S3 uses for SSE-KMS: the caller is authorized via the service, managed key alias/aws/s3."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.conftest import ROOT_ACCOUNT, Server
from tests.services.iam.helpers import allow
from tests.services.kms.helpers import key_policy, root_statement, user_clients

VIA = "s3.us-east-1.amazonaws.com"
PROBE = Path(__file__).with_name("api_probe.py")


def probe(server: Server, steps: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Run api steps in a child process on the server's database."""
    env = {**server.env, "RAMPART_DATA_DIR": str(server.data_dir)}
    done = subprocess.run([sys.executable, str(PROBE)], input=json.dumps(steps), env=env, capture_output=True, check=False,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def _as(user: str, **step: Any) -> dict[str, Any]:
    return {"as": user, "account": ROOT_ACCOUNT, "via": VIA, **step}


def test_managed_key_and_via_service(server: Server, kms: Any) -> None:
    user_arn, direct = user_clients(server, allow("s3:*"))
    name = user_arn.rsplit("/", 1)[1]
    results = probe(server, [
        _as(name, do="generate", key_id=None, context={"aws:s3:arn": "arn:aws:s3:::b/k"}),
        _as(name, do="decrypt", blob_of=0, context={"aws:s3:arn": "arn:aws:s3:::b/k"}),
        _as(name, do="decrypt", blob_of=0, context={"aws:s3:arn": "arn:aws:s3:::b/other"}),
        _as(name, do="generate", key_id=None, via="ec2.us-east-1.amazonaws.com"),
        _as("root", do="generate", key_id=None),
    ])
    assert results[0]["ok"] and results[1] == {"ok": True, "plaintext": results[0]["plaintext"]}
    assert results[2]["error"] == "InvalidCiphertextException"
    assert results[3]["error"] == "AccessDeniedException"
    assert results[4]["key_arn"] == results[0]["key_arn"]  # one managed key per account and region
    managed = kms.describe_key(KeyId="alias/aws/s3")["KeyMetadata"]
    assert managed["Arn"] == results[0]["key_arn"] and managed["KeyManager"] == "AWS"
    with pytest.raises(ClientError) as caught:  # not through S3: the managed key's policy does not allow it
        direct.encrypt(KeyId="alias/aws/s3", Plaintext=b"x")
    assert caught.value.response["Error"]["Code"] == "AccessDeniedException"


def test_customer_key_needs_kms_permissions(server: Server, kms: Any) -> None:
    key = kms.create_key()["KeyMetadata"]
    writer_arn, _ = user_clients(server, allow(["s3:*", "kms:GenerateDataKey"]))
    reader_arn, _ = user_clients(server, allow(["s3:*", "kms:Decrypt"]))
    s3_only_arn, _ = user_clients(server, allow("s3:*"))
    writer, reader, s3_only = (arn.rsplit("/", 1)[1] for arn in (writer_arn, reader_arn, s3_only_arn))
    results = probe(server, [
        _as(writer, do="generate", key_id=key["Arn"], context={"c": "1"}),
        _as(reader, do="decrypt", blob_of=0, context={"c": "1"}),
        _as(s3_only, do="decrypt", blob_of=0, context={"c": "1"}),
        _as(s3_only, do="generate", key_id=key["KeyId"]),
        _as(writer, do="decrypt", blob_of=0, context={"c": "1"}),
    ])
    assert results[0]["ok"] and results[0]["key_arn"] == key["Arn"]
    assert results[1]["plaintext"] == results[0]["plaintext"]
    assert [r.get("error") for r in results[2:]] == ["AccessDeniedException"] * 3


def test_via_service_condition_in_key_policy(server: Server, kms: Any) -> None:
    user_arn, direct = user_clients(server)
    via_s3 = {"Effect": "Allow", "Principal": {"AWS": user_arn}, "Action": ["kms:GenerateDataKey", "kms:Decrypt"],
              "Resource": "*", "Condition": {"StringEquals": {"kms:ViaService": VIA}}}
    key = kms.create_key(Policy=key_policy(root_statement(ROOT_ACCOUNT), via_s3))["KeyMetadata"]
    name = user_arn.rsplit("/", 1)[1]
    results = probe(server, [_as(name, do="generate", key_id=key["KeyId"]), _as(name, do="decrypt", blob_of=0)])
    assert results[0]["ok"] and results[1]["plaintext"] == results[0]["plaintext"]
    with pytest.raises(ClientError) as caught:
        direct.generate_data_key(KeyId=key["KeyId"], KeySpec="AES_256")
    assert caught.value.response["Error"]["Code"] == "AccessDeniedException"

"""Secrets never reach CloudTrail: not LookupEvents, not delivered log files, not the server log or call journal.

One account makes every kind of call that carries a secret (new access keys,
passwords, session credentials, KMS plaintexts and data keys, random bytes,
grant tokens, an SSE-C customer key, presigned-URL and Authorization-header
signatures) while a trail that also takes S3 data events delivers; then every
place a record can end up is searched for each secret in the forms it may
take (as sent, base64, hex).
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import re
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials

from tests.conftest import Server, start_server
from tests.services.cloudtrail.delivery_support import deliver, make_bucket

ADMIN = "arn:aws:iam::aws:policy/AdministratorAccess"


@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server of this module's own: its clock moves."""
    running = start_server(Path(tmp_path_factory.mktemp("secrets")))
    yield running
    running.stop()


def _forms(secret: str | bytes) -> list[str]:
    """The spellings a secret could leak in: as is (text), base64 (standard and URL-safe), hex."""
    raw = secret.encode() if isinstance(secret, str) else secret
    found = [base64.b64encode(raw).decode(), base64.urlsafe_b64encode(raw).decode().rstrip("="), raw.hex()]
    if isinstance(secret, str):
        found.append(secret)
    return [form for form in found if len(form) >= 12]


def _signed_post(srv: Server, creds: dict[str, str], service: str, target: str, body: dict[str, Any]) -> str:
    """A SigV4-signed JSON call; returns the signature its Authorization header carried."""
    data = json.dumps(body).encode()
    request = AWSRequest(method="POST", url=srv.endpoint + "/", data=data, headers={
        "Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": target})
    SigV4Auth(Credentials(creds["aws_access_key_id"], creds["aws_secret_access_key"]), service,
              "us-east-1").add_auth(request)
    prepared = request.prepare()
    answer = httpx.post(prepared.url, content=data, headers=dict(prepared.headers), timeout=30)
    assert answer.status_code == 200, answer.text
    signature = re.search(r"Signature=([0-9a-f]{64})", prepared.headers["Authorization"])
    assert signature
    return signature.group(1)


def _iam_secrets(srv: Server, account_id: str, creds: dict[str, str], found: dict[str, Any]) -> dict[str, str]:
    """Access key, login profile, password change; returns bob's client keys."""
    iam = srv.client("iam", **creds)
    iam.create_user(UserName="bob")
    iam.attach_user_policy(UserName="bob", PolicyArn=ADMIN)
    key = iam.create_access_key(UserName="bob")["AccessKey"]
    found["bob secret key"] = key["SecretAccessKey"]
    passwords = [f"Pw1-{secrets.token_urlsafe(16)}", f"Pw2-{secrets.token_urlsafe(16)}",
                 f"Pw3-{secrets.token_urlsafe(16)}"]
    iam.create_login_profile(UserName="bob", Password=passwords[0], PasswordResetRequired=False)
    iam.update_login_profile(UserName="bob", Password=passwords[1])
    bob = {"aws_access_key_id": key["AccessKeyId"], "aws_secret_access_key": key["SecretAccessKey"]}
    srv.client("iam", **bob).change_password(OldPassword=passwords[1], NewPassword=passwords[2])
    found.update({f"password {i}": password for i, password in enumerate(passwords)})
    return bob


def _sts_secrets(srv: Server, account_id: str, creds: dict[str, str], bob: dict[str, str],
                 found: dict[str, Any], tokens: dict[str, str]) -> None:
    iam = srv.client("iam", **creds)
    trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                     "Principal": {"AWS": f"arn:aws:iam::{account_id}:root"}}]}
    iam.create_role(RoleName="vault", AssumeRolePolicyDocument=json.dumps(trust))
    sts = srv.client("sts", **bob)
    answers = {
        "assume role": sts.assume_role(RoleArn=f"arn:aws:iam::{account_id}:role/vault", RoleSessionName="sess"),
        "session token": sts.get_session_token(),
        "federation": sts.get_federation_token(Name="fed", Policy=json.dumps({
            "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]})),
    }
    for label, answer in answers.items():
        found[f"{label} secret key"] = answer["Credentials"]["SecretAccessKey"]
        tokens[f"{label} session token"] = answer["Credentials"]["SessionToken"]


def _kms_secrets(srv: Server, account_id: str, creds: dict[str, str], found: dict[str, Any]) -> None:
    kms = srv.client("kms", **creds)
    key = kms.create_key()["KeyMetadata"]["Arn"]
    plaintext = secrets.token_bytes(32)
    found["encrypt plaintext"] = plaintext
    blob = kms.encrypt(KeyId=key, Plaintext=plaintext)["CiphertextBlob"]
    assert kms.decrypt(CiphertextBlob=blob)["Plaintext"] == plaintext  # Decrypt's answer: the same secret
    found["data key"] = kms.generate_data_key(KeyId=key, KeySpec="AES_256")["Plaintext"]
    pair = kms.generate_data_key_pair(KeyId=key, KeyPairSpec="ECC_NIST_P256")
    found["data key pair private"] = pair["PrivateKeyPlaintext"]
    found["random"] = kms.generate_random(NumberOfBytes=32)["Plaintext"]
    found["grant token"] = kms.create_grant(KeyId=key, GranteePrincipal=f"arn:aws:iam::{account_id}:root",
                                            Operations=["Decrypt"])["GrantToken"]


def _s3_secrets(srv: Server, creds: dict[str, str], bucket: str, found: dict[str, Any]) -> None:
    s3 = srv.client("s3", **creds)
    customer_key = secrets.token_bytes(32)
    body = f"object-body-{secrets.token_hex(16)}"
    s3.put_object(Bucket=bucket, Key="ssec", Body=body.encode(), SSECustomerAlgorithm="AES256",
                  SSECustomerKey=customer_key)
    assert s3.get_object(Bucket=bucket, Key="ssec", SSECustomerAlgorithm="AES256",
                         SSECustomerKey=customer_key)["Body"].read() == body.encode()
    found["sse-c key"] = customer_key
    found["object body"] = body
    presigner = srv.client("s3", config=Config(signature_version="s3v4"), **creds)
    url = presigner.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "plain"}, ExpiresIn=300)
    s3.put_object(Bucket=bucket, Key="plain", Body=b"x")
    assert httpx.get(url, timeout=30).status_code == 200
    signature = re.search(r"X-Amz-Signature=([0-9a-f]{64})", url)
    assert signature
    found["presigned signature"] = signature.group(1)


def _everything_recorded(srv: Server, creds: dict[str, str], bucket: str) -> dict[str, bytes]:
    """Where records end up: LookupEvents (all pages, us-east-1), each delivered file, the server log, the journal."""
    ct, s3 = srv.client("cloudtrail", **creds), srv.client("s3", **creds)
    pages = [page for page in ct.get_paginator("lookup_events").paginate()]
    places = {"LookupEvents": json.dumps(pages, default=str).encode()}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix="AWSLogs/"):
        for item in page.get("Contents", []):
            places[item["Key"]] = gzip.decompress(s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read())
    assert srv.log_path is not None
    places["server log"] = srv.log_path.read_bytes()
    journal = srv.data_dir / "calls.jsonl"
    if journal.exists():
        places["call journal"] = journal.read_bytes()
    return places


def _leaks(places: dict[str, bytes], found: dict[str, Any]) -> list[str]:
    return [f"{label} in {where}" for label, secret in found.items() for form in _forms(secret)
            for where, text in places.items() if form.encode() in text]


@pytest.fixture(scope="module")
def recorded(srv: Server) -> dict[str, Any]:
    """Every secret-carrying call made and delivered: the secrets by label, and every place records went."""
    account_id, creds = srv.new_account("secrets")
    ct, s3 = srv.client("cloudtrail", **creds), srv.client("s3", **creds)
    logs = make_bucket(s3, account_id)
    data = f"data-{secrets.token_hex(5)}"
    s3.create_bucket(Bucket=data)
    name = f"secrets-{secrets.token_hex(4)}"
    ct.create_trail(Name=name, S3BucketName=logs, IsMultiRegionTrail=True)
    ct.put_event_selectors(TrailName=name, EventSelectors=[{
        "ReadWriteType": "All", "IncludeManagementEvents": True,
        "DataResources": [{"Type": "AWS::S3::Object", "Values": ["arn:aws:s3"]}]}])
    ct.start_logging(Name=name)
    found: dict[str, Any] = {"root secret key": creds["aws_secret_access_key"]}
    tokens: dict[str, str] = {}
    bob = _iam_secrets(srv, account_id, creds, found)
    _sts_secrets(srv, account_id, creds, bob, found, tokens)
    _kms_secrets(srv, account_id, creds, found)
    _s3_secrets(srv, creds, data, found)
    found["authorization signature"] = _signed_post(
        srv, creds, "cloudtrail", "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.DescribeTrails", {})
    deliver(srv)
    deliver(srv)
    return {"found": found, "tokens": tokens, "places": _everything_recorded(srv, creds, logs)}


def test_the_secret_carrying_calls_were_recorded(recorded: dict[str, Any]) -> None:
    """The search below means something only if the calls are in the records."""
    places = recorded["places"]
    files = b"".join(text for where, text in places.items() if where.startswith("AWSLogs/"))
    for name in (b"CreateAccessKey", b"CreateLoginProfile", b"UpdateLoginProfile", b"ChangePassword",
                 b"AssumeRole", b"GetSessionToken", b"GetFederationToken", b"GenerateDataKey", b"Decrypt",
                 b"Encrypt", b"GenerateRandom", b"CreateGrant", b"DescribeTrails"):
        assert name in places["LookupEvents"], name
        assert name in files, name
    assert b'"PutObject"' in files and b'"GetObject"' in files  # the data events


def test_no_secret_in_any_record(recorded: dict[str, Any]) -> None:
    leaks = _leaks(recorded["places"], recorded["found"])
    assert not leaks, leaks


def test_session_tokens_only_where_aws_records_them(recorded: dict[str, Any]) -> None:
    """AWS writes a new session's token in responseElements.credentials (useless without its secret key);
    it must not reach the server log, nor any other field."""
    places = recorded["places"]
    leaks = _leaks({"server log": places["server log"]}, recorded["tokens"])
    assert not leaks, leaks
    digests = {hashlib.sha256(t.encode()).hexdigest() for t in recorded["tokens"].values()}
    assert digests  # three sessions were made

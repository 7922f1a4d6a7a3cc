"""A call on another account's resource is recorded in both accounts (boto3 front door).

Account A's user uses account B's KMS key and writes into B's bucket: A's
event history / trails get the caller's event, B's get their own copy, with
the same sharedEventID, their own eventID and recipientAccountId, and A's
user shown to B only as an AWSAccount. Calls inside one account stay one event.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.conftest import Server, start_server
from tests.services.cloudtrail.delivery_support import all_records, deliver, make_bucket


@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server of this module's own: the S3 test moves its clock to deliver."""
    running = start_server(Path(tmp_path_factory.mktemp("cross-account")))
    yield running
    running.stop()


@pytest.fixture
def parties(srv: Server) -> dict[str, Any]:
    """Account A with a user allowed KMS and S3 by its own policy, and account B (root)."""
    a_id, a_root = srv.new_account("xacct-a")
    b_id, b_root = srv.new_account("xacct-b")
    iam = srv.client("iam", **a_root)
    iam.create_user(UserName="alice")
    policy = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["kms:Encrypt", "s3:PutObject"], "Resource": "*"}]}
    iam.put_user_policy(UserName="alice", PolicyName="use", PolicyDocument=json.dumps(policy))
    key = iam.create_access_key(UserName="alice")["AccessKey"]
    alice = {"aws_access_key_id": key["AccessKeyId"], "aws_secret_access_key": key["SecretAccessKey"]}
    user_id = iam.get_user(UserName="alice")["User"]["UserId"]
    return {"a_id": a_id, "a_root": a_root, "b_id": b_id, "b_root": b_root, "alice": alice, "user_id": user_id}


def _key(kms: Any, owner: str, *grantees: str) -> str:
    """A key of ``owner`` whose policy lets ``grantees`` (account ids) Encrypt; returns its ARN."""
    statements = [{"Sid": "owner", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{owner}:root"},
                   "Action": "kms:*", "Resource": "*"}]
    statements += [{"Sid": f"use-{grantee}", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{grantee}:root"},
                    "Action": "kms:Encrypt", "Resource": "*"} for grantee in grantees]
    policy = {"Version": "2012-10-17", "Statement": statements}
    return str(kms.create_key(Policy=json.dumps(policy))["KeyMetadata"]["Arn"])


def _encrypt_events(srv: Server, creds: dict[str, str], marker: str) -> list[dict[str, Any]]:
    """The Encrypt records an account's event history holds for calls marked by their encryption context."""
    pages = srv.client("cloudtrail", **creds).get_paginator("lookup_events").paginate(
        LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": "Encrypt"}])
    bodies = [json.loads(event["CloudTrailEvent"]) for page in pages for event in page["Events"]]
    return [body for body in bodies
            if ((body.get("requestParameters") or {}).get("encryptionContext") or {}).get("marker") == marker]


def test_kms_use_of_another_accounts_key_is_in_both_histories(srv: Server, parties: dict[str, Any]) -> None:
    a_id, b_id = parties["a_id"], parties["b_id"]
    key = _key(srv.client("kms", **parties["b_root"]), b_id, a_id)
    marker = secrets.token_hex(6)
    srv.client("kms", **parties["alice"]).encrypt(KeyId=key, Plaintext=b"x", EncryptionContext={"marker": marker})
    [caller] = _encrypt_events(srv, parties["a_root"], marker)
    [owner] = _encrypt_events(srv, parties["b_root"], marker)
    assert caller["sharedEventID"] == owner["sharedEventID"]
    assert caller["eventID"] != owner["eventID"]
    assert (caller["recipientAccountId"], owner["recipientAccountId"]) == (a_id, b_id)
    assert caller["userIdentity"]["type"] == "IAMUser" and caller["userIdentity"]["userName"] == "alice"
    assert caller["userIdentity"]["accessKeyId"] == parties["alice"]["aws_access_key_id"]
    assert owner["userIdentity"] == {"type": "AWSAccount", "principalId": parties["user_id"], "accountId": a_id}
    resources = [{"accountId": b_id, "type": "AWS::KMS::Key", "ARN": key}]
    assert caller["resources"] == owner["resources"] == resources
    assert caller["requestID"] == owner["requestID"]
    b_ct = srv.client("cloudtrail", **parties["b_root"])
    by_resource = b_ct.lookup_events(LookupAttributes=[{"AttributeKey": "ResourceName", "AttributeValue": key}])
    assert owner["eventID"] in {event["EventId"] for event in by_resource["Events"]}
    by_key = b_ct.lookup_events(LookupAttributes=[{"AttributeKey": "AccessKeyId",
                                                   "AttributeValue": parties["alice"]["aws_access_key_id"]}])
    assert by_key["Events"] == []  # B never learns A's access key


def test_calls_inside_one_account_and_denied_kms_calls_are_one_event(srv: Server, parties: dict[str, Any]) -> None:
    a_id, b_id = parties["a_id"], parties["b_id"]
    b_kms = srv.client("kms", **parties["b_root"])
    own, private = _key(b_kms, b_id), _key(b_kms, b_id)
    marker = secrets.token_hex(6)
    b_kms.encrypt(KeyId=own, Plaintext=b"x", EncryptionContext={"marker": marker})
    with pytest.raises(ClientError) as caught:  # B's key policy does not name A
        srv.client("kms", **parties["alice"]).encrypt(KeyId=private, Plaintext=b"x",
                                                      EncryptionContext={"marker": marker})
    assert caught.value.response["Error"]["Code"] == "AccessDeniedException"
    [same] = _encrypt_events(srv, parties["b_root"], marker)
    assert same["userIdentity"]["type"] == "Root" and "sharedEventID" not in same
    [denied] = _encrypt_events(srv, parties["a_root"], marker)
    assert denied["errorCode"] == "AccessDeniedException" and "sharedEventID" not in denied
    assert denied["recipientAccountId"] == a_id


def _data_trail(srv: Server, creds: dict[str, str], account_id: str, data_bucket: str) -> str:
    """A logging trail of the account whose selectors take the data bucket's object events; returns its bucket."""
    s3, ct = srv.client("s3", **creds), srv.client("cloudtrail", **creds)
    bucket = make_bucket(s3, account_id)
    arn = ct.create_trail(Name=f"t-{secrets.token_hex(4)}", S3BucketName=bucket)["TrailARN"]
    ct.put_event_selectors(TrailName=arn, EventSelectors=[{
        "ReadWriteType": "All", "IncludeManagementEvents": False,
        "DataResources": [{"Type": "AWS::S3::Object", "Values": [f"arn:aws:s3:::{data_bucket}/"]}]}])
    ct.start_logging(Name=arn)
    return bucket


def test_s3_writes_into_another_accounts_bucket_reach_both_trails(srv: Server, parties: dict[str, Any]) -> None:
    a_id, b_id = parties["a_id"], parties["b_id"]
    b_s3 = srv.client("s3", **parties["b_root"])
    data = f"shared-{secrets.token_hex(5)}"
    b_s3.create_bucket(Bucket=data)
    b_s3.put_bucket_policy(Bucket=data, Policy=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{a_id}:root"}, "Action": "s3:PutObject",
         "Resource": f"arn:aws:s3:::{data}/in/*"}]}))
    b_logs = _data_trail(srv, parties["b_root"], b_id, data)
    a_logs = _data_trail(srv, parties["a_root"], a_id, data)
    alice = srv.client("s3", **parties["alice"])
    alice.put_object(Bucket=data, Key="in/1.txt", Body=b"hello")
    with pytest.raises(ClientError) as caught:  # outside what B's policy grants
        alice.put_object(Bucket=data, Key="out/1.txt", Body=b"no")
    assert caught.value.response["Error"]["Code"] == "AccessDenied"
    deliver(srv)

    def puts(creds: dict[str, str], bucket: str) -> dict[str, dict[str, Any]]:
        records = all_records(srv.client("s3", **creds), bucket)
        return {r["requestParameters"]["key"]: r for r in records if r["eventName"] == "PutObject"
                and r["requestParameters"]["bucketName"] == data}

    mine, theirs = puts(parties["a_root"], a_logs), puts(parties["b_root"], b_logs)
    assert set(mine) == set(theirs) == {"in/1.txt", "out/1.txt"}  # the owner still sees the denied write
    assert theirs["out/1.txt"]["errorCode"] == mine["out/1.txt"]["errorCode"] == "AccessDenied"
    for key_name in mine:
        caller, owner = mine[key_name], theirs[key_name]
        assert caller["sharedEventID"] == owner["sharedEventID"] and caller["eventID"] != owner["eventID"]
        assert (caller["recipientAccountId"], owner["recipientAccountId"]) == (a_id, b_id)
        assert caller["userIdentity"]["arn"] == f"arn:aws:iam::{a_id}:user/alice"
        assert owner["userIdentity"] == {"type": "AWSAccount", "principalId": parties["user_id"], "accountId": a_id}
        assert owner["eventCategory"] == "Data" and owner["managementEvent"] is False
        assert owner["resources"] == caller["resources"] == [
            {"type": "AWS::S3::Object", "ARN": f"arn:aws:s3:::{data}/{key_name}"},
            {"accountId": b_id, "type": "AWS::S3::Bucket", "ARN": f"arn:aws:s3:::{data}"}]

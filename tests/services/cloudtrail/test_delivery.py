"""Trails deliver log files to S3 through Rampart's own S3, as cloudtrail.amazonaws.com (boto3 front door)."""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Server, start_server
from tests.services.cloudtrail.delivery_support import (
    KEY,
    all_records,
    bucket_policy,
    created_users,
    deliver,
    event_ids,
    log_files,
    make_bucket,
    trail_organization,
)


@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server of this module's own: its clock moves."""
    running = start_server(Path(tmp_path_factory.mktemp("delivery")))
    yield running
    running.stop()


@pytest.fixture
def account(srv: Server) -> tuple[str, dict[str, str]]:
    """A fresh account per test, so trails and buckets of other tests never mix in."""
    return srv.new_account("delivery")


def _trail(ct: Any, bucket: str, **extra: Any) -> str:
    name = f"t-{secrets.token_hex(4)}"
    arn = ct.create_trail(Name=name, S3BucketName=bucket, **extra)["TrailARN"]
    ct.start_logging(Name=arn)
    return arn


def test_files_hold_the_calls_of_root_a_user_and_a_role_session(srv: Server, account: tuple[str, dict[str, str]]) -> None:
    account_id, creds = account
    s3, ct, iam = srv.client("s3", **creds), srv.client("cloudtrail", **creds), srv.client("iam", **creds)
    bucket = make_bucket(s3, account_id)
    arn = _trail(ct, bucket)
    iam.create_user(UserName="alice")
    iam.attach_user_policy(UserName="alice", PolicyArn="arn:aws:iam::aws:policy/AdministratorAccess")
    key = iam.create_access_key(UserName="alice")["AccessKey"]
    alice = {"aws_access_key_id": key["AccessKeyId"], "aws_secret_access_key": key["SecretAccessKey"]}
    trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                     "Principal": {"AWS": f"arn:aws:iam::{account_id}:root"}}]}
    srv.client("iam", **alice).create_role(RoleName="auditor", AssumeRolePolicyDocument=json.dumps(trust))
    iam.attach_role_policy(RoleName="auditor", PolicyArn="arn:aws:iam::aws:policy/AdministratorAccess")
    session = srv.client("sts", **alice).assume_role(RoleArn=f"arn:aws:iam::{account_id}:role/auditor",
                                                     RoleSessionName="sess")["Credentials"]
    srv.client("iam", aws_access_key_id=session["AccessKeyId"], aws_secret_access_key=session["SecretAccessKey"],
               aws_session_token=session["SessionToken"]).create_group(GroupName="made-by-role")

    deliver(srv)

    files = log_files(s3, bucket)
    assert files
    for key_name in files:
        match = KEY.match(key_name)
        assert match, key_name
        assert (match["prefix"], match["account"], match["folder"], match["org"]) == ("", account_id, "CloudTrail", None)
    records = [r for records in files.values() for r in records]
    by_name = {r["eventName"]: r for r in records}
    assert by_name["CreateUser"]["userIdentity"]["type"] == "Root"
    assert by_name["CreateRole"]["userIdentity"]["accessKeyId"] == key["AccessKeyId"]
    assert by_name["CreateGroup"]["userIdentity"]["accessKeyId"] == session["AccessKeyId"]
    assert by_name["AssumeRole"]["eventSource"] == "sts.amazonaws.com"
    assert all(r["recipientAccountId"] == account_id for r in records)
    assert len(set(event_ids(records))) == len(records)
    status = ct.get_trail_status(Name=arn)
    assert status["IsLogging"] and status.get("LatestDeliveryTime")
    assert not status.get("LatestDeliveryError")

    iam.create_group(GroupName="second-round")
    deliver(srv)
    again = all_records(s3, bucket)
    assert sorted(event_ids(again)) == sorted(set(event_ids(again)))  # nothing delivered twice
    assert {"CreateGroup"} <= {r["eventName"] for r in again if r not in records}


def test_s3_key_prefix(srv: Server, account: tuple[str, dict[str, str]]) -> None:
    account_id, creds = account
    s3, ct = srv.client("s3", **creds), srv.client("cloudtrail", **creds)
    bucket = make_bucket(s3, account_id, prefix="team/audit")
    _trail(ct, bucket, S3KeyPrefix="team/audit")
    srv.client("iam", **creds).create_user(UserName="prefixed")
    deliver(srv)
    keys = list(log_files(s3, bucket))
    assert keys and all(k.startswith(f"team/audit/AWSLogs/{account_id}/CloudTrail/") for k in keys)
    assert all(KEY.match(k) for k in keys)


def _kms_key(kms: Any, account_id: str, allow_cloudtrail: bool) -> str:
    statements: list[dict[str, Any]] = [
        {"Sid": "root", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{account_id}:root"},
         "Action": "kms:*", "Resource": "*"}]
    if allow_cloudtrail:
        statements.append({"Sid": "cloudtrail", "Effect": "Allow",
                           "Principal": {"Service": "cloudtrail.amazonaws.com"},
                           "Action": ["kms:GenerateDataKey*", "kms:DescribeKey", "kms:Encrypt"], "Resource": "*"})
    return json.dumps({"Version": "2012-10-17", "Statement": statements})


def test_sse_kms_and_a_key_policy_that_stops_allowing_cloudtrail(
    srv: Server, account: tuple[str, dict[str, str]],
) -> None:
    account_id, creds = account
    s3, ct, kms = srv.client("s3", **creds), srv.client("cloudtrail", **creds), srv.client("kms", **creds)
    key_arn = kms.create_key(Policy=_kms_key(kms, account_id, True))["KeyMetadata"]["Arn"]
    bucket = make_bucket(s3, account_id)
    arn = _trail(ct, bucket, KmsKeyId=key_arn)
    srv.client("iam", **creds).create_user(UserName="encrypted")
    deliver(srv)
    files = log_files(s3, bucket)
    assert files
    for key_name in files:
        head = s3.head_object(Bucket=bucket, Key=key_name)
        assert head["ServerSideEncryption"] == "aws:kms"
        assert head["SSEKMSKeyId"] == key_arn

    kms.put_key_policy(KeyId=key_arn, PolicyName="default", Policy=_kms_key(kms, account_id, False))
    srv.client("iam", **creds).create_user(UserName="while-refused")
    deliver(srv)
    status = ct.get_trail_status(Name=arn)
    assert status.get("LatestDeliveryError"), status
    assert "while-refused" not in json.dumps(all_records(s3, bucket))

    kms.put_key_policy(KeyId=key_arn, PolicyName="default", Policy=_kms_key(kms, account_id, True))
    deliver(srv)
    records = all_records(s3, bucket)
    assert created_users(records) == ["encrypted", "while-refused"]
    assert len(set(event_ids(records))) == len(records)
    assert not ct.get_trail_status(Name=arn).get("LatestDeliveryError")


def test_bucket_policy_removed_then_restored_delivers_everything_once(
    srv: Server, account: tuple[str, dict[str, str]],
) -> None:
    account_id, creds = account
    s3, ct, iam = srv.client("s3", **creds), srv.client("cloudtrail", **creds), srv.client("iam", **creds)
    bucket = make_bucket(s3, account_id)
    arn = _trail(ct, bucket)
    iam.create_user(UserName="before")
    deliver(srv)
    s3.delete_bucket_policy(Bucket=bucket)
    for name in ("during-1", "during-2"):
        iam.create_user(UserName=name)
    deliver(srv)
    deliver(srv)  # retried every round, still refused
    status = ct.get_trail_status(Name=arn)
    assert status["LatestDeliveryError"] == "AccessDenied"
    s3.put_bucket_policy(Bucket=bucket, Policy=bucket_policy(bucket, account_id))
    deliver(srv)
    records = all_records(s3, bucket)
    assert created_users(records) == ["before", "during-1", "during-2"]
    assert len(set(event_ids(records))) == len(records)
    status = ct.get_trail_status(Name=arn)
    assert not status.get("LatestDeliveryError") and status.get("LatestDeliveryTime")


def test_stopped_trail_still_delivers_what_it_took_and_deleted_trail_drops_it(
    srv: Server, account: tuple[str, dict[str, str]],
) -> None:
    account_id, creds = account
    s3, ct, iam = srv.client("s3", **creds), srv.client("cloudtrail", **creds), srv.client("iam", **creds)
    kept, dropped = make_bucket(s3, account_id), make_bucket(s3, account_id)
    stopped_arn, deleted_arn = _trail(ct, kept), _trail(ct, dropped)
    for bucket in (kept, dropped):
        s3.delete_bucket_policy(Bucket=bucket)
    iam.create_user(UserName="taken")
    deliver(srv)  # taken into log files, refused by both buckets
    iam.create_user(UserName="before-stop")  # recorded while logging, not yet taken when it stops
    ct.stop_logging(Name=stopped_arn)
    ct.delete_trail(Name=deleted_arn)
    iam.create_user(UserName="after-stop")
    for bucket in (kept, dropped):
        s3.put_bucket_policy(Bucket=bucket, Policy=bucket_policy(bucket, account_id))
    deliver(srv)
    assert created_users(all_records(s3, kept)) == ["before-stop", "taken"]
    assert log_files(s3, dropped) == {}


def test_data_event_selectors_deliver_only_the_selected_prefix(srv: Server, account: tuple[str, dict[str, str]]) -> None:
    account_id, creds = account
    s3, ct = srv.client("s3", **creds), srv.client("cloudtrail", **creds)
    bucket = make_bucket(s3, account_id)
    data = f"data-{secrets.token_hex(5)}"
    s3.create_bucket(Bucket=data)
    arn = _trail(ct, bucket)
    ct.put_event_selectors(TrailName=arn, EventSelectors=[{
        "ReadWriteType": "All", "IncludeManagementEvents": True,
        "DataResources": [{"Type": "AWS::S3::Object", "Values": [f"arn:aws:s3:::{data}/yes/"]}]}])
    s3.put_object(Bucket=data, Key="yes/1.txt", Body=b"1")
    s3.put_object(Bucket=data, Key="no/1.txt", Body=b"1")
    srv.client("iam", **creds).create_user(UserName="management-still-on")
    deliver(srv)
    records = all_records(s3, bucket)
    puts = [r for r in records if r["eventName"] == "PutObject"]
    assert len(puts) == 1 and "yes/1.txt" in json.dumps(puts[0]) and "no/1.txt" not in json.dumps(puts[0])
    assert all(r["eventCategory"] == "Data" and r["managementEvent"] is False for r in puts)
    assert created_users(records) == ["management-still-on"]


def test_multi_region_trail_takes_every_region_single_region_only_its_own(
    srv: Server, account: tuple[str, dict[str, str]],
) -> None:
    account_id, creds = account
    s3, ct = srv.client("s3", **creds), srv.client("cloudtrail", **creds)
    single_bucket, multi_bucket = make_bucket(s3, account_id), make_bucket(s3, account_id)
    _trail(ct, single_bucket)
    _trail(ct, multi_bucket, IsMultiRegionTrail=True)
    srv.client("kms", region_name="eu-west-1", **creds).create_key(Description="in eu-west-1")
    srv.client("kms", **creds).create_key(Description="in us-east-1")
    deliver(srv)
    single, multi = log_files(s3, single_bucket), log_files(s3, multi_bucket)

    def regions(files: dict[str, list[dict[str, Any]]]) -> set[str]:
        found = set()
        for key_name, records in files.items():
            region = KEY.match(key_name)["region"]  # type: ignore[index]
            assert all(r["awsRegion"] == region for r in records)
            found.add(region)
        return found

    assert regions(single) == {"us-east-1"}
    assert regions(multi) == {"us-east-1", "eu-west-1"}
    created = [r for rs in multi.values() for r in rs if r["eventName"] == "CreateKey"]
    assert sorted(r["awsRegion"] for r in created) == ["eu-west-1", "us-east-1"]


def test_organization_trail_delivers_member_accounts_under_the_org_path(srv: Server) -> None:
    organization = trail_organization(srv, "org")
    management, management_creds = organization.management, organization.management_creds
    member, member_creds, org_id = organization.member, organization.member_creds, organization.org_id
    s3 = srv.client("s3", **management_creds)
    bucket = make_bucket(s3, management, org_id=org_id)
    _trail(srv.client("cloudtrail", **management_creds), bucket, IsOrganizationTrail=True)
    srv.client("iam", **member_creds).create_user(UserName="in-member")
    srv.client("iam", **management_creds).create_user(UserName="in-management")
    deliver(srv)
    files = log_files(s3, bucket)
    by_account: dict[str, set[str]] = {}
    for key_name, records in files.items():
        match = KEY.match(key_name)
        assert match and match["org"] == org_id, key_name
        by_account.setdefault(match["account"], set()).update(created_users(records))
    assert "in-member" in by_account[member]
    assert "in-management" in by_account[management]

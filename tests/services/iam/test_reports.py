"""IAM reporting through boto3: account summary, credential report, authorization details."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.conftest import Server, start_server
from tests.services.iam.helpers import allow, unique

COLUMNS = (
    "user,arn,user_creation_time,password_enabled,password_last_used,password_last_changed,"
    "password_next_rotation,mfa_active,access_key_1_active,access_key_1_last_rotated,"
    "access_key_1_last_used_date,access_key_1_last_used_region,access_key_1_last_used_service,"
    "access_key_2_active,access_key_2_last_rotated,access_key_2_last_used_date,access_key_2_last_used_region,"
    "access_key_2_last_used_service,cert_1_active,cert_1_last_rotated,cert_2_active,cert_2_last_rotated"
)
TRUST = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}],
}
READ_ONLY = "arn:aws:iam::aws:policy/ReadOnlyAccess"
STRONG_PASSWORD = "Correct-Horse-Battery-9"


def iso(moment: dt.datetime) -> str:
    """The report's spelling of a time."""
    return moment.astimezone(dt.UTC).replace(microsecond=0).isoformat()


# --- GetAccountSummary ---------------------------------------------------------------------

SUMMARY_KEYS = {
    "Users", "UsersQuota", "Groups", "GroupsQuota", "ServerCertificates", "ServerCertificatesQuota",
    "UserPolicySizeQuota", "GroupPolicySizeQuota", "GroupsPerUserQuota", "SigningCertificatesPerUserQuota",
    "AccessKeysPerUserQuota", "MFADevices", "MFADevicesInUse", "AccountMFAEnabled", "AccountAccessKeysPresent",
    "AccountSigningCertificatesPresent", "AttachedPoliciesPerGroupQuota", "AttachedPoliciesPerRoleQuota",
    "AttachedPoliciesPerUserQuota", "Policies", "PoliciesQuota", "PolicySizeQuota", "PolicyVersionsInUse",
    "PolicyVersionsInUseQuota", "VersionsPerPolicyQuota", "GlobalEndpointTokenVersion", "AssumeRolePolicySizeQuota",
    "InstanceProfiles", "InstanceProfilesQuota", "Providers", "RolePolicySizeQuota", "Roles", "RolesQuota",
}


def test_account_summary_has_aws_keys_and_quotas(server: Server) -> None:
    summary = server.client("iam").get_account_summary()["SummaryMap"]
    assert set(summary) == SUMMARY_KEYS
    assert summary["AccessKeysPerUserQuota"] == 2
    assert summary["UsersQuota"] == 5000 and summary["RolesQuota"] == 1000 and summary["GroupsQuota"] == 300
    assert summary["PolicySizeQuota"] == 6144 and summary["VersionsPerPolicyQuota"] == 5
    assert summary["AccountAccessKeysPresent"] == 1  # the server's root keys
    assert summary["AccountMFAEnabled"] == 0 and summary["GlobalEndpointTokenVersion"] == 1


def test_account_summary_counts_follow_the_tables(server: Server) -> None:
    iam = server.client("iam")
    before = iam.get_account_summary()["SummaryMap"]
    user, group, role, policy = unique("su"), unique("sg"), unique("sr"), unique("sp")
    iam.create_user(UserName=user)
    iam.create_group(GroupName=group)
    iam.create_role(RoleName=role, AssumeRolePolicyDocument=json.dumps(TRUST))
    arn = iam.create_policy(PolicyName=policy, PolicyDocument=json.dumps(allow("s3:ListBucket")))["Policy"]["Arn"]
    iam.attach_user_policy(UserName=user, PolicyArn=arn)
    iam.create_instance_profile(InstanceProfileName=unique("sip"))
    iam.create_open_id_connect_provider(Url=f"https://{unique('sum')}.example.com")
    iam.create_virtual_mfa_device(VirtualMFADeviceName=unique("smfa"))
    after = iam.get_account_summary()["SummaryMap"]
    for key in ("Users", "Groups", "Roles", "Policies", "InstanceProfiles", "Providers", "MFADevices",
                "PolicyVersionsInUse"):
        assert after[key] == before[key] + 1, key
    assert after["MFADevicesInUse"] == before["MFADevicesInUse"]
    iam.detach_user_policy(UserName=user, PolicyArn=arn)
    iam.delete_user(UserName=user)
    again = iam.get_account_summary()["SummaryMap"]
    assert again["Users"] == before["Users"] and again["PolicyVersionsInUse"] == before["PolicyVersionsInUse"]


# --- credential report (a server of its own: the test moves the clock) ----------------------------


@pytest.fixture(scope="module")
def fresh(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    running = start_server(Path(tmp_path_factory.mktemp("rampart-report")))
    yield running
    running.stop()


def read_report(iam: Any) -> tuple[list[str], dict[str, dict[str, str]], dt.datetime]:
    got = iam.get_credential_report()
    assert got["ReportFormat"] == "text/csv"
    text = got["Content"].decode()
    header = text.split("\n", 1)[0]
    rows = list(csv.DictReader(io.StringIO(text)))
    return header.split(","), {r["user"]: r for r in rows}, got["GeneratedTime"]


def advance(server: Server, seconds: float) -> None:
    assert server.admin("POST", "clock/advance", json={"seconds": seconds}).status_code == 200


def test_credential_report(fresh: Server) -> None:
    iam = fresh.client("iam")
    with pytest.raises(ClientError) as missing:
        iam.get_credential_report()
    assert missing.value.response["Error"]["Code"] == "ReportNotPresent"

    # alice: console password, an access key she has used, then a second (unused) key.
    alice = iam.create_user(UserName="alice")["User"]
    iam.put_user_policy(UserName="alice", PolicyName="self", PolicyDocument=json.dumps(allow("iam:GetUser")))
    iam.create_login_profile(UserName="alice", Password=STRONG_PASSWORD)
    key = iam.create_access_key(UserName="alice")["AccessKey"]
    as_alice = fresh.client("iam", aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"])
    as_alice.get_user()
    advance(fresh, 60)
    iam.create_access_key(UserName="alice")
    iam.update_account_password_policy(MinimumPasswordLength=8, MaxPasswordAge=90)
    bob = iam.create_user(UserName="bob")["User"]

    first = iam.generate_credential_report()
    assert first["State"] == "STARTED"
    assert iam.generate_credential_report()["State"] == "COMPLETE"
    header, rows, generated = read_report(iam)
    assert header == COLUMNS.split(",")
    assert list(rows) == ["<root_account>", "alice", "bob"]

    root = rows["<root_account>"]
    assert root["arn"] == f"arn:aws:iam::{fresh.account_id}:root"
    assert (root["password_enabled"], root["password_last_changed"], root["password_next_rotation"]) == (
        "not_supported", "not_supported", "not_supported")
    assert root["access_key_1_active"] == "true" and root["mfa_active"] == "false"
    assert root["cert_1_active"] == "false" and root["cert_1_last_rotated"] == "N/A"

    a = rows["alice"]
    profile = iam.get_login_profile(UserName="alice")["LoginProfile"]
    assert a["arn"] == alice["Arn"] and a["user_creation_time"] == iso(alice["CreateDate"])
    assert a["password_enabled"] == "true" and a["password_last_used"] == "no_information"
    assert a["password_last_changed"] == iso(profile["CreateDate"])
    assert a["password_next_rotation"] == iso(profile["CreateDate"] + dt.timedelta(days=90))
    assert a["mfa_active"] == "false"
    assert a["access_key_1_active"] == "true"
    assert a["access_key_1_last_rotated"] == iso(key["CreateDate"])
    assert a["access_key_1_last_used_service"] == "iam" and a["access_key_1_last_used_region"] == "us-east-1"
    last_used = iam.get_access_key_last_used(AccessKeyId=key["AccessKeyId"])["AccessKeyLastUsed"]
    assert a["access_key_1_last_used_date"] == iso(last_used["LastUsedDate"])
    assert a["access_key_2_active"] == "true" and a["access_key_2_last_rotated"] != "N/A"
    assert (a["access_key_2_last_used_date"], a["access_key_2_last_used_service"]) == ("N/A", "N/A")

    b = rows["bob"]
    assert b["user_creation_time"] == iso(bob["CreateDate"])
    assert [b[c] for c in ("password_enabled", "password_last_used", "password_last_changed",
                           "password_next_rotation", "mfa_active")] == ["false", "N/A", "N/A", "N/A", "false"]
    assert [b[c] for c in header[8:]] == ["false", "N/A", "N/A", "N/A", "N/A"] * 2 + ["false", "N/A"] * 2

    # Within four hours the existing report is kept; after them it expires and a new one is made.
    iam.create_user(UserName="carol")
    assert iam.generate_credential_report()["State"] == "COMPLETE"
    assert "carol" not in read_report(iam)[1]
    advance(fresh, 4 * 3600 + 1)
    with pytest.raises(ClientError) as expired:
        iam.get_credential_report()
    assert expired.value.response["Error"]["Code"] == "ReportExpired"
    assert iam.generate_credential_report()["State"] == "STARTED"
    _header, rows, regenerated = read_report(iam)
    assert "carol" in rows and regenerated > generated


# --- GetAccountAuthorizationDetails ---------------------------------------------------------------


def _all_pages(iam: Any, **kwargs: Any) -> dict[str, list[dict[str, Any]]]:
    merged: dict[str, list[dict[str, Any]]] = {"UserDetailList": [], "GroupDetailList": [], "RoleDetailList": [],
                                              "Policies": []}
    marker: str | None = None
    while True:
        page = iam.get_account_authorization_details(**kwargs, **({"Marker": marker} if marker else {}))
        for section in merged:
            merged[section] += page[section]
        if not page["IsTruncated"]:
            return merged
        marker = page["Marker"]


def all_authorization_details(iam: Any, **kwargs: Any) -> dict[str, list[Any]]:
    """Every page of GetAccountAuthorizationDetails, merged."""
    merged: dict[str, list[Any]] = {"UserDetailList": [], "GroupDetailList": [], "RoleDetailList": [], "Policies": []}
    for page in iam.get_paginator("get_account_authorization_details").paginate(**kwargs):
        for key, items in merged.items():
            items.extend(page.get(key, []))
    return merged


def test_account_authorization_details(server: Server) -> None:
    iam = server.client("iam")
    user, group, role, profile, policy = (unique(p) for p in ("du", "dg", "dr", "dip", "dp"))
    user_doc = json.dumps(allow("s3:GetObject", "arn:aws:s3:::bucket/*"))
    iam.create_user(UserName=user, Tags=[{"Key": "team", "Value": "blue"}])
    iam.put_user_policy(UserName=user, PolicyName="inline", PolicyDocument=user_doc)
    iam.create_group(GroupName=group)
    iam.add_user_to_group(GroupName=group, UserName=user)
    iam.attach_group_policy(GroupName=group, PolicyArn=READ_ONLY)
    arn = iam.create_policy(PolicyName=policy, PolicyDocument=json.dumps(allow("sqs:*")))["Policy"]["Arn"]
    iam.create_policy_version(PolicyArn=arn, PolicyDocument=json.dumps(allow("sqs:SendMessage")), SetAsDefault=True)
    iam.create_role(RoleName=role, AssumeRolePolicyDocument=json.dumps(TRUST))
    iam.attach_role_policy(RoleName=role, PolicyArn=arn)
    iam.put_role_permissions_boundary(RoleName=role, PermissionsBoundary=arn)
    iam.create_instance_profile(InstanceProfileName=profile)
    iam.add_role_to_instance_profile(InstanceProfileName=profile, RoleName=role)

    details = all_authorization_details(iam)  # the shared server holds other tests' entities: read every page
    users = {u["UserName"]: u for u in details["UserDetailList"]}
    u = users[user]
    # botocore URL-decodes and parses IAM policy documents; the wire form is URL-encoded JSON.
    assert u["UserPolicyList"] == [{"PolicyName": "inline", "PolicyDocument": json.loads(user_doc)}]
    assert u["GroupList"] == [group] and u["Tags"] == [{"Key": "team", "Value": "blue"}]
    assert u["Arn"].endswith(f":user/{user}") and u["UserId"].startswith("AIDA")

    g = {x["GroupName"]: x for x in details["GroupDetailList"]}[group]
    assert g["AttachedManagedPolicies"] == [{"PolicyName": "ReadOnlyAccess", "PolicyArn": READ_ONLY}]

    r = {x["RoleName"]: x for x in details["RoleDetailList"]}[role]
    assert r["AttachedManagedPolicies"] == [{"PolicyName": policy, "PolicyArn": arn}]
    assert r["PermissionsBoundary"] == {"PermissionsBoundaryType": "PermissionsBoundaryPolicy",
                                        "PermissionsBoundaryArn": arn}
    assert [p["InstanceProfileName"] for p in r["InstanceProfileList"]] == [profile]
    assert r["InstanceProfileList"][0]["Roles"][0]["RoleName"] == role
    assert r["AssumeRolePolicyDocument"] == TRUST

    policies = {p["Arn"]: p for p in details["Policies"]}
    mine = policies[arn]
    assert mine["AttachmentCount"] == 1 and mine["PermissionsBoundaryUsageCount"] == 1
    assert [(v["VersionId"], v["IsDefaultVersion"]) for v in mine["PolicyVersionList"]] == [
        ("v2", True), ("v1", False)]
    assert mine["DefaultVersionId"] == "v2"
    assert mine["PolicyVersionList"][0]["Document"] == allow("sqs:SendMessage")
    assert READ_ONLY in policies and policies[READ_ONLY]["AttachmentCount"] >= 1
    assert all(p["AttachmentCount"] + p["PermissionsBoundaryUsageCount"] > 0
               for p in details["Policies"] if p["Arn"].startswith("arn:aws:iam::aws:"))

    only_roles = all_authorization_details(iam, Filter=["Role"])
    assert only_roles["UserDetailList"] == only_roles["GroupDetailList"] == only_roles["Policies"] == []
    assert role in {x["RoleName"] for x in only_roles["RoleDetailList"]}
    aws_only = iam.get_account_authorization_details(Filter=["AWSManagedPolicy"])["Policies"]
    assert aws_only and all(p["Arn"].startswith("arn:aws:iam::aws:policy/") for p in aws_only)

    paged = _all_pages(iam, MaxItems=2)
    assert [x["UserName"] for x in paged["UserDetailList"]] == [x["UserName"] for x in details["UserDetailList"]]
    assert [x["RoleName"] for x in paged["RoleDetailList"]] == [x["RoleName"] for x in details["RoleDetailList"]]
    assert [x["Arn"] for x in paged["Policies"]] == [x["Arn"] for x in details["Policies"]]


# --- the CSV builder on its own ------------------------------------------------------------------


def test_report_builder_orders_keys_and_quotes_names() -> None:
    from rampart.services.iam.credential_report import (
        KeyFacts,
        PrincipalFacts,
        build_report,
    )

    t0 = dt.datetime(2026, 11, 29, 3, 4, 5, 678000, tzinfo=dt.UTC)
    newer = KeyFacts(False, t0 + dt.timedelta(days=1))
    older = KeyFacts(True, t0, t0 + dt.timedelta(hours=1), "eu-west-1", "s3")
    root = PrincipalFacts("<root_account>", "arn:aws:iam::111122223333:root", t0)
    user = PrincipalFacts("a,b", "arn:aws:iam::111122223333:user/a,b", t0, keys=[newer, older], mfa_active=True)
    text = build_report(root, [user]).decode()
    lines = text.split("\n")
    assert lines[0] == COLUMNS and not text.endswith("\n")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert rows[0]["access_key_1_active"] == "false" and rows[0]["access_key_1_last_rotated"] == "N/A"
    row = rows[1]
    assert lines[2].startswith('"a,b",') and row["user"] == "a,b"
    assert row["user_creation_time"] == "2026-11-29T03:04:05+00:00" and row["mfa_active"] == "true"
    assert [row[f"access_key_1_{c}"] for c in ("active", "last_rotated", "last_used_date", "last_used_region",
                                               "last_used_service")] == [
        "true", "2026-11-29T03:04:05+00:00", "2026-11-29T04:04:05+00:00", "eu-west-1", "s3"]
    assert row["access_key_2_active"] == "false" and row["access_key_2_last_rotated"] == "2026-11-30T03:04:05+00:00"

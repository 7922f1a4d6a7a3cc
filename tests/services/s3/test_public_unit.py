"""AWS's meaning of "public" for bucket policies, and ACL grant parsing: pure functions, table-driven."""

from __future__ import annotations

from typing import Any

import pytest

from rampart.services.s3 import acl as acls
from rampart.services.s3.public import policy_is_public


def _doc(**statement: Any) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Resource": "arn:aws:s3:::b/*", **statement}]}


@pytest.mark.parametrize(
    ("statement", "public"),
    [
        ({"Principal": "*", "Action": "s3:GetObject"}, True),
        ({"Principal": {"AWS": "*"}, "Action": "s3:ListBucket"}, True),
        ({"Principal": {"AWS": "*"}, "Action": "s3:*"}, True),
        ({"Principal": "*", "Action": "s3:G*"}, True),
        ({"Principal": {"AWS": "111122223333"}, "Action": "s3:GetObject"}, False),
        ({"Principal": {"Service": "logging.s3.amazonaws.com"}, "Action": "s3:PutObject"}, False),
        ({"Principal": "*", "Action": "s3:GetObject", "Condition": {"IpAddress": {"aws:SourceIp": "10.0.0.0/16"}}}, False),
        ({"Principal": "*", "Action": "s3:GetObject", "Condition": {"IpAddress": {"aws:SourceIp": "0.0.0.0/0"}}}, True),
        ({"Principal": "*", "Action": "s3:GetObject",
          "Condition": {"StringEquals": {"aws:SourceAccount": "111122223333"}}}, False),
        ({"Principal": "*", "Action": "s3:GetObject",
          "Condition": {"StringEquals": {"aws:PrincipalOrgID": "o-abc123"}}}, False),
        ({"Principal": "*", "Action": "s3:GetObject",
          "Condition": {"StringLike": {"aws:SourceArn": "arn:aws:*"}}}, True),
        ({"Principal": "*", "Action": "s3:GetObject",
          "Condition": {"StringEqualsIfExists": {"aws:SourceVpc": "vpc-1"}}}, True),
        ({"Principal": "*", "Action": "s3:GetObject",
          "Condition": {"StringEquals": {"aws:UserAgent": "curl"}}}, True),
        ({"Principal": "*", "Action": "s3:PutBucketWebsite"}, True),
        ({"Principal": "*", "Action": "s3:ReplicateObject"}, False),
        ({"NotPrincipal": {"AWS": "111122223333"}, "Action": "s3:GetObject"}, True),
        # ForAllValues holds when the key is missing (an anonymous caller has no aws:PrincipalOrgID): no pin.
        ({"Principal": "*", "Action": "s3:GetObject",
          "Condition": {"ForAllValues:StringEquals": {"aws:PrincipalOrgID": "o-abc123"}}}, True),
        ({"Principal": "*", "Action": "s3:GetObject",
          "Condition": {"ForAnyValue:StringEquals": {"aws:PrincipalOrgID": "o-abc123"}}}, False),
    ],
)
def test_policy_publicness(statement: dict[str, Any], public: bool) -> None:
    assert policy_is_public(_doc(**statement)) is public


def test_deny_statements_are_never_public() -> None:
    document = {"Statement": [{"Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": "*"}]}
    assert policy_is_public(document) is False


@pytest.mark.parametrize(
    ("canned", "uris"),
    [
        ("private", []),
        ("public-read", [(acls.ALL_USERS, "READ")]),
        ("public-read-write", [(acls.ALL_USERS, "READ"), (acls.ALL_USERS, "WRITE")]),
        ("authenticated-read", [(acls.AUTHENTICATED_USERS, "READ")]),
        ("log-delivery-write", [(acls.LOG_DELIVERY, "WRITE"), (acls.LOG_DELIVERY, "READ_ACP")]),
    ],
)
def test_canned_acls(canned: str, uris: list[tuple[str, str]]) -> None:
    found = acls.canned_acl(canned, "111122223333", "111122223333")
    groups = [(g["Grantee"]["URI"], g["Permission"]) for g in found["Grants"] if g["Grantee"]["Type"] == "Group"]
    assert groups == uris
    assert found["Grants"][0]["Permission"] == "FULL_CONTROL"
    assert acls.acl_is_public(found) is any(uri in acls.PUBLIC_GROUPS for uri, _ in uris)


def test_grant_statements_follow_permissions_and_ignore_public() -> None:
    acl = acls.canned_acl("public-read", "111122223333", "111122223333")
    statements = acls.grant_statements(acl, "arn:aws:s3:::b/k", "111122223333", is_object=True, ignore_public=False)
    assert [(s["Principal"], s["Action"]) for s in statements] == [
        ("*", ["s3:GetObject", "s3:GetObjectVersion", "s3:GetObjectTorrent"])]
    assert acls.grant_statements(acl, "arn:aws:s3:::b/k", "111122223333", is_object=True, ignore_public=True) == []


def test_authenticated_users_exclude_anonymous() -> None:
    acl = acls.canned_acl("authenticated-read", "111122223333", "111122223333")
    (statement,) = acls.grant_statements(acl, "arn:aws:s3:::b", "111122223333", is_object=False, ignore_public=False)
    assert statement["Condition"] == {"StringNotEquals": {"aws:PrincipalType": "Anonymous"}}


def test_grant_header_with_a_group_and_junk() -> None:
    grants = acls.parse_grant_header(f'uri="{acls.ALL_USERS}"', "READ", conn=None)  # type: ignore[arg-type]
    assert grants == [{"Grantee": {"Type": "Group", "URI": acls.ALL_USERS}, "Permission": "READ"}]
    with pytest.raises(acls.InvalidArgument):
        acls.parse_grant_header("nonsense", "READ", conn=None)  # type: ignore[arg-type]
    with pytest.raises(acls.InvalidArgument):
        acls.parse_grant_header('uri="http://example.com/group"', "READ", conn=None)  # type: ignore[arg-type]

"""The action catalog: actions and resource ARNs for operations, and full coverage of the served models."""

from __future__ import annotations

from typing import Any

import pytest

from rampart.aws import catalog
from rampart.aws.catalog import Requirement, action_exists, operation_actions, requirements
from rampart.aws.catalog_exceptions import OPERATIONS, UNLISTED
from rampart.aws.models import SUPPORTED_SERVICES, action_prefix, operation_model, service_model

ACCOUNT = "123456789012"
REGION = "us-east-1"
TOPIC = f"arn:aws:sns:{REGION}:{ACCOUNT}:alerts"
KEY_ARN = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"

# (service, operation, params, expected [(action, resources), ...])
CASES: list[tuple[str, str, dict[str, Any], list[tuple[str, tuple[str, ...]]]]] = [
    ("iam", "CreateUser", {"UserName": "bob"}, [("iam:CreateUser", (f"arn:aws:iam::{ACCOUNT}:user/bob",))]),
    ("iam", "CreateUser", {"UserName": "bob", "Path": "/eng/"},
     [("iam:CreateUser", (f"arn:aws:iam::{ACCOUNT}:user/eng/bob",))]),
    ("iam", "CreateRole", {"RoleName": "r", "Path": "/svc/", "AssumeRolePolicyDocument": "{}"},
     [("iam:CreateRole", (f"arn:aws:iam::{ACCOUNT}:role/svc/r",))]),
    (
        "iam",
        "CreateUser",
        {"UserName": "bob", "Tags": [{"Key": "team", "Value": "red"}]},
        [
            ("iam:CreateUser", (f"arn:aws:iam::{ACCOUNT}:user/bob",)),
            ("iam:TagUser", (f"arn:aws:iam::{ACCOUNT}:user/bob",)),
        ],
    ),
    (
        "iam",
        "AttachUserPolicy",
        {"UserName": "bob", "PolicyArn": "arn:aws:iam::aws:policy/ReadOnlyAccess"},
        [("iam:AttachUserPolicy", (f"arn:aws:iam::{ACCOUNT}:user/bob",))],
    ),
    (
        "iam",
        "GetPolicy",
        {"PolicyArn": f"arn:aws:iam::{ACCOUNT}:policy/team/ops"},
        [("iam:GetPolicy", (f"arn:aws:iam::{ACCOUNT}:policy/team/ops",))],
    ),
    (
        "iam",
        "AddUserToGroup",
        {"UserName": "bob", "GroupName": "g"},
        [("iam:AddUserToGroup", (f"arn:aws:iam::{ACCOUNT}:group/g",))],
    ),
    (
        "iam",
        "EnableMFADevice",
        {"UserName": "bob", "SerialNumber": f"arn:aws:iam::{ACCOUNT}:mfa/bob"},
        [("iam:EnableMFADevice", (f"arn:aws:iam::{ACCOUNT}:user/bob",))],
    ),
    (
        "iam",
        "DeleteVirtualMFADevice",
        {"SerialNumber": f"arn:aws:iam::{ACCOUNT}:mfa/bob"},
        [("iam:DeleteVirtualMFADevice", (f"arn:aws:iam::{ACCOUNT}:mfa/bob",))],
    ),
    ("iam", "ListUsers", {}, [("iam:ListUsers", ("*",))]),
    ("sts", "GetCallerIdentity", {}, [("sts:GetCallerIdentity", ("*",))]),
    (
        "sts",
        "AssumeRole",
        {"RoleArn": f"arn:aws:iam::{ACCOUNT}:role/admin", "RoleSessionName": "s"},
        [("sts:AssumeRole", (f"arn:aws:iam::{ACCOUNT}:role/admin",))],
    ),
    ("s3", "ListBuckets", {}, [("s3:ListAllMyBuckets", ("*",))]),
    ("s3", "ListObjectsV2", {"Bucket": "bucket"}, [("s3:ListBucket", ("arn:aws:s3:::bucket",))]),
    ("s3", "HeadBucket", {"Bucket": "bucket"}, [("s3:ListBucket", ("arn:aws:s3:::bucket",))]),
    ("s3", "GetObject", {"Bucket": "bucket", "Key": "key"}, [("s3:GetObject", ("arn:aws:s3:::bucket/key",))]),
    (
        "s3",
        "GetObject",
        {"Bucket": "bucket", "Key": "a/b c.txt", "VersionId": "v1"},
        [("s3:GetObjectVersion", ("arn:aws:s3:::bucket/a/b c.txt",))],
    ),
    (
        "s3",
        "GetObject",
        {"Bucket": "mine", "Key": "arn:aws:s3:::theirs/secret"},
        [("s3:GetObject", ("arn:aws:s3:::mine/arn:aws:s3:::theirs/secret",))],
    ),
    ("s3", "HeadObject", {"Bucket": "bucket", "Key": "key"}, [("s3:GetObject", ("arn:aws:s3:::bucket/key",))]),
    ("s3", "UploadPart", {"Bucket": "b", "Key": "k", "UploadId": "u"}, [("s3:PutObject", ("arn:aws:s3:::b/k",))]),
    ("s3", "ListParts", {"Bucket": "b", "Key": "k"}, [("s3:ListMultipartUploadParts", ("arn:aws:s3:::b/k",))]),
    (
        "s3",
        "CopyObject",
        {"Bucket": "dst", "Key": "k2", "CopySource": "src/dir/k%201?versionId=3"},
        [("s3:PutObject", ("arn:aws:s3:::dst/k2",)), ("s3:GetObjectVersion", ("arn:aws:s3:::src/dir/k 1",))],
    ),
    (
        "s3",
        "DeleteObjects",
        {"Bucket": "b", "Delete": {"Objects": [{"Key": "x"}, {"Key": "y"}]}},
        [("s3:DeleteObject", ("arn:aws:s3:::b/x", "arn:aws:s3:::b/y"))],
    ),
    ("s3", "PutBucketEncryption", {"Bucket": "b"}, [("s3:PutEncryptionConfiguration", ("arn:aws:s3:::b",))]),
    # Writing an object with tags also needs s3:PutObjectTagging (S3 User Guide, "Tagging and access control").
    ("s3", "PutObject", {"Bucket": "b", "Key": "k"}, [("s3:PutObject", ("arn:aws:s3:::b/k",))]),
    (
        "s3",
        "PutObject",
        {"Bucket": "b", "Key": "k", "Tagging": "team=red"},
        [("s3:PutObject", ("arn:aws:s3:::b/k",)), ("s3:PutObjectTagging", ("arn:aws:s3:::b/k",))],
    ),
    (
        "s3",
        "CreateMultipartUpload",
        {"Bucket": "b", "Key": "k", "Tagging": "team=red"},
        [("s3:PutObject", ("arn:aws:s3:::b/k",)), ("s3:PutObjectTagging", ("arn:aws:s3:::b/k",))],
    ),
    (
        "s3",
        "CopyObject",
        {"Bucket": "dst", "Key": "k2", "CopySource": "src/k1", "Tagging": "a=b", "TaggingDirective": "REPLACE"},
        [
            ("s3:PutObject", ("arn:aws:s3:::dst/k2",)),
            ("s3:PutObjectTagging", ("arn:aws:s3:::dst/k2",)),
            ("s3:GetObject", ("arn:aws:s3:::src/k1",)),
        ],
    ),
    (
        "s3control",
        "PutPublicAccessBlock",
        {"AccountId": ACCOUNT, "PublicAccessBlockConfiguration": {}},
        [("s3:PutAccountPublicAccessBlock", ("*",))],
    ),
    ("s3control", "GetPublicAccessBlock", {"AccountId": ACCOUNT}, [("s3:GetAccountPublicAccessBlock", ("*",))]),
    ("s3control", "DeletePublicAccessBlock", {"AccountId": ACCOUNT}, [("s3:PutAccountPublicAccessBlock", ("*",))]),
    ("s3", "GetBucketPolicyStatus", {"Bucket": "b"}, [("s3:GetBucketPolicyStatus", ("arn:aws:s3:::b",))]),
    ("s3", "PutBucketLifecycleConfiguration", {"Bucket": "b"}, [("s3:PutLifecycleConfiguration", ("arn:aws:s3:::b",))]),
    ("s3", "PutBucketCors", {"Bucket": "b"}, [("s3:PutBucketCORS", ("arn:aws:s3:::b",))]),
    ("cloudwatch", "PutMetricData", {"Namespace": "App"}, [("cloudwatch:PutMetricData", ("*",))]),
    (
        "cloudwatch",
        "DeleteAlarms",
        {"AlarmNames": ["a", "b"]},
        [
            (
                "cloudwatch:DeleteAlarms",
                (f"arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:a", f"arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:b"),
            )
        ],
    ),
    ("budgets", "DescribeBudgets", {"AccountId": ACCOUNT}, [("budgets:ViewBudget", ("*",))]),
    (
        "budgets",
        "DeleteBudget",
        {"AccountId": ACCOUNT, "BudgetName": "monthly"},
        [("budgets:ModifyBudget", (f"arn:aws:budgets::{ACCOUNT}:budget/monthly",))],
    ),
    (
        "kms",
        "Encrypt",
        {"KeyId": "1234abcd-12ab-34cd-56ef-1234567890ab", "Plaintext": b"x"},
        [("kms:Encrypt", (KEY_ARN,))],
    ),
    ("kms", "Encrypt", {"KeyId": KEY_ARN, "Plaintext": b"x"}, [("kms:Encrypt", (KEY_ARN,))]),
    (
        "kms",
        "Encrypt",
        {"KeyId": "alias/app", "Plaintext": b"x"},
        [("kms:Encrypt", (f"arn:aws:kms:{REGION}:{ACCOUNT}:alias/app",))],
    ),
    (
        "kms",
        "CreateAlias",
        {"AliasName": "alias/app", "TargetKeyId": "k1"},
        [("kms:CreateAlias", (f"arn:aws:kms:{REGION}:{ACCOUNT}:alias/app", f"arn:aws:kms:{REGION}:{ACCOUNT}:key/k1"))],
    ),
    ("kms", "ListKeys", {}, [("kms:ListKeys", ("*",))]),
    ("s3", "DeleteObjects", {"Bucket": "b", "Delete": {"Objects": []}}, [("s3:DeleteObject", ("*",))]),
    ("sns", "Publish", {"TopicArn": TOPIC, "Message": "m"}, [("sns:Publish", (TOPIC,))]),
    ("sns", "CreateTopic", {"Name": "alerts"}, [("sns:CreateTopic", (TOPIC,))]),
    ("sns", "Unsubscribe", {"SubscriptionArn": TOPIC + ":0b1c"}, [("sns:Unsubscribe", (TOPIC,))]),
    (
        "logs",
        "PutLogEvents",
        {"logGroupName": "g", "logStreamName": "s", "logEvents": []},
        [("logs:PutLogEvents", (f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:g:log-stream:s",))],
    ),
    (
        "cloudtrail",
        "CreateTrail",
        {"Name": "main", "S3BucketName": "logs"},
        [("cloudtrail:CreateTrail", (f"arn:aws:cloudtrail:{REGION}:{ACCOUNT}:trail/main",))],
    ),
    (
        "route53",
        "GetHostedZone",
        {"Id": "/hostedzone/Z123"},
        [("route53:GetHostedZone", ("arn:aws:route53:::hostedzone/Z123",))],
    ),
    (
        "guardduty",
        "GetDetector",
        {"DetectorId": "d1"},
        [("guardduty:GetDetector", (f"arn:aws:guardduty:{REGION}:{ACCOUNT}:detector/d1",))],
    ),
]


@pytest.mark.parametrize(("service", "operation", "params", "expected"), CASES)
def test_requirements(
    service: str, operation: str, params: dict[str, Any], expected: list[tuple[str, tuple[str, ...]]]
) -> None:
    """Each case: the actions AWS documents, on the ARNs built from the request."""
    got = requirements(service, operation, params, ACCOUNT, REGION)
    assert list(got) == [Requirement(action, resources) for action, resources in expected]


SELF_OPERATIONS = ["GetUser", "CreateAccessKey", "ListAccessKeys", "ChangePassword", "ListMFADevices"]


@pytest.mark.parametrize("operation", SELF_OPERATIONS)
def test_iam_self_operations_act_on_the_caller(operation: str) -> None:
    params: dict[str, Any] = {"OldPassword": "a", "NewPassword": "b"} if operation == "ChangePassword" else {}
    (needed,) = requirements("iam", operation, params, ACCOUNT, REGION, caller_name="alice")
    assert needed == Requirement(f"iam:{operation}", (f"arn:aws:iam::{ACCOUNT}:user/alice",))
    (anonymous,) = requirements("iam", operation, params, ACCOUNT, REGION)
    assert anonymous.resources == ("*",)


def test_named_user_wins_over_the_caller() -> None:
    (needed,) = requirements("iam", "GetUser", {"UserName": "bob"}, ACCOUNT, REGION, caller_name="alice")
    assert needed.resources == (f"arn:aws:iam::{ACCOUNT}:user/bob",)


def test_partition_follows_the_region() -> None:
    (needed,) = requirements("s3", "GetObject", {"Bucket": "b", "Key": "k"}, ACCOUNT, "cn-north-1")
    assert needed.resources == ("arn:aws-cn:s3:::b/k",)


def test_unknown_operation_needs_its_own_name_on_everything() -> None:
    assert list(requirements("iam", "NoSuchOperation", {}, ACCOUNT, REGION)) == [Requirement("iam:NoSuchOperation")]


def test_plans_are_compiled_once() -> None:
    requirements("kms", "Decrypt", {"KeyId": "k"}, ACCOUNT, REGION)
    plan = catalog._PLANS[("kms", "Decrypt")]
    requirements("kms", "Decrypt", {"KeyId": "k2"}, ACCOUNT, REGION)
    assert catalog._PLANS[("kms", "Decrypt")] is plan


def test_every_exception_names_a_listed_action() -> None:
    named = {a for acts in OPERATIONS.values() for act in acts for a in (act.action, act.versioned) if a}
    unknown = sorted(a for a in named if not action_exists(a))
    assert not unknown, f"actions the Service Authorization Reference does not list: {unknown}"


def test_unlisted_operations_are_real_operations() -> None:
    stale = sorted(f"{s}:{o}" for s, o in UNLISTED if o not in service_model(s).operation_names)
    assert not stale, f"UNLISTED names operations botocore does not model: {stale}"


def _unmapped(service: str) -> list[str]:
    """Operations of a service with an action the reference does not list (and not declared UNLISTED)."""
    missing = []
    for operation in service_model(service).operation_names:
        actions = operation_actions(service, operation)
        if not actions:
            missing.append(f"{operation} -> (none)")
            continue
        if (service, operation) in UNLISTED:
            assert actions == (f"{action_prefix(service)}:{operation}",)
            continue
        missing.extend(f"{operation} -> {a}" for a in actions if not action_exists(a))
    return missing


@pytest.mark.parametrize("service", SUPPORTED_SERVICES)
def test_every_operation_maps_to_a_listed_action(service: str) -> None:
    missing = _unmapped(service)
    if missing:
        print(f"\n{service}: unmapped operations", *missing, sep="\n  ")
    assert not missing


@pytest.mark.parametrize("service", SUPPORTED_SERVICES)
def test_every_operation_survives_odd_parameters(service: str) -> None:
    """Empty, string-valued and wrongly-typed parameters never break the catalog (no 500s)."""
    for operation in service_model(service).operation_names:
        shape = operation_model(service, operation).input_shape
        members = list(shape.members) if shape is not None else []
        odd: list[dict[str, Any]] = [{}, {m: "x" for m in members}, {m: {"a": 1} for m in members}]
        for params in (*odd, {m: [1, None] for m in members}):
            found = requirements(service, operation, params, ACCOUNT, REGION, caller_name="alice")
            assert found, f"{service}:{operation} needs nothing with {params}: authorization would be skipped"
            for needed in found:
                assert needed.resources and all(isinstance(r, str) and r for r in needed.resources)

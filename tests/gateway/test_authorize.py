"""The authorize step's pure parts: request tags, AccessDenied wording, resource description."""

from __future__ import annotations

from typing import Any

import pytest

from rampart.aws.catalog import Requirement
from rampart.gateway.authorize import ResourceFacts, Subject, decide, denied_message, request_tags
from rampart.policy import Decision, DecisionKind, PolicySet, PolicyType, Principal, PrincipalType, compile_policy

ALICE = Principal(PrincipalType.USER, "arn:aws:iam::123456789012:user/alice", "123456789012", username="alice")


@pytest.mark.parametrize(
    ("params", "tags", "keys"),
    [
        ({}, {}, []),
        ({"Tags": [{"Key": "team", "Value": "blue"}]}, {"team": "blue"}, ["team"]),  # IAM, S3, EC2
        ({"Tags": [{"TagKey": "env", "TagValue": "prod"}]}, {"env": "prod"}, ["env"]),  # KMS
        ({"tags": {"a": "1", "b": "2"}}, {"a": "1", "b": "2"}, ["a", "b"]),  # CloudWatch Logs, GuardDuty
        ({"TagKeys": ["x", "y"]}, {}, ["x", "y"]),  # untagging names keys only
        ({"Tags": "not a list"}, {}, []),  # odd input is ignored, never trusted
        ({"Tags": [{"Value": "no key"}]}, {}, []),
    ],
)
def test_request_tags_from_every_model_spelling(params: dict[str, Any], tags: dict[str, str], keys: list[str]) -> None:
    assert request_tags(params) == (tags, keys)


@pytest.mark.parametrize(
    ("kind", "blocked", "resource", "tail"),
    [
        (DecisionKind.IMPLICIT_DENY, PolicyType.IDENTITY, "arn:aws:iam::123456789012:user/bob",
         " on resource: arn:aws:iam::123456789012:user/bob because no identity-based policy allows the iam:CreateUser action"),
        (DecisionKind.EXPLICIT_DENY, PolicyType.IDENTITY, "arn:aws:iam::123456789012:user/bob",
         " on resource: arn:aws:iam::123456789012:user/bob with an explicit deny in an identity-based policy"),
        (DecisionKind.IMPLICIT_DENY, PolicyType.BOUNDARY, "*",
         " because no permissions boundary allows the iam:CreateUser action"),
    ],
)
def test_denied_message_is_aws_wording(kind: DecisionKind, blocked: PolicyType, resource: str, tail: str) -> None:
    message = denied_message(ALICE, Requirement("iam:CreateUser", (resource,)), resource, Decision(kind, (), blocked))
    assert message == f"User: {ALICE.arn} is not authorized to perform: iam:CreateUser{tail}"


def test_decide_sees_resource_tags_and_resource_policy() -> None:
    tagged = compile_policy(
        '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:GetRole","Resource":"*",'
        '"Condition":{"StringEquals":{"aws:ResourceTag/env":"dev"}}}]}',
        "p",
        PolicyType.IDENTITY,
    )
    subject = Subject(ALICE, PolicySet(identity=(tagged,)))
    role = "arn:aws:iam::123456789012:role/r"
    assert decide(subject, "iam:GetRole", ResourceFacts(role, {"env": "dev"}), {}).allowed
    assert not decide(subject, "iam:GetRole", ResourceFacts(role, {"env": "prod"}), {}).allowed
    assert not decide(subject, "iam:GetRole", ResourceFacts(role), {}).allowed

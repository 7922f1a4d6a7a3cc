"""Action and resource matching.

Sources: IAM User Guide "IAM JSON policy elements: Action" (case-insensitive,
wildcards), "IAM JSON policy elements: Resource" (case-sensitive; wildcards stay
within an ARN segment unless the ``*`` ends the segment), "IAM policy elements:
Variables and tags".
"""

from __future__ import annotations

import pytest

from policy_helpers import decide, pol, st, user

ACTIONS = [
    ("s3:GetObject", "s3:GetObject", True),
    ("s3:GetObject", "S3:getobject", True),
    ("s3:Get*", "s3:GetObjectAcl", True),
    ("s3:Get*", "s3:PutObject", False),
    ("s3:*Object", "s3:DeleteObject", True),
    ("s3:Get?bject", "s3:GetObject", True),
    ("s3:Get?bject", "s3:GetOObject", False),
    ("*", "iam:CreateUser", True),
    ("s3:*", "s3:ListBucket", True),
    ("s3:*", "s3express:CreateSession", False),
    ("*:Get*", "ec2:GetConsoleOutput", True),
    ("ec2:Describe*", "ec2:describeinstances", True),
    (["iam:CreateUser", "iam:DeleteUser"], "iam:DeleteUser", True),
    ("cognito-idp:List*", "cognito-idp:ListUsers", True),
]


@pytest.mark.parametrize("pattern,action,expected", ACTIONS)
def test_action_matching(pattern, action, expected):
    assert decide(user(), action, identity=[pol(st(action=pattern))]).allowed is expected


@pytest.mark.parametrize("pattern,action,expected", ACTIONS)
def test_not_action_is_the_complement(pattern, action, expected):
    policy = pol({"Effect": "Allow", "NotAction": pattern, "Resource": "*"})
    assert decide(user(), action, identity=[policy]).allowed is not expected


RESOURCES = [
    ("*", "arn:aws:s3:::b/k", True),
    ("*", "*", True),
    ("arn:aws:s3:::b/*", "arn:aws:s3:::b/k/deep", True),
    ("arn:aws:s3:::b/*", "arn:aws:s3:::B/k", False),  # case-sensitive
    ("arn:aws:s3:::b", "arn:aws:s3:::b/k", False),
    ("arn:aws:s3:::b?", "arn:aws:s3:::bc", True),
    ("arn:aws:s3:::b/a:*", "arn:aws:s3:::b/a:x:y", True),  # the resource part may hold colons
    ("arn:aws:iam::*:user/*", "arn:aws:iam::111111111111:user/alice", True),
    ("arn:aws:iam::1*1:user/*", "arn:aws:iam::111111111111:user/alice", True),
    ("arn:aws:s*:::b", "arn:aws:s3:::b", True),
    ("arn:aws:s*3:::b", "arn:aws:sqs:x:y:3:::b", False),  # a mid-segment * does not cross colons
    ("arn:aws:s3:*", "arn:aws:s3:::b/k", True),  # a * ending a segment may
    ("arn:*", "arn:aws:dynamodb:us-east-1:111111111111:table/t", True),
    ("arn:aws:sqs:us-east-1:111111111111:q", "arn:aws:sqs:us-east-1:111111111111:q", True),
    ("arn:aws:sqs:us-east-1:111111111111:q", "arn:aws:sqs:us-east-1:111111111111:Q", False),
    ("arn:aws:s3:::b/*", "*", False),
]


@pytest.mark.parametrize("pattern,resource,expected", RESOURCES)
def test_resource_matching(pattern, resource, expected):
    assert decide(user(), "s3:GetObject", resource, identity=[pol(st(resource=pattern))]).allowed is expected


@pytest.mark.parametrize("pattern,resource,expected", RESOURCES)
def test_not_resource_is_the_complement(pattern, resource, expected):
    policy = pol({"Effect": "Allow", "Action": "*", "NotResource": pattern})
    assert decide(user(), "s3:GetObject", resource, identity=[policy]).allowed is not expected


VARIABLE_RESOURCES = [
    ("arn:aws:s3:::b/${aws:username}/*", "alice", "arn:aws:s3:::b/alice/x", True),
    ("arn:aws:s3:::b/${aws:username}/*", "alice", "arn:aws:s3:::b/bob/x", False),
    ("arn:aws:s3:::b/${aws:username}", "*", "arn:aws:s3:::b/bob", False),  # substituted * is literal
    ("arn:aws:s3:::b/${aws:username}", "*", "arn:aws:s3:::b/*", True),
    ("arn:aws:s3:::b/${aws:username}", "a?", "arn:aws:s3:::b/ab", False),
    ("arn:aws:iam::*:user/${aws:username}", "alice", "arn:aws:iam::111111111111:user/alice", True),
    ("arn:aws:s3:::b/${aws:PrincipalTag/team}/*", "alice", "arn:aws:s3:::b/red/x", True),
    ("arn:aws:s3:::b/${aws:PrincipalTag/missing}/*", "alice", "arn:aws:s3:::b/red/x", False),
    ("arn:aws:s3:::b/${aws:PrincipalTag/missing, 'shared'}/*", "alice", "arn:aws:s3:::b/shared/x", True),
    ("arn:aws:s3:::b/${*}", "alice", "arn:aws:s3:::b/*", True),
    ("arn:aws:s3:::b/${*}", "alice", "arn:aws:s3:::b/x", False),
]


@pytest.mark.parametrize("pattern,username,resource,expected", VARIABLE_RESOURCES)
def test_resource_variables(pattern, username, resource, expected):
    principal = user(username, tags={"team": "red"})
    assert decide(principal, "s3:GetObject", resource, identity=[pol(st(resource=pattern))]).allowed is expected


def test_2008_version_keeps_variables_literal():
    policy = pol(st(resource="arn:aws:s3:::b/${aws:username}"), version="2008-10-17")
    assert not decide(user("alice"), "s3:GetObject", "arn:aws:s3:::b/alice", identity=[policy]).allowed
    assert decide(user("alice"), "s3:GetObject", "arn:aws:s3:::b/${aws:username}", identity=[policy]).allowed

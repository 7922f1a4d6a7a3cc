"""Validation per policy type with IAM's MalformedPolicyDocument wordings.

Sources: IAM User Guide "Grammar of the IAM JSON policy language", "IAM JSON
policy element reference" (Principal, Action, Resource, Condition, Sid pages).
Message texts are those IAM returns, as quoted in public bug reports.
"""

from __future__ import annotations

import json

import pytest

from rampart.policy import MalformedPolicyDocument, PolicyType, validate_policy

I, R, T, B, S, SCP, RCP, K = (
    PolicyType.IDENTITY, PolicyType.RESOURCE, PolicyType.TRUST, PolicyType.BOUNDARY,
    PolicyType.SESSION, PolicyType.SCP, PolicyType.RCP, PolicyType.KMS_KEY,
)
V = "2012-10-17"
ALLOW_ALL = {"Effect": "Allow", "Action": "*", "Resource": "*"}
ANYONE = {"AWS": "arn:aws:iam::111111111111:root"}


def doc(*statements, version=V, **top):
    d = {"Version": version, "Statement": list(statements)} if version else {"Statement": list(statements)}
    d.update(top)
    return d


VALID = [
    (doc(ALLOW_ALL), I),
    (doc(ALLOW_ALL, version="2008-10-17"), I),
    (doc(ALLOW_ALL, version=None), I),
    ({"Version": V, "Statement": ALLOW_ALL}, I),
    (doc({"Effect": "Deny", "NotAction": "iam:*", "NotResource": "arn:aws:s3:::b/*"}), B),
    (doc({"Sid": "A1", **ALLOW_ALL, "Condition": {"StringEqualsIfExists": {"aws:username": "x"}}}), I),
    (doc({"Effect": "Allow", "Action": "s3:*", "Resource": "*", "Condition": {"ForAnyValue:StringLike": {"aws:TagKeys": ["a*"]}}}), I),
    (doc({"Effect": "Allow", "Principal": ANYONE, "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"}), R),
    (doc({"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"}), R),
    (doc({"Sid": "with space", "Effect": "Allow", "Principal": "*", "Action": "s3:*", "Resource": "*"}), R),
    (doc({"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}), T),
    (doc({"Effect": "Allow", "Principal": {"Federated": "cognito-identity.amazonaws.com"}, "Action": "sts:AssumeRoleWithWebIdentity",
          "Condition": {"StringEquals": {"cognito-identity.amazonaws.com:aud": "x"}}}), T),
    (doc({"Effect": "Deny", "Action": "ec2:*", "Resource": "*"}), SCP),
    (doc({"Effect": "Deny", "Action": "ec2:*"}), SCP),
    (doc({"Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": "*"}), RCP),
    (doc({"Effect": "Allow", "Principal": ANYONE, "Action": "kms:*", "Resource": "*"}), K),
    (doc({"Effect": "Allow", "Action": "*", "Resource": "arn:aws:s3:::${aws:username}/*"}), S),
    (doc({"Effect": "Allow", "Action": "*", "Resource": "arn:*:s3:::b"}), I),
]


@pytest.mark.parametrize("document,policy_type", VALID)
def test_valid_documents_pass(document, policy_type):
    validate_policy(document, policy_type)
    validate_policy(json.dumps(document), policy_type)


INVALID = [
    ("not json", I, "Syntax errors in policy."),
    ("[]", I, "Syntax errors in policy."),
    ('{"Version": "2012-10-17", "Version": "2012-10-17", "Statement": []}', I, "Syntax errors in policy."),
    (doc(ALLOW_ALL, version="2020-01-01"), I, "Syntax errors in policy."),
    (doc(ALLOW_ALL, Extra=1), I, "Syntax errors in policy."),
    ({"Version": V}, I, "Syntax errors in policy."),
    (doc(), I, "Syntax errors in policy."),
    (doc({**ALLOW_ALL, "Unknown": 1}), I, "Syntax errors in policy."),
    (doc({"Action": "*", "Resource": "*"}), I, "Missing required field Effect"),
    (doc({**ALLOW_ALL, "Effect": "allow"}), I, "Syntax errors in policy."),
    (doc({**ALLOW_ALL, "Principal": "*"}), I, "Policy document should not specify a principal."),
    (doc({**ALLOW_ALL, "NotPrincipal": ANYONE}), B, "Policy document should not specify a principal."),
    (doc({**ALLOW_ALL, "Principal": "*"}), S, "Policy document should not specify a principal."),
    (doc({"Effect": "Allow", "Resource": "*"}), I, "Policy statement must contain actions."),
    (doc({"Effect": "Allow", "Action": [], "Resource": "*"}), I, "Policy statement must contain actions."),
    (doc({"Effect": "Allow", "Action": "*"}), I, "Policy statement must contain resources."),
    (doc({"Effect": "Allow", "Action": "*", "Resource": []}), I, "Policy statement must contain resources."),
    (doc({"Effect": "Allow", "Action": "GetObject", "Resource": "*"}), I,
     "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc."),
    (doc({"Effect": "Allow", "Action": "s3:a:b", "Resource": "*"}), I, "Actions/Condition can contain only one colon."),
    (doc({"Effect": "Allow", "Action": "s3:*", "Resource": "bucket"}), I, 'Resource bucket must be in ARN format or "*".'),
    (doc({"Effect": "Allow", "Action": "s3:*", "Resource": "arn:aws:s3"}), I,
     'Resource arn:aws:s3 must be in ARN format or "*".'),
    (doc({"Effect": "Allow", "Action": "s3:*", "Resource": "arn:aw:s3:::b"}), I,
     'Partition "aw" is not valid for resource "arn:aw:s3:::b".'),
    (doc({**ALLOW_ALL, "Resource": "*", "NotResource": "*"}), I, "Syntax errors in policy."),
    (doc({**ALLOW_ALL, "NotAction": "*"}), I, "Syntax errors in policy."),
    (doc({**ALLOW_ALL, "Condition": {"StringEqualz": {"aws:username": "x"}}}), I, "Invalid Condition type : StringEqualz."),
    (doc({**ALLOW_ALL, "Condition": {"ForSomeValues:StringEquals": {"aws:username": "x"}}}), I,
     "Invalid Condition type : ForSomeValues:StringEquals."),
    (doc({**ALLOW_ALL, "Condition": {"StringEquals": {"username": "x"}}}), I,
     "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc."),
    (doc({**ALLOW_ALL, "Condition": {"StringEquals": {"aws:username": {"a": 1}}}}), I, "Syntax errors in policy."),
    (doc({**ALLOW_ALL, "Condition": "x"}), I, "Syntax errors in policy."),
    (doc({**ALLOW_ALL, "Sid": "a"}, {**ALLOW_ALL, "Sid": "a"}), I, "Statement IDs (SID) in a single policy must be unique."),
    (doc({**ALLOW_ALL, "Sid": "has space"}), I,
     "Statement IDs (SID) must be alpha-numeric. Check that your input satisfies the regular expression [0-9A-Za-z]*"),
    (doc({"Effect": "Allow", "Action": "s3:*", "Resource": "*"}), R, "Missing required field Principal"),
    (doc({"Effect": "Allow", "Action": "sts:AssumeRole"}), T, "Missing required field Principal"),
    (doc({"Effect": "Allow", "Principal": ANYONE, "Action": "sts:AssumeRole", "Resource": "*"}), T,
     "Has prohibited field Resource"),
    (doc({"Effect": "Deny", "NotPrincipal": ANYONE, "Action": "sts:AssumeRole"}), T, "Has prohibited field NotPrincipal"),
    (doc({"Effect": "Allow", "Principal": {"AWS": "bob"}, "Action": "s3:*", "Resource": "*"}), R,
     'Invalid principal in policy: "AWS":"bob"'),
    (doc({"Effect": "Allow", "Principal": {"Group": "x"}, "Action": "s3:*", "Resource": "*"}), R, "Syntax errors in policy."),
    (doc({"Effect": "Allow", "Principal": ANYONE, "NotPrincipal": ANYONE, "Action": "s3:*", "Resource": "*"}), R,
     "Syntax errors in policy."),
    (doc({**ALLOW_ALL, "Principal": "*"}), SCP,
     "The provided policy document does not meet the requirements of the specified policy type."),
    (doc({"Effect": "Deny", "Principal": ANYONE, "Action": "s3:*", "Resource": "*"}), RCP,
     "The provided policy document does not meet the requirements of the specified policy type."),
    (doc({"Effect": "Allow", "Action": "kms:*", "Resource": "*"}), K, "Missing required field Principal"),
]


@pytest.mark.parametrize("document,policy_type,message", INVALID)
def test_invalid_documents_get_iams_message(document, policy_type, message):
    with pytest.raises(MalformedPolicyDocument) as info:
        validate_policy(document, policy_type)
    assert info.value.message == message
    assert str(info.value) == message


def test_absurdly_deep_nesting_is_a_syntax_error_not_a_crash():
    from rampart.policy import MalformedPolicyDocument, PolicyType, validate_policy

    deep = "[" * 50_000 + "]" * 50_000
    with pytest.raises(MalformedPolicyDocument):
        validate_policy('{"Version": "2012-10-17", "Statement": ' + deep + "}", PolicyType.IDENTITY)

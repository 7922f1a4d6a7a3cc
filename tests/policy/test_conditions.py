"""Every condition operator, table-driven.

Source: IAM User Guide "IAM JSON policy elements: Condition operators" and
"Single-valued vs. multivalued context keys" (ForAllValues / ForAnyValue), and
"IAM policy elements: Variables and tags" for substitution in condition values.
"""

from __future__ import annotations

import pytest

from policy_helpers import decide, pol, st, user


def allowed(op: str, key: str, values, context: dict, version: str | None = "2012-10-17") -> bool:
    policy = pol(st(Condition={op: {key: values}}), version=version)
    return decide(user(), "s3:GetObject", context=context, identity=[policy]).allowed


CASES = [
    # String family
    ("StringEquals", "aws:username", "alice", {"aws:username": "alice"}, True),
    ("StringEquals", "aws:username", "Alice", {"aws:username": "alice"}, False),
    ("StringEquals", "aws:username", ["x", "alice"], {"aws:username": "alice"}, True),
    ("StringEquals", "aws:username", "a*", {"aws:username": "alice"}, False),
    ("StringEquals", "s3:prefix", "x", {}, False),
    ("StringNotEquals", "s3:prefix", "x", {"s3:prefix": "y"}, True),
    ("StringNotEquals", "s3:prefix", ["x", "y"], {"s3:prefix": "y"}, False),
    ("StringNotEquals", "s3:prefix", "x", {}, True),  # negated on a missing key: true
    ("StringEqualsIgnoreCase", "s3:prefix", "HOME", {"s3:prefix": "home"}, True),
    ("StringNotEqualsIgnoreCase", "s3:prefix", "HOME", {"s3:prefix": "home"}, False),
    ("StringLike", "s3:prefix", "home/*", {"s3:prefix": "home/a/b"}, True),
    ("StringLike", "s3:prefix", "home/?", {"s3:prefix": "home/ab"}, False),
    ("StringLike", "s3:prefix", "Home/*", {"s3:prefix": "home/a"}, False),
    ("StringNotLike", "s3:prefix", "home/*", {"s3:prefix": "tmp/a"}, True),
    ("StringNotLike", "s3:prefix", "home/*", {}, True),
    # key names are case-insensitive
    ("StringEquals", "AWS:UserName", "alice", {"aws:username": "alice"}, True),
    ("StringEquals", "s3:prefix", "a", {"S3:PREFIX": "a"}, True),
    # Numeric
    ("NumericEquals", "s3:max-keys", "10", {"s3:max-keys": "10"}, True),
    ("NumericEquals", "s3:max-keys", "10", {"s3:max-keys": "10.0"}, True),
    ("NumericNotEquals", "s3:max-keys", "10", {"s3:max-keys": "11"}, True),
    ("NumericLessThan", "s3:max-keys", "10", {"s3:max-keys": "9"}, True),
    ("NumericLessThan", "s3:max-keys", "10", {"s3:max-keys": "10"}, False),
    ("NumericLessThanEquals", "s3:max-keys", "10", {"s3:max-keys": "10"}, True),
    ("NumericGreaterThan", "s3:max-keys", "10", {"s3:max-keys": "11"}, True),
    ("NumericGreaterThanEquals", "s3:max-keys", "10", {"s3:max-keys": "9"}, False),
    ("NumericGreaterThan", "s3:max-keys", 10, {"s3:max-keys": 11}, True),
    ("NumericLessThan", "s3:max-keys", "10", {"s3:max-keys": "abc"}, False),
    # Date: ISO 8601 and epoch seconds
    ("DateGreaterThan", "aws:CurrentTime", "2020-01-01T00:00:00Z", {"aws:CurrentTime": "2021-06-01T12:00:00Z"}, True),
    ("DateLessThan", "aws:CurrentTime", "2020-01-01T00:00:00Z", {"aws:CurrentTime": "2021-06-01T12:00:00Z"}, False),
    ("DateEquals", "aws:CurrentTime", "2020-01-01T00:00:00Z", {"aws:CurrentTime": "1577836800"}, True),
    ("DateNotEquals", "aws:CurrentTime", "2020-01-01", {"aws:CurrentTime": "2020-01-01T00:00:00+00:00"}, False),
    ("DateLessThanEquals", "aws:EpochTime", "1577836800", {"aws:EpochTime": "1577836800"}, True),
    ("DateGreaterThanEquals", "aws:CurrentTime", "2020-01-01T01:00:00+01:00", {"aws:CurrentTime": "2020-01-01T00:00:00Z"}, True),
    ("DateGreaterThan", "aws:CurrentTime", "2020-01-01", {"aws:CurrentTime": "garbage"}, False),
    # Bool
    ("Bool", "aws:SecureTransport", "true", {"aws:SecureTransport": True}, True),
    ("Bool", "aws:SecureTransport", "true", {"aws:SecureTransport": "false"}, False),
    ("Bool", "aws:MultiFactorAuthPresent", "TRUE", {"aws:MultiFactorAuthPresent": "true"}, True),
    ("Bool", "aws:MultiFactorAuthPresent", "true", {}, False),
    ("BoolIfExists", "aws:MultiFactorAuthPresent", "false", {}, True),
    # Binary
    ("BinaryEquals", "s3:x-bin", "QmluYXJ5VmFsdWU=", {"s3:x-bin": "QmluYXJ5VmFsdWU="}, True),
    ("BinaryEquals", "s3:x-bin", "QmluYXJ5VmFsdWU=", {"s3:x-bin": "b3RoZXI="}, False),
    # IP address, IPv4 and IPv6
    ("IpAddress", "aws:SourceIp", "203.0.113.0/24", {"aws:SourceIp": "203.0.113.7"}, True),
    ("IpAddress", "aws:SourceIp", "203.0.113.0/24", {"aws:SourceIp": "198.51.100.1"}, False),
    ("IpAddress", "aws:SourceIp", "203.0.113.9", {"aws:SourceIp": "203.0.113.9"}, True),
    ("IpAddress", "aws:SourceIp", "2001:db8::/32", {"aws:SourceIp": "2001:db8:1::5"}, True),
    ("IpAddress", "aws:SourceIp", "2001:db8::/32", {"aws:SourceIp": "203.0.113.7"}, False),
    ("NotIpAddress", "aws:SourceIp", ["203.0.113.0/24", "2001:db8::/32"], {"aws:SourceIp": "198.51.100.1"}, True),
    ("NotIpAddress", "aws:SourceIp", "203.0.113.0/24", {"aws:SourceIp": "203.0.113.1"}, False),
    # ARN operators: segment by segment
    ("ArnEquals", "aws:SourceArn", "arn:aws:sns:us-east-1:111111111111:t", {"aws:SourceArn": "arn:aws:sns:us-east-1:111111111111:t"}, True),
    ("ArnLike", "aws:SourceArn", "arn:aws:sns:*:111111111111:*", {"aws:SourceArn": "arn:aws:sns:eu-west-1:111111111111:t"}, True),
    ("ArnLike", "aws:SourceArn", "arn:aws:sns:*:111111111111:*", {"aws:SourceArn": "arn:aws:sqs:eu-west-1:111111111111:t"}, False),
    ("ArnLike", "aws:SourceArn", "arn:aws:s*:*:111111111111:x", {"aws:SourceArn": "arn:aws:sns:a:b:111111111111:x"}, False),
    ("ArnLike", "aws:SourceArn", "arn:aws:iam::*:role/a?c", {"aws:SourceArn": "arn:aws:iam::111111111111:role/abc"}, True),
    ("ArnNotEquals", "aws:PrincipalArn", "arn:aws:iam::111111111111:user/bob", {}, True),
    ("ArnNotLike", "aws:SourceArn", "arn:aws:sns:*:*:t", {"aws:SourceArn": "arn:aws:sns:x:1:t"}, False),
    # Null
    ("Null", "aws:TokenIssueTime", "true", {}, True),
    ("Null", "aws:TokenIssueTime", "true", {"aws:TokenIssueTime": "2020-01-01"}, False),
    ("Null", "aws:TokenIssueTime", "false", {"aws:TokenIssueTime": "2020-01-01"}, True),
    ("Null", "aws:TagKeys", "true", {"aws:TagKeys": []}, True),
    # IfExists
    ("StringEqualsIfExists", "ec2:InstanceType", "t2.micro", {}, True),
    ("StringEqualsIfExists", "ec2:InstanceType", "t2.micro", {"ec2:InstanceType": "m5.large"}, False),
    ("NumericLessThanIfExists", "s3:max-keys", "5", {}, True),
    # ForAllValues / ForAnyValue on several types
    ("ForAllValues:StringEquals", "aws:TagKeys", ["a", "b"], {"aws:TagKeys": ["a"]}, True),
    ("ForAllValues:StringEquals", "aws:TagKeys", ["a", "b"], {"aws:TagKeys": ["a", "c"]}, False),
    ("ForAllValues:StringEquals", "aws:TagKeys", ["a"], {}, True),
    ("ForAllValues:StringEquals", "aws:TagKeys", ["a"], {"aws:TagKeys": []}, True),
    ("ForAnyValue:StringEquals", "aws:TagKeys", ["a"], {"aws:TagKeys": ["z", "a"]}, True),
    ("ForAnyValue:StringEquals", "aws:TagKeys", ["a"], {}, False),
    ("ForAnyValue:StringLike", "aws:TagKeys", ["env*"], {"aws:TagKeys": ["x", "environment"]}, True),
    ("ForAllValues:StringNotEquals", "aws:TagKeys", ["secret"], {"aws:TagKeys": ["a", "b"]}, True),
    ("ForAnyValue:StringNotEquals", "aws:TagKeys", ["a"], {"aws:TagKeys": ["a"]}, False),
    ("ForAllValues:NumericLessThan", "s3:sizes", "10", {"s3:sizes": ["1", "2"]}, True),
    ("ForAnyValue:NumericGreaterThan", "s3:sizes", "10", {"s3:sizes": ["1", "20"]}, True),
    ("ForAnyValue:IpAddress", "aws:ips", "10.0.0.0/8", {"aws:ips": ["1.1.1.1", "10.1.1.1"]}, True),
    ("ForAllValues:ArnLike", "aws:arns", "arn:aws:s3:::b/*", {"aws:arns": ["arn:aws:s3:::b/1", "arn:aws:s3:::c/1"]}, False),
    ("ForAnyValue:DateGreaterThan", "aws:dates", "2020-01-01", {"aws:dates": ["2019-01-01", "2021-01-01"]}, True),
    ("ForAnyValue:Bool", "aws:flags", "true", {"aws:flags": ["false", "true"]}, True),
    ("ForAllValues:StringEqualsIfExists", "aws:TagKeys", "a", {}, True),
    # operator names are accepted in any case
    ("stringequals", "aws:username", "alice", {"aws:username": "alice"}, True),
]


@pytest.mark.parametrize("op,key,values,context,expected", CASES)
def test_operator(op, key, values, context, expected):
    assert allowed(op, key, values, context) is expected


def test_keys_in_a_block_and_values_or():
    cond = {"StringEquals": {"aws:username": ["alice", "bob"], "s3:prefix": "home"}}
    policy = pol(st(Condition=cond))
    ok = decide(user(), "s3:ListBucket", context={"aws:username": "bob", "s3:prefix": "home"}, identity=[policy])
    ko = decide(user(), "s3:ListBucket", context={"aws:username": "bob", "s3:prefix": "tmp"}, identity=[policy])
    assert ok.allowed and not ko.allowed


def test_operators_in_a_block_and():
    cond = {"StringEquals": {"aws:username": "alice"}, "Bool": {"aws:SecureTransport": "true"}}
    policy = pol(st(Condition=cond))
    assert not decide(user(), "s3:ListBucket", context={"aws:username": "alice", "aws:SecureTransport": "false"},
                      identity=[policy]).allowed


VARIABLES = [
    ("${aws:userid}", {"aws:userid": "AIDA1"}, "AIDA1", True),
    ("${aws:userid}", {}, "AIDA1", False),
    ("${aws:userid, 'none'}", {}, "none", True),
    ("${AWS:UserId}", {"aws:userid": "AIDA1"}, "AIDA1", True),
    ("${aws:PrincipalTag/team}-x", {"aws:PrincipalTag/team": "red"}, "red-x", True),
    ("${saml:sub}", {"saml:sub": "s1"}, "s1", True),
    ("a${*}b", {}, "a*b", True),
    ("a${*}b", {}, "axxb", False),
    ("a${?}b", {}, "a?b", True),
    ("${$}x", {}, "$x", True),
]


@pytest.mark.parametrize("template,context,value,expected", VARIABLES)
def test_variables_in_string_like(template, context, value, expected):
    ctx = {**context, "s3:prefix": value}
    assert allowed("StringLike", "s3:prefix", template, ctx) is expected


def test_substituted_value_is_literal_not_a_wildcard():
    # a user called "*" must not match every prefix
    assert not allowed("StringLike", "s3:prefix", "home/${aws:username}", {"aws:username": "*", "s3:prefix": "home/bob"})
    assert allowed("StringLike", "s3:prefix", "home/${aws:username}", {"aws:username": "*", "s3:prefix": "home/*"})
    assert allowed("StringLike", "s3:prefix", "home/${aws:username}/*", {"aws:username": "b?b", "s3:prefix": "home/b?b/x"})


def test_2008_version_does_not_substitute():
    ctx = {"aws:username": "alice", "s3:prefix": "alice"}
    assert not allowed("StringEquals", "s3:prefix", "${aws:username}", ctx, version="2008-10-17")
    assert not allowed("StringEquals", "s3:prefix", "${aws:username}", ctx, version=None)
    literal = {"aws:username": "alice", "s3:prefix": "${aws:username}"}
    assert allowed("StringEquals", "s3:prefix", "${aws:username}", literal, version="2008-10-17")


def test_missing_context_keys_are_reported():
    policy = pol(st(Condition={"StringEquals": {"aws:username": "x"}, "StringNotEqualsIfExists": {"s3:x": "y"},
                               "Null": {"s3:z": "true"}, "NumericLessThan": {"s3:max-keys": "3"}}))
    d = decide(user(), "s3:GetObject", context={"aws:username": "x"}, identity=[policy])
    assert d.missing_context_keys == ("s3:max-keys",)

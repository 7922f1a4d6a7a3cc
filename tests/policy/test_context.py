"""RequestContext.keys: the case-folded context the engine reads, built once per request."""

from __future__ import annotations

import pytest

from policy_helpers import ACCT, OTHER, user
from rampart.policy import RequestContext
from rampart.policy import model


@pytest.mark.parametrize("context,key,expected", [
    ({"aws:SourceIp": "10.0.0.1"}, "aws:sourceip", ("10.0.0.1",)),
    ({"AWS:SOURCEIP": "10.0.0.1"}, "aws:sourceip", ("10.0.0.1",)),
    ({"aws:SecureTransport": True}, "aws:securetransport", ("true",)),
    ({"aws:SecureTransport": False}, "aws:securetransport", ("false",)),
    ({"s3:max-keys": 10}, "s3:max-keys", ("10",)),
    ({"s3:max-keys": 1}, "s3:max-keys", ("1",)),
    ({"s3:max-keys": 2.5}, "s3:max-keys", ("2.5",)),
    ({"aws:TagKeys": ["a", "b"]}, "aws:tagkeys", ("a", "b")),
    ({"aws:TagKeys": []}, "aws:tagkeys", ()),
    ({"aws:TagKeys": ("a",)}, "aws:tagkeys", ("a",)),
    ({"aws:username": "mallory"}, "aws:username", ("mallory",)),  # the request overrides a derived key
    ({}, "aws:username", ("alice",)),
    ({}, "aws:resourceaccount", (ACCT,)),
    ({"aws:ResourceAccount": OTHER}, "aws:resourceaccount", (OTHER,)),
    ({"a:B": "1", "A:b": "2"}, "a:b", ("2",)),  # two spellings of one key: the later wins
])
def test_keys_are_lower_cased_tuples_of_strings(context, key, expected):
    request = RequestContext(user(), "s3:GetObject", "*", ACCT, context)
    assert request.keys[key] == expected


def test_keys_are_built_once_and_then_a_plain_attribute():
    request = RequestContext(user(), "s3:GetObject", "*", ACCT, {"aws:SourceIp": "10.0.0.1"})
    first = request.keys
    assert request.keys is first
    assert request.__dict__["keys"] is first
    assert RequestContext(user(), "s3:GetObject", "*", ACCT, {"aws:SourceIp": "10.0.0.1"}).keys is not first


def test_keys_do_not_leak_between_requests_of_one_principal():
    caller = user()
    one = RequestContext(caller, "s3:GetObject", "*", ACCT, {"aws:username": "mallory"})
    two = RequestContext(caller, "s3:GetObject", "*", ACCT, {})
    assert one.keys["aws:username"] == ("mallory",)
    assert two.keys["aws:username"] == ("alice",)


def test_the_spelling_cache_stays_bounded():
    for i in range(model._SPELLING_LIMIT + 10):
        RequestContext(user(), "s3:GetObject", "*", ACCT, {f"aws:RequestTag/K{i}": "v"}).keys  # noqa: B018
    assert len(model._SPELLINGS) <= model._SPELLING_LIMIT


def test_requests_stay_frozen_and_comparable():
    request = RequestContext(user(), "s3:GetObject", "*", ACCT, {})
    request.keys  # noqa: B018
    with pytest.raises(AttributeError):
        request.action = "s3:PutObject"  # type: ignore[misc]
    assert request == RequestContext(user(), "s3:GetObject", "*", ACCT, {})

"""STS's own errors, named after the model's error shapes (codes and statuses as AWS answers)."""

from __future__ import annotations

from rampart.aws.errors import AwsError


class MalformedPolicyDocument(AwsError):
    """A session policy that is not valid policy language (or names a missing managed policy)."""

    code = "MalformedPolicyDocument"
    status = 400


class PackedPolicyTooLarge(AwsError):
    """Session policies and tags together exceed the packed-size allotment."""

    code = "PackedPolicyTooLarge"
    status = 400


class InvalidAuthorizationMessage(AwsError):
    """An encoded authorization message that does not decode under this server's key."""

    code = "InvalidAuthorizationMessageException"
    status = 400


class InvalidParameterValue(AwsError):
    """A parameter STS refuses beyond the model's constraints (duplicate tag keys, ...)."""

    code = "InvalidParameterValue"
    status = 400

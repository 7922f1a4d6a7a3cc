"""Helpers of the KMS tests: users with keys, clients signing as them."""

from __future__ import annotations

import json
from typing import Any

from tests.conftest import Server
from tests.services.iam.helpers import unique


def user_clients(server: Server, policy: dict[str, Any] | None = None, root: dict[str, str] | None = None,
                 ) -> tuple[str, Any]:
    """An IAM user (inline policy optional) in the default account or the one whose root keys are given;
    returns the user's ARN and a KMS client signing as the user."""
    iam = server.client("iam", **(root or {}))
    name = unique("kmsuser")
    arn = iam.create_user(UserName=name)["User"]["Arn"]
    if policy is not None:
        iam.put_user_policy(UserName=name, PolicyName="inline", PolicyDocument=json.dumps(policy))
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return arn, server.client("kms", aws_access_key_id=key["AccessKeyId"],
                              aws_secret_access_key=key["SecretAccessKey"])


def key_policy(*statements: dict[str, Any]) -> str:
    """A key policy document from statements."""
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def root_only_statement(account: str) -> dict[str, Any]:
    """Lets the account's root user (and only it: no delegation to IAM users) use and manage the key.

    Without a statement naming it, the key policy locks out even root, as in AWS.
    """
    return {"Sid": "root-only", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{account}:root"},
            "Action": "kms:*", "Resource": "*", "Condition": {"StringEquals": {"aws:PrincipalType": "Account"}}}


def root_statement(account: str) -> dict[str, Any]:
    """The default policy's statement: the account root gets kms:* (delegation to IAM)."""
    return {"Sid": "root", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{account}:root"},
            "Action": "kms:*", "Resource": "*"}

"""Helpers of the STS core tests: users, roles, trust policies, clients from credentials."""

from __future__ import annotations

import json
from typing import Any

from tests.conftest import Server
from tests.services.iam.helpers import allow, unique

__all__ = ["allow", "client_from", "role_trusting", "second_account", "trust", "unique", "user_keys"]


def user_keys(server: Server, policy: dict[str, Any] | None = None, *, name: str | None = None,
              root_keys: tuple[str, str] | None = None) -> tuple[str, dict[str, str]]:
    """A new IAM user (optionally with an inline policy) and its key pair as boto3 client arguments."""
    iam = _iam(server, root_keys)
    name = name or unique("user")
    iam.create_user(UserName=name)
    if policy is not None:
        iam.put_user_policy(UserName=name, PolicyName="inline", PolicyDocument=json.dumps(policy))
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return name, {"aws_access_key_id": key["AccessKeyId"], "aws_secret_access_key": key["SecretAccessKey"]}


def trust(principal: dict[str, Any], action: str | list[str] = "sts:AssumeRole",
          condition: dict[str, Any] | None = None) -> dict[str, Any]:
    """A one-statement trust policy."""
    statement: dict[str, Any] = {"Effect": "Allow", "Principal": principal, "Action": action}
    if condition:
        statement["Condition"] = condition
    return {"Version": "2012-10-17", "Statement": [statement]}


def role_trusting(server: Server, trust_policy: dict[str, Any], policy: dict[str, Any] | None = None, *,
                  max_session: int | None = None, root_keys: tuple[str, str] | None = None,
                  tags: list[dict[str, str]] | None = None) -> dict[str, Any]:
    """A new role with the given trust policy (and inline permissions policy); its GetRole Role."""
    iam = _iam(server, root_keys)
    name = unique("role")
    extra: dict[str, Any] = {"MaxSessionDuration": max_session} if max_session else {}
    if tags:
        extra["Tags"] = tags
    role = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust_policy), **extra)["Role"]
    if policy is not None:
        iam.put_role_policy(RoleName=name, PolicyName="inline", PolicyDocument=json.dumps(policy))
    return role


def client_from(server: Server, service: str, credentials: dict[str, Any]) -> Any:
    """A client signing with an STS Credentials member."""
    return server.client(
        service,
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
    )


def second_account(server: Server) -> tuple[str, tuple[str, str]]:
    """A new account on the server (``rampart account create``): its id and root key pair."""
    account_id, keys = server.new_account("tenant")
    return account_id, (keys["aws_access_key_id"], keys["aws_secret_access_key"])


def _iam(server: Server, root_keys: tuple[str, str] | None) -> Any:
    if root_keys is None:
        return server.client("iam")
    return server.client("iam", aws_access_key_id=root_keys[0], aws_secret_access_key=root_keys[1])

"""Helpers shared by the IAM service tests."""

from __future__ import annotations

import json
import uuid
from typing import Any

from tests.conftest import Server


def unique(prefix: str) -> str:
    """A name no other test (or xdist worker) uses on the shared server."""
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def user_with_keys(server: Server, name: str | None = None, policy: dict[str, Any] | None = None) -> tuple[str, Any]:
    """Create an IAM user (optionally with an inline policy) and an IAM client signing as that user."""
    iam = server.client("iam")
    name = name or unique("user")
    iam.create_user(UserName=name)
    if policy is not None:
        iam.put_user_policy(UserName=name, PolicyName="inline", PolicyDocument=json.dumps(policy))
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return name, server.client("iam", aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"])


def allow(action: str | list[str], resource: str | list[str] = "*") -> dict[str, Any]:
    """A one-statement Allow policy."""
    return {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": action, "Resource": resource}]}


def error_of(excinfo: Any) -> tuple[str, str]:
    """(code, message) of the ClientError a ``pytest.raises`` block caught."""
    err = excinfo.value.response["Error"]
    return err["Code"], err["Message"]

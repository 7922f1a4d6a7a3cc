"""Fixtures of the Organizations tests: fresh accounts (``rampart account create``) and organizations of them.

Each test builds its own organization from new accounts, so the shared
server's default account and other tests' organizations are never touched.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from tests.conftest import Server
from tests.services.iam.helpers import unique
from tests.storage.pg import any_db, any_db_url, postgres_url  # noqa: F401 - fixtures for test_storage


@dataclass
class Account:
    """An account on the test server and its root credentials."""

    server: Server
    account_id: str
    creds: dict[str, str]

    def client(self, service: str, **creds: str) -> Any:
        """A boto3 client signing as this account's root (or the given keys)."""
        return self.server.client(service, **(creds or self.creds))

    def admin_user(self, policy_arn: str = "arn:aws:iam::aws:policy/AdministratorAccess") -> tuple[str, dict[str, str]]:
        """An IAM user of this account with ``policy_arn`` attached, and its keys."""
        iam = self.client("iam")
        name = unique("admin")
        iam.create_user(UserName=name)
        iam.attach_user_policy(UserName=name, PolicyArn=policy_arn)
        key = iam.create_access_key(UserName=name)["AccessKey"]
        return name, {"aws_access_key_id": key["AccessKeyId"], "aws_secret_access_key": key["SecretAccessKey"]}


def create_account(server: Server) -> Account:
    """A brand-new account with root keys, made the operator's way."""
    account_id, creds = server.new_account("org-test")
    return Account(server, account_id, creds)


@dataclass
class Organization:
    """An organization whose management account is ``management``."""

    management: Account
    org: Any  # the management account's organizations client
    org_id: str
    root_id: str

    def invite(self, member: Account) -> None:
        """Invite ``member`` and accept with its own root credentials."""
        handshake = self.org.invite_account_to_organization(
            Target={"Id": member.account_id, "Type": "ACCOUNT"})["Handshake"]
        member.client("organizations").accept_handshake(HandshakeId=handshake["Id"])

    def enable(self, policy_type: str = "SERVICE_CONTROL_POLICY") -> None:
        """Enable a policy type on the root."""
        self.org.enable_policy_type(RootId=self.root_id, PolicyType=policy_type)

    def policy(self, document: dict[str, Any], policy_type: str = "SERVICE_CONTROL_POLICY") -> str:
        """A new policy's id."""
        made = self.org.create_policy(Name=unique("pol"), Description="test", Type=policy_type,
                                      Content=json.dumps(document))
        return made["Policy"]["PolicySummary"]["Id"]


@pytest.fixture
def new_account(server: Server) -> Callable[[], Account]:
    """Make fresh accounts on demand."""
    return lambda: create_account(server)


@pytest.fixture
def organization(server: Server) -> Organization:
    """A new organization (all features) managed by a fresh account."""
    management = create_account(server)
    org = management.client("organizations")
    made = org.create_organization(FeatureSet="ALL")["Organization"]
    root_id = org.list_roots()["Roots"][0]["Id"]
    return Organization(management, org, made["Id"], root_id)


def deny(action: str, resource: str = "*", condition: dict[str, Any] | None = None,
         principal: bool = False) -> dict[str, Any]:
    """A one-statement Deny document (with ``Principal: *`` for RCPs)."""
    statement: dict[str, Any] = {"Effect": "Deny", "Action": action, "Resource": resource}
    if principal:
        statement["Principal"] = "*"
    if condition:
        statement["Condition"] = condition
    return {"Version": "2012-10-17", "Statement": [statement]}

"""Accounts are walls: IAM state, keys and permissions of one account never reach another."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.conftest import ROOT_ACCOUNT, Server
from tests.services.iam.helpers import allow, unique


@pytest.fixture(scope="module")
def other_root(server: Server) -> tuple[str, dict[str, str]]:
    """A second account on the same server (made with ``rampart account create``) and its root credentials."""
    return server.new_account("tenant")


def test_same_names_live_apart(server: Server, other_root: tuple[str, dict[str, str]]) -> None:
    account, creds = other_root
    ours, theirs = server.client("iam"), server.client("iam", **creds)
    name = unique("twin")
    ours.create_user(UserName=name)
    made = theirs.create_user(UserName=name)["User"]
    assert made["Arn"] == f"arn:aws:iam::{account}:user/{name}"
    assert all(u["Arn"].startswith(f"arn:aws:iam::{account}:") for u in theirs.list_users()["Users"])
    theirs.delete_user(UserName=name)
    assert ours.get_user(UserName=name)["User"]["Arn"] == f"arn:aws:iam::{ROOT_ACCOUNT}:user/{name}"


def test_an_admin_in_one_account_has_no_rights_in_another(server: Server, other_root: tuple[str, dict[str, str]]) -> None:
    account, creds = other_root
    theirs = server.client("iam", **creds)
    ours = server.client("iam")
    admin = unique("admin")
    ours.create_user(UserName=admin)
    ours.attach_user_policy(UserName=admin, PolicyArn="arn:aws:iam::aws:policy/AdministratorAccess")
    key = ours.create_access_key(UserName=admin)["AccessKey"]
    as_admin = server.client("iam", aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"])
    victim = unique("victim")
    theirs.create_user(UserName=victim)
    # The admin's calls act in its own account: the other account's user is simply not there.
    with pytest.raises(ClientError) as caught:
        as_admin.get_user(UserName=victim)
    assert caught.value.response["Error"]["Code"] == "NoSuchEntity"
    # A policy that names the other account's resources grants nothing there either.
    policy = ours.create_policy(PolicyName=unique("reach"), PolicyDocument=json.dumps(
        allow("iam:*", f"arn:aws:iam::{account}:*")))["Policy"]["Arn"]
    with pytest.raises(ClientError) as caught:
        theirs.attach_user_policy(UserName=victim, PolicyArn=policy)
    assert caught.value.response["Error"]["Code"] == "NoSuchEntity"


def test_keys_sign_only_for_their_own_account(server: Server, other_root: tuple[str, dict[str, str]]) -> None:
    account, creds = other_root
    identity: Any = server.client("sts", **creds).get_caller_identity()
    assert identity["Account"] == account and identity["Arn"] == f"arn:aws:iam::{account}:root"
    theirs = server.client("iam", **creds)
    name = unique("roamer")
    theirs.create_user(UserName=name)
    key = theirs.create_access_key(UserName=name)["AccessKey"]
    sts = server.client("sts", aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"])
    assert sts.get_caller_identity()["Arn"] == f"arn:aws:iam::{account}:user/{name}"
    with pytest.raises(ClientError) as caught:  # nothing is allowed: its account gave it no policy
        server.client("iam", aws_access_key_id=key["AccessKeyId"],
                      aws_secret_access_key=key["SecretAccessKey"]).list_users()
    assert caught.value.response["Error"]["Code"] == "AccessDenied"

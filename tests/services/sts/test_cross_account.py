"""Account A's role trusts account B: B's user assumes it and can do in A what the role allows."""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError

from tests.conftest import ROOT_ACCOUNT, Server
from tests.services.iam.helpers import error_of
from tests.services.sts.core_helpers import (
    allow,
    client_from,
    role_trusting,
    second_account,
    trust,
    user_keys,
)


@pytest.fixture(scope="module")
def account_b(server: Server) -> tuple[str, tuple[str, str]]:
    """A second account (B) and its root key pair."""
    return second_account(server)


def _keys(pair: tuple[str, str]) -> dict[str, str]:
    return {"aws_access_key_id": pair[0], "aws_secret_access_key": pair[1]}


def test_role_in_a_trusting_b_is_assumed_by_bs_user(server: Server, account_b: tuple[str, tuple[str, str]]) -> None:
    b_id, b_root = account_b
    role = role_trusting(server, trust({"AWS": f"arn:aws:iam::{b_id}:root"}), allow("iam:GetRole"))
    _, allowed = user_keys(server, allow("sts:AssumeRole", role["Arn"]), root_keys=b_root)
    out = server.client("sts", **allowed).assume_role(RoleArn=role["Arn"], RoleSessionName="visitor")
    assert out["Credentials"]["AccessKeyId"].startswith("ASIA")
    me = client_from(server, "sts", out["Credentials"]).get_caller_identity()
    assert me["Account"] == ROOT_ACCOUNT
    assert me["Arn"] == f"arn:aws:sts::{ROOT_ACCOUNT}:assumed-role/{role['RoleName']}/visitor"
    iam_in_a = client_from(server, "iam", out["Credentials"])
    assert iam_in_a.get_role(RoleName=role["RoleName"])["Role"]["Arn"] == role["Arn"]  # exactly the role's policy
    with pytest.raises(ClientError):
        iam_in_a.list_users()
    assert server.client("sts").get_access_key_info(AccessKeyId=out["Credentials"]["AccessKeyId"])["Account"] == \
        ROOT_ACCOUNT


def test_cross_account_needs_bs_identity_policy_too(server: Server, account_b: tuple[str, tuple[str, str]]) -> None:
    b_id, b_root = account_b
    name, keys = user_keys(server, root_keys=b_root)  # no identity policy in B
    exact = role_trusting(server, trust({"AWS": f"arn:aws:iam::{b_id}:user/{name}"}))
    with pytest.raises(ClientError) as denied:
        server.client("sts", **keys).assume_role(RoleArn=exact["Arn"], RoleSessionName="nope")
    code, message = error_of(denied)
    assert code == "AccessDenied" and f"arn:aws:iam::{b_id}:user/{name}" in message
    server.client("iam", **_keys(b_root)).put_user_policy(
        UserName=name, PolicyName="assume", PolicyDocument=json.dumps(allow("sts:AssumeRole", exact["Arn"])))
    assert server.client("sts", **keys).assume_role(RoleArn=exact["Arn"], RoleSessionName="yes")["Credentials"]


def test_identity_policy_alone_does_not_open_a_role_that_does_not_trust_b(
    server: Server, account_b: tuple[str, tuple[str, str]]
) -> None:
    _, b_root = account_b
    role = role_trusting(server, trust({"AWS": f"arn:aws:iam::{ROOT_ACCOUNT}:root"}))
    _, keys = user_keys(server, allow("sts:AssumeRole"), root_keys=b_root)
    with pytest.raises(ClientError) as denied:
        server.client("sts", **keys).assume_role(RoleArn=role["Arn"], RoleSessionName="nope")
    assert error_of(denied)[0] == "AccessDenied"


def test_the_session_acts_in_a_not_in_b(server: Server, account_b: tuple[str, tuple[str, str]]) -> None:
    """The session belongs to A: IAM calls see A's entities, never B's (B's user is unknown there)."""
    b_id, b_root = account_b
    role = role_trusting(server, trust({"AWS": b_id}), allow("iam:*"))
    b_user, keys = user_keys(server, allow("sts:AssumeRole", role["Arn"]), root_keys=b_root)
    creds = server.client("sts", **keys).assume_role(RoleArn=role["Arn"], RoleSessionName="s2")["Credentials"]
    iam_in_a = client_from(server, "iam", creds)
    assert iam_in_a.get_role(RoleName=role["RoleName"])["Role"]["Arn"] == role["Arn"]
    with pytest.raises(ClientError) as missing:
        iam_in_a.get_user(UserName=b_user)
    assert error_of(missing)[0] == "NoSuchEntity"

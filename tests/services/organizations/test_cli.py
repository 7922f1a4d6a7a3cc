"""The AWS CLI against Organizations: its own commands, and a role profile that an SCP on B's OU shuts."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import Server
from tests.services.organizations.conftest import Account, Organization, deny
from tests.services.organizations.test_end_to_end import _role


def _env(tmp_path: Path, keys: dict[str, str], role_arn: str) -> dict[str, str]:
    """A source profile with B's user keys and a profile ``a`` assuming the role in A through it."""
    (tmp_path / "credentials").write_text(
        f"[src]\naws_access_key_id = {keys['aws_access_key_id']}\n"
        f"aws_secret_access_key = {keys['aws_secret_access_key']}\n")
    (tmp_path / "config").write_text(
        f"[profile src]\nregion = us-east-1\n[profile a]\nregion = us-east-1\nrole_arn = {role_arn}\n"
        "source_profile = src\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    return {**env, "AWS_CONFIG_FILE": str(tmp_path / "config"),
            "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "credentials"), "HOME": str(tmp_path)}


def _aws(server: Server, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "awscli", *args, "--output", "json"],
                          env={**env, "AWS_ENDPOINT_URL": server.endpoint}, capture_output=True, text=True,
                          start_new_session=True, timeout=120, check=False)


def test_cli_profile_through_a_cross_account_role_and_an_scp(server: Server, organization: Organization,
                                                             new_account, tmp_path: Path) -> None:
    a, b = new_account(), new_account()
    organization.invite(a)
    organization.invite(b)
    organization.enable()
    ou = organization.org.create_organizational_unit(ParentId=organization.root_id, Name="b")["OrganizationalUnit"]
    organization.org.move_account(AccountId=b.account_id, SourceParentId=organization.root_id,
                                  DestinationParentId=ou["Id"])
    role_arn = _role(a, {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{b.account_id}:root"},
                         "Action": "sts:AssumeRole"}, "arn:aws:iam::aws:policy/IAMReadOnlyAccess")
    _, keys = b.admin_user()
    env = _env(tmp_path, keys, role_arn)
    done = _aws(server, env, "sts", "get-caller-identity", "--profile", "a")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["Account"] == a.account_id
    assert _aws(server, env, "iam", "list-roles", "--profile", "a").returncode == 0
    organization.org.attach_policy(PolicyId=organization.policy(deny("sts:AssumeRole")), TargetId=ou["Id"])
    (tmp_path / ".aws" / "cli" / "cache").mkdir(parents=True, exist_ok=True)
    for cached in (tmp_path / ".aws" / "cli" / "cache").iterdir():  # the CLI caches the role's credentials
        cached.unlink()
    refused = _aws(server, env, "sts", "get-caller-identity", "--profile", "a")
    assert refused.returncode != 0 and "AccessDenied" in refused.stderr
    assert "service control policy" in refused.stderr


def test_cli_organizations_commands(server: Server, new_account) -> None:
    owner: Account = new_account()
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update({"AWS_ACCESS_KEY_ID": owner.creds["aws_access_key_id"],
                "AWS_SECRET_ACCESS_KEY": owner.creds["aws_secret_access_key"], "AWS_DEFAULT_REGION": "us-east-1"})
    made = _aws(server, env, "organizations", "create-organization", "--feature-set", "ALL")
    assert made.returncode == 0, made.stderr
    org_id = json.loads(made.stdout)["Organization"]["Id"]
    listed = _aws(server, env, "organizations", "list-accounts")
    assert [a["Id"] for a in json.loads(listed.stdout)["Accounts"]] == [owner.account_id]
    roots = json.loads(_aws(server, env, "organizations", "list-roots").stdout)["Roots"]
    enabled = _aws(server, env, "organizations", "enable-policy-type", "--root-id", roots[0]["Id"],
                   "--policy-type", "SERVICE_CONTROL_POLICY")
    assert json.loads(enabled.stdout)["Root"]["PolicyTypes"][0]["Status"] == "ENABLED"
    described = json.loads(_aws(server, env, "organizations", "describe-organization").stdout)
    assert described["Organization"]["Id"] == org_id

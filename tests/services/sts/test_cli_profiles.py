"""The AWS CLI's own profile machinery: role_arn + source_profile, and mfa_serial answered on stdin."""

from __future__ import annotations

import base64
import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

from rampart.services.iam import totp
from tests.conftest import ROOT_ACCOUNT, Server
from tests.services.sts.core_helpers import role_trusting, trust, unique, user_keys


def _config(tmp_path: Path, keys: dict[str, str], profiles: dict[str, dict[str, str]]) -> dict[str, str]:
    """Config and credentials files for a source profile and the given role profiles; the CLI's env."""
    credentials = tmp_path / "credentials"
    credentials.write_text(
        f"[src]\naws_access_key_id = {keys['aws_access_key_id']}\n"
        f"aws_secret_access_key = {keys['aws_secret_access_key']}\n"
    )
    lines = ["[profile src]", "region = us-east-1"]
    for name, values in profiles.items():
        lines.append(f"[profile {name}]")
        lines += [f"{key} = {value}" for key, value in values.items()]
    config = tmp_path / "config"
    config.write_text("\n".join(lines) + "\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    return {**env, "AWS_CONFIG_FILE": str(config), "AWS_SHARED_CREDENTIALS_FILE": str(credentials),
            "AWS_DEFAULT_REGION": "us-east-1", "HOME": str(tmp_path)}


def _cli(server: Server, env: dict[str, str], profile: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    """``aws sts get-caller-identity --profile`` with AWS_ENDPOINT_URL at the server (no terminal: stdin answers)."""
    return subprocess.run(
        [sys.executable, "-m", "awscli", "sts", "get-caller-identity", "--profile", profile, "--output", "json"],
        env={**env, "AWS_ENDPOINT_URL": server.endpoint}, input=stdin, capture_output=True, text=True,
        start_new_session=True, timeout=120,
    )


def test_role_arn_with_source_profile(server: Server, tmp_path: Path) -> None:
    name, keys = user_keys(server)
    role = role_trusting(server, trust({"AWS": f"arn:aws:iam::{ROOT_ACCOUNT}:user/{name}"}))
    env = _config(tmp_path, keys, {"r": {"role_arn": role["Arn"], "source_profile": "src"}})
    done = _cli(server, env, "r")
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout)
    assert found["Account"] == ROOT_ACCOUNT
    assert found["Arn"].startswith(f"arn:aws:sts::{ROOT_ACCOUNT}:assumed-role/{role['RoleName']}/")
    assert found["UserId"].startswith(role["RoleId"] + ":")


def test_mfa_serial_answered_with_a_computed_code(server: Server, tmp_path: Path) -> None:
    name, keys = user_keys(server)
    iam = server.client("iam")
    device = iam.create_virtual_mfa_device(VirtualMFADeviceName=unique("cli"))["VirtualMFADevice"]
    seed = base64.b32decode(device["Base32StringSeed"])
    now = dt.datetime.fromisoformat(server.admin("GET", "clock").json()["now"])
    counter = totp.counter_at(now)
    iam.enable_mfa_device(UserName=name, SerialNumber=device["SerialNumber"],
                          AuthenticationCode1=totp.totp(seed, counter - 2), AuthenticationCode2=totp.totp(seed, counter - 1))
    mfa_only = trust({"AWS": f"arn:aws:iam::{ROOT_ACCOUNT}:user/{name}"},
                     condition={"Bool": {"aws:MultiFactorAuthPresent": "true"}})
    role = role_trusting(server, mfa_only)
    profiles = {
        "nomfa": {"role_arn": role["Arn"], "source_profile": "src"},
        "withmfa": {"role_arn": role["Arn"], "source_profile": "src", "mfa_serial": device["SerialNumber"]},
    }
    env = _config(tmp_path, keys, profiles)
    refused = _cli(server, env, "nomfa")
    assert refused.returncode != 0 and "AccessDenied" in refused.stderr
    wrong = _cli(server, env, "withmfa", "000000\n" if totp.totp(seed, counter) != "000000" else "111111\n")
    assert wrong.returncode != 0 and "MultiFactorAuthentication failed" in wrong.stderr
    done = _cli(server, env, "withmfa", totp.totp(seed, counter) + "\n")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["Arn"].startswith(f"arn:aws:sts::{ROOT_ACCOUNT}:assumed-role/{role['RoleName']}/")

"""Users and groups with what hangs off them (policies, attachments, login profiles, MFA devices).

These drive other areas' handlers too, so each test is skipped while an
operation it needs is not implemented yet.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

from rampart.gateway import registry
from rampart.services.iam import totp
from tests.conftest import Server
from tests.services.iam.helpers import allow, error_of, unique

READ_ONLY = "arn:aws:iam::aws:policy/ReadOnlyAccess"
DOC = json.dumps(allow("s3:GetObject"))


def needs(*operations: str) -> pytest.MarkDecorator:
    """Skip unless every named IAM operation has a handler."""
    registry.load_services()
    missing = [op for op in operations if registry.lookup("iam", op) is None]
    return pytest.mark.skipif(bool(missing), reason=f"not implemented yet: {', '.join(missing)}")


@needs(
    "PutUserPolicy", "DeleteUserPolicy", "AttachUserPolicy", "DetachUserPolicy",
    "CreateLoginProfile", "DeleteLoginProfile",
)
def test_delete_user_conflicts_with_policies_and_login_profile(iam: Any) -> None:
    name = unique("busy")
    iam.create_user(UserName=name)
    iam.put_user_policy(UserName=name, PolicyName="p", PolicyDocument=DOC)
    iam.attach_user_policy(UserName=name, PolicyArn=READ_ONLY)
    iam.create_login_profile(UserName=name, Password="Correct-Horse-9-battery!")
    steps = [
        ("must delete login profile first.", lambda: iam.delete_login_profile(UserName=name)),
        ("must delete policies first.", lambda: iam.delete_user_policy(UserName=name, PolicyName="p")),
        ("must detach all policies first.", lambda: iam.detach_user_policy(UserName=name, PolicyArn=READ_ONLY)),
    ]
    for words, remove in steps:
        with pytest.raises(ClientError) as excinfo:
            iam.delete_user(UserName=name)
        assert error_of(excinfo) == ("DeleteConflict", f"Cannot delete entity, {words}")
        remove()
    iam.delete_user(UserName=name)


@needs("CreateVirtualMFADevice", "EnableMFADevice", "DeactivateMFADevice", "ListMFADevices")
def test_mfa_device_blocks_delete_and_follows_rename(iam: Any) -> None:
    name, new = unique("mfa"), unique("mfa-new")
    iam.create_user(UserName=name)
    device = iam.create_virtual_mfa_device(VirtualMFADeviceName=unique("dev"))["VirtualMFADevice"]
    seed = base64.b32decode(device["Base32StringSeed"])
    step = totp.counter_at(dt.datetime.now(dt.timezone.utc))
    iam.enable_mfa_device(
        UserName=name,
        SerialNumber=device["SerialNumber"],
        AuthenticationCode1=totp.totp(seed, step - 1),
        AuthenticationCode2=totp.totp(seed, step),
    )
    iam.update_user(UserName=name, NewUserName=new)
    listed = iam.list_mfa_devices(UserName=new)["MFADevices"]
    assert [(d["SerialNumber"], d["UserName"]) for d in listed] == [(device["SerialNumber"], new)]
    with pytest.raises(ClientError) as excinfo:
        iam.delete_user(UserName=new)
    assert error_of(excinfo) == ("DeleteConflict", "Cannot delete entity, must delete MFA device first.")
    iam.deactivate_mfa_device(UserName=new, SerialNumber=device["SerialNumber"])
    iam.delete_user(UserName=new)


@needs("PutUserPolicy", "ListUserPolicies", "AttachUserPolicy", "ListAttachedUserPolicies")
def test_rename_carries_policies(iam: Any) -> None:
    old, new = unique("old"), unique("new")
    iam.create_user(UserName=old)
    iam.put_user_policy(UserName=old, PolicyName="p", PolicyDocument=DOC)
    iam.attach_user_policy(UserName=old, PolicyArn=READ_ONLY)
    iam.update_user(UserName=old, NewUserName=new)
    assert iam.list_user_policies(UserName=new)["PolicyNames"] == ["p"]
    attached = iam.list_attached_user_policies(UserName=new)["AttachedPolicies"]
    assert [a["PolicyArn"] for a in attached] == [READ_ONLY]


@needs("PutUserPolicy")
def test_user_with_policy_gets_itself(server: Server, iam: Any) -> None:
    name = unique("self")
    iam.create_user(UserName=name, Path="/me/")
    iam.put_user_policy(UserName=name, PolicyName="self", PolicyDocument=json.dumps(allow("iam:GetUser")))
    key = iam.create_access_key(UserName=name)["AccessKey"]
    client = server.client("iam", aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"])
    me = client.get_user()["User"]
    assert (me["UserName"], me["Arn"]) == (name, f"arn:aws:iam::{server.account_id}:user/me/{name}")
    with pytest.raises(ClientError) as excinfo:
        client.list_users()
    assert error_of(excinfo)[0] == "AccessDenied"


@needs("CreatePolicy")
def test_customer_managed_boundary(iam: Any) -> None:
    policy = iam.create_policy(PolicyName=unique("bound"), PolicyDocument=DOC)["Policy"]
    made = iam.create_user(UserName=unique("b"), PermissionsBoundary=policy["Arn"])["User"]
    assert made["PermissionsBoundary"]["PermissionsBoundaryArn"] == policy["Arn"]


@needs(
    "PutGroupPolicy", "DeleteGroupPolicy", "AttachGroupPolicy", "DetachGroupPolicy",
    "ListGroupPolicies", "ListAttachedGroupPolicies",
)
def test_group_policies_block_delete_and_follow_rename(iam: Any) -> None:
    old, new = unique("g"), unique("g-new")
    iam.create_group(GroupName=old)
    iam.put_group_policy(GroupName=old, PolicyName="p", PolicyDocument=DOC)
    iam.attach_group_policy(GroupName=old, PolicyArn=READ_ONLY)
    iam.update_group(GroupName=old, NewGroupName=new)
    assert iam.list_group_policies(GroupName=new)["PolicyNames"] == ["p"]
    assert [a["PolicyArn"] for a in iam.list_attached_group_policies(GroupName=new)["AttachedPolicies"]] == [READ_ONLY]
    with pytest.raises(ClientError) as excinfo:
        iam.delete_group(GroupName=new)
    assert error_of(excinfo) == ("DeleteConflict", "Cannot delete entity, must delete policies first.")
    iam.delete_group_policy(GroupName=new, PolicyName="p")
    with pytest.raises(ClientError) as excinfo:
        iam.delete_group(GroupName=new)
    assert error_of(excinfo) == ("DeleteConflict", "Cannot delete entity, must detach all policies first.")
    iam.detach_group_policy(GroupName=new, PolicyArn=READ_ONLY)
    iam.delete_group(GroupName=new)

"""Service-linked roles through boto3 as root: naming, trust, protection, deletion tasks."""

from __future__ import annotations

import json
import re
import uuid

import pytest
from botocore.exceptions import ClientError

from tests.conftest import Server
from tests.services.iam.helpers import allow, unique
from tests.services.iam.test_roles import TRUST, error

PROTECTED = "Cannot perform the operation on the protected role '{}' - this role is only modifiable by AWS"


def test_naming_path_and_trust(server: Server) -> None:
    """One test owns the one-per-account elasticbeanstalk role (tests share a server)."""
    iam = server.client("iam")
    role = iam.create_service_linked_role(AWSServiceName="elasticbeanstalk.amazonaws.com")["Role"]
    name = "AWSServiceRoleForElasticBeanstalk"
    assert role["RoleName"] == name
    assert role["Path"] == "/aws-service-role/elasticbeanstalk.amazonaws.com/"
    assert role["Arn"] == f"arn:aws:iam::{server.account_id}:role{role['Path']}{name}"
    statement = role["AssumeRolePolicyDocument"]["Statement"][0]
    service = {"Service": "elasticbeanstalk.amazonaws.com"}
    assert statement == {"Effect": "Allow", "Principal": service, "Action": "sts:AssumeRole"}
    assert iam.get_role(RoleName=name)["Role"]["RoleId"] == role["RoleId"]
    attached = iam.list_attached_role_policies(RoleName=name)["AttachedPolicies"]
    assert [p["PolicyName"] for p in attached] == ["AWSElasticBeanstalkServiceRolePolicy"]

    with pytest.raises(ClientError) as caught:
        iam.create_service_linked_role(AWSServiceName="elasticbeanstalk.amazonaws.com")
    assert error(caught) == (
        "InvalidInput",
        f"Service role name {name} has been taken in this account, please try a different suffix.",
    )
    task = iam.delete_service_linked_role(RoleName=name)["DeletionTaskId"]
    assert re.fullmatch(rf"task/aws-service-role/elasticbeanstalk\.amazonaws\.com/{name}/[0-9a-f-]{{36}}", task)
    assert iam.get_service_linked_role_deletion_status(DeletionTaskId=task)["Status"] == "SUCCEEDED"
    with pytest.raises(ClientError) as caught:
        iam.get_role(RoleName=name)
    assert error(caught)[0] == "NoSuchEntity"


def test_custom_suffix(server: Server) -> None:
    iam = server.client("iam")
    suffix = unique("s")
    role = iam.create_service_linked_role(
        AWSServiceName="autoscaling.amazonaws.com", CustomSuffix=suffix, Description="scaling"
    )["Role"]
    assert role["RoleName"] == f"AWSServiceRoleForAutoScaling_{suffix}"
    assert role["Description"] == "scaling"
    with pytest.raises(ClientError) as caught:
        iam.create_service_linked_role(AWSServiceName="es.amazonaws.com", CustomSuffix=suffix)
    assert error(caught) == ("InvalidInput", "Custom suffix is not allowed for es.amazonaws.com")
    iam.delete_service_linked_role(RoleName=role["RoleName"])


def test_cannot_be_edited(server: Server) -> None:
    iam = server.client("iam")
    name = iam.create_service_linked_role(AWSServiceName="autoscaling.amazonaws.com", CustomSuffix=unique("e"))[
        "Role"
    ]["RoleName"]
    message = PROTECTED.format(name)
    statement = {"Effect": "Allow", "Principal": {"AWS": server.account_id}, "Action": "sts:AssumeRole"}
    trust = {"Version": "2012-10-17", "Statement": [statement]}
    refused = [
        lambda: iam.update_assume_role_policy(RoleName=name, PolicyDocument=json.dumps(trust)),
        lambda: iam.delete_role(RoleName=name),
        lambda: iam.update_role(RoleName=name, MaxSessionDuration=7200),
        lambda: iam.put_role_permissions_boundary(
            RoleName=name, PermissionsBoundary="arn:aws:iam::aws:policy/ReadOnlyAccess"
        ),
        lambda: iam.delete_role_permissions_boundary(RoleName=name),
    ]
    for call in refused:
        with pytest.raises(ClientError) as caught:
            call()
        assert error(caught) == ("UnmodifiableEntity", message)
    # the description is the one thing its owner may change
    iam.update_role_description(RoleName=name, Description="mine")
    iam.update_role(RoleName=name, Description="still mine")
    assert iam.get_role(RoleName=name)["Role"]["Description"] == "still mine"
    iam.delete_service_linked_role(RoleName=name)


def test_inline_policy_refused(server: Server) -> None:
    iam = server.client("iam")
    name = iam.create_service_linked_role(AWSServiceName="autoscaling.amazonaws.com", CustomSuffix=unique("i"))[
        "Role"
    ]["RoleName"]
    try:
        with pytest.raises(ClientError) as caught:
            iam.put_role_policy(RoleName=name, PolicyName="x", PolicyDocument=json.dumps(allow("s3:*")))
        assert error(caught) == ("UnmodifiableEntity", PROTECTED.format(name))
    finally:
        iam.delete_service_linked_role(RoleName=name)


def test_unknown_service_name_derived(server: Server) -> None:
    iam = server.client("iam")
    service = f"{unique('made-up')}.amazonaws.com"
    role = iam.create_service_linked_role(AWSServiceName=service)["Role"]
    assert role["RoleName"].startswith("AWSServiceRoleForMadeUp")
    assert role["Path"] == f"/aws-service-role/{service}/"
    iam.delete_service_linked_role(RoleName=role["RoleName"])
    with pytest.raises(ClientError) as caught:
        iam.create_service_linked_role(AWSServiceName="not-a-service")
    assert error(caught)[0] == "InvalidInput"


def test_delete_service_linked_role_errors(server: Server) -> None:
    iam = server.client("iam")
    with pytest.raises(ClientError) as caught:
        iam.delete_service_linked_role(RoleName=unique("missing"))
    assert error(caught)[0] == "NoSuchEntity"
    plain = unique("plain")
    iam.create_role(RoleName=plain, AssumeRolePolicyDocument=json.dumps(TRUST))
    with pytest.raises(ClientError) as caught:
        iam.delete_service_linked_role(RoleName=plain)
    assert error(caught)[0] == "NoSuchEntity"
    iam.delete_role(RoleName=plain)
    with pytest.raises(ClientError) as caught:
        iam.get_service_linked_role_deletion_status(DeletionTaskId="garbage")
    assert error(caught)[0] == "InvalidInput"
    unknown = f"task/aws-service-role/ecs.amazonaws.com/AWSServiceRoleForECS/{uuid.uuid4()}"
    with pytest.raises(ClientError) as caught:
        iam.get_service_linked_role_deletion_status(DeletionTaskId=unknown)
    assert error(caught)[0] == "NoSuchEntity"


def test_deletion_fails_while_in_instance_profile(server: Server) -> None:
    iam = server.client("iam")
    name = iam.create_service_linked_role(AWSServiceName="autoscaling.amazonaws.com", CustomSuffix=unique("p"))[
        "Role"
    ]["RoleName"]
    profile = unique("prof")
    iam.create_instance_profile(InstanceProfileName=profile)
    iam.add_role_to_instance_profile(InstanceProfileName=profile, RoleName=name)
    task = iam.delete_service_linked_role(RoleName=name)["DeletionTaskId"]
    status = iam.get_service_linked_role_deletion_status(DeletionTaskId=task)
    assert status["Status"] == "FAILED"
    assert "instance profile" in status["Reason"]["Reason"]
    assert iam.get_role(RoleName=name)["Role"]["RoleName"] == name
    iam.remove_role_from_instance_profile(InstanceProfileName=profile, RoleName=name)
    task = iam.delete_service_linked_role(RoleName=name)["DeletionTaskId"]
    assert iam.get_service_linked_role_deletion_status(DeletionTaskId=task)["Status"] == "SUCCEEDED"
    iam.delete_instance_profile(InstanceProfileName=profile)

"""IAM instance profiles through boto3 as root: CRUD, the one-role quota, membership, tags, paging."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.conftest import Server
from tests.services.iam.helpers import unique
from tests.services.iam.test_roles import TRUST, error, make_role


def test_create_get_list_delete(server: Server) -> None:
    iam = server.client("iam")
    name = unique("prof")
    path = f"/{unique('p')}/"
    created = iam.create_instance_profile(InstanceProfileName=name, Path=path)["InstanceProfile"]
    assert created["InstanceProfileName"] == name
    assert created["InstanceProfileId"].startswith("AIPA")
    assert created["Arn"] == f"arn:aws:iam::{server.account_id}:instance-profile{path}{name}"
    assert created["Roles"] == []
    got = iam.get_instance_profile(InstanceProfileName=name.upper())["InstanceProfile"]
    assert got["InstanceProfileId"] == created["InstanceProfileId"]
    listed = iam.list_instance_profiles(PathPrefix=path)["InstanceProfiles"]
    assert [p["InstanceProfileName"] for p in listed] == [name]
    with pytest.raises(ClientError) as caught:
        iam.create_instance_profile(InstanceProfileName=name)
    assert error(caught) == ("EntityAlreadyExists", f"Instance Profile {name} already exists.")
    iam.delete_instance_profile(InstanceProfileName=name)
    with pytest.raises(ClientError) as caught:
        iam.get_instance_profile(InstanceProfileName=name)
    assert error(caught) == ("NoSuchEntity", f"Instance Profile {name} cannot be found.")


def test_role_membership_and_one_role_limit(server: Server) -> None:
    iam = server.client("iam")
    profile = unique("prof")
    first, second = make_role(iam)["RoleName"], make_role(iam)["RoleName"]
    iam.create_instance_profile(InstanceProfileName=profile)
    iam.add_role_to_instance_profile(InstanceProfileName=profile, RoleName=first)
    roles = iam.get_instance_profile(InstanceProfileName=profile)["InstanceProfile"]["Roles"]
    assert [r["RoleName"] for r in roles] == [first]
    assert roles[0]["AssumeRolePolicyDocument"] == TRUST  # URL-encoded on the wire, decoded by boto3
    with pytest.raises(ClientError) as caught:
        iam.add_role_to_instance_profile(InstanceProfileName=profile, RoleName=second)
    assert error(caught) == ("LimitExceeded", "Cannot exceed quota for InstanceSessionsPerInstanceProfile: 1")

    for_role = iam.list_instance_profiles_for_role(RoleName=first)["InstanceProfiles"]
    assert [p["InstanceProfileName"] for p in for_role] == [profile]
    assert iam.list_instance_profiles_for_role(RoleName=second)["InstanceProfiles"] == []

    with pytest.raises(ClientError) as caught:
        iam.delete_instance_profile(InstanceProfileName=profile)
    assert error(caught) == ("DeleteConflict", "Cannot delete entity, must remove roles from instance profile first.")
    with pytest.raises(ClientError) as caught:
        iam.remove_role_from_instance_profile(InstanceProfileName=profile, RoleName=second)
    assert error(caught)[0] == "NoSuchEntity"
    iam.remove_role_from_instance_profile(InstanceProfileName=profile, RoleName=first)
    iam.add_role_to_instance_profile(InstanceProfileName=profile, RoleName=second)
    iam.remove_role_from_instance_profile(InstanceProfileName=profile, RoleName=second)
    iam.delete_instance_profile(InstanceProfileName=profile)


def test_unknown_names(server: Server) -> None:
    iam = server.client("iam")
    profile, role = unique("prof"), make_role(iam)["RoleName"]
    missing = unique("missing")
    with pytest.raises(ClientError) as caught:
        iam.add_role_to_instance_profile(InstanceProfileName=missing, RoleName=role)
    assert error(caught) == ("NoSuchEntity", f"Instance Profile {missing} cannot be found.")
    iam.create_instance_profile(InstanceProfileName=profile)
    with pytest.raises(ClientError) as caught:
        iam.add_role_to_instance_profile(InstanceProfileName=profile, RoleName=missing)
    assert error(caught) == ("NoSuchEntity", f"The role with name {missing} cannot be found.")
    with pytest.raises(ClientError) as caught:
        iam.list_instance_profiles_for_role(RoleName=missing)
    assert error(caught)[0] == "NoSuchEntity"
    with pytest.raises(ClientError) as caught:
        iam.delete_instance_profile(InstanceProfileName=missing)
    assert error(caught)[0] == "NoSuchEntity"


def test_tags(server: Server) -> None:
    iam = server.client("iam")
    name = unique("prof")
    created = iam.create_instance_profile(InstanceProfileName=name, Tags=[{"Key": "a", "Value": "1"}])
    assert created["InstanceProfile"]["Tags"] == [{"Key": "a", "Value": "1"}]
    iam.tag_instance_profile(InstanceProfileName=name, Tags=[{"Key": "b", "Value": "2"}, {"Key": "A", "Value": "3"}])
    tags = iam.list_instance_profile_tags(InstanceProfileName=name)["Tags"]
    assert sorted((t["Key"], t["Value"]) for t in tags) == [("A", "3"), ("b", "2")]
    page = iam.list_instance_profile_tags(InstanceProfileName=name, MaxItems=1)
    assert page["IsTruncated"] is True
    iam.untag_instance_profile(InstanceProfileName=name, TagKeys=["a"])
    assert iam.get_instance_profile(InstanceProfileName=name)["InstanceProfile"]["Tags"] == [{"Key": "b", "Value": "2"}]
    listed = iam.list_instance_profiles(PathPrefix="/")["InstanceProfiles"]
    assert all("Tags" not in p for p in listed)
    iam.delete_instance_profile(InstanceProfileName=name)


def test_paging(server: Server) -> None:
    iam = server.client("iam")
    path = f"/{unique('page')}/"
    names = [unique(f"ip{i}") for i in range(5)]
    for name in names:
        iam.create_instance_profile(InstanceProfileName=name, Path=path)
    pages = iam.get_paginator("list_instance_profiles").paginate(PathPrefix=path, PaginationConfig={"PageSize": 2})
    seen: list[Any] = [p["InstanceProfileName"] for page in pages for p in page["InstanceProfiles"]]
    assert seen == sorted(names, key=str.lower)
    first = iam.list_instance_profiles(PathPrefix=path, MaxItems=2)
    assert first["IsTruncated"] is True and len(first["InstanceProfiles"]) == 2


def test_role_shape_in_profile_has_no_tags(server: Server) -> None:
    iam = server.client("iam")
    role = make_role(iam, Tags=[{"Key": "k", "Value": "v"}])["RoleName"]
    profile = unique("prof")
    iam.create_instance_profile(InstanceProfileName=profile)
    iam.add_role_to_instance_profile(InstanceProfileName=profile, RoleName=role)
    shown = iam.get_instance_profile(InstanceProfileName=profile)["InstanceProfile"]["Roles"][0]
    assert shown["RoleName"] == role and "Tags" not in shown
    assert json.loads(json.dumps(shown["AssumeRolePolicyDocument"])) == TRUST

"""IAM groups through a real boto3 client: CRUD, members, paging, rename, delete conflicts, quota."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.conftest import Server
from tests.services.iam.helpers import error_of, unique


def test_create_get_list(iam: Any, server: Server) -> None:
    name = unique("devs")
    made = iam.create_group(GroupName=name, Path="/teams/")["Group"]
    assert made["Arn"] == f"arn:aws:iam::{server.account_id}:group/teams/{name}"
    assert made["GroupId"].startswith("AGPA")
    got = iam.get_group(GroupName=name)
    assert got["Group"] == made and got["Users"] == [] and got["IsTruncated"] is False
    assert name in [g["GroupName"] for g in iam.list_groups(PathPrefix="/teams/")["Groups"]]
    with pytest.raises(ClientError) as excinfo:
        iam.create_group(GroupName=name.upper())
    assert error_of(excinfo) == ("EntityAlreadyExists", f"Group with name {name.upper()} already exists.")
    with pytest.raises(ClientError) as excinfo:
        iam.get_group(GroupName="missing-" + name)
    assert error_of(excinfo) == ("NoSuchEntity", f"The group with name missing-{name} cannot be found.")


def test_members_and_paging(iam: Any) -> None:
    group = unique("grp")
    iam.create_group(GroupName=group)
    users = sorted(unique("m") for _ in range(3))
    for user in users:
        iam.create_user(UserName=user)
        iam.add_user_to_group(GroupName=group, UserName=user)
    iam.add_user_to_group(GroupName=group, UserName=users[0])  # adding twice changes nothing
    first = iam.get_group(GroupName=group, MaxItems=2)
    assert [u["UserName"] for u in first["Users"]] == users[:2] and first["IsTruncated"] is True
    rest = iam.get_group(GroupName=group, Marker=first["Marker"])
    assert [u["UserName"] for u in rest["Users"]] == users[2:]
    iam.remove_user_from_group(GroupName=group, UserName=users[1])
    assert [u["UserName"] for u in iam.get_group(GroupName=group)["Users"]] == [users[0], users[2]]
    assert iam.list_groups_for_user(UserName=users[1])["Groups"] == []
    with pytest.raises(ClientError) as excinfo:
        iam.add_user_to_group(GroupName=group, UserName="ghost-" + group)
    assert error_of(excinfo)[0] == "NoSuchEntity"


def test_list_groups_paging(iam: Any) -> None:
    path = f"/{unique('gp')}/"
    names = sorted(unique("g") for _ in range(4))
    for name in names:
        iam.create_group(GroupName=name, Path=path)
    pages = iam.get_paginator("list_groups").paginate(PathPrefix=path, PaginationConfig={"PageSize": 3})
    seen = [g["GroupName"] for p in pages for g in p["Groups"]]
    assert seen == names


def test_rename_carries_members(iam: Any, server: Server) -> None:
    old, new, user = unique("old"), unique("new"), unique("u")
    iam.create_group(GroupName=old)
    iam.create_user(UserName=user)
    iam.add_user_to_group(GroupName=old, UserName=user)
    iam.update_group(GroupName=old, NewGroupName=new, NewPath="/x/")
    got = iam.get_group(GroupName=new)
    assert got["Group"]["Arn"] == f"arn:aws:iam::{server.account_id}:group/x/{new}"
    assert [u["UserName"] for u in got["Users"]] == [user]
    assert [g["GroupName"] for g in iam.list_groups_for_user(UserName=user)["Groups"]] == [new]
    with pytest.raises(ClientError):
        iam.get_group(GroupName=old)


def test_delete_conflict_and_delete(iam: Any) -> None:
    group, user = unique("busy"), unique("u")
    iam.create_group(GroupName=group)
    iam.create_user(UserName=user)
    iam.add_user_to_group(GroupName=group, UserName=user)
    with pytest.raises(ClientError) as excinfo:
        iam.delete_group(GroupName=group)
    assert error_of(excinfo) == ("DeleteConflict", "Cannot delete entity, must remove users from group first.")
    iam.remove_user_from_group(GroupName=group, UserName=user)
    iam.delete_group(GroupName=group)
    with pytest.raises(ClientError) as excinfo:
        iam.delete_group(GroupName=group)
    assert error_of(excinfo)[0] == "NoSuchEntity"


def test_groups_per_user_quota(iam: Any) -> None:
    user = unique("joiner")
    iam.create_user(UserName=user)
    groups = [unique("q") for _ in range(11)]
    for group in groups:
        iam.create_group(GroupName=group)
    for group in groups[:10]:
        iam.add_user_to_group(GroupName=group, UserName=user)
    with pytest.raises(ClientError) as excinfo:
        iam.add_user_to_group(GroupName=groups[10], UserName=user)
    assert error_of(excinfo) == ("LimitExceeded", "Cannot exceed quota for GroupsPerUser: 10")
    listed = iam.list_groups_for_user(UserName=user, MaxItems=4)
    assert len(listed["Groups"]) == 4 and listed["IsTruncated"] is True

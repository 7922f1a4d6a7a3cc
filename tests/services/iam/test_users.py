"""IAM users through a real boto3 client: CRUD, paging, rename, delete conflicts, tags, boundaries."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.conftest import Server
from tests.services.iam.helpers import error_of, unique

READ_ONLY = "arn:aws:iam::aws:policy/ReadOnlyAccess"


def test_create_get_and_list(iam: Any, server: Server) -> None:
    name = unique("alice")
    made = iam.create_user(UserName=name, Path="/eng/", Tags=[{"Key": "team", "Value": "red"}])["User"]
    assert made["Arn"] == f"arn:aws:iam::{server.account_id}:user/eng/{name}"
    assert made["UserId"].startswith("AIDA") and len(made["UserId"]) == 21
    assert made["Tags"] == [{"Key": "team", "Value": "red"}]
    got = iam.get_user(UserName=name.upper())["User"]  # names match without regard to case
    assert (got["UserName"], got["Path"], got["UserId"]) == (name, "/eng/", made["UserId"])
    assert got["CreateDate"] == made["CreateDate"]
    listed = iam.list_users(PathPrefix="/eng/")["Users"]
    assert [u["UserName"] for u in listed if u["UserName"] == name] == [name]
    assert "Tags" not in listed[0]


def test_duplicate_and_missing(iam: Any) -> None:
    name = unique("dup")
    iam.create_user(UserName=name)
    with pytest.raises(ClientError) as excinfo:
        iam.create_user(UserName=name.upper())
    assert error_of(excinfo) == ("EntityAlreadyExists", f"User with name {name.upper()} already exists.")
    with pytest.raises(ClientError) as excinfo:
        iam.get_user(UserName="nobody-" + name)
    assert error_of(excinfo) == ("NoSuchEntity", f"The user with name nobody-{name} cannot be found.")
    assert excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404


def test_bad_names_are_validation_errors(iam: Any) -> None:
    with pytest.raises(ClientError) as excinfo:
        iam.create_user(UserName="has space")
    assert error_of(excinfo)[0] == "ValidationError"
    with pytest.raises(ClientError) as excinfo:
        iam.create_user(UserName=unique("p"), Path="no-slashes")
    assert error_of(excinfo)[0] == "ValidationError"


def test_root_get_user_without_name(iam: Any, server: Server) -> None:
    me = iam.get_user()["User"]
    assert me["Arn"] == f"arn:aws:iam::{server.account_id}:root"
    assert me["UserId"] == server.account_id
    assert "UserName" not in me


def test_paging_with_max_items(iam: Any) -> None:
    path = f"/{unique('page')}/"
    names = sorted(unique("pg") for _ in range(5))
    for name in names:
        iam.create_user(UserName=name, Path=path)
    first = iam.list_users(PathPrefix=path, MaxItems=2)
    assert first["IsTruncated"] is True and [u["UserName"] for u in first["Users"]] == names[:2]
    second = iam.list_users(PathPrefix=path, MaxItems=2, Marker=first["Marker"])
    assert [u["UserName"] for u in second["Users"]] == names[2:4]
    third = iam.list_users(PathPrefix=path, MaxItems=2, Marker=second["Marker"])
    assert [u["UserName"] for u in third["Users"]] == names[4:] and third["IsTruncated"] is False
    pages = iam.get_paginator("list_users").paginate(PathPrefix=path, PaginationConfig={"PageSize": 3})
    paged = [u["UserName"] for p in pages for u in p["Users"]]
    assert paged == names


def test_rename_carries_groups_keys_and_tags(iam: Any, server: Server) -> None:
    old, new, group = unique("old"), unique("new"), unique("grp")
    iam.create_user(UserName=old, Tags=[{"Key": "k", "Value": "v"}])
    iam.create_group(GroupName=group)
    iam.add_user_to_group(GroupName=group, UserName=old)
    key = iam.create_access_key(UserName=old)["AccessKey"]
    iam.update_user(UserName=old, NewUserName=new, NewPath="/moved/")
    with pytest.raises(ClientError):
        iam.get_user(UserName=old)
    user = iam.get_user(UserName=new)["User"]
    assert user["Arn"] == f"arn:aws:iam::{server.account_id}:user/moved/{new}"
    assert user["Tags"] == [{"Key": "k", "Value": "v"}]
    assert [g["GroupName"] for g in iam.list_groups_for_user(UserName=new)["Groups"]] == [group]
    assert [u["UserName"] for u in iam.get_group(GroupName=group)["Users"]] == [new]
    keys = iam.list_access_keys(UserName=new)["AccessKeyMetadata"]
    assert [(k["AccessKeyId"], k["UserName"]) for k in keys] == [(key["AccessKeyId"], new)]
    sts = server.client("sts", aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"])
    assert sts.get_caller_identity()["Arn"] == user["Arn"]  # the key signs as the renamed user


def test_rename_onto_existing_name(iam: Any) -> None:
    a, b = unique("a"), unique("b")
    iam.create_user(UserName=a)
    iam.create_user(UserName=b)
    with pytest.raises(ClientError) as excinfo:
        iam.update_user(UserName=a, NewUserName=b.upper())
    assert error_of(excinfo)[0] == "EntityAlreadyExists"


def test_delete_conflicts(iam: Any) -> None:
    name, group = unique("del"), unique("delgrp")
    iam.create_user(UserName=name)
    key = iam.create_access_key(UserName=name)["AccessKey"]["AccessKeyId"]
    iam.create_group(GroupName=group)
    iam.add_user_to_group(GroupName=group, UserName=name)
    with pytest.raises(ClientError) as excinfo:
        iam.delete_user(UserName=name)
    assert error_of(excinfo) == ("DeleteConflict", "Cannot delete entity, must delete access keys first.")
    assert excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"] == 409
    iam.delete_access_key(UserName=name, AccessKeyId=key)
    with pytest.raises(ClientError) as excinfo:
        iam.delete_user(UserName=name)
    assert error_of(excinfo) == ("DeleteConflict", "Cannot delete entity, must remove users from group first.")
    iam.remove_user_from_group(GroupName=group, UserName=name)
    iam.delete_user(UserName=name)
    with pytest.raises(ClientError) as excinfo:
        iam.get_user(UserName=name)
    assert error_of(excinfo)[0] == "NoSuchEntity"


def test_deleted_user_name_can_be_reused(iam: Any) -> None:
    name = unique("reuse")
    first = iam.create_user(UserName=name)["User"]["UserId"]
    iam.delete_user(UserName=name)
    assert iam.create_user(UserName=name)["User"]["UserId"] != first


def test_tags(iam: Any) -> None:
    name = unique("tags")
    iam.create_user(UserName=name, Tags=[{"Key": "a", "Value": "1"}, {"Key": "b", "Value": "2"}])
    iam.tag_user(UserName=name, Tags=[{"Key": "A", "Value": "3"}, {"Key": "c", "Value": ""}])
    assert iam.list_user_tags(UserName=name)["Tags"] == [
        {"Key": "b", "Value": "2"}, {"Key": "A", "Value": "3"}, {"Key": "c", "Value": ""}
    ]
    page = iam.list_user_tags(UserName=name, MaxItems=2)
    assert page["IsTruncated"] is True and len(page["Tags"]) == 2
    rest = iam.list_user_tags(UserName=name, Marker=page["Marker"])
    assert rest["Tags"] == [{"Key": "c", "Value": ""}]
    iam.untag_user(UserName=name, TagKeys=["b", "missing"])
    assert [t["Key"] for t in iam.list_user_tags(UserName=name)["Tags"]] == ["A", "c"]
    with pytest.raises(ClientError) as excinfo:
        iam.tag_user(UserName=name, Tags=[{"Key": f"k{i}", "Value": "v"} for i in range(49)])
    assert error_of(excinfo)[0] == "LimitExceeded"
    with pytest.raises(ClientError) as excinfo:
        iam.tag_user(UserName=name, Tags=[{"Key": "x", "Value": "1"}, {"Key": "X", "Value": "2"}])
    assert error_of(excinfo)[0] == "InvalidInput"


def test_permissions_boundary(iam: Any, server: Server) -> None:
    name = unique("bound")
    made = iam.create_user(UserName=name, PermissionsBoundary=READ_ONLY)["User"]
    assert made["PermissionsBoundary"] == {
        "PermissionsBoundaryType": "PermissionsBoundaryPolicy",
        "PermissionsBoundaryArn": READ_ONLY,
    }
    iam.delete_user_permissions_boundary(UserName=name)
    assert "PermissionsBoundary" not in iam.get_user(UserName=name)["User"]
    iam.put_user_permissions_boundary(UserName=name, PermissionsBoundary=READ_ONLY)
    got = iam.get_user(UserName=name)["User"]["PermissionsBoundary"]["PermissionsBoundaryArn"]
    assert got == READ_ONLY
    missing = f"arn:aws:iam::{server.account_id}:policy/{unique('nope')}"
    for bad in (missing, "arn:aws:iam::aws:policy/NoSuchPolicyAtAll"):
        with pytest.raises(ClientError) as excinfo:
            iam.put_user_permissions_boundary(UserName=name, PermissionsBoundary=bad)
        assert error_of(excinfo)[0] == "NoSuchEntity"
    with pytest.raises(ClientError) as excinfo:
        iam.create_user(UserName=unique("b2"), PermissionsBoundary=missing)
    assert error_of(excinfo)[0] == "NoSuchEntity"


def test_user_without_permissions_is_denied(server: Server) -> None:
    iam = server.client("iam")
    name = unique("weak")
    iam.create_user(UserName=name, Path="/weak/")
    key = iam.create_access_key(UserName=name)["AccessKey"]
    client = server.client("iam", aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"])
    with pytest.raises(ClientError) as excinfo:
        client.get_user()
    code, message = error_of(excinfo)
    assert code == "AccessDenied"
    assert f"arn:aws:iam::{server.account_id}:user/weak/{name}" in message

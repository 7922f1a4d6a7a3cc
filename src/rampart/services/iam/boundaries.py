"""Permissions boundaries: which managed policies may serve as one."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection
from sqlalchemy.orm import Session

from rampart.services.iam import store
from rampart.services.iam.errors import InvalidInput, NoSuchEntity, PolicyNotAttachable
from rampart.services.iam.managed import aws_managed_policy, is_aws_managed


def check_boundary(conn: Connection | Session, account_id: str, arn: str, owner: str) -> str:
    """The ARN, once it names an existing managed policy (AWS's or this account's).

    ``owner`` is how AWS names the entity in its refusal of a service-role
    policy ("User", "Customer Role"): those AWS managed policies belong to
    service-linked roles and cannot bound anything else.
    """
    if is_aws_managed(arn):
        policy = aws_managed_policy(arn)
        if policy is None:
            raise NoSuchEntity(store.no_such_message(store.POLICY, arn))
        if policy.path.startswith("/aws-service-role/"):
            raise PolicyNotAttachable(f"Cannot attach a Service Role Policy to a {owner}.")
        return arn
    if not arn.startswith("arn:aws:iam::") or ":policy/" not in arn:
        raise InvalidInput(f"ARN {arn} is not valid.")
    if store.get_entity_by_arn(conn, account_id, arn, (store.POLICY,)) is None:
        raise NoSuchEntity(store.no_such_message(store.POLICY, arn))
    return arn


def boundary_output(entity: store.Entity) -> dict[str, Any]:
    """``{"PermissionsBoundary": {...}}`` for a user or role that has one, else ``{}`` (AWS's shape)."""
    arn = entity.data.get("PermissionsBoundary")
    if not arn:
        return {}
    return {"PermissionsBoundary": {"PermissionsBoundaryType": "PermissionsBoundaryPolicy", "PermissionsBoundaryArn": arn}}

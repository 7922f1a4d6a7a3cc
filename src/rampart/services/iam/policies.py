"""Managed policies: customer managed policies with versions, and the read-only AWS managed ones.

A customer managed policy is an ``iam_entities`` row of kind ``policy`` (its
``data`` holds DefaultVersionId, Description, NextVersion, UpdateDate) and up
to five ``iam_policy_versions`` rows, exactly one of them the default. AWS
managed policies come from ``managed.py`` and answer every read the same way;
any attempt to change one is refused as AWS refuses it (AccessDenied: the
policy belongs to the ``aws`` account, not the caller's).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, delete, func, insert, select, update
from sqlalchemy.orm import Session

from rampart.aws.errors import AccessDenied
from rampart.gateway.call import Call
from rampart.gateway.registry import handler
from rampart.policy import PolicyType
from rampart.services.iam import store
from rampart.services.iam.errors import (
    DeleteConflict,
    InvalidInput,
    LimitExceeded,
    NoSuchEntity,
)
from rampart.services.iam.managed import (
    ManagedPolicy,
    aws_managed_policies,
    aws_managed_policy,
    is_aws_managed,
)
from rampart.storage.schema import iam_attachments, iam_policy_versions

Conn = Connection | Session
MAX_VERSIONS = 5


@dataclass(frozen=True, slots=True)
class PolicyView:
    """A managed policy of either origin, as the Get/List operations describe it."""

    name: str
    arn: str
    policy_id: str
    path: str
    default_version_id: str
    create_date: dt.datetime
    update_date: dt.datetime
    description: str | None = None
    tags: list[dict[str, str]] = field(default_factory=list)
    entity: store.Entity | None = None  # None for AWS managed policies

    @property
    def attachable(self) -> bool:
        """Service-linked role policies are AWS's own: customers cannot attach them."""
        return not self.path.startswith("/aws-service-role/")


def aws_view(policy: ManagedPolicy) -> PolicyView:
    """An AWS managed policy as a PolicyView."""
    return PolicyView(
        policy.name,
        policy.arn,
        policy.policy_id,
        policy.path,
        policy.default_version_id,
        policy.create_date,
        policy.update_date,
        policy.description,
    )


def customer_view(entity: store.Entity) -> PolicyView:
    """A customer managed policy entity as a PolicyView."""
    return PolicyView(
        entity.name,
        entity.arn,
        entity.entity_id,
        entity.path,
        entity.data.get("DefaultVersionId", "v1"),
        entity.created_at,
        store.from_iso(entity.data.get("UpdateDate")) or entity.created_at,
        entity.data.get("Description"),
        entity.tags,
        entity,
    )


# --- finding a policy by ARN ----------------------------------------------------------


def check_arn(arn: str) -> None:
    """InvalidInput for a PolicyArn that is not an IAM policy ARN (AWS's wording)."""
    parts = arn.split(":", 5)
    if len(parts) != 6 or parts[:3] != ["arn", "aws", "iam"] or not parts[5].startswith("policy/"):
        raise InvalidInput(f"ARN {arn} is not valid.")


def customer_policy(conn: Conn, account_id: str, arn: str) -> store.Entity | None:
    """The caller's account's customer managed policy with this ARN, or None."""
    return store.get_entity_by_arn(conn, account_id, arn, (store.POLICY,))


def find_policy(conn: Conn, account_id: str, arn: str) -> PolicyView | None:
    """A managed policy of either origin by ARN, or None."""
    check_arn(arn)
    if is_aws_managed(arn):
        found = aws_managed_policy(arn)
        return aws_view(found) if found else None
    entity = customer_policy(conn, account_id, arn)
    return customer_view(entity) if entity else None


def not_found(arn: str) -> NoSuchEntity:
    """The NoSuchEntity that Get/Delete/version operations answer for an unknown policy."""
    return NoSuchEntity(f"Policy {arn} was not found.")


def require_policy(conn: Conn, account_id: str, arn: str) -> PolicyView:
    """A managed policy of either origin, or NoSuchEntity."""
    found = find_policy(conn, account_id, arn)
    if found is None:
        raise not_found(arn)
    return found


def require_modifiable(call: Call, conn: Conn, arn: str) -> store.Entity:
    """The customer managed policy an operation changes; AWS managed ones are refused.

    AWS managed policies belong to the ``aws`` account, so every principal,
    root included, is denied changing them.
    """
    check_arn(arn)
    if is_aws_managed(arn):
        if aws_managed_policy(arn) is None:
            raise not_found(arn)
        who = call.caller.arn or "anonymous"
        raise AccessDenied(f"User: {who} is not authorized to perform: iam:{call.operation} on resource: policy {arn}")
    entity = customer_policy(conn, call.account_id or "", arn)
    if entity is None:
        raise not_found(arn)
    return entity


# --- usage counts -----------------------------------------------------------------------


def attachment_counts(conn: Conn, account_id: str) -> Counter[str]:
    """How many users, groups and roles of the account each policy ARN is attached to."""
    rows = conn.execute(
        select(iam_attachments.c.policy_arn, func.count())
        .where(iam_attachments.c.account_id == account_id)
        .group_by(iam_attachments.c.policy_arn)
    ).all()
    return Counter({row[0]: row[1] for row in rows})


def boundary_counts(conn: Conn, account_id: str) -> Counter[str]:
    """How many users and roles of the account use each policy ARN as permissions boundary."""
    counts: Counter[str] = Counter()
    for kind in (store.USER, store.ROLE):
        for entity in store.list_entities(conn, account_id, kind):
            boundary = entity.data.get("PermissionsBoundary")
            if boundary:
                counts[boundary] += 1
    return counts


def policy_output(view: PolicyView, attached: int, boundaries: int, *, full: bool) -> dict[str, Any]:
    """The Policy shape; List operations leave out Description and Tags, as AWS does."""
    out: dict[str, Any] = {
        "PolicyName": view.name,
        "PolicyId": view.policy_id,
        "Arn": view.arn,
        "Path": view.path,
        "DefaultVersionId": view.default_version_id,
        "AttachmentCount": attached,
        "PermissionsBoundaryUsageCount": boundaries,
        "IsAttachable": view.attachable,
        "CreateDate": view.create_date,
        "UpdateDate": view.update_date,
    }
    if full:
        if view.description:
            out["Description"] = view.description
        if view.tags:
            out["Tags"] = view.tags
    return out


# --- versions of customer managed policies -------------------------------------------------


@dataclass(frozen=True, slots=True)
class Version:
    """One stored version of a customer managed policy."""

    version_id: str
    document: str
    is_default: bool
    created_at: dt.datetime


def _version_number(version_id: str) -> int:
    digits = version_id[1:].split(".", 1)[0]
    return int(digits) if digits.isdigit() else 0


def versions(conn: Conn, policy: store.Entity) -> list[Version]:
    """The versions of a customer managed policy, newest first (as ListPolicyVersions orders them)."""
    rows = conn.execute(
        select(iam_policy_versions).where(
            iam_policy_versions.c.account_id == policy.account_id,
            iam_policy_versions.c.policy_name == policy.name,
        )
    ).all()
    found = [Version(r.version_id, r.document, r.is_default, r.created_at) for r in rows]
    return sorted(found, key=lambda v: _version_number(v.version_id), reverse=True)


def _require_version(conn: Conn, policy: store.Entity, version_id: str) -> Version:
    for version in versions(conn, policy):
        if version.version_id == version_id:
            return version
    raise NoSuchEntity(f"Policy {policy.arn} version {version_id} does not exist or is not attachable.")


def _insert_version(session: Session, policy: store.Entity, version: Version) -> None:
    session.execute(
        insert(iam_policy_versions).values(
            account_id=policy.account_id,
            policy_name=policy.name,
            version_id=version.version_id,
            document=version.document,
            is_default=version.is_default,
            created_at=version.created_at,
        )
    )


def _make_default(session: Session, policy: store.Entity, version_id: str) -> store.Entity:
    """Flip the default flag to ``version_id``; the authorizer must forget the old document."""
    session.execute(
        update(iam_policy_versions)
        .where(
            iam_policy_versions.c.account_id == policy.account_id,
            iam_policy_versions.c.policy_name == policy.name,
        )
        .values(is_default=iam_policy_versions.c.version_id == version_id)
    )
    store.changed(session, policy.account_id)
    return store.update_entity(session, policy, data={**policy.data, "DefaultVersionId": version_id})


def version_output(version_id: str, document: str, is_default: bool, created: dt.datetime, *, with_document: bool) -> dict[str, Any]:
    """The PolicyVersion shape (documents URL-encoded, as IAM returns them)."""
    out: dict[str, Any] = {"VersionId": version_id, "IsDefaultVersion": is_default, "CreateDate": created}
    if with_document:
        out["Document"] = store.encode_document(document)
    return out


# --- handlers: policies ---------------------------------------------------------------------


@handler("iam", "CreatePolicy")
def create_policy(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """A customer managed policy whose document becomes version v1, the default."""
    document = params["PolicyDocument"]
    store.check_document(document, PolicyType.IDENTITY, "managed")
    now = call.received_at
    data: dict[str, Any] = {"DefaultVersionId": "v1", "NextVersion": 2, "UpdateDate": store.iso(now)}
    if params.get("Description"):
        data["Description"] = params["Description"]
    with call.gateway.db.session() as session:
        entity = store.insert_entity(
            session,
            call.account_id or "",
            store.POLICY,
            params["PolicyName"],
            path=params.get("Path") or "/",
            data=data,
            tags=params.get("Tags") or [],
            created_at=now,
        )
        _insert_version(session, entity, Version("v1", document, True, now))
    return {"Policy": policy_output(customer_view(entity), 0, 0, full=True)}


@handler("iam", "GetPolicy")
def get_policy(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """A customer or AWS managed policy, with its usage counts in the caller's account."""
    arn = params["PolicyArn"]
    account = call.account_id or ""
    with call.gateway.db.read() as conn:
        view = require_policy(conn, account, arn)
        attached = attachment_counts(conn, account)[arn]
        boundaries = boundary_counts(conn, account)[arn]
    return {"Policy": policy_output(view, attached, boundaries, full=True)}


@handler("iam", "DeletePolicy")
def delete_policy(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """Delete a customer managed policy once it is detached and only its default version is left."""
    arn = params["PolicyArn"]
    with call.gateway.db.session() as session:
        entity = require_modifiable(call, session, arn)
        if attachment_counts(session, entity.account_id)[arn]:
            raise DeleteConflict("Cannot delete a policy attached to entities.")
        if len(versions(session, entity)) > 1:
            raise DeleteConflict(
                "This policy has more than one version. Before you delete a policy, "
                "you must delete the policy's non-default versions."
            )
        session.execute(
            delete(iam_policy_versions).where(
                iam_policy_versions.c.account_id == entity.account_id,
                iam_policy_versions.c.policy_name == entity.name,
            )
        )
        store.delete_entity(session, entity)
    return {}


def _usage_ok(view: PolicyView, params: dict[str, Any], attached: Counter[str], boundaries: Counter[str]) -> bool:
    """OnlyAttached / PolicyUsageFilter: keep a policy only when it is used the way asked.

    PolicyUsageFilter narrows what OnlyAttached counts as use (attachment or
    boundary); without OnlyAttached it filters nothing, since any policy may
    serve either way.
    """
    if not params.get("OnlyAttached"):
        return True
    usage = params.get("PolicyUsageFilter")
    if usage == "PermissionsPolicy":
        return attached[view.arn] > 0
    if usage == "PermissionsBoundary":
        return boundaries[view.arn] > 0
    return attached[view.arn] > 0 or boundaries[view.arn] > 0


def _list_key(view: PolicyView) -> str:
    """Paging key: name order, AWS's before a same-named customer policy (names are unique per origin)."""
    return f"{view.name.lower()} {'0' if view.entity is None else '1'}"


@handler("iam", "ListPolicies")
def list_policies(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """Customer (Local) and AWS managed policies, filtered by scope, path and usage, in pages."""
    scope = params.get("Scope") or "All"
    prefix = params.get("PathPrefix") or "/"
    account = call.account_id or ""
    views: list[PolicyView] = []
    with call.gateway.db.read() as conn:
        if scope in ("All", "AWS"):
            views.extend(aws_view(p) for p in aws_managed_policies() if p.path.startswith(prefix))
        if scope in ("All", "Local"):
            views.extend(customer_view(e) for e in store.list_entities(conn, account, store.POLICY, prefix))
        attached = attachment_counts(conn, account)
        boundaries = boundary_counts(conn, account)
    kept = sorted((v for v in views if _usage_ok(v, params, attached, boundaries)), key=_list_key)
    chunk, extra = store.page(kept, params, key=_list_key)
    policies = [policy_output(v, attached[v.arn], boundaries[v.arn], full=False) for v in chunk]
    return {"Policies": policies, **extra}


# --- handlers: versions -----------------------------------------------------------------------


@handler("iam", "CreatePolicyVersion")
def create_policy_version(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """A new version (at most five); with SetAsDefault it becomes the policy in force."""
    document = params["PolicyDocument"]
    now = call.received_at
    with call.gateway.db.session() as session:
        entity = require_modifiable(call, session, params["PolicyArn"])
        if len(versions(session, entity)) >= MAX_VERSIONS:
            raise LimitExceeded(
                "A managed policy can have up to 5 versions. "
                "Before you create a new version, you must delete an existing version."
            )
        store.check_document(document, PolicyType.IDENTITY, "managed")
        number = int(entity.data.get("NextVersion", 2))
        version = Version(f"v{number}", document, False, now)
        _insert_version(session, entity, version)
        entity = store.update_entity(
            session, entity, data={**entity.data, "NextVersion": number + 1, "UpdateDate": store.iso(now)}
        )
        if params.get("SetAsDefault"):
            _make_default(session, entity, version.version_id)
    default = bool(params.get("SetAsDefault"))
    return {"PolicyVersion": version_output(version.version_id, document, default, now, with_document=False)}


@handler("iam", "GetPolicyVersion")
def get_policy_version(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """One version's document; for AWS managed policies the default version is the one bundled."""
    arn, version_id = params["PolicyArn"], params["VersionId"]
    with call.gateway.db.read() as conn:
        view = require_policy(conn, call.account_id or "", arn)
        if view.entity is None:
            policy = aws_managed_policy(arn)
            if policy is None or version_id != policy.default_version_id:
                raise NoSuchEntity(f"Policy {arn} version {version_id} does not exist or is not attachable.")
            out = version_output(version_id, policy.document, True, policy.update_date, with_document=True)
        else:
            version = _require_version(conn, view.entity, version_id)
            out = version_output(
                version_id, version.document, version.is_default, version.created_at, with_document=True
            )
    return {"PolicyVersion": out}


@handler("iam", "ListPolicyVersions")
def list_policy_versions(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """The versions of a policy, newest first, without documents (as AWS lists them)."""
    arn = params["PolicyArn"]
    with call.gateway.db.read() as conn:
        view = require_policy(conn, call.account_id or "", arn)
        if view.entity is None:
            found = [Version(view.default_version_id, "", True, view.update_date)]
        else:
            found = versions(conn, view.entity)
    order = {v.version_id: f"{i:04d}" for i, v in enumerate(found)}
    chunk, extra = store.page(found, params, key=lambda v: order[v.version_id])
    listed = [version_output(v.version_id, v.document, v.is_default, v.created_at, with_document=False) for v in chunk]
    return {"Versions": listed, **extra}


@handler("iam", "DeletePolicyVersion")
def delete_policy_version(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """Delete a non-default version (the default goes only with DeletePolicy)."""
    version_id = params["VersionId"]
    with call.gateway.db.session() as session:
        entity = require_modifiable(call, session, params["PolicyArn"])
        version = _require_version(session, entity, version_id)
        if version.is_default:
            raise DeleteConflict("Cannot delete the default version of a policy.")
        session.execute(
            delete(iam_policy_versions).where(
                iam_policy_versions.c.account_id == entity.account_id,
                iam_policy_versions.c.policy_name == entity.name,
                iam_policy_versions.c.version_id == version_id,
            )
        )
    return {}


@handler("iam", "SetDefaultPolicyVersion")
def set_default_policy_version(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """Make another existing version the one in force for every attached principal."""
    version_id = params["VersionId"]
    with call.gateway.db.session() as session:
        entity = require_modifiable(call, session, params["PolicyArn"])
        _require_version(session, entity, version_id)
        _make_default(session, entity, version_id)
    return {}

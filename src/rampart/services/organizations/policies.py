"""SCPs and RCPs: create, change, delete, attach to roots / OUs / accounts, and list both ways."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, func, insert, select, update

from rampart.gateway.call import Call
from rampart.gateway.registry import handler
from rampart.policy import MalformedPolicyDocument as EngineMalformed
from rampart.policy import PolicyType, validate_policy
from rampart.services.organizations import settings, store
from rampart.services.organizations.errors import (
    ConstraintViolation,
    DuplicatePolicy,
    DuplicatePolicyAttachment,
    InvalidInput,
    MalformedPolicyDocument,
    PolicyInUse,
    PolicyNotAttached,
    PolicyNotFound,
    PolicyTypeNotEnabled,
    TargetNotFound,
)
from rampart.services.organizations.orgs import FULL_ACCESS, root_output
from rampart.services.organizations.tables import (
    org_accounts,
    org_attachments,
    org_policies,
    org_tags,
    org_units,
)

CONTENT_LIMIT = 5120  # characters, SCPs and RCPs alike (Organizations quotas)
MAX_PER_TARGET = 5
_ENGINE_TYPE = {store.SCP: PolicyType.SCP, store.RCP: PolicyType.RCP}
_NOT_FOUND = "We can't find a policy with the PolicyId that you specified."
_TYPE_NOT_ENABLED = "This operation can be performed only for enabled policy types."


def summary_output(org: store.Org, row: Any) -> dict[str, Any]:
    """The PolicySummary shape (AWS managed policies have AWS's own ARN)."""
    folder = row.policy_type.lower()
    arn = (f"arn:aws:organizations::aws:policy/{folder}/{row.policy_id}" if row.aws_managed
           else org.arn("policy", f"{folder}/{row.policy_id}"))
    return {"Id": row.policy_id, "Arn": arn, "Name": row.name, "Description": row.description,
            "Type": row.policy_type, "AwsManaged": row.aws_managed}


def require_policy(conn: store.Conn, org: store.Org, policy_id: str) -> Any:
    """The policy row, or PolicyNotFoundException."""
    row = conn.execute(select(org_policies).where(org_policies.c.org_id == org.org_id,
                                                  org_policies.c.policy_id == policy_id)).first()
    if row is None:
        raise PolicyNotFound(_NOT_FOUND)
    return row


def _check_content(content: str, kind: str) -> None:
    if len(content) > CONTENT_LIMIT:
        raise ConstraintViolation("The provided policy document exceeds the maximum size.",
                                  "POLICY_CONTENT_LIMIT_EXCEEDED")
    try:
        validate_policy(content, _ENGINE_TYPE[kind])
    except EngineMalformed:
        raise MalformedPolicyDocument(
            "The provided policy document does not meet the requirements of the specified policy type.") from None


def _check_name_free(conn: store.Conn, org: store.Org, name: str, except_id: str | None = None) -> None:
    row = conn.execute(select(org_policies.c.policy_id).where(org_policies.c.org_id == org.org_id,
                                                              org_policies.c.name == name)).first()
    if row is not None and row.policy_id != except_id:
        raise DuplicatePolicy("A policy with the same name already exists.")


def _mutable(row: Any) -> None:
    if row.aws_managed:
        raise InvalidInput("You can't modify or delete an AWS managed policy.", "IMMUTABLE_POLICY")


@handler("organizations", "CreatePolicy")
def create_policy(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """A customer managed SCP or RCP, validated by the engine's rules for its type."""
    kind = store.check_policy_type(params["Type"])
    _check_content(params["Content"], kind)
    with store.writing(call) as session:
        org = store.management_org(session, call)
        _check_name_free(session, org, params["Name"])
        policy_id = store.new_policy_id()
        session.execute(insert(org_policies).values(
            org_id=org.org_id, policy_id=policy_id, name=params["Name"], description=params["Description"],
            policy_type=kind, content=params["Content"], aws_managed=False))
        if params.get("Tags"):
            store.write_tags(session, org, policy_id, params["Tags"])
        row = require_policy(session, org, policy_id)
    return {"Policy": {"PolicySummary": summary_output(org, row), "Content": row.content}}


@handler("organizations", "UpdatePolicy")
def update_policy(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """New name, description or content; the new content governs the next request."""
    with store.writing(call) as session:
        org = store.management_org(session, call)
        row = require_policy(session, org, params["PolicyId"])
        _mutable(row)
        values: dict[str, Any] = {}
        if params.get("Name") is not None:
            _check_name_free(session, org, params["Name"], row.policy_id)
            values["name"] = params["Name"]
        if params.get("Description") is not None:
            values["description"] = params["Description"]
        if params.get("Content") is not None:
            _check_content(params["Content"], row.policy_type)
            values["content"] = params["Content"]
        if values:
            session.execute(update(org_policies).where(org_policies.c.org_id == org.org_id,
                                                       org_policies.c.policy_id == row.policy_id).values(**values))
            store.changed(session, org.org_id)
            row = require_policy(session, org, row.policy_id)
    return {"Policy": {"PolicySummary": summary_output(org, row), "Content": row.content}}


@handler("organizations", "DeletePolicy")
def delete_policy(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """Only a detached customer policy can be deleted."""
    with store.writing(call) as session:
        org = store.management_org(session, call)
        row = require_policy(session, org, params["PolicyId"])
        _mutable(row)
        if _targets_of(session, org, row.policy_id):
            raise PolicyInUse("The policy is attached to one or more entities. You must detach it from all "
                              "roots, OUs, and accounts before performing this operation.")
        session.execute(delete(org_policies).where(org_policies.c.org_id == org.org_id,
                                                   org_policies.c.policy_id == row.policy_id))
        session.execute(delete(org_tags).where(org_tags.c.org_id == org.org_id,
                                               org_tags.c.resource_id == row.policy_id))
    return {}


@handler("organizations", "DescribePolicy")
def describe_policy(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """One policy with its content."""
    with call.gateway.db.read() as conn:
        org = settings.readable_org(conn, call)
        row = require_policy(conn, org, params["PolicyId"])
    return {"Policy": {"PolicySummary": summary_output(org, row), "Content": row.content}}


@handler("organizations", "ListPolicies")
def list_policies(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """The organization's policies of one type (AWS managed ones included)."""
    kind = store.check_policy_type(params["Filter"])
    with call.gateway.db.read() as conn:
        org = settings.readable_org(conn, call)
        rows = conn.execute(select(org_policies).where(org_policies.c.org_id == org.org_id,
                                                       org_policies.c.policy_type == kind)).all()
    return store.page([summary_output(org, r) for r in rows], params, lambda p: p["Id"], "Policies")


# --- attachments -----------------------------------------------------------------------------


def target_output(conn: store.Conn, org: store.Org, target_id: str) -> dict[str, Any]:
    """The PolicyTargetSummary shape of a root, OU or account; TargetNotFoundException if none."""
    if target_id == org.root_id:
        return {"TargetId": target_id, "Arn": root_output(org)["Arn"], "Name": "Root", "Type": "ROOT"}
    if target_id.startswith("ou-"):
        row = conn.execute(select(org_units).where(org_units.c.org_id == org.org_id,
                                                   org_units.c.ou_id == target_id)).first()
        if row is not None:
            return {"TargetId": target_id, "Arn": org.arn("ou", target_id), "Name": row.name,
                    "Type": "ORGANIZATIONAL_UNIT"}
    else:
        found = conn.execute(select(org_accounts).where(org_accounts.c.org_id == org.org_id,
                                                        org_accounts.c.account_id == target_id)).first()
        if found is not None:
            return {"TargetId": target_id, "Arn": org.arn("account", target_id), "Name": found.name,
                    "Type": "ACCOUNT"}
    raise TargetNotFound("We can't find a root, OU, account, or policy with the TargetId that you specified.")


def _targets_of(conn: store.Conn, org: store.Org, policy_id: str) -> list[str]:
    rows = conn.execute(select(org_attachments.c.target_id).where(org_attachments.c.org_id == org.org_id,
                                                                  org_attachments.c.policy_id == policy_id)).all()
    return [row.target_id for row in rows]


def _attached_of_type(conn: store.Conn, org: store.Org, target_id: str, kind: str) -> int:
    return conn.execute(
        select(func.count()).select_from(org_attachments.join(
            org_policies, (org_policies.c.org_id == org_attachments.c.org_id)
            & (org_policies.c.policy_id == org_attachments.c.policy_id)))
        .where(org_attachments.c.org_id == org.org_id, org_attachments.c.target_id == target_id,
               org_policies.c.policy_type == kind)
    ).scalar() or 0


def _is_attached(conn: store.Conn, org: store.Org, policy_id: str, target_id: str) -> bool:
    return conn.execute(select(org_attachments.c.policy_id).where(
        org_attachments.c.org_id == org.org_id, org_attachments.c.policy_id == policy_id,
        org_attachments.c.target_id == target_id)).first() is not None


@handler("organizations", "AttachPolicy")
def attach_policy(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """Attach to a root, OU or account; governs requests from the next one on."""
    with store.writing(call) as session:
        org = store.management_org(session, call)
        row = require_policy(session, org, params["PolicyId"])
        target_output(session, org, params["TargetId"])
        if row.policy_type not in org.policy_types:
            raise PolicyTypeNotEnabled(_TYPE_NOT_ENABLED)
        if _is_attached(session, org, row.policy_id, params["TargetId"]):
            raise DuplicatePolicyAttachment("The selected policy is already attached to the specified target.")
        if _attached_of_type(session, org, params["TargetId"], row.policy_type) >= MAX_PER_TARGET:
            raise ConstraintViolation("You attempted to exceed the number of policies of a certain type that you "
                                      "can attach to an entity.", "MAX_POLICY_TYPE_ATTACHMENT_LIMIT_EXCEEDED")
        session.execute(insert(org_attachments).values(org_id=org.org_id, policy_id=row.policy_id,
                                                       target_id=params["TargetId"]))
        store.changed(session, org.org_id)
    return {}


@handler("organizations", "DetachPolicy")
def detach_policy(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """Detach; a target keeps at least one SCP, and RCPFullAWSAccess stays (as in AWS)."""
    with store.writing(call) as session:
        org = store.management_org(session, call)
        row = require_policy(session, org, params["PolicyId"])
        target_output(session, org, params["TargetId"])
        if not _is_attached(session, org, row.policy_id, params["TargetId"]):
            raise PolicyNotAttached("The policy isn't attached to the specified target in the specified root.")
        if row.policy_id == FULL_ACCESS[store.RCP][0]:
            raise InvalidInput("You can't detach the RCPFullAWSAccess policy.", "NON_DETACHABLE_POLICY")
        if row.policy_type == store.SCP and _attached_of_type(session, org, params["TargetId"], store.SCP) <= 1:
            raise ConstraintViolation("You attempted to remove the last policy of a certain type from an entity; "
                                      "every entity must have at least one.",
                                      "MIN_POLICY_TYPE_ATTACHMENT_LIMIT_EXCEEDED")
        session.execute(delete(org_attachments).where(
            org_attachments.c.org_id == org.org_id, org_attachments.c.policy_id == row.policy_id,
            org_attachments.c.target_id == params["TargetId"]))
        store.changed(session, org.org_id)
    return {}


@handler("organizations", "ListPoliciesForTarget")
def list_policies_for_target(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """The policies of one type attached directly to a root, OU or account."""
    kind = store.check_policy_type(params["Filter"])
    with call.gateway.db.read() as conn:
        org = settings.readable_org(conn, call)
        target_output(conn, org, params["TargetId"])
        rows = conn.execute(
            select(org_policies).join(org_attachments, (org_attachments.c.org_id == org_policies.c.org_id)
                                      & (org_attachments.c.policy_id == org_policies.c.policy_id))
            .where(org_policies.c.org_id == org.org_id, org_policies.c.policy_type == kind,
                   org_attachments.c.target_id == params["TargetId"])).all()
    return store.page([summary_output(org, r) for r in rows], params, lambda p: p["Id"], "Policies")


@handler("organizations", "ListTargetsForPolicy")
def list_targets_for_policy(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """Every root, OU and account the policy is attached to."""
    with call.gateway.db.read() as conn:
        org = settings.readable_org(conn, call)
        row = require_policy(conn, org, params["PolicyId"])
        found = [target_output(conn, org, t) for t in _targets_of(conn, org, row.policy_id)]
    return store.page(found, params, lambda t: t["TargetId"], "Targets")



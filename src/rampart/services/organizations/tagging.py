"""Tags on accounts, OUs, the root and policies."""

from __future__ import annotations

from typing import Any

from rampart.gateway.call import Call
from rampart.gateway.registry import handler
from rampart.services.organizations import settings, store
from rampart.services.organizations.policies import require_policy, target_output


def _require_resource(conn: store.Conn, org: store.Org, resource_id: str) -> None:
    """A taggable resource of the organization: policy, root, OU or account (TargetNotFoundException)."""
    if resource_id.startswith("p-"):
        require_policy(conn, org, resource_id)
    else:
        target_output(conn, org, resource_id)


@handler("organizations", "TagResource")
def tag_resource(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """Add or overwrite tags."""
    with store.writing(call) as session:
        org = store.management_org(session, call)
        _require_resource(session, org, params["ResourceId"])
        store.write_tags(session, org, params["ResourceId"], params["Tags"])
    return {}


@handler("organizations", "UntagResource")
def untag_resource(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """Remove tags by key (unknown keys are ignored)."""
    with store.writing(call) as session:
        org = store.management_org(session, call)
        _require_resource(session, org, params["ResourceId"])
        store.write_tags(session, org, params["ResourceId"], (), params["TagKeys"])
    return {}


@handler("organizations", "ListTagsForResource")
def list_tags_for_resource(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """A resource's tags."""
    with call.gateway.db.read() as conn:
        org = settings.readable_org(conn, call)
        _require_resource(conn, org, params["ResourceId"])
        tags = store.read_tags(conn, org, params["ResourceId"])
    return store.page(tags, params, lambda t: t["Key"], "Tags")

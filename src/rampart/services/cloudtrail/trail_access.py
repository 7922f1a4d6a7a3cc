"""What the policy engine learns about a trail ARN: tags, owner, and organization trails' implicit policy.

Trails have no resource policies a customer can set, yet AWS lets the
principals of every account in an organization read the organization trail
(GetTrail, GetTrailStatus with its full ARN, GetEventSelectors,
GetInsightSelectors; it is listed by DescribeTrails / ListTrails) and answers
their attempts to change it with NotOrganizationMasterAccountException, and
their ListTags with CloudTrailARNInvalidException. The engine decides
before the handler, so an organization trail carries an implicit resource
policy: principals of the trail account's organization (aws:PrincipalOrgID)
may ask these actions; their own identity policies must still allow them,
and the handlers (``api_trails._owned``, ``list_tags``) refuse every change
and tag listing from another account. An ARN naming any other trail of
another account (outside the caller's organization, or not an organization
trail, or no trail at all) is refused before the engine asks anything, with
CloudTrail's CloudTrailARNInvalidException, as AWS answers it; the answer is
the same whether or not that trail exists, so it tells nothing about other
accounts.
"""

from __future__ import annotations

from typing import Any

from rampart.gateway.authorize import (
    ResourceFacts,
    org_of_account,
    set_resource_resolver,
)
from rampart.gateway.call import Call
from rampart.gateway.registry import on_gateway
from rampart.policy import CompiledPolicy, PolicyType, compile_policy
from rampart.services.cloudtrail import trails as tr
from rampart.services.cloudtrail.errors import CloudTrailARNInvalidException

# What a member account's principals may read of the organization trail.
MEMBER_READS = ("cloudtrail:GetTrail", "cloudtrail:GetTrailStatus", "cloudtrail:GetEventSelectors",
                "cloudtrail:GetInsightSelectors")
# What they may ask only to hear CloudTrail's own refusal from the handler.
MEMBER_REFUSED = ("cloudtrail:UpdateTrail", "cloudtrail:DeleteTrail", "cloudtrail:StartLogging",
                  "cloudtrail:StopLogging", "cloudtrail:PutEventSelectors", "cloudtrail:PutInsightSelectors",
                  "cloudtrail:AddTags", "cloudtrail:RemoveTags", "cloudtrail:ListTags")


def organization_policy(trail_arn: str, owner: str, org_id: str) -> CompiledPolicy:
    """The implicit resource policy of an organization trail (compiled once per trail and organization).

    The trail account's own principals are left out: within one account a
    resource policy alone would allow, and they must keep needing their own
    permissions to read or change the trail.
    """
    members = {"StringEquals": {"aws:PrincipalOrgID": org_id}, "StringNotEquals": {"aws:PrincipalAccount": owner}}
    document: dict[str, Any] = {"Version": "2012-10-17", "Statement": [
        {"Sid": "OrganizationMembersRead", "Effect": "Allow", "Principal": "*", "Action": list(MEMBER_READS),
         "Resource": trail_arn, "Condition": members},
        {"Sid": "OrganizationMembersAnsweredByCloudTrail", "Effect": "Allow", "Principal": "*",
         "Action": list(MEMBER_REFUSED), "Resource": trail_arn, "Condition": members},
    ]}
    return compile_policy(document, trail_arn, PolicyType.RESOURCE)


def _policy_of(trail: tr.Trail) -> CompiledPolicy | None:
    if not trail.organization:
        return None
    org = org_of_account(trail.account_id)
    return organization_policy(trail.arn, trail.account_id, org.org_id) if org is not None else None


def resource(call: Call, arn: str) -> ResourceFacts:
    """A trail ARN's facts for the engine: its tags (aws:ResourceTag), owner and implicit policy; the
    home-region ARN of a shadow trail named from another region. Unknown trails of the caller's account pass
    through (CreateTrail, not-found errors); another account's ARN that is not its organization trail shared
    with the caller is CloudTrail's CloudTrailARNInvalidException (only on CloudTrail's own operations)."""
    matched = tr.TRAIL_ARN.match(arn)
    if matched is None:
        return ResourceFacts(arn)
    region, account, name = matched.groups()
    caller = call.account_id or ""
    with call.gateway.db.read() as conn:
        trail = tr.get_trail(conn, arn)
        if trail is None and account == caller:
            trail = next((t for t in tr.visible(conn, account, region)
                          if t.name == name and t.account_id == account), None)
    if account != caller and call.service == "cloudtrail" and caller \
            and not (trail is not None and trail.account_in_scope(caller)):
        raise CloudTrailARNInvalidException(tr.wrong_account_message(caller))
    if trail is None:
        return ResourceFacts(arn, account=account)
    return ResourceFacts(trail.arn, tags=trail.tags, account=trail.account_id, policy=_policy_of(trail))



@on_gateway
def wire(gateway: Any) -> None:
    """Plug trails into the authorize step."""
    set_resource_resolver("cloudtrail", resource)

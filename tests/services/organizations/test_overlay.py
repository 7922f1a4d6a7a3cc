"""The authorizer's organization hook, table-driven: which SCP / RCP levels and org keys each question gets."""

from __future__ import annotations

import json
from typing import Any

import pytest

from rampart.gateway import authorize
from rampart.gateway.authorize import AccountOrg, ResourceFacts, Subject
from rampart.policy import (
    DecisionKind,
    PolicySet,
    PolicyType,
    Principal,
    PrincipalType,
    compile_policy,
)

MEMBER, MANAGEMENT, OUTSIDE, OTHER_MEMBER = "222222222222", "111111111111", "999999999999", "333333333333"


def _policy(kind: PolicyType, effect: str, action: str, condition: dict[str, Any] | None = None) -> Any:
    statement: dict[str, Any] = {"Effect": effect, "Action": action, "Resource": "*"}
    if kind in (PolicyType.RCP, PolicyType.RESOURCE):
        statement["Principal"] = "*"
    if condition:
        statement["Condition"] = condition
    return compile_policy(json.dumps({"Version": "2012-10-17", "Statement": [statement]}), f"{kind.name}-{effect}", kind)


FULL_SCP = _policy(PolicyType.SCP, "Allow", "*")
DENY_SCP = _policy(PolicyType.SCP, "Deny", "s3:GetObject")
FULL_RCP = _policy(PolicyType.RCP, "Allow", "*")
DENY_RCP = _policy(PolicyType.RCP, "Deny", "s3:GetObject",
                   {"StringNotEqualsIfExists": {"aws:PrincipalOrgID": "o-aaaaaaaaaa"}})
ORGS = {
    MEMBER: AccountOrg("o-aaaaaaaaaa", "o-aaaaaaaaaa/r-aaaa/", False, ((FULL_SCP,), (FULL_SCP, DENY_SCP)), ((FULL_RCP,),)),
    MANAGEMENT: AccountOrg("o-aaaaaaaaaa", "o-aaaaaaaaaa/r-aaaa/", True, ((DENY_SCP,),), ((DENY_RCP,),)),
    OTHER_MEMBER: AccountOrg("o-bbbbbbbbbb", "o-bbbbbbbbbb/r-bbbb/", False, ((FULL_SCP,),), ((FULL_RCP, DENY_RCP),)),
}
IDENTITY_ALLOW = _policy(PolicyType.IDENTITY, "Allow", "s3:*")
BUCKET_ALLOW = _policy(PolicyType.RESOURCE, "Allow", "s3:*")


@pytest.fixture(autouse=True)
def _resolver(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(authorize, "_org_resolver", [ORGS.get])


def _ask(principal_account: str, resource_account: str) -> Any:
    principal = Principal(PrincipalType.USER, f"arn:aws:iam::{principal_account}:user/u", principal_account)
    subject = Subject(principal, PolicySet(identity=(IDENTITY_ALLOW,)))
    org = ORGS.get(principal_account)
    if org is not None:
        subject = authorize.with_organization(subject, org)
    facts = ResourceFacts(f"arn:aws:s3:::bucket-{resource_account}/key", policy=BUCKET_ALLOW,
                          account=resource_account)
    return authorize.decide_for_resource(subject, "s3:GetObject", facts, dict(subject.context))


@pytest.mark.parametrize(("principal", "resource", "kind", "blocked_by"), [
    (MEMBER, MEMBER, DecisionKind.EXPLICIT_DENY, PolicyType.SCP),  # the deny SCP on the member's account level
    (MANAGEMENT, MANAGEMENT, DecisionKind.ALLOWED, None),  # SCPs and RCPs never bind the management account
    (MANAGEMENT, OTHER_MEMBER, DecisionKind.ALLOWED, None),  # the other org's RCP lets o-aaaaaaaaaa's principals in
    (OUTSIDE, OTHER_MEMBER, DecisionKind.EXPLICIT_DENY, PolicyType.RCP),  # outsiders meet the resource's RCP
    (OUTSIDE, MANAGEMENT, DecisionKind.ALLOWED, None),  # the management account's resources: no RCPs
    (OTHER_MEMBER, OUTSIDE, DecisionKind.ALLOWED, None),  # own RCPs do not follow a principal elsewhere
])
def test_levels_follow_principal_and_resource_accounts(principal: str, resource: str, kind: DecisionKind,
                                                       blocked_by: PolicyType | None) -> None:
    decision = _ask(principal, resource)
    assert decision.kind is kind
    if blocked_by is not None:
        assert decision.blocked_by is blocked_by


def test_org_keys_and_caching_by_identity() -> None:
    principal = Principal(PrincipalType.USER, f"arn:aws:iam::{MEMBER}:user/u", MEMBER)
    subject = Subject(principal, PolicySet())
    first = authorize.with_organization(subject, ORGS[MEMBER])
    assert first is authorize.with_organization(subject, ORGS[MEMBER])  # plan tokens survive between requests
    assert first.context["aws:PrincipalOrgID"] == "o-aaaaaaaaaa"
    assert first.context["aws:PrincipalOrgPaths"] == ["o-aaaaaaaaaa/r-aaaa/"]
    assert first.principal.in_management_account is False
    assert first.policies.scp_levels == ORGS[MEMBER].scp_levels
    changed = AccountOrg("o-aaaaaaaaaa", "o-aaaaaaaaaa/r-aaaa/ou-aaaa-bbbbbbbb/", False)
    assert authorize.with_organization(subject, changed).policies.scp_levels == ()
    assert authorize.with_organization(subject, ORGS[MANAGEMENT]).principal.in_management_account is True

"""Organization trails seen from member accounts: listed and readable by ARN, never changeable.

AWS: member accounts see the organization trail (DescribeTrails, ListTrails),
read it by its full ARN (GetTrailStatus' documentation says so), and get
NotOrganizationMasterAccountException when they try to change it; ListTags on
it answers CloudTrailARNInvalidException. Accounts outside the organization
get nothing: CloudTrailARNInvalidException for any ARN of another account.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.conftest import Server
from tests.services.cloudtrail.support import trail_bucket


@dataclass
class Tenant:
    """A fresh account and its root keys."""

    server: Server
    account_id: str
    creds: dict[str, str]

    def client(self, service: str, region: str = "us-east-1", **keys: str) -> Any:
        return self.server.client(service, region_name=region, **(keys or self.creds))

    def user(self, actions: list[str] | None) -> Any:
        """A CloudTrail client of a new IAM user allowed ``actions`` on every resource (None: no policy)."""
        iam = self.client("iam")
        name = f"u-{secrets.token_hex(4)}"
        iam.create_user(UserName=name)
        if actions is not None:
            policy = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": actions, "Resource": "*"}]}
            iam.put_user_policy(UserName=name, PolicyName="p", PolicyDocument=json.dumps(policy))
        key = iam.create_access_key(UserName=name)["AccessKey"]
        return self.client("cloudtrail", aws_access_key_id=key["AccessKeyId"],
                           aws_secret_access_key=key["SecretAccessKey"])


@dataclass
class OrgTrail:
    management: Tenant
    member: Tenant
    outsider: Tenant
    arn: str
    plain_arn: str  # a trail of the management account that is not an organization trail


def _tenant(server: Server) -> Tenant:
    account_id, creds = server.new_account("ct-org")
    return Tenant(server, account_id, creds)


@pytest.fixture
def org_trail(server: Server) -> OrgTrail:
    management, member, outsider = _tenant(server), _tenant(server), _tenant(server)
    org = management.client("organizations")
    org.create_organization(FeatureSet="ALL")
    handshake = org.invite_account_to_organization(Target={"Id": member.account_id, "Type": "ACCOUNT"})["Handshake"]
    member.client("organizations").accept_handshake(HandshakeId=handshake["Id"])
    org.enable_aws_service_access(ServicePrincipal="cloudtrail.amazonaws.com")
    bucket = trail_bucket(management.client("s3"), management.account_id, f"ct-org-{secrets.token_hex(5)}")
    ct = management.client("cloudtrail")
    arn = ct.create_trail(Name="org", S3BucketName=bucket, IsOrganizationTrail=True, IsMultiRegionTrail=True,
                          TagsList=[{"Key": "team", "Value": "sec"}])["TrailARN"]
    ct.start_logging(Name=arn)
    plain = ct.create_trail(Name="plain", S3BucketName=bucket)["TrailARN"]
    return OrgTrail(management, member, outsider, arn, plain)


def code(excinfo: pytest.ExceptionInfo[ClientError]) -> str:
    return excinfo.value.response["Error"]["Code"]


def _fails(call: Callable[[], Any]) -> str:
    with pytest.raises(ClientError) as failed:
        call()
    return code(failed)


def test_member_lists_and_reads_the_organization_trail(org_trail: OrgTrail) -> None:
    arn = org_trail.arn
    for region in ("us-east-1", "eu-west-1"):  # a multi-region trail: seen in every region
        ct = org_trail.member.client("cloudtrail", region)
        assert [(t["TrailARN"], t["IsOrganizationTrail"]) for t in ct.describe_trails()["trailList"]] == [(arn, True)]
        assert ct.list_trails()["Trails"] == [{"TrailARN": arn, "Name": "org", "HomeRegion": "us-east-1"}]
        assert ct.describe_trails(includeShadowTrails=False)["trailList"] == []
        trail = ct.get_trail(Name=arn)["Trail"]
        assert trail["TrailARN"] == arn and trail["IsOrganizationTrail"] and trail["HomeRegion"] == "us-east-1"
        assert ct.get_trail_status(Name=arn)["IsLogging"] is True
        selectors = ct.get_event_selectors(TrailName=arn)
        assert selectors["TrailARN"] == arn and selectors["EventSelectors"][0]["IncludeManagementEvents"]
        # The call reached CloudTrail: no Insights on this trail (not an AccessDenied).
        assert _fails(lambda ct=ct: ct.get_insight_selectors(TrailName=arn)) == "InsightNotEnabledException"


def test_member_must_name_the_organization_trail_by_arn(org_trail: OrgTrail) -> None:
    ct, member = org_trail.member.client("cloudtrail"), org_trail.member.account_id
    with pytest.raises(ClientError) as missing:
        ct.get_trail_status(Name="org")
    assert code(missing) == "TrailNotFoundException"
    assert missing.value.response["Error"]["Message"] == (
        f"Unknown trail: arn:aws:cloudtrail:us-east-1:{member}:trail/org for the user: {member}")


WRITES: list[tuple[str, Callable[[Any, str], Any]]] = [
    ("UpdateTrail", lambda ct, arn: ct.update_trail(Name=arn, EnableLogFileValidation=True)),
    ("DeleteTrail", lambda ct, arn: ct.delete_trail(Name=arn)),
    ("StartLogging", lambda ct, arn: ct.start_logging(Name=arn)),
    ("StopLogging", lambda ct, arn: ct.stop_logging(Name=arn)),
    ("PutEventSelectors", lambda ct, arn: ct.put_event_selectors(
        TrailName=arn, EventSelectors=[{"ReadWriteType": "ReadOnly", "IncludeManagementEvents": True}])),
    ("PutInsightSelectors", lambda ct, arn: ct.put_insight_selectors(
        TrailName=arn, InsightSelectors=[{"InsightType": "ApiCallRateInsight"}])),
    ("AddTags", lambda ct, arn: ct.add_tags(ResourceId=arn, TagsList=[{"Key": "team", "Value": "red"}])),
    ("RemoveTags", lambda ct, arn: ct.remove_tags(ResourceId=arn, TagsList=[{"Key": "team"}])),
]


def test_member_cannot_change_the_organization_trail(org_trail: OrgTrail) -> None:
    root, admin = org_trail.member.client("cloudtrail"), org_trail.member.user(["cloudtrail:*"])
    for ct in (root, admin):
        for name, write in WRITES:
            assert _fails(lambda ct=ct, write=write: write(ct, org_trail.arn)) == \
                "NotOrganizationMasterAccountException", name
        assert _fails(lambda ct=ct: ct.list_tags(ResourceIdList=[org_trail.arn])) == "CloudTrailARNInvalidException"
    owner = org_trail.management.client("cloudtrail")
    trail = owner.get_trail(Name="org")["Trail"]
    assert not trail["LogFileValidationEnabled"] and not trail["HasCustomEventSelectors"]
    assert not trail["HasInsightSelectors"] and owner.get_trail_status(Name="org")["IsLogging"]
    assert owner.list_tags(ResourceIdList=[org_trail.arn])["ResourceTagList"][0]["TagsList"] == \
        [{"Key": "team", "Value": "sec"}]


def test_member_principals_still_need_their_own_permissions(org_trail: OrgTrail) -> None:
    nobody, reader = org_trail.member.user(None), org_trail.member.user(["cloudtrail:GetTrail"])
    assert _fails(lambda: nobody.get_trail(Name=org_trail.arn)) == "AccessDeniedException"
    assert reader.get_trail(Name=org_trail.arn)["Trail"]["Name"] == "org"
    assert _fails(lambda: reader.get_trail_status(Name=org_trail.arn)) == "AccessDeniedException"
    assert _fails(lambda: reader.stop_logging(Name=org_trail.arn)) == "AccessDeniedException"


def test_the_implicit_policy_grants_nothing_in_the_trail_account(org_trail: OrgTrail) -> None:
    nobody = org_trail.management.user(None)
    for call in (lambda: nobody.get_trail(Name=org_trail.arn), lambda: nobody.stop_logging(Name=org_trail.arn)):
        assert _fails(call) == "AccessDeniedException"


def test_other_trails_and_other_accounts_get_nothing(org_trail: OrgTrail) -> None:
    """CloudTrail refuses another account's ARN itself (before any permission is asked), in the caller's words."""
    member, outsider = org_trail.member.client("cloudtrail"), org_trail.outsider.client("cloudtrail")
    refused = {org_trail.member.account_id: [lambda: member.get_trail(Name=org_trail.plain_arn),
                                             lambda: org_trail.member.user(None).get_trail(Name=org_trail.plain_arn)]}
    assert outsider.describe_trails()["trailList"] == [] and outsider.list_trails()["Trails"] == []
    refused[org_trail.outsider.account_id] = [
        lambda: outsider.get_trail(Name=org_trail.arn), lambda: outsider.get_trail_status(Name=org_trail.arn),
        lambda: outsider.stop_logging(Name=org_trail.arn), lambda: outsider.delete_trail(Name=org_trail.arn)]
    for caller, calls in refused.items():
        for call in calls:
            with pytest.raises(ClientError) as failed:
                call()
            assert code(failed) == "CloudTrailARNInvalidException"
            assert failed.value.response["Error"]["Message"] == (
                f"AccountID in ARN is wrong, you can only access resources with AccountID {caller}.")
    assert org_trail.management.client("cloudtrail").get_trail_status(Name="org")["IsLogging"]

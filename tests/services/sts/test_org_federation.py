"""RCPs of a member account apply to AssumeRoleWithWebIdentity and AssumeRoleWithSAML on its roles.

The two federation calls skip the gateway's authorize step (the token is the
credential), so the role's account's organization must reach the trust check
itself: an RCP denying the action refuses the assumption, detaching it
restores it, aws:ResourceOrgID / aws:ResourceOrgPaths are the role's
account's, and the management account's roles stay exempt.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from botocore import UNSIGNED
from botocore.config import Config
from botocore.exceptions import ClientError

from tests.conftest import Server
from tests.services.iam.helpers import error_of, unique
from tests.services.organizations.conftest import (  # noqa: F401 - fixtures
    Account,
    Organization,
    deny,
    new_account,
    organization,
)
from tests.services.sts.idp import OidcIdp, SamlIdp, encode, thumbprint
from tests.services.sts.test_oidc import CLIENT_ID, WEB_IDENTITY, server_now, trust

RCP = "RESOURCE_CONTROL_POLICY"
WITH_SAML = "sts:AssumeRoleWithSAML"
AWS_SAML = "https://signin.aws.amazon.com/saml"


@pytest.fixture(scope="module")
def idp() -> Iterator[OidcIdp]:
    running = OidcIdp()
    yield running
    running.stop()


@pytest.fixture(scope="module")
def saml_idp() -> SamlIdp:
    return SamlIdp()


@pytest.fixture
def member_org(organization: Organization, new_account: Any) -> tuple[Organization, Account]:  # noqa: F811
    """An organization with RCPs enabled and one invited member account."""
    member: Account = new_account()
    organization.invite(member)
    organization.enable(RCP)
    return organization, member


def _unsigned_sts(server: Server) -> Any:
    return server.client("sts", config=Config(signature_version=UNSIGNED, retries={"max_attempts": 1}))


def _web_role(account: Account, idp: OidcIdp) -> dict[str, Any]:
    """An OIDC provider for ``idp`` in the account and a role trusting it (sub alice)."""
    iam = account.client("iam")
    provider = iam.create_open_id_connect_provider(
        Url=idp.issuer, ClientIDList=[CLIENT_ID], ThumbprintList=[thumbprint(idp.cert)]
    )["OpenIDConnectProviderArn"]
    return iam.create_role(RoleName=unique("web"), AssumeRolePolicyDocument=trust(provider, idp))["Role"]


def _assume_web(server: Server, role: dict[str, Any], idp: OidcIdp) -> dict[str, Any]:
    return _unsigned_sts(server).assume_role_with_web_identity(
        RoleArn=role["Arn"], RoleSessionName="web", WebIdentityToken=idp.mint(now=server_now(server)))


def _refused(call: Any) -> str:
    with pytest.raises(ClientError) as caught:
        call()
    code, message = error_of(caught)
    assert code == "AccessDenied"
    return message


def _rcp(owner: Organization, action: str, condition: dict[str, Any] | None = None) -> str:
    return owner.policy(deny(action, condition=condition, principal=True), RCP)


def test_an_rcp_refuses_web_identity_and_detaching_restores(server: Server, idp: OidcIdp, member_org) -> None:
    owner, member = member_org
    role = _web_role(member, idp)
    assert _assume_web(server, role, idp)["AssumedRoleUser"]["Arn"].endswith("/web")  # RCPFullAWSAccess alone
    policy = _rcp(owner, WEB_IDENTITY)
    owner.org.attach_policy(PolicyId=policy, TargetId=member.account_id)
    assert WEB_IDENTITY in _refused(lambda: _assume_web(server, role, idp))
    owner.org.detach_policy(PolicyId=policy, TargetId=member.account_id)
    assert _assume_web(server, role, idp)["Credentials"]["AccessKeyId"].startswith("ASIA")


@pytest.mark.parametrize("key", ["aws:ResourceOrgID", "aws:ResourceOrgPaths"])
def test_resource_org_keys_are_the_role_accounts(server: Server, idp: OidcIdp, member_org, key: str) -> None:
    """An RCP conditioned on the org keys: the right value denies, another value does not."""
    owner, member = member_org
    role = _web_role(member, idp)
    org_id = owner.org_id
    right = {"aws:ResourceOrgID": org_id, "aws:ResourceOrgPaths": f"{org_id}/{owner.root_id}/*"}[key]
    wrong = {"aws:ResourceOrgID": "o-zzzzzzzzzz", "aws:ResourceOrgPaths": "o-zzzzzzzzzz/*"}[key]
    other = _rcp(owner, WEB_IDENTITY, {"ForAnyValue:StringLike": {key: wrong}})
    owner.org.attach_policy(PolicyId=other, TargetId=member.account_id)
    _assume_web(server, role, idp)
    matching = _rcp(owner, WEB_IDENTITY, {"ForAnyValue:StringLike": {key: right}})
    owner.org.attach_policy(PolicyId=matching, TargetId=member.account_id)
    _refused(lambda: _assume_web(server, role, idp))


def test_the_management_accounts_roles_are_not_bound(server: Server, idp: OidcIdp, member_org) -> None:
    owner, member = member_org
    owner.org.attach_policy(PolicyId=_rcp(owner, WEB_IDENTITY), TargetId=owner.root_id)
    _refused(lambda: _assume_web(server, _web_role(member, idp), idp))
    _assume_web(server, _web_role(owner.management, idp), idp)


def test_an_rcp_refuses_saml_and_detaching_restores(server: Server, saml_idp: SamlIdp, member_org) -> None:
    owner, member = member_org
    iam = member.client("iam")
    provider = iam.create_saml_provider(Name=unique("saml"), SAMLMetadataDocument=saml_idp.metadata())["SAMLProviderArn"]
    document = json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Federated": provider}, "Action": WITH_SAML,
        "Condition": {"StringEquals": {"SAML:aud": AWS_SAML}}}]})
    role = iam.create_role(RoleName=unique("saml"), AssumeRolePolicyDocument=document)["Role"]

    def assume() -> dict[str, Any]:
        signed = saml_idp.sign(saml_idp.response_xml([f"{role['Arn']},{provider}"], now=server_now(server)),
                               what="assertion")
        return _unsigned_sts(server).assume_role_with_saml(
            RoleArn=role["Arn"], PrincipalArn=provider, SAMLAssertion=encode(signed))

    assume()
    policy = _rcp(owner, WITH_SAML)
    owner.org.attach_policy(PolicyId=policy, TargetId=member.account_id)
    assert WITH_SAML in _refused(assume)
    owner.org.detach_policy(PolicyId=policy, TargetId=member.account_id)
    assert assume()["Credentials"]["AccessKeyId"].startswith("ASIA")

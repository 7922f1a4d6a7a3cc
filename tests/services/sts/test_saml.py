"""AssumeRoleWithSAML through boto3: responses signed with signxml by a test IdP whose metadata IAM holds."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
from collections.abc import Iterator
from typing import Any

import pytest
from botocore import UNSIGNED
from botocore.config import Config
from botocore.exceptions import ClientError
from lxml import etree

from tests.conftest import Server
from tests.services.iam.helpers import allow, error_of, unique
from tests.services.sts.idp import SAML, SamlIdp, encode, self_signed

WITH_SAML = "sts:AssumeRoleWithSAML"
AWS_SAML = "https://signin.aws.amazon.com/saml"
ATTR = "https://aws.amazon.com/SAML/Attributes/"


@pytest.fixture(scope="module")
def idp() -> SamlIdp:
    return SamlIdp()


@pytest.fixture(scope="module")
def provider(server: Server, idp: SamlIdp) -> Iterator[str]:
    iam = server.client("iam")
    arn = iam.create_saml_provider(Name=unique("saml"), SAMLMetadataDocument=idp.metadata())["SAMLProviderArn"]
    yield arn
    iam.delete_saml_provider(SAMLProviderArn=arn)


def server_now(server: Server) -> dt.datetime:
    """The server's clock (other tests may have moved it ahead of real time)."""
    return dt.datetime.fromisoformat(server.admin("GET", "clock").json()["now"])


def trust(provider: str, *, condition: dict[str, Any] | None = None, tag_session: bool = False) -> str:
    """AWS's usual SAML trust policy: the provider, and SAML:aud the sign-in endpoint."""
    actions = [WITH_SAML, "sts:TagSession"] if tag_session else WITH_SAML
    return json.dumps({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"Federated": provider},
            "Action": actions,
            "Condition": condition or {"StringEquals": {"SAML:aud": AWS_SAML}},
        }],
    })


def make_role(server: Server, document: str, policy: dict[str, Any] | None = None) -> dict[str, Any]:
    iam = server.client("iam")
    role = iam.create_role(RoleName=unique("saml-role"), AssumeRolePolicyDocument=document)["Role"]
    if policy is not None:
        iam.put_role_policy(RoleName=role["RoleName"], PolicyName="p", PolicyDocument=json.dumps(policy))
    return role


def response(server: Server, idp: SamlIdp, role: dict[str, Any], provider: str, **kwargs: Any) -> etree._Element:
    """An unsigned response naming the role and provider, timed by the server's clock."""
    return idp.response_xml([f"{role['Arn']},{provider}"], now=kwargs.pop("now", None) or server_now(server), **kwargs)


def assume(server: Server, role: dict[str, Any], provider: str, assertion: str, **extra: Any) -> dict[str, Any]:
    sts = server.client("sts", config=Config(signature_version=UNSIGNED, retries={"max_attempts": 1}))
    return sts.assume_role_with_saml(RoleArn=role["Arn"], PrincipalArn=provider, SAMLAssertion=assertion, **extra)


def refused(server: Server, role: dict[str, Any], provider: str, assertion: str) -> tuple[str, str]:
    with pytest.raises(ClientError) as caught:
        assume(server, role, provider, assertion)
    return error_of(caught)


def session_client(server: Server, service: str, credentials: dict[str, Any]) -> Any:
    return server.client(
        service,
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
    )


# --- the happy path -----------------------------------------------------------------------------


@pytest.mark.parametrize("signed", ["assertion", "response"])
def test_signed_response_gives_working_credentials(server: Server, idp: SamlIdp, provider: str, signed: str) -> None:
    role = make_role(server, trust(provider), allow("iam:ListRoles"))
    out = assume(server, role, provider, encode(idp.sign(response(server, idp, role, provider), what=signed)))
    session_arn = f"arn:aws:sts::{server.account_id}:assumed-role/{role['RoleName']}/alice"
    assert out["AssumedRoleUser"] == {"Arn": session_arn, "AssumedRoleId": f"{role['RoleId']}:alice"}
    assert out["Subject"] == "alice@example.com"
    assert out["SubjectType"] == "persistent"
    assert out["Issuer"] == idp.entity_id
    assert out["Audience"] == AWS_SAML
    provider_name = provider.rpartition("/")[2]
    digest = hashlib.sha1(f"{idp.entity_id}{server.account_id}{provider_name}".encode()).digest()
    assert out["NameQualifier"] == base64.b64encode(digest).decode()
    creds = out["Credentials"]
    assert session_client(server, "sts", creds).get_caller_identity()["Arn"] == session_arn
    iam = session_client(server, "iam", creds)
    iam.list_roles(MaxItems=1)
    with pytest.raises(ClientError) as caught:
        iam.list_users()
    assert error_of(caught)[0] == "AccessDenied"


def test_session_duration_attribute_and_session_not_on_or_after(server: Server, idp: SamlIdp, provider: str) -> None:
    role = make_role(server, trust(provider))
    now = server_now(server)
    doc = response(server, idp, role, provider, now=now, attributes={ATTR + "SessionDuration": ["1800"]})
    out = assume(server, role, provider, encode(idp.sign(doc)))
    assert dt.timedelta(seconds=1790) <= out["Credentials"]["Expiration"] - now <= dt.timedelta(seconds=1900)


def test_principal_tag_attributes_become_session_tags(server: Server, idp: SamlIdp, provider: str) -> None:
    policy = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "iam:ListRoles", "Resource": "*",
                       "Condition": {"StringEquals": {"aws:PrincipalTag/dept": "ops"}}}],
    }
    role = make_role(server, trust(provider, tag_session=True), policy)
    ops = response(server, idp, role, provider, attributes={ATTR + "PrincipalTag:dept": ["ops"]})
    creds = assume(server, role, provider, encode(idp.sign(ops)))["Credentials"]
    session_client(server, "iam", creds).list_roles(MaxItems=1)
    dev = response(server, idp, role, provider, attributes={ATTR + "PrincipalTag:dept": ["dev"]})
    creds = assume(server, role, provider, encode(idp.sign(dev)))["Credentials"]
    with pytest.raises(ClientError) as caught:
        session_client(server, "iam", creds).list_roles(MaxItems=1)
    assert error_of(caught)[0] == "AccessDenied"


def test_tags_need_tag_session(server: Server, idp: SamlIdp, provider: str) -> None:
    role = make_role(server, trust(provider, tag_session=False))
    doc = response(server, idp, role, provider, attributes={ATTR + "PrincipalTag:dept": ["ops"]})
    assert refused(server, role, provider, encode(idp.sign(doc)))[0] == "AccessDenied"


# --- what is refused ----------------------------------------------------------------------------


def test_tampered_attribute_after_signing(server: Server, idp: SamlIdp, provider: str) -> None:
    role = make_role(server, trust(provider))
    signed = idp.sign(response(server, idp, role, provider))
    session = signed.find(f".//{{{SAML}}}Attribute[@Name='{ATTR}RoleSessionName']/{{{SAML}}}AttributeValue")
    session.text = "admin"
    assert refused(server, role, provider, encode(signed)) == ("InvalidIdentityToken", "Response signature invalid")


def test_signed_by_a_certificate_not_in_the_metadata(server: Server, idp: SamlIdp, provider: str) -> None:
    role = make_role(server, trust(provider))
    key, cert = self_signed("impostor")
    forged = idp.sign(response(server, idp, role, provider), key=key, cert=cert)
    assert refused(server, role, provider, encode(forged))[0] == "InvalidIdentityToken"


def test_unsigned_response(server: Server, idp: SamlIdp, provider: str) -> None:
    role = make_role(server, trust(provider))
    assert refused(server, role, provider, encode(response(server, idp, role, provider)))[0] == "InvalidIdentityToken"


def test_signature_wrapping_uses_only_the_signed_assertion(server: Server, idp: SamlIdp, provider: str) -> None:
    """A signed assertion for role A, plus an unsigned one for role B placed first: B is not granted."""
    role_a = make_role(server, trust(provider))
    role_b = make_role(server, trust(provider))
    signed = idp.sign(response(server, idp, role_a, provider))
    evil = response(server, idp, role_b, provider).find(f"{{{SAML}}}Assertion")
    signed.insert(2, evil)  # after Issuer and Status, before the signed assertion
    assert refused(server, role_b, provider, encode(signed))[0] == "IDPRejectedClaim"


def test_expired_assertion(server: Server, idp: SamlIdp, provider: str) -> None:
    role = make_role(server, trust(provider))
    old = response(server, idp, role, provider, now=server_now(server) - dt.timedelta(hours=1))
    assert refused(server, role, provider, encode(idp.sign(old)))[0] == "ExpiredTokenException"


def test_wrong_audience(server: Server, idp: SamlIdp, provider: str) -> None:
    role = make_role(server, trust(provider))
    doc = response(server, idp, role, provider, audience="https://someone-else.example.com/sp")
    assert refused(server, role, provider, encode(idp.sign(doc)))[0] == "IDPRejectedClaim"


def test_wrong_recipient(server: Server, idp: SamlIdp, provider: str) -> None:
    role = make_role(server, trust(provider))
    doc = response(server, idp, role, provider, recipient="https://evil.example.com/acs")
    assert refused(server, role, provider, encode(idp.sign(doc)))[0] == "IDPRejectedClaim"


def test_role_not_in_the_role_attribute(server: Server, idp: SamlIdp, provider: str) -> None:
    role = make_role(server, trust(provider))
    other = make_role(server, trust(provider))
    doc = response(server, idp, other, provider)  # grants the other role only
    assert refused(server, role, provider, encode(idp.sign(doc)))[0] == "IDPRejectedClaim"


def test_missing_role_session_name(server: Server, idp: SamlIdp, provider: str) -> None:
    role = make_role(server, trust(provider))
    doc = response(server, idp, role, provider, session_name=None)
    assert refused(server, role, provider, encode(idp.sign(doc))) == (
        "InvalidIdentityToken", "RoleSessionName is required in AuthnResponse",
    )


def test_trust_condition_on_saml_sub(server: Server, idp: SamlIdp, provider: str) -> None:
    role = make_role(server, trust(provider, condition={"StringEquals": {"saml:sub": "bob@example.com"}}))
    code, message = refused(server, role, provider, encode(idp.sign(response(server, idp, role, provider))))
    assert code == "AccessDenied"
    assert WITH_SAML in message


def test_unknown_provider(server: Server, idp: SamlIdp, provider: str) -> None:
    role = make_role(server, trust(provider))
    ghost = f"arn:aws:iam::{server.account_id}:saml-provider/{unique('ghost')}"
    doc = idp.sign(response(server, idp, role, ghost))
    assert refused(server, role, ghost, encode(doc))[0] == "InvalidIdentityToken"


@pytest.mark.parametrize(
    "assertion",
    [
        "not base64!!",
        base64.b64encode(b"<not-xml").decode(),
        base64.b64encode(
            b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><r>&x;</r>'
        ).decode(),
    ],
    ids=["not-base64", "not-xml", "external-entity"],
)
def test_malformed_responses(server: Server, idp: SamlIdp, provider: str, assertion: str) -> None:
    role = make_role(server, trust(provider))
    assert refused(server, role, provider, assertion)[0] == "InvalidIdentityToken"

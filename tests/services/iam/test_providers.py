"""OIDC and SAML identity providers through boto3 (root credentials)."""

from __future__ import annotations

import base64
import datetime as dt

import pytest
from botocore.exceptions import ClientError

from tests.conftest import Server
from tests.services.iam.helpers import unique

THUMB_A = "9e99a48a9960b14926bb7f3b02e22da2b0ab7280"
THUMB_B = "a" * 40


def saml_metadata(entity_id: str = "https://idp.example.com/saml", valid_until: str | None = None) -> str:
    """An IdP metadata document like the ones Okta or ADFS export (over IAM's 1,000-character minimum)."""
    cert = base64.b64encode(bytes(range(256)) * 3).decode()
    until = f' validUntil="{valid_until}"' if valid_until else ""
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f'<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="{entity_id}"{until}>'
        '<md:IDPSSODescriptor WantAuthnRequestsSigned="false" '
        'protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">'
        '<md:KeyDescriptor use="signing"><ds:KeyInfo xmlns:ds="http://www.w3.org/2000/09/xmldsig#">'
        f"<ds:X509Data><ds:X509Certificate>{cert}</ds:X509Certificate></ds:X509Data></ds:KeyInfo>"
        "</md:KeyDescriptor>"
        "<md:NameIDFormat>urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress</md:NameIDFormat>"
        '<md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" '
        'Location="https://idp.example.com/sso"/>'
        "</md:IDPSSODescriptor></md:EntityDescriptor>"
    )


def error_code(info: pytest.ExceptionInfo[ClientError]) -> str:
    return str(info.value.response["Error"]["Code"])


def test_oidc_provider_lifecycle(server: Server) -> None:
    iam = server.client("iam")
    host = f"{unique('oidc')}.example.com"
    url = f"https://{host}/tenant"
    created = iam.create_open_id_connect_provider(
        Url=url, ClientIDList=["sts.amazonaws.com"], ThumbprintList=[THUMB_A], Tags=[{"Key": "team", "Value": "a"}]
    )
    arn = created["OpenIDConnectProviderArn"]
    assert arn == f"arn:aws:iam::{server.account_id}:oidc-provider/{host}/tenant"
    assert created["Tags"] == [{"Key": "team", "Value": "a"}]

    got = iam.get_open_id_connect_provider(OpenIDConnectProviderArn=arn)
    assert got["Url"] == f"{host}/tenant"
    assert got["ClientIDList"] == ["sts.amazonaws.com"]
    assert got["ThumbprintList"] == [THUMB_A]
    assert isinstance(got["CreateDate"], dt.datetime)
    assert {"Arn": arn} in iam.list_open_id_connect_providers()["OpenIDConnectProviderList"]

    iam.add_client_id_to_open_id_connect_provider(OpenIDConnectProviderArn=arn, ClientID="my-app")
    iam.add_client_id_to_open_id_connect_provider(OpenIDConnectProviderArn=arn, ClientID="my-app")  # idempotent
    iam.remove_client_id_from_open_id_connect_provider(OpenIDConnectProviderArn=arn, ClientID="sts.amazonaws.com")
    iam.remove_client_id_from_open_id_connect_provider(OpenIDConnectProviderArn=arn, ClientID="absent")
    iam.update_open_id_connect_provider_thumbprint(OpenIDConnectProviderArn=arn, ThumbprintList=[THUMB_B])
    got = iam.get_open_id_connect_provider(OpenIDConnectProviderArn=arn)
    assert got["ClientIDList"] == ["my-app"]
    assert got["ThumbprintList"] == [THUMB_B]

    iam.tag_open_id_connect_provider(OpenIDConnectProviderArn=arn, Tags=[{"Key": "env", "Value": "prod"}])
    iam.untag_open_id_connect_provider(OpenIDConnectProviderArn=arn, TagKeys=["team"])
    assert iam.list_open_id_connect_provider_tags(OpenIDConnectProviderArn=arn)["Tags"] == [
        {"Key": "env", "Value": "prod"}
    ]

    with pytest.raises(ClientError) as dup:
        iam.create_open_id_connect_provider(Url=url, ClientIDList=["x"])
    assert error_code(dup) == "EntityAlreadyExists"

    iam.delete_open_id_connect_provider(OpenIDConnectProviderArn=arn)
    with pytest.raises(ClientError) as gone:
        iam.get_open_id_connect_provider(OpenIDConnectProviderArn=arn)
    assert error_code(gone) == "NoSuchEntity"
    assert {"Arn": arn} not in iam.list_open_id_connect_providers()["OpenIDConnectProviderList"]


def test_oidc_thumbprints_are_optional(server: Server) -> None:
    iam = server.client("iam")
    arn = iam.create_open_id_connect_provider(Url=f"https://{unique('opt')}.example.com")["OpenIDConnectProviderArn"]
    got = iam.get_open_id_connect_provider(OpenIDConnectProviderArn=arn)
    assert got["ThumbprintList"] == [] and got["ClientIDList"] == []
    iam.delete_open_id_connect_provider(OpenIDConnectProviderArn=arn)


@pytest.mark.parametrize(
    ("url", "thumbprints"),
    [
        ("http://plain.example.com", [THUMB_A]),
        ("https://", [THUMB_A]),
        ("https://q.example.com/?a=b", [THUMB_A]),
        ("https://hex.example.com", ["z" * 40]),
        ("https://many.example.com", [f"{i:040x}" for i in range(6)]),
    ],
)
def test_oidc_bad_input_is_refused(server: Server, url: str, thumbprints: list[str]) -> None:
    with pytest.raises(ClientError) as bad:
        server.client("iam").create_open_id_connect_provider(Url=url, ThumbprintList=thumbprints)
    assert error_code(bad) == "InvalidInput"


def test_missing_provider_is_no_such_entity(server: Server) -> None:
    iam = server.client("iam")
    arn = f"arn:aws:iam::{server.account_id}:oidc-provider/nowhere.example.com"
    with pytest.raises(ClientError) as missing:
        iam.delete_open_id_connect_provider(OpenIDConnectProviderArn=arn)
    assert error_code(missing) == "NoSuchEntity"
    with pytest.raises(ClientError) as missing_saml:
        iam.get_saml_provider(SAMLProviderArn=f"arn:aws:iam::{server.account_id}:saml-provider/nope")
    assert error_code(missing_saml) == "NoSuchEntity"


def test_saml_provider_lifecycle(server: Server) -> None:
    iam = server.client("iam")
    name = unique("okta")
    created = iam.create_saml_provider(Name=name, SAMLMetadataDocument=saml_metadata())
    arn = created["SAMLProviderArn"]
    assert arn == f"arn:aws:iam::{server.account_id}:saml-provider/{name}"

    got = iam.get_saml_provider(SAMLProviderArn=arn)
    assert got["SAMLMetadataDocument"] == saml_metadata()
    assert got["ValidUntil"] > got["CreateDate"] + dt.timedelta(days=365 * 99)
    assert got["SAMLProviderUUID"]
    listed = {p["Arn"]: p for p in iam.list_saml_providers()["SAMLProviderList"]}
    assert listed[arn]["ValidUntil"] == got["ValidUntil"]

    new_doc = saml_metadata("https://idp.example.com/rotated", valid_until="2031-01-02T03:04:05Z")
    assert iam.update_saml_provider(SAMLProviderArn=arn, SAMLMetadataDocument=new_doc)["SAMLProviderArn"] == arn
    got = iam.get_saml_provider(SAMLProviderArn=arn)
    assert got["SAMLMetadataDocument"] == new_doc
    assert got["ValidUntil"] == dt.datetime(2031, 1, 2, 3, 4, 5, tzinfo=dt.UTC)

    iam.tag_saml_provider(SAMLProviderArn=arn, Tags=[{"Key": "idp", "Value": "okta"}])
    assert iam.list_saml_provider_tags(SAMLProviderArn=arn)["Tags"] == [{"Key": "idp", "Value": "okta"}]
    iam.untag_saml_provider(SAMLProviderArn=arn, TagKeys=["idp"])
    assert iam.list_saml_provider_tags(SAMLProviderArn=arn)["Tags"] == []

    with pytest.raises(ClientError) as dup:
        iam.create_saml_provider(Name=name, SAMLMetadataDocument=saml_metadata())
    assert error_code(dup) == "EntityAlreadyExists"

    iam.delete_saml_provider(SAMLProviderArn=arn)
    with pytest.raises(ClientError) as gone:
        iam.get_saml_provider(SAMLProviderArn=arn)
    assert error_code(gone) == "NoSuchEntity"


def _padded(xml: str) -> str:
    """Pad to the model's 1,000-character minimum so the handler, not validation, judges it."""
    return xml + "<!--" + "x" * 1000 + "-->" if not xml.startswith("<!DOCTYPE") else xml + " " * 1000


MALFORMED = {
    "not xml": "this is not metadata " * 60,
    "unclosed": _padded("<md:EntityDescriptor xmlns:md='urn:oasis:names:tc:SAML:2.0:metadata'>"),
    "sp metadata": _padded(
        saml_metadata().replace("IDPSSODescriptor", "SPSSODescriptor")
    ),
    "no signing key": _padded(
        '<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="x">'
        '<md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol"/>'
        "</md:EntityDescriptor>"
    ),
    "wrong root": _padded("<html><body>hello</body></html>"),
    "entity expansion": (
        '<!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>'
        + saml_metadata().replace("entityID=", 'name="&b;" entityID=').split("?>", 1)[1]
    ),
    "bad validUntil": saml_metadata(valid_until="next tuesday"),
}


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_malformed_saml_metadata_is_refused(server: Server, case: str) -> None:
    document = MALFORMED[case]
    assert len(document) >= 1000
    with pytest.raises(ClientError) as bad:
        server.client("iam").create_saml_provider(Name=unique("bad"), SAMLMetadataDocument=document)
    assert error_code(bad) == "InvalidInput"
    assert bad.value.response["Error"]["Message"] == "Could not parse metadata"


def test_non_root_access_follows_the_provider_arn(server: Server) -> None:
    from tests.services.iam.helpers import allow, user_with_keys

    iam = server.client("iam")
    mine = iam.create_open_id_connect_provider(Url=f"https://{unique('mine')}.example.com")["OpenIDConnectProviderArn"]
    other = iam.create_open_id_connect_provider(Url=f"https://{unique('other')}.example.com")["OpenIDConnectProviderArn"]
    _name, as_user = user_with_keys(server, policy=allow("iam:GetOpenIDConnectProvider", mine))
    assert as_user.get_open_id_connect_provider(OpenIDConnectProviderArn=mine)["Url"] == mine.split("/", 1)[1]
    with pytest.raises(ClientError) as denied:
        as_user.get_open_id_connect_provider(OpenIDConnectProviderArn=other)
    assert error_code(denied) == "AccessDenied"
    assert f"on resource: {other}" in denied.value.response["Error"]["Message"]

"""Hostile input to every STS operation: always AWS's 4xx error, never a 500, never credentials.

Rows drive one operation through boto3 with values the model accepts (or,
with client-side validation off, values it does not) and name AWS's error.
Signed-but-hostile OIDC tokens and SAML assertions (what a compromised or
careless IdP could send) reach the code behind the signature check too.
Operations Rampart does not implement answer 501 NotImplemented.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
from collections.abc import Iterator
from typing import Any

import botocore.session
import jwt
import pytest
from botocore import UNSIGNED
from botocore.config import Config
from botocore.exceptions import ClientError
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding

from tests.conftest import ROOT_ACCOUNT, Server
from tests.services.sts.core_helpers import role_trusting, trust, unique, user_keys
from tests.services.sts.idp import SAML, OidcIdp, SamlIdp, encode, thumbprint

UNICODE = "\u00e9\u4e2d\U0001f600" * 10
EVERYTHING = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
UNCHECKED = Config(parameter_validation=False, retries={"max_attempts": 1})
CLIENT_ID = "malformed-client"
TAGS = "https://aws.amazon.com/tags"
SOURCE = "https://aws.amazon.com/source_identity"
SAML_SOURCE = "https://aws.amazon.com/SAML/Attributes/SourceIdentity"


def refusal(call: Any, **params: Any) -> tuple[int, str]:
    """(HTTP status, error code) of a call that must fail with a 4xx."""
    with pytest.raises(ClientError) as caught:
        call(**params)
    response = caught.value.response
    status, code = response["ResponseMetadata"]["HTTPStatusCode"], response["Error"]["Code"]
    assert 400 <= status < 500, (status, code, response["Error"].get("Message"))
    return status, code


def server_now(server: Server) -> dt.datetime:
    return dt.datetime.fromisoformat(server.admin("GET", "clock").json()["now"])


@pytest.fixture(scope="module")
def caller(server: Server) -> dict[str, str]:
    """Keys of a user allowed everything (so only the input decides)."""
    return user_keys(server, EVERYTHING)[1]


@pytest.fixture(scope="module")
def role_arn(server: Server) -> str:
    """A role the account trusts for AssumeRole, tags and source identity, with MaxSessionDuration one hour."""
    document = trust({"AWS": f"arn:aws:iam::{ROOT_ACCOUNT}:root"},
                     ["sts:AssumeRole", "sts:TagSession", "sts:SetSourceIdentity"])
    return role_trusting(server, document, EVERYTHING)["Arn"]


def assume_rows(role: str) -> list[tuple[dict[str, Any], str]]:
    """AssumeRole parameters (beyond RoleArn/RoleSessionName defaults) and AWS's error for each."""
    document = '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"%s}]}'
    return [
        ({"Policy": "{"}, "MalformedPolicyDocument"),
        ({"Policy": "[]"}, "MalformedPolicyDocument"),
        ({"Policy": "null"}, "MalformedPolicyDocument"),
        ({"Policy": "[" * 1000 + "]" * 1000}, "MalformedPolicyDocument"),
        ({"Policy": document % ',"Condition":{"Bogus":{"a":"b"}}'}, "MalformedPolicyDocument"),
        ({"Policy": document % ',"Principal":"*"'}, "MalformedPolicyDocument"),
        ({"PolicyArns": [{"arn": "arn:aws:iam::aws:policy/NoSuchPolicy"}]}, "MalformedPolicyDocument"),
        ({"PolicyArns": [{"arn": "arn:aws:iam::999999999999:policy/Elsewhere"}]}, "MalformedPolicyDocument"),
        ({"PolicyArns": [{"arn": "x" * 2048}]}, "MalformedPolicyDocument"),
        ({"PolicyArns": [{"arn": "arn:aws:iam::aws:policy/ReadOnlyAccess"}] * 11}, "ValidationError"),
        ({"DurationSeconds": 43200}, "ValidationError"),  # over the role's MaxSessionDuration
        ({"Tags": [{"Key": "team", "Value": "a"}, {"Key": "TEAM", "Value": "b"}]}, "InvalidParameterValue"),
        ({"TransitiveTagKeys": ["absent"]}, "InvalidParameterValue"),
        ({"SerialNumber": f"arn:aws:iam::{ROOT_ACCOUNT}:mfa/none", "TokenCode": "123456"}, "AccessDenied"),
        ({"SerialNumber": f"arn:aws:iam::{ROOT_ACCOUNT}:mfa/none"}, "ValidationError"),
        ({"TokenCode": "123456"}, "ValidationError"),
        ({"RoleArn": role.replace(ROOT_ACCOUNT, "999999999999")}, "AccessDenied"),
        ({"RoleArn": f"arn:aws:iam::{ROOT_ACCOUNT}:role/" + "\u00e9" * 60}, "AccessDenied"),
        ({"RoleArn": f"arn:aws:iam::{ROOT_ACCOUNT}:role//" * 30}, "AccessDenied"),
        ({"RoleArn": f"arn:aws:sts::{ROOT_ACCOUNT}:assumed-role/x/y"}, "AccessDenied"),
        ({"RoleArn": "not-an-arn-but-long-enough"}, "AccessDenied"),
    ]


def test_assume_role_refuses_hostile_input(server: Server, caller: dict[str, str], role_arn: str) -> None:
    sts = server.client("sts", **caller)
    for extra, expected in assume_rows(role_arn):
        params = {"RoleArn": role_arn, "RoleSessionName": "hostile", **extra}
        assert refusal(sts.assume_role, **params)[1] == expected, extra


# With client-side validation off: outside the model, so the server's validation answers.
UNMODELLED: list[tuple[str, dict[str, Any]]] = [
    ("get_session_token", {"DurationSeconds": 10**12}),
    ("get_session_token", {"DurationSeconds": -5}),
    ("get_session_token", {"SerialNumber": "x" * 9, "TokenCode": "abcdef"}),
    ("get_session_token", {"SerialNumber": UNICODE, "TokenCode": "123456"}),
    ("get_federation_token", {"Name": "x"}),
    ("get_federation_token", {"Name": UNICODE}),
    ("get_federation_token", {"Name": "fed", "Policy": "x" * 3000}),
    ("get_access_key_info", {"AccessKeyId": UNICODE}),
    ("get_access_key_info", {"AccessKeyId": ""}),
    ("decode_authorization_message", {"EncodedMessage": ""}),
    ("assume_role", {"RoleArn": "arn:aws:iam::123456789012:role/x\x00", "RoleSessionName": "s2"}),
    ("assume_role", {"RoleArn": "arn:aws:iam::123456789012:role/x", "RoleSessionName": "s" * 5000}),
    ("assume_role", {"RoleArn": "arn:aws:iam::123456789012:role/x", "RoleSessionName": "ok", "DurationSeconds": 10**20}),
    ("assume_role", {"RoleArn": "arn:aws:iam::123456789012:role/x", "RoleSessionName": "ok", "SourceIdentity": "aws:x"}),
    ("assume_role", {"RoleArn": "arn:aws:iam::123456789012:role/x", "RoleSessionName": "ok",
                     "Tags": [{"Key": f"k{i}", "Value": "v"} for i in range(51)]}),
    ("assume_role", {"RoleArn": "arn:aws:iam::123456789012:role/x", "RoleSessionName": "ok", "Policy": "\x00"}),
    ("assume_role_with_web_identity", {"RoleArn": "arn:aws:iam::123456789012:role/x", "RoleSessionName": "ok",
                                       "WebIdentityToken": ""}),
    ("assume_role_with_saml", {"RoleArn": "arn:aws:iam::123456789012:role/x", "PrincipalArn": "p" * 20,
                               "SAMLAssertion": "\u00e9"}),
]


@pytest.mark.parametrize(("operation", "params"), UNMODELLED, ids=[f"{r[0]}-{i}" for i, r in enumerate(UNMODELLED)])
def test_values_outside_the_model_are_validation_errors(server: Server, caller: dict[str, str], operation: str,
                                                        params: dict[str, Any]) -> None:
    unchecked = server.client("sts", config=UNCHECKED, **caller)
    assert refusal(getattr(unchecked, operation), **params)[1] == "ValidationError"


@pytest.mark.parametrize(
    ("operation", "params", "expected"),
    [
        ("get_federation_token", {"Name": "fed", "Policy": "{"}, "MalformedPolicyDocument"),
        ("get_federation_token", {"Name": "fed", "PolicyArns": [{"arn": "arn:aws:iam::aws:policy/None"}]},
         "MalformedPolicyDocument"),
        ("get_federation_token", {"Name": "fed", "Tags": [{"Key": "a", "Value": "1"}, {"Key": "A", "Value": "2"}]},
         "InvalidParameterValue"),
        ("get_session_token", {"SerialNumber": f"arn:aws:iam::{ROOT_ACCOUNT}:mfa/none", "TokenCode": "000000"},
         "AccessDenied"),
        ("get_session_token", {"SerialNumber": f"arn:aws:iam::999999999999:mfa/{'a' * 20}", "TokenCode": "000000"},
         "AccessDenied"),
        ("get_access_key_info", {"AccessKeyId": "ASIA" + "9" * 16}, "ValidationError"),
        ("get_access_key_info", {"AccessKeyId": "AKIA" + "\u00e9" * 12}, "ValidationError"),
        ("decode_authorization_message", {"EncodedMessage": UNICODE}, "InvalidAuthorizationMessageException"),
        ("decode_authorization_message", {"EncodedMessage": "!!!"}, "InvalidAuthorizationMessageException"),
        ("decode_authorization_message", {"EncodedMessage": base64.urlsafe_b64encode(b"\0" * 64).decode()},
         "InvalidAuthorizationMessageException"),
        ("decode_authorization_message", {"EncodedMessage": "A" * 10240}, "InvalidAuthorizationMessageException"),
    ],
)
def test_token_and_informational_operations_refuse_hostile_input(
    server: Server, caller: dict[str, str], operation: str, params: dict[str, Any], expected: str
) -> None:
    sts = server.client("sts", **caller)
    assert refusal(getattr(sts, operation), **params)[1] == expected


# --- OIDC: tokens signed by the registered IdP, with hostile claims --------------------------------


@pytest.fixture(scope="module")
def oidc(server: Server) -> Iterator[tuple[OidcIdp, str]]:
    """An issuer registered in IAM and a role that trusts it (tags allowed)."""
    idp = OidcIdp()
    iam = server.client("iam")
    provider = iam.create_open_id_connect_provider(
        Url=idp.issuer, ClientIDList=[CLIENT_ID], ThumbprintList=[thumbprint(idp.cert)])["OpenIDConnectProviderArn"]
    role = role_trusting(server, trust({"Federated": provider}, ["sts:AssumeRoleWithWebIdentity", "sts:TagSession"]))
    yield idp, role["Arn"]
    iam.delete_open_id_connect_provider(OpenIDConnectProviderArn=provider)
    idp.stop()


def signed_raw(idp: OidcIdp, payload: str, header: dict[str, Any] | None = None) -> str:
    """A JWS over exactly ``payload`` (JSON text PyJWT would not write: 1e400, NaN), signed by the IdP."""
    def part(data: bytes) -> bytes:
        return base64.urlsafe_b64encode(data).rstrip(b"=")
    head = part(json.dumps(header or {"alg": "RS256", "kid": idp.kid, "typ": "JWT"}).encode())
    body = part(payload.encode())
    signature = idp.keys[idp.kid].sign(head + b"." + body, padding.PKCS1v15(), hashes.SHA256())
    return (head + b"." + body + b"." + part(signature)).decode()


def hostile_tokens(idp: OidcIdp, now: int) -> dict[str, str]:
    def raw_claims(extra: str) -> str:
        return "{" + f'"iss":"{idp.issuer}","aud":"{CLIENT_ID}","sub":"alice",' + extra + "}"

    claims = {"iss": idp.issuer, "aud": CLIENT_ID, "sub": "alice", "iat": now, "exp": now + 600}

    def mint(**extra: Any) -> str:
        return jwt.encode({**claims, **extra}, idp.keys[idp.kid], algorithm="RS256", headers={"kid": idp.kid})

    return {
        "exp-1e400": signed_raw(idp, raw_claims('"exp":1e400')),
        "exp-NaN": signed_raw(idp, raw_claims('"exp":NaN')),
        "nbf--1e400": signed_raw(idp, raw_claims(f'"exp":{now + 600},"nbf":-1e400')),
        "iat-Infinity": signed_raw(idp, raw_claims(f'"exp":{now + 600},"iat":Infinity')),
        "kid-list": signed_raw(idp, raw_claims(f'"exp":{now + 600}'), {"alg": "RS256", "kid": [1]}),
        "payload-list": signed_raw(idp, "[1,2,3]"),
        "exp-string": mint(exp="soon"),
        "aud-object": mint(aud={"a": 1}),
        "tags-transitive-object": mint(**{TAGS: {"principal_tags": {"a": ["b"]}, "transitive_tag_keys": [{"x": 1}]}}),
        "tags-list": mint(**{TAGS: [1]}),
        "tags-value-int": mint(**{TAGS: {"principal_tags": {"a": [1]}}}),
        "tags-51": mint(**{TAGS: {"principal_tags": {f"k{i}": ["v"] for i in range(51)}}}),
        "source-identity-int": mint(**{SOURCE: 5}),
        "source-identity-aws": mint(**{SOURCE: "aws:root"}),
        "huge-claim": mint(junk="x" * 15000),
    }


def test_signed_tokens_with_hostile_claims_are_refused(server: Server, oidc: tuple[OidcIdp, str]) -> None:
    idp, role = oidc
    sts = server.client("sts", config=Config(signature_version=UNSIGNED, retries={"max_attempts": 1}))
    refused = {}
    for name, token in hostile_tokens(idp, int(server_now(server).timestamp())).items():
        try:
            sts.assume_role_with_web_identity(RoleArn=role, RoleSessionName="hostile", WebIdentityToken=token)
        except ClientError as error:
            status = error.response["ResponseMetadata"]["HTTPStatusCode"]
            refused[name] = (status, error.response["Error"]["Code"])
        else:
            refused[name] = (200, "accepted")
    accepted_or_crashed = {n: r for n, r in refused.items() if not 400 <= r[0] < 500}
    assert not accepted_or_crashed, accepted_or_crashed
    assert refused["huge-claim"] in ((400, "InvalidIdentityToken"), (400, "ValidationError"))


def test_unsigned_garbage_tokens_are_invalid(server: Server, role_arn: str) -> None:
    sts = server.client("sts", config=Config(signature_version=UNSIGNED, retries={"max_attempts": 1}))
    for token in ["a.b.c", UNICODE, base64.b64encode(b"x" * 3000).decode(), "e30.e30.e30",
                  jwt.encode({"iss": "https://nowhere.invalid"}, None, algorithm="none")]:
        assert refusal(sts.assume_role_with_web_identity, RoleArn=role_arn, RoleSessionName="w1",
                       WebIdentityToken=token)[1] == "InvalidIdentityToken"


# --- SAML: assertions signed by the registered IdP, with hostile contents ---------------------------


@pytest.fixture(scope="module")
def saml(server: Server) -> Iterator[tuple[SamlIdp, str, str]]:
    """An IdP registered in IAM and a role that trusts it: (idp, provider ARN, role ARN)."""
    idp = SamlIdp()
    iam = server.client("iam")
    provider = iam.create_saml_provider(SAMLMetadataDocument=idp.metadata(), Name=unique("saml"))["SAMLProviderArn"]
    role = role_trusting(server, trust({"Federated": provider}, ["sts:AssumeRoleWithSAML", "sts:SetSourceIdentity"]))
    yield idp, provider, role["Arn"]
    iam.delete_saml_provider(SAMLProviderArn=provider)


def test_signed_assertions_with_hostile_contents_are_refused(server: Server, saml: tuple[SamlIdp, str, str]) -> None:
    idp, provider, role = saml
    sts = server.client("sts", config=Config(signature_version=UNSIGNED, retries={"max_attempts": 1}))
    now = server_now(server)

    def signed(**kwargs: Any) -> str:
        session_end = kwargs.pop("session_end", None)
        response = idp.response_xml([f"{role},{provider}"], now=now, **kwargs)
        if session_end is not None:
            response.find(f"{{{SAML}}}Assertion/{{{SAML}}}AuthnStatement").set("SessionNotOnOrAfter", session_end)
        return encode(idp.sign(response))

    cases = {
        "session-already-over": (signed(session_end=(now - dt.timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%SZ")),
                                 "ExpiredTokenException"),
        "session-end-garbage": (signed(session_end="not-a-time"), "InvalidIdentityToken"),
        "source-identity-aws": (signed(attributes={SAML_SOURCE: ["aws:root"]}), "InvalidIdentityToken"),
        "source-identity-long": (signed(attributes={SAML_SOURCE: ["s" * 65]}), "InvalidIdentityToken"),
        "session-name-unicode": (signed(session_name=UNICODE), "InvalidIdentityToken"),
        "duration-huge": (signed(attributes={"https://aws.amazon.com/SAML/Attributes/SessionDuration": ["9" * 40]}),
                          "InvalidIdentityToken"),
        "tag-key-long": (signed(attributes={"https://aws.amazon.com/SAML/Attributes/PrincipalTag:" + "k" * 129: ["v"]}),
                         "InvalidIdentityToken"),
    }
    for name, (assertion, expected) in cases.items():
        got = refusal(sts.assume_role_with_saml, RoleArn=role, PrincipalArn=provider, SAMLAssertion=assertion)
        assert got[1] == expected, name


def test_unsigned_garbage_assertions_are_refused(server: Server, saml: tuple[SamlIdp, str, str]) -> None:
    _, provider, role = saml
    sts = server.client("sts", config=Config(signature_version=UNSIGNED, retries={"max_attempts": 1}))
    bomb = b'<!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;">]><x>&b;</x>'
    for raw in [b"!!!!", b"<x/>", bomb, b"\xff\xfe" * 100, b"<samlp:Response xmlns:samlp='urn:x'>" * 500]:
        assertion = base64.b64encode(raw).decode() if raw != b"!!!!" else "!!!!"
        assert refusal(sts.assume_role_with_saml, RoleArn=role, PrincipalArn=provider,
                       SAMLAssertion=assertion)[1] == "InvalidIdentityToken", raw[:20]


# --- every operation, hostile values of its own shapes ----------------------------------------------

OPERATIONS = botocore.session.get_session().get_service_model("sts").operation_names


def _value(shape: Any) -> Any:
    """A hostile, model-valid value of a shape: unicode at the longest allowed, numbers at their maximum."""
    if shape.type_name == "structure":
        return {name: _value(shape.members[name]) for name in shape.members}
    if shape.type_name == "list":
        return [_value(shape.member)]
    if shape.type_name in ("integer", "long"):
        return int(shape.metadata.get("max", 2**31 - 1))
    if shape.type_name == "boolean":
        return True
    if getattr(shape, "enum", None):
        return shape.enum[-1]
    if shape.type_name == "timestamp":
        return dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    longest = int(shape.metadata.get("max", 64))
    return (UNICODE * (longest // len(UNICODE) + 1))[:longest] or "x"


@pytest.mark.parametrize("signed", [True, False], ids=["signed", "unsigned"])
@pytest.mark.parametrize("operation", OPERATIONS)
def test_every_operation_answers_hostile_values_without_a_500(
    server: Server, caller: dict[str, str], operation: str, signed: bool
) -> None:
    config = UNCHECKED if signed else Config(signature_version=UNSIGNED, parameter_validation=False,
                                             retries={"max_attempts": 1})
    client = server.client("sts", config=config, **caller)
    name = next(python for python, api in client.meta.method_to_api_mapping.items() if api == operation)
    shape = client.meta.service_model.operation_model(operation).input_shape
    params = {m: _value(shape.members[m]) for m in shape.members} if shape else {}
    try:
        getattr(client, name)(**params)
    except ClientError as error:
        status, code = error.response["ResponseMetadata"]["HTTPStatusCode"], error.response["Error"]["Code"]
        assert status < 500 or (status == 501 and code == "NotImplemented"), (status, code)
        return
    assert operation == "GetCallerIdentity" and signed, f"{operation} accepted hostile values"

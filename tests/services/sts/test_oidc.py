"""AssumeRoleWithWebIdentity through boto3 against a real IdP on loopback (HTTPS, discovery, JWKS)."""

from __future__ import annotations

import base64
import datetime as dt
import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from botocore import UNSIGNED
from botocore.config import Config
from botocore.exceptions import ClientError
from cryptography.hazmat.primitives.asymmetric import rsa

from rampart.services.sts.oidc import REFETCH_INTERVAL
from tests.conftest import Server
from tests.services.iam.helpers import allow, error_of, unique
from tests.services.sts.idp import OidcIdp, thumbprint

CLIENT_ID = "rampart-client"
WEB_IDENTITY = "sts:AssumeRoleWithWebIdentity"


@pytest.fixture(scope="module")
def idp() -> Iterator[OidcIdp]:
    """One HTTPS issuer for the module."""
    running = OidcIdp()
    yield running
    running.stop()


@pytest.fixture(scope="module")
def provider(server: Server, idp: OidcIdp) -> Iterator[str]:
    """The issuer registered in IAM with its certificate's thumbprint."""
    iam = server.client("iam")
    arn = iam.create_open_id_connect_provider(
        Url=idp.issuer, ClientIDList=[CLIENT_ID], ThumbprintList=[thumbprint(idp.cert)]
    )["OpenIDConnectProviderArn"]
    yield arn
    iam.delete_open_id_connect_provider(OpenIDConnectProviderArn=arn)


def server_now(server: Server) -> dt.datetime:
    """The server's clock (other tests may have moved it ahead of real time)."""
    return dt.datetime.fromisoformat(server.admin("GET", "clock").json()["now"])


def unsigned_sts(server: Server) -> Any:
    """An STS client that sends no signature at all, as web apps call AssumeRoleWithWebIdentity."""
    return server.client("sts", config=Config(signature_version=UNSIGNED, retries={"max_attempts": 1}))


def trust(provider: str, idp: OidcIdp, *, sub: str = "alice", tag_session: bool = False) -> str:
    """A trust policy for the provider with AWS's aud and sub conditions."""
    actions = [WEB_IDENTITY, "sts:TagSession"] if tag_session else WEB_IDENTITY
    return json.dumps({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"Federated": provider},
            "Action": actions,
            "Condition": {"StringEquals": {f"{idp.provider_name}:aud": CLIENT_ID, f"{idp.provider_name}:sub": sub}},
        }],
    })


def make_role(server: Server, document: str, policy: dict[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
    """A role with the given trust policy and (optionally) an inline permissions policy."""
    iam = server.client("iam")
    role = iam.create_role(RoleName=unique("web"), AssumeRolePolicyDocument=document, **extra)["Role"]
    if policy is not None:
        iam.put_role_policy(RoleName=role["RoleName"], PolicyName="p", PolicyDocument=json.dumps(policy))
    return role


def assume(server: Server, role: dict[str, Any], token: str, **extra: Any) -> dict[str, Any]:
    return unsigned_sts(server).assume_role_with_web_identity(
        RoleArn=role["Arn"], RoleSessionName="web-session", WebIdentityToken=token, **extra
    )


def session_client(server: Server, service: str, credentials: dict[str, Any]) -> Any:
    return server.client(
        service,
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
    )


def refused(server: Server, role: dict[str, Any], token: str, **extra: Any) -> tuple[str, str]:
    with pytest.raises(ClientError) as caught:
        assume(server, role, token, **extra)
    return error_of(caught)


# --- the happy path -----------------------------------------------------------------------------


def test_valid_token_gives_role_credentials_that_work(server: Server, idp: OidcIdp, provider: str) -> None:
    role = make_role(server, trust(provider, idp), allow("iam:ListRoles"))
    out = assume(server, role, idp.mint(now=server_now(server)))
    assert out["SubjectFromWebIdentityToken"] == "alice"
    assert out["Audience"] == CLIENT_ID
    assert out["Provider"] == provider
    session_arn = f"arn:aws:sts::{server.account_id}:assumed-role/{role['RoleName']}/web-session"
    assert out["AssumedRoleUser"] == {"Arn": session_arn, "AssumedRoleId": f"{role['RoleId']}:web-session"}
    creds = out["Credentials"]
    assert creds["AccessKeyId"].startswith("ASIA")
    identity = session_client(server, "sts", creds).get_caller_identity()
    assert identity["Arn"] == session_arn
    assert identity["Account"] == server.account_id
    iam = session_client(server, "iam", creds)
    iam.list_roles(MaxItems=1)  # the role's policy grants this ...
    with pytest.raises(ClientError) as caught:
        iam.list_users()  # ... and nothing else
    assert error_of(caught)[0] == "AccessDenied"


def test_expiry_follows_duration_seconds(server: Server, idp: OidcIdp, provider: str) -> None:
    role = make_role(server, trust(provider, idp), MaxSessionDuration=7200)
    now = server_now(server)
    out = assume(server, role, idp.mint(now=now), DurationSeconds=7200)
    lifetime = out["Credentials"]["Expiration"] - now
    assert dt.timedelta(seconds=7190) <= lifetime <= dt.timedelta(seconds=7300)
    code, message = refused(server, role, idp.mint(now=now), DurationSeconds=10800)
    assert code == "ValidationError"
    assert "MaxSessionDuration" in message


def test_rotated_key_is_fetched_for_an_unknown_kid(server: Server, idp: OidcIdp, provider: str) -> None:
    role = make_role(server, trust(provider, idp))
    assume(server, role, idp.mint(now=server_now(server)))  # the current keys are cached now
    new_kid = idp.add_key()
    time.sleep(REFETCH_INTERVAL + 0.1)  # the server refetches at most once a second per issuer (no amplification)
    out = assume(server, role, idp.mint(kid=new_kid, now=server_now(server)))
    assert out["SubjectFromWebIdentityToken"] == "alice"


# --- what is refused ----------------------------------------------------------------------------


def test_wrong_signature_is_invalid(server: Server, idp: OidcIdp, provider: str) -> None:
    role = make_role(server, trust(provider, idp))
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    code, _ = refused(server, role, idp.mint(key=stranger, now=server_now(server)))  # the IdP's kid, another key
    assert code == "InvalidIdentityToken"


def test_altered_claims_are_invalid(server: Server, idp: OidcIdp, provider: str) -> None:
    role = make_role(server, trust(provider, idp, sub="bob"))
    header, payload, signature = idp.mint(now=server_now(server)).split(".")
    forged_payload = json.loads(_b64decode(payload))
    forged_payload["sub"] = "bob"
    forged = ".".join([header, _b64encode(json.dumps(forged_payload).encode()), signature])
    assert refused(server, role, forged)[0] == "InvalidIdentityToken"


def test_expired_token(server: Server, idp: OidcIdp, provider: str) -> None:
    role = make_role(server, trust(provider, idp))
    now = server_now(server)
    code, message = refused(server, role, idp.mint(now=now - dt.timedelta(hours=2), lifetime=600))
    assert code == "ExpiredTokenException"
    assert message.startswith("Token expired: current date/time ")


def test_token_expires_when_the_server_clock_passes_exp(server: Server, idp: OidcIdp, provider: str) -> None:
    role = make_role(server, trust(provider, idp))
    token = idp.mint(now=server_now(server), lifetime=120)
    assume(server, role, token)
    assert server.admin("POST", "clock/advance", json={"seconds": 300}).status_code == 200
    assert refused(server, role, token)[0] == "ExpiredTokenException"


def test_not_yet_valid_token(server: Server, idp: OidcIdp, provider: str) -> None:
    role = make_role(server, trust(provider, idp))
    now = server_now(server)
    token = idp.mint(now=now, nbf=int((now + dt.timedelta(hours=1)).timestamp()))
    assert refused(server, role, token)[0] == "InvalidIdentityToken"


def test_wrong_audience(server: Server, idp: OidcIdp, provider: str) -> None:
    role = make_role(server, trust(provider, idp))
    assert refused(server, role, idp.mint(now=server_now(server), aud="someone-else")) == (
        "InvalidIdentityToken", "Incorrect token audience",
    )


def test_unregistered_issuer(server: Server, idp: OidcIdp, provider: str) -> None:
    role = make_role(server, trust(provider, idp))
    other = "https://127.0.0.1:1/not-registered"
    assert refused(server, role, idp.mint(now=server_now(server), iss=other)) == (
        "InvalidIdentityToken", f"No OpenIDConnect provider found in your account for {other}",
    )


@pytest.mark.parametrize("token", ["not-a-jwt", "a.b.c", "eyJhbGciOiJub25lIn0.eyJpc3MiOiJ4In0."])
def test_malformed_tokens(server: Server, idp: OidcIdp, provider: str, token: str) -> None:
    role = make_role(server, trust(provider, idp))
    assert refused(server, role, token)[0] == "InvalidIdentityToken"


def test_unsigned_alg_none_token_is_refused(server: Server, idp: OidcIdp, provider: str) -> None:
    role = make_role(server, trust(provider, idp))
    now = int(server_now(server).timestamp())
    claims = {"iss": idp.issuer, "aud": CLIENT_ID, "sub": "alice", "iat": now, "exp": now + 600}
    token = ".".join([_b64encode(b'{"alg":"none","kid":"%s"}' % idp.kid.encode()),
                      _b64encode(json.dumps(claims).encode()), ""])
    assert refused(server, role, token)[0] == "InvalidIdentityToken"


def test_trust_policy_sub_condition_rejects_other_subjects(server: Server, idp: OidcIdp, provider: str) -> None:
    role = make_role(server, trust(provider, idp, sub="alice"))
    code, message = refused(server, role, idp.mint(now=server_now(server), sub="mallory"))
    assert code == "AccessDenied"
    assert WEB_IDENTITY in message


def test_unknown_role_reads_like_a_refusal(server: Server, idp: OidcIdp, provider: str) -> None:
    ghost = {"Arn": f"arn:aws:iam::{server.account_id}:role/{unique('ghost')}"}
    code, message = refused(server, ghost, idp.mint(now=server_now(server)))
    assert (code, message) == ("AccessDenied", f"Not authorized to perform {WEB_IDENTITY}")


def test_trust_of_another_provider_does_not_apply(server: Server, idp: OidcIdp, provider: str) -> None:
    other = f"arn:aws:iam::{server.account_id}:oidc-provider/elsewhere.example.com"
    role = make_role(server, trust(other, idp))
    assert refused(server, role, idp.mint(now=server_now(server)))[0] == "AccessDenied"


def test_thumbprint_mismatch(server: Server) -> None:
    stranger = OidcIdp()
    iam = server.client("iam")
    arn = iam.create_open_id_connect_provider(
        Url=stranger.issuer, ClientIDList=[CLIENT_ID], ThumbprintList=["0" * 40]
    )["OpenIDConnectProviderArn"]
    try:
        role = make_role(server, trust(arn, stranger))
        code, message = refused(server, role, stranger.mint(now=server_now(server)))
        assert code == "InvalidIdentityToken"
        assert "thumbprint" in message
        assert not stranger.requests  # nothing was asked of a server whose certificate is not trusted
    finally:
        iam.delete_open_id_connect_provider(OpenIDConnectProviderArn=arn)
        stranger.stop()


def test_unreachable_issuer(server: Server, idp: OidcIdp) -> None:
    gone = OidcIdp()
    gone.stop()
    iam = server.client("iam")
    arn = iam.create_open_id_connect_provider(
        Url=gone.issuer, ClientIDList=[CLIENT_ID], ThumbprintList=[thumbprint(gone.cert)]
    )["OpenIDConnectProviderArn"]
    try:
        role = make_role(server, trust(arn, gone))
        assert refused(server, role, gone.mint(now=server_now(server)))[0] == "IDPCommunicationError"
    finally:
        iam.delete_open_id_connect_provider(OpenIDConnectProviderArn=arn)


# --- session tags and policies ------------------------------------------------------------------


def _tags_claim(team: str) -> dict[str, Any]:
    return {"https://aws.amazon.com/tags": {"principal_tags": {"team": [team]}, "transitive_tag_keys": ["team"]}}


def test_token_tags_become_principal_tags(server: Server, idp: OidcIdp, provider: str) -> None:
    policy = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "iam:ListRoles", "Resource": "*",
                       "Condition": {"StringEquals": {"aws:PrincipalTag/team": "blue"}}}],
    }
    role = make_role(server, trust(provider, idp, tag_session=True), policy)
    now = server_now(server)
    blue = assume(server, role, idp.mint(_tags_claim("blue"), now=now))
    session_client(server, "iam", blue["Credentials"]).list_roles(MaxItems=1)
    red = assume(server, role, idp.mint(_tags_claim("red"), now=now))
    with pytest.raises(ClientError) as caught:
        session_client(server, "iam", red["Credentials"]).list_roles(MaxItems=1)
    assert error_of(caught)[0] == "AccessDenied"


def test_tags_need_tag_session_in_the_trust_policy(server: Server, idp: OidcIdp, provider: str) -> None:
    role = make_role(server, trust(provider, idp, tag_session=False))
    assert refused(server, role, idp.mint(_tags_claim("blue"), now=server_now(server)))[0] == "AccessDenied"


def test_session_policy_cuts_down_the_role(server: Server, idp: OidcIdp, provider: str) -> None:
    role = make_role(server, trust(provider, idp), allow(["iam:ListRoles", "iam:ListUsers"]))
    out = assume(server, role, idp.mint(now=server_now(server)), Policy=json.dumps(allow("iam:ListUsers")))
    assert 0 < out["PackedPolicySize"] <= 100
    iam = session_client(server, "iam", out["Credentials"])
    iam.list_users(MaxItems=1)
    with pytest.raises(ClientError) as caught:
        iam.list_roles(MaxItems=1)
    assert error_of(caught)[0] == "AccessDenied"


def test_malformed_session_policy(server: Server, idp: OidcIdp, provider: str) -> None:
    role = make_role(server, trust(provider, idp))
    code, _ = refused(server, role, idp.mint(now=server_now(server)), Policy='{"Statement": "nope"}')
    assert code == "MalformedPolicyDocument"


def test_claims_are_condition_keys_of_the_session(server: Server, idp: OidcIdp, provider: str) -> None:
    policy = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "iam:ListRoles", "Resource": "*",
                       "Condition": {"StringEquals": {f"{idp.provider_name}:sub": "alice"}}}],
    }
    role = make_role(server, trust(provider, idp), policy)
    out = assume(server, role, idp.mint(now=server_now(server)))
    session_client(server, "iam", out["Credentials"]).list_roles(MaxItems=1)


# --- helpers ------------------------------------------------------------------------------------


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))

"""GetSessionToken (MFA), GetFederationToken, GetAccessKeyInfo, GetCallerIdentity, DecodeAuthorizationMessage."""

from __future__ import annotations

import base64
import datetime as dt
import json
from typing import Any

import pytest
from botocore.exceptions import ClientError
from sqlalchemy import select

from rampart.policy import PrincipalType, RequestContext, evaluate
from rampart.secrets import KEY_FILE_NAME, MasterKey
from rampart.services.iam import totp
from rampart.services.sts.messages import (
    encode_authorization_message,
)
from rampart.services.sts.sessions import open_token
from rampart.services.sts.subject import base_of
from rampart.services.sts.tables import sts_sessions
from rampart.storage.db import Database
from tests.conftest import ROOT_ACCOUNT, Server
from tests.services.iam.helpers import error_of
from tests.services.sts.core_helpers import allow, client_from, unique, user_keys

MFA_FAILED = ("AccessDenied", "MultiFactorAuthentication failed with invalid MFA one time pass code.")


def server_now(server: Server) -> dt.datetime:
    return dt.datetime.fromisoformat(server.admin("GET", "clock").json()["now"])


def user_with_mfa(server: Server, policy: dict[str, Any] | None = None) -> tuple[str, dict[str, str], str, bytes]:
    """A user with keys and an enabled virtual MFA device (the codes of the two steps before now used up)."""
    name, keys = user_keys(server, policy)
    iam = server.client("iam")
    device = iam.create_virtual_mfa_device(VirtualMFADeviceName=unique("dev"))["VirtualMFADevice"]
    seed = base64.b32decode(device["Base32StringSeed"])
    counter = totp.counter_at(server_now(server))
    iam.enable_mfa_device(UserName=name, SerialNumber=device["SerialNumber"],
                          AuthenticationCode1=totp.totp(seed, counter - 2), AuthenticationCode2=totp.totp(seed, counter - 1))
    return name, keys, device["SerialNumber"], seed


def current_code(server: Server, seed: bytes, ahead: int = 0) -> str:
    return totp.totp(seed, totp.counter_at(server_now(server)) + ahead)


MFA_GATED = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": "iam:GetUser", "Resource": "*",
     "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "true"}, "NumericLessThan": {"aws:MultiFactorAuthAge": "600"}}},
    {"Effect": "Allow", "Action": "sts:GetSessionToken", "Resource": "*"},
]}


def test_get_session_token_with_mfa_unlocks_mfa_gated_policies(server: Server) -> None:
    name, keys, serial, seed = user_with_mfa(server, MFA_GATED)
    with pytest.raises(ClientError):
        server.client("iam", **keys).get_user(UserName=name)  # long-term keys: no MFA
    sts = server.client("sts", **keys)
    plain = sts.get_session_token()["Credentials"]
    assert plain["AccessKeyId"].startswith("ASIA")
    with pytest.raises(ClientError):  # a session without MFA cannot call IAM at all
        client_from(server, "iam", plain).get_user(UserName=name)
    code = current_code(server, seed)
    creds = sts.get_session_token(SerialNumber=serial, TokenCode=code, DurationSeconds=3600)["Credentials"]
    me = client_from(server, "sts", creds).get_caller_identity()
    assert me["Arn"] == f"arn:aws:iam::{ROOT_ACCOUNT}:user/{name}" and me["UserId"].startswith("AIDA")
    assert client_from(server, "iam", creds).get_user(UserName=name)["User"]["UserName"] == name
    with pytest.raises(ClientError) as replayed:
        sts.get_session_token(SerialNumber=serial, TokenCode=code)
    assert error_of(replayed) == MFA_FAILED
    with pytest.raises(ClientError) as wrong:
        sts.get_session_token(SerialNumber=serial, TokenCode="000000" if code != "000000" else "111111")
    assert error_of(wrong) == MFA_FAILED


def test_session_credentials_cannot_get_more_tokens_and_bounds_hold(server: Server) -> None:
    _, keys = user_keys(server, allow(["sts:GetSessionToken", "sts:GetFederationToken"]))
    sts = server.client("sts", **keys)
    creds = sts.get_session_token(DurationSeconds=900)["Credentials"]
    for call in ("get_session_token", "get_federation_token"):
        extra = {"Name": "bob"} if call == "get_federation_token" else {}
        with pytest.raises(ClientError) as refused:
            getattr(client_from(server, "sts", creds), call)(**extra)
        code, message = error_of(refused)
        assert code == "AccessDenied" and "with session credentials" in message
    default = sts.get_session_token()["Credentials"]["Expiration"]
    now = server_now(server)
    assert abs((default - now).total_seconds() - 43200) < 120
    root = server.client("sts").get_session_token(DurationSeconds=129600)["Credentials"]
    assert abs((root["Expiration"] - now).total_seconds() - 3600) < 120  # root: one hour at most
    assert client_from(server, "sts", root).get_caller_identity()["Arn"] == f"arn:aws:iam::{ROOT_ACCOUNT}:root"


def test_mfa_device_of_another_user_is_refused(server: Server) -> None:
    _, _, serial, seed = user_with_mfa(server)
    _, keys = user_keys(server, allow("sts:GetSessionToken"))
    with pytest.raises(ClientError) as refused:
        server.client("sts", **keys).get_session_token(SerialNumber=serial, TokenCode=current_code(server, seed))
    assert error_of(refused) == MFA_FAILED


def test_federation_token_is_the_intersection(server: Server) -> None:
    name, keys = user_keys(server, allow(["sts:GetFederationToken", "iam:GetUser", "iam:ListUsers"]))
    sts = server.client("sts", **keys)
    fed = unique("fed")[:32]
    out = sts.get_federation_token(Name=fed, Policy=json.dumps(allow(["iam:GetUser", "s3:ListAllMyBuckets"])))
    arn = f"arn:aws:sts::{ROOT_ACCOUNT}:federated-user/{fed}"
    assert out["FederatedUser"] == {"FederatedUserId": f"{ROOT_ACCOUNT}:{fed}", "Arn": arn}
    assert 0 < out["PackedPolicySize"] <= 100
    me = client_from(server, "sts", out["Credentials"]).get_caller_identity()
    assert (me["Arn"], me["UserId"], me["Account"]) == (arn, f"{ROOT_ACCOUNT}:{fed}", ROOT_ACCOUNT)
    # Federated users cannot call IAM at all, whatever the policies say (AWS's rule).
    with pytest.raises(ClientError):
        client_from(server, "iam", out["Credentials"]).get_user(UserName=name)


def test_federation_token_without_policy_grants_nothing(server: Server) -> None:
    _, keys = user_keys(server, allow(["sts:GetFederationToken", "sts:GetAccessKeyInfo"]))
    bare = server.client("sts", **keys).get_federation_token(Name="nopolicy")["Credentials"]
    assert "PackedPolicySize" not in bare
    with pytest.raises(ClientError):
        client_from(server, "sts", bare).get_access_key_info(AccessKeyId=bare["AccessKeyId"])
    assert client_from(server, "sts", bare).get_caller_identity()["Arn"].endswith("federated-user/nopolicy")


def test_federation_token_needs_permission(server: Server) -> None:
    _, keys = user_keys(server)
    with pytest.raises(ClientError) as denied:
        server.client("sts", **keys).get_federation_token(Name="bob", Policy=json.dumps(allow("s3:*")))
    code, message = error_of(denied)
    assert code == "AccessDenied"
    assert f"sts:GetFederationToken on resource: arn:aws:sts::{ROOT_ACCOUNT}:federated-user/bob" in message


def test_get_access_key_info_reads_the_account_from_the_key(server: Server) -> None:
    _, keys = user_keys(server, allow(["sts:GetAccessKeyInfo", "sts:GetSessionToken"]))
    sts = server.client("sts", **keys)
    assert sts.get_access_key_info(AccessKeyId=keys["aws_access_key_id"])["Account"] == ROOT_ACCOUNT
    temporary = sts.get_session_token()["Credentials"]["AccessKeyId"]
    assert sts.get_access_key_info(AccessKeyId=temporary)["Account"] == ROOT_ACCOUNT
    _, denied_keys = user_keys(server)
    with pytest.raises(ClientError) as denied:
        server.client("sts", **denied_keys).get_access_key_info(AccessKeyId=temporary)
    assert error_of(denied)[0] == "AccessDenied"


def test_ec2_denials_carry_a_message_only_decode_authorization_message_opens(server: Server) -> None:
    """EC2 answers UnauthorizedOperation with an encoded explanation; STS decodes it for the same account."""
    name, keys = user_keys(server)
    with pytest.raises(ClientError) as refused:
        server.client("ec2", **keys).describe_instances()
    code, message = error_of(refused)
    assert code == "UnauthorizedOperation"
    assert message.startswith("You are not authorized to perform this operation. User: ")
    encoded = message.rsplit("Encoded authorization failure message: ", 1)[1]
    _, decoder_keys = user_keys(server, allow("sts:DecodeAuthorizationMessage"))
    decoder = server.client("sts", **decoder_keys)
    decoded = json.loads(decoder.decode_authorization_message(EncodedMessage=encoded)["DecodedMessage"])
    assert decoded["allowed"] is False and decoded["explicitDeny"] is False
    assert decoded["context"]["action"] == "ec2:DescribeInstances"
    assert decoded["context"]["principal"]["arn"] == f"arn:aws:iam::{ROOT_ACCOUNT}:user/{name}"
    with pytest.raises(ClientError) as bad:
        decoder.decode_authorization_message(EncodedMessage=encoded[:-4] + "AAAA")
    assert error_of(bad)[0] == "InvalidAuthorizationMessageException"
    master = MasterKey.from_file(server.data_dir / KEY_FILE_NAME)
    other = encode_authorization_message(master, "999999999999", decoded)
    with pytest.raises(ClientError):  # another account's message does not open here
        decoder.decode_authorization_message(EncodedMessage=other)
    with pytest.raises(ClientError) as denied:
        server.client("sts", **keys).decode_authorization_message(EncodedMessage=encoded)
    assert error_of(denied)[0] == "AccessDenied"


def _session_base(server: Server, access_key_id: str) -> Any:
    """The session's principal and policies as the gateway builds them, from the server's own database."""
    master = MasterKey.from_file(server.data_dir / KEY_FILE_NAME)
    db = Database(f"sqlite:///{server.data_dir / 'rampart.db'}")
    try:
        with db.read() as conn:
            row = conn.execute(select(sts_sessions.c.session_token).where(
                sts_sessions.c.access_key_id == access_key_id)).one()
            _, spec = open_token(master, access_key_id, row.session_token)
            return base_of(conn, spec)
    finally:
        db.dispose()


def _allowed(base: Any, action: str) -> bool:
    return evaluate(RequestContext(base.principal, action, "*", ROOT_ACCOUNT, {}), base.policies).allowed


def test_federated_permissions_are_the_intersection_in_the_engine(server: Server) -> None:
    """Federated users cannot call IAM or STS, so the intersection is read from the engine directly."""
    _, keys = user_keys(server, allow(["sts:GetFederationToken", "iam:GetUser", "iam:ListUsers"]))
    sts = server.client("sts", **keys)
    inline = json.dumps(allow(["iam:GetUser", "s3:ListAllMyBuckets"]))
    only_inline = sts.get_federation_token(Name="inline", Policy=inline)["Credentials"]
    base = _session_base(server, only_inline["AccessKeyId"])
    assert base is not None and base.principal.type is PrincipalType.FEDERATED_USER
    assert base.principal.arn == f"arn:aws:sts::{ROOT_ACCOUNT}:federated-user/inline"
    assert _allowed(base, "iam:GetUser")  # the user's and the session's
    assert not _allowed(base, "iam:ListUsers")  # the user's only
    assert not _allowed(base, "s3:ListAllMyBuckets")  # the session's only
    managed = sts.get_federation_token(Name="managed", Policy=inline,
                                       PolicyArns=[{"arn": "arn:aws:iam::aws:policy/IAMReadOnlyAccess"}])
    wider = _session_base(server, managed["Credentials"]["AccessKeyId"])
    assert _allowed(wider, "iam:ListUsers")  # now a session policy (the managed one) allows it too
    assert not _allowed(wider, "iam:CreateUser")
    bare = _session_base(server, sts.get_federation_token(Name="bare")["Credentials"]["AccessKeyId"])
    assert not _allowed(bare, "iam:GetUser")  # no session policy: nothing


def test_get_session_token_needs_no_permission(server: Server) -> None:
    """AWS: "No permissions are required for a user to get a session token"; the session acts as the user."""
    name, keys = user_keys(server)
    out = server.client("sts", **keys).get_session_token()["Credentials"]
    session = client_from(server, "sts", out)
    assert session.get_caller_identity()["Arn"] == f"arn:aws:iam::{ROOT_ACCOUNT}:user/{name}"
    with pytest.raises(ClientError) as denied:  # no more rights than the user: none
        client_from(server, "iam", out).list_users()
    assert error_of(denied)[0] == "AccessDenied"

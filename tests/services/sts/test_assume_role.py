"""AssumeRole through boto3: trust evaluation, identities, session policies, tags, durations, chaining."""

from __future__ import annotations

import json
import secrets
from typing import Any

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from tests.conftest import ROOT_ACCOUNT, Server
from tests.services.iam.helpers import error_of
from tests.services.sts.core_helpers import (
    allow,
    client_from,
    role_trusting,
    trust,
    unique,
    user_keys,
)

ACCOUNT_TRUST = trust({"AWS": f"arn:aws:iam::{ROOT_ACCOUNT}:root"})


def _assume(server: Server, keys: dict[str, str], role_arn: str, **extra: Any) -> dict[str, Any]:
    return server.client("sts", **keys).assume_role(RoleArn=role_arn, RoleSessionName=extra.pop("name", "s1"), **extra)


def test_trust_naming_the_user_suffices_in_one_account(server: Server) -> None:
    name, keys = user_keys(server)  # no identity policy at all
    role = role_trusting(server, trust({"AWS": f"arn:aws:iam::{ROOT_ACCOUNT}:user/{name}"}), allow("iam:GetRole"))
    out = _assume(server, keys, role["Arn"], name="alice")
    creds = out["Credentials"]
    assert creds["AccessKeyId"].startswith("ASIA") and len(creds["AccessKeyId"]) == 20
    arn = f"arn:aws:sts::{ROOT_ACCOUNT}:assumed-role/{role['RoleName']}/alice"
    assert out["AssumedRoleUser"] == {"AssumedRoleId": f"{role['RoleId']}:alice", "Arn": arn}
    assert "PackedPolicySize" not in out
    me = client_from(server, "sts", creds).get_caller_identity()
    assert (me["Arn"], me["UserId"], me["Account"]) == (arn, f"{role['RoleId']}:alice", ROOT_ACCOUNT)
    iam = client_from(server, "iam", creds)
    assert iam.get_role(RoleName=role["RoleName"])["Role"]["Arn"] == role["Arn"]  # the role's policy applies
    with pytest.raises(ClientError) as denied:
        iam.list_users()
    code, message = error_of(denied)
    assert code == "AccessDenied" and f"User: {arn} is not authorized to perform: iam:ListUsers" in message


def test_trust_naming_the_account_needs_the_identity_policy(server: Server) -> None:
    role = role_trusting(server, ACCOUNT_TRUST)
    _, without = user_keys(server)
    with pytest.raises(ClientError) as denied:
        _assume(server, without, role["Arn"])
    code, message = error_of(denied)
    assert code == "AccessDenied" and f"sts:AssumeRole on resource: {role['Arn']}" in message
    _, allowed = user_keys(server, allow("sts:AssumeRole", role["Arn"]))
    assert _assume(server, allowed, role["Arn"])["Credentials"]["SessionToken"]


def test_trust_not_naming_the_caller_denies_even_with_identity_policy(server: Server) -> None:
    role = role_trusting(server, trust({"AWS": f"arn:aws:iam::{ROOT_ACCOUNT}:user/{unique('nobody')}"}))
    _, keys = user_keys(server, allow("sts:AssumeRole"))
    with pytest.raises(ClientError) as denied:
        _assume(server, keys, role["Arn"])
    assert error_of(denied)[0] == "AccessDenied"


def test_unknown_role_is_access_denied_and_root_cannot_assume(server: Server) -> None:
    _, keys = user_keys(server, allow("sts:AssumeRole"))
    missing = f"arn:aws:iam::{ROOT_ACCOUNT}:role/{unique('ghost')}"
    with pytest.raises(ClientError) as denied:
        _assume(server, keys, missing)
    assert error_of(denied) [0] == "AccessDenied"
    role = role_trusting(server, ACCOUNT_TRUST)
    with pytest.raises(ClientError) as root:
        server.client("sts").assume_role(RoleArn=role["Arn"], RoleSessionName="root")
    assert error_of(root) == ("AccessDenied", "Roles may not be assumed by root accounts.")


def test_external_id_and_session_name_conditions(server: Server) -> None:
    name, keys = user_keys(server)
    principal = {"AWS": f"arn:aws:iam::{ROOT_ACCOUNT}:user/{name}"}
    condition = {"StringEquals": {"sts:ExternalId": "secret-123", "sts:RoleSessionName": "${aws:username}"}}
    role = role_trusting(server, trust(principal, condition=condition))
    with pytest.raises(ClientError):
        _assume(server, keys, role["Arn"], name=name, ExternalId="wrong-one")
    with pytest.raises(ClientError):
        _assume(server, keys, role["Arn"], name="someone-else", ExternalId="secret-123")
    assert _assume(server, keys, role["Arn"], name=name, ExternalId="secret-123")["Credentials"]


def test_duration_bounds(server: Server) -> None:
    name, keys = user_keys(server)
    role = role_trusting(server, trust({"AWS": f"arn:aws:iam::{ROOT_ACCOUNT}:user/{name}"}), max_session=7200)
    with pytest.raises(ClientError) as over:
        _assume(server, keys, role["Arn"], DurationSeconds=7201)
    assert error_of(over) == ("ValidationError",
                              "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.")
    unchecked = server.client("sts", config=Config(parameter_validation=False, retries={"max_attempts": 1}), **keys)
    with pytest.raises(ClientError) as under:
        unchecked.assume_role(RoleArn=role["Arn"], RoleSessionName="s1", DurationSeconds=899)
    assert error_of(under)[0] == "ValidationError" and "greater than or equal to 900" in error_of(under)[1]
    out = _assume(server, keys, role["Arn"], DurationSeconds=7200)
    issued = out["Credentials"]["Expiration"]
    default = _assume(server, keys, role["Arn"])["Credentials"]["Expiration"]
    assert 7100 < (issued - default).total_seconds() + 3600 < 7300


def test_session_policy_intersects_and_packed_size_is_reported(server: Server) -> None:
    name, keys = user_keys(server)
    role = role_trusting(server, trust({"AWS": f"arn:aws:iam::{ROOT_ACCOUNT}:user/{name}"}),
                         allow(["iam:GetRole", "iam:ListRoles"]))
    out = _assume(server, keys, role["Arn"], Policy=json.dumps(allow(["iam:GetRole", "iam:ListUsers"])))
    assert 0 < out["PackedPolicySize"] <= 100
    iam = client_from(server, "iam", out["Credentials"])
    iam.get_role(RoleName=role["RoleName"])  # in both
    for call in (iam.list_roles, iam.list_users):  # only in the role's / only in the session's
        with pytest.raises(ClientError) as denied:
            call()
        assert error_of(denied)[0] == "AccessDenied"


def test_managed_session_policy_arns(server: Server) -> None:
    name, keys = user_keys(server)
    role = role_trusting(server, trust({"AWS": f"arn:aws:iam::{ROOT_ACCOUNT}:user/{name}"}),
                         allow(["iam:GetRole", "iam:ListRoles"]))
    out = _assume(server, keys, role["Arn"],
                  PolicyArns=[{"arn": "arn:aws:iam::aws:policy/IAMReadOnlyAccess"}])
    iam = client_from(server, "iam", out["Credentials"])
    iam.list_roles()
    with pytest.raises(ClientError) as missing:
        _assume(server, keys, role["Arn"], PolicyArns=[{"arn": f"arn:aws:iam::{ROOT_ACCOUNT}:policy/{unique('no')}"}])
    assert error_of(missing)[0] == "MalformedPolicyDocument"


def test_bad_session_policies(server: Server) -> None:
    name, keys = user_keys(server)
    role = role_trusting(server, trust({"AWS": f"arn:aws:iam::{ROOT_ACCOUNT}:user/{name}"}))
    with pytest.raises(ClientError) as malformed:
        _assume(server, keys, role["Arn"], Policy='{"Statement": [{"Effect": "Maybe"}]}')
    assert error_of(malformed)[0] == "MalformedPolicyDocument"
    statements = [{"Sid": secrets.token_hex(24), "Effect": "Allow", "Action": "s3:GetObject",
                   "Resource": f"arn:aws:s3:::{secrets.token_hex(20)}/*"} for _ in range(40)]
    with pytest.raises(ClientError) as large:
        _assume(server, keys, role["Arn"], Policy=json.dumps({"Version": "2012-10-17", "Statement": statements}))
    code, message = error_of(large)
    assert code == "PackedPolicyTooLarge" and "% of allotted space" in message


def test_session_tags_need_tag_session_and_become_principal_tags(server: Server) -> None:
    name, keys = user_keys(server)
    me = {"AWS": f"arn:aws:iam::{ROOT_ACCOUNT}:user/{name}"}
    by_tag = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "iam:GetRole", "Resource": "*",
                                                       "Condition": {"StringEquals": {"aws:PrincipalTag/team": "blue"}}}]}
    untaggable = role_trusting(server, trust(me), by_tag)
    with pytest.raises(ClientError) as denied:
        _assume(server, keys, untaggable["Arn"], Tags=[{"Key": "team", "Value": "blue"}])
    assert "sts:TagSession" in error_of(denied)[1]
    role = role_trusting(server, trust(me, ["sts:AssumeRole", "sts:TagSession"]), by_tag,
                         tags=[{"Key": "team", "Value": "red"}])
    red = client_from(server, "iam", _assume(server, keys, role["Arn"])["Credentials"])
    with pytest.raises(ClientError):
        red.get_role(RoleName=role["RoleName"])  # the role's own tag says red
    out = _assume(server, keys, role["Arn"], Tags=[{"Key": "team", "Value": "blue"}])
    assert out["PackedPolicySize"] > 0
    client_from(server, "iam", out["Credentials"]).get_role(RoleName=role["RoleName"])  # the session tag wins


def test_role_chaining_caps_duration_and_carries_transitive_tags(server: Server) -> None:
    name, keys = user_keys(server)
    first = role_trusting(server, trust({"AWS": f"arn:aws:iam::{ROOT_ACCOUNT}:user/{name}"},
                                        ["sts:AssumeRole", "sts:TagSession"]), max_session=43200)
    second = role_trusting(
        server, trust({"AWS": first["Arn"]}, ["sts:AssumeRole", "sts:TagSession"]),
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "iam:GetRole", "Resource": "*",
                                                  "Condition": {"StringEquals": {"aws:PrincipalTag/project": "x"}}}]},
        max_session=43200,
    )
    iam = server.client("iam")
    iam.put_role_policy(RoleName=first["RoleName"], PolicyName="chain",
                        PolicyDocument=json.dumps(allow("sts:AssumeRole", second["Arn"])))
    out = _assume(server, keys, first["Arn"], Tags=[{"Key": "project", "Value": "x"}], TransitiveTagKeys=["project"])
    sts = client_from(server, "sts", out["Credentials"])
    with pytest.raises(ClientError) as long:
        sts.assume_role(RoleArn=second["Arn"], RoleSessionName="hop", DurationSeconds=7200)
    assert "1 hour session limit for roles assumed by role chaining" in error_of(long)[1]
    hop = sts.assume_role(RoleArn=second["Arn"], RoleSessionName="hop")
    assert client_from(server, "sts", hop["Credentials"]).get_caller_identity()["Arn"].endswith(
        f"assumed-role/{second['RoleName']}/hop")
    client_from(server, "iam", hop["Credentials"]).get_role(RoleName=second["RoleName"])  # project=x carried
    with pytest.raises(ClientError) as clash:
        sts.assume_role(RoleArn=second["Arn"], RoleSessionName="hop2", Tags=[{"Key": "project", "Value": "y"}])
    assert error_of(clash)[0] == "InvalidParameterValue"


def test_revoking_active_sessions_with_token_issue_time(server: Server) -> None:
    name, keys = user_keys(server)
    role = role_trusting(server, trust({"AWS": f"arn:aws:iam::{ROOT_ACCOUNT}:user/{name}"}), allow("iam:GetRole"))
    creds = _assume(server, keys, role["Arn"])["Credentials"]
    iam = client_from(server, "iam", creds)
    iam.get_role(RoleName=role["RoleName"])
    cutoff = server.admin("POST", "clock/advance", json={"seconds": 2}).json()["now"][:19] + "Z"
    revoke = {"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "*", "Resource": "*",
                                                       "Condition": {"DateLessThan": {"aws:TokenIssueTime": cutoff}}}]}
    server.client("iam").put_role_policy(RoleName=role["RoleName"], PolicyName="AWSRevokeOlderSessions",
                                         PolicyDocument=json.dumps(revoke))
    with pytest.raises(ClientError) as revoked:
        iam.get_role(RoleName=role["RoleName"])
    assert "explicit deny" in error_of(revoked)[1]
    fresh = client_from(server, "iam", _assume(server, keys, role["Arn"])["Credentials"])
    fresh.get_role(RoleName=role["RoleName"])


def test_deleted_role_leaves_its_sessions_without_rights(server: Server) -> None:
    name, keys = user_keys(server)
    role = role_trusting(server, trust({"AWS": f"arn:aws:iam::{ROOT_ACCOUNT}:user/{name}"}), allow("iam:GetUser"))
    iam = client_from(server, "iam", _assume(server, keys, role["Arn"])["Credentials"])
    iam.get_user(UserName=name)
    root = server.client("iam")
    root.delete_role_policy(RoleName=role["RoleName"], PolicyName="inline")
    root.delete_role(RoleName=role["RoleName"])
    root.create_role(RoleName=role["RoleName"], AssumeRolePolicyDocument=json.dumps(trust({"AWS": ROOT_ACCOUNT})))
    root.put_role_policy(RoleName=role["RoleName"], PolicyName="inline", PolicyDocument=json.dumps(allow("*")))
    with pytest.raises(ClientError) as denied:  # a new role of the same name is not the session's role
        iam.get_user(UserName=name)
    assert error_of(denied)[0] == "AccessDenied"


def test_source_identity_needs_permission_and_sticks_to_the_session(server: Server) -> None:
    name, keys = user_keys(server)
    me = {"AWS": f"arn:aws:iam::{ROOT_ACCOUNT}:user/{name}"}
    plain = role_trusting(server, trust(me))
    with pytest.raises(ClientError) as denied:
        _assume(server, keys, plain["Arn"], SourceIdentity="alice")
    assert "sts:SetSourceIdentity" in error_of(denied)[1]
    by_source = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "iam:GetRole", "Resource": "*",
                                                          "Condition": {"StringEquals": {"aws:SourceIdentity": "alice"}}}]}
    condition = {"StringEquals": {"sts:SourceIdentity": "alice"}}
    role = role_trusting(server, trust(me, ["sts:AssumeRole", "sts:SetSourceIdentity"], condition), by_source)
    with pytest.raises(ClientError):
        _assume(server, keys, role["Arn"], SourceIdentity="mallory")  # the trust policy's condition
    out = _assume(server, keys, role["Arn"], SourceIdentity="alice")
    assert out["SourceIdentity"] == "alice"
    client_from(server, "iam", out["Credentials"]).get_role(RoleName=role["RoleName"])
    unnamed = _assume(server, keys, plain["Arn"])
    assert "SourceIdentity" not in unnamed


def test_mfa_session_carries_mfa_into_assume_role(server: Server) -> None:
    from tests.services.sts.test_tokens import current_code, user_with_mfa

    name, keys, serial, seed = user_with_mfa(server, allow("sts:GetSessionToken"))
    mfa_trust = trust({"AWS": f"arn:aws:iam::{ROOT_ACCOUNT}:user/{name}"},
                      condition={"Bool": {"aws:MultiFactorAuthPresent": "true"}})
    role = role_trusting(server, mfa_trust)
    with pytest.raises(ClientError):
        _assume(server, keys, role["Arn"])
    direct = _assume(server, keys, role["Arn"], SerialNumber=serial, TokenCode=current_code(server, seed))
    assert direct["Credentials"]["AccessKeyId"].startswith("ASIA")
    with pytest.raises(ClientError) as bad_code:
        _assume(server, keys, role["Arn"], SerialNumber=serial, TokenCode=current_code(server, seed))  # used up
    assert "MultiFactorAuthentication failed" in error_of(bad_code)[1]
    server.admin("POST", "clock/advance", json={"seconds": 30})  # the next time step: a fresh code
    session = server.client("sts", **keys).get_session_token(SerialNumber=serial,
                                                             TokenCode=current_code(server, seed))["Credentials"]
    hop = client_from(server, "sts", session).assume_role(RoleArn=role["Arn"], RoleSessionName="via-mfa-session")
    assert hop["AssumedRoleUser"]["Arn"].endswith("/via-mfa-session")


def test_a_chained_session_carries_its_source_identity_into_the_next_trust_check(server: Server) -> None:
    """The source identity cannot be changed or shed down a chain: the next role's trust policy sees it
    (sts:SourceIdentity, and sts:SetSourceIdentity must be allowed), so a Deny on it holds."""
    name, keys = user_keys(server)
    account = {"AWS": f"arn:aws:iam::{ROOT_ACCOUNT}:root"}
    first = role_trusting(server, trust({"AWS": f"arn:aws:iam::{ROOT_ACCOUNT}:user/{name}"},
                                        ["sts:AssumeRole", "sts:SetSourceIdentity"]),
                          allow(["sts:AssumeRole", "sts:SetSourceIdentity"]))
    hop = client_from(server, "sts", _assume(server, keys, first["Arn"], SourceIdentity="mallory")["Credentials"])
    deny_mallory = trust(account, ["sts:AssumeRole", "sts:SetSourceIdentity"])
    deny_mallory["Statement"].append({"Effect": "Deny", "Principal": account, "Action": "sts:AssumeRole",
                                      "Condition": {"StringEquals": {"sts:SourceIdentity": "mallory"}}})
    guarded = role_trusting(server, deny_mallory)
    without_set = role_trusting(server, trust(account))
    open_role = role_trusting(server, trust(account, ["sts:AssumeRole", "sts:SetSourceIdentity"]))
    for role in (guarded, without_set):
        with pytest.raises(ClientError) as denied:
            hop.assume_role(RoleArn=role["Arn"], RoleSessionName="shed")
        assert error_of(denied)[0] == "AccessDenied", role["RoleName"]
    with pytest.raises(ClientError) as changed:
        hop.assume_role(RoleArn=open_role["Arn"], RoleSessionName="rename", SourceIdentity="alice")
    assert error_of(changed)[0] == "AccessDenied"
    kept = hop.assume_role(RoleArn=open_role["Arn"], RoleSessionName="kept")
    assert kept["SourceIdentity"] == "mallory"

"""Grants: a grantee may use the key where the key policy is silent, within the grant's constraints."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.conftest import ROOT_ACCOUNT, Server
from tests.services.kms.helpers import key_policy, root_only_statement, user_clients


def _code(caught: Any) -> str:
    return caught.value.response["Error"]["Code"]


def _silent_key(server: Server, kms: Any) -> dict[str, Any]:
    """A key whose policy names only an admin user: nobody else gets anything from it or from IAM."""
    admin_arn, _ = user_clients(server)
    return kms.create_key(Policy=key_policy({"Effect": "Allow", "Principal": {"AWS": admin_arn}, "Action": "kms:*",
                                             "Resource": "*"}, root_only_statement(ROOT_ACCOUNT)),
                          BypassPolicyLockoutSafetyCheck=True)["KeyMetadata"]


def test_grant_allows_and_retire_removes(server: Server, kms: Any) -> None:
    key = _silent_key(server, kms)
    grantee_arn, grantee = user_clients(server)
    retiree_arn, retiree = user_clients(server)
    with pytest.raises(ClientError) as caught:
        grantee.encrypt(KeyId=key["KeyId"], Plaintext=b"x")
    assert _code(caught) == "AccessDeniedException"
    made = kms.create_grant(KeyId=key["KeyId"], GranteePrincipal=grantee_arn, RetiringPrincipal=retiree_arn,
                            Operations=["Encrypt", "Decrypt"], Name="app-grant")
    assert len(made["GrantId"]) == 64 and made["GrantToken"]
    blob = grantee.encrypt(KeyId=key["KeyId"], Plaintext=b"granted", GrantTokens=[made["GrantToken"]])[
        "CiphertextBlob"]
    assert grantee.decrypt(CiphertextBlob=blob, KeyId=key["KeyId"])["Plaintext"] == b"granted"
    with pytest.raises(ClientError) as caught:  # only the granted operations
        grantee.generate_data_key(KeyId=key["KeyId"], KeySpec="AES_256")
    assert _code(caught) == "AccessDeniedException"
    listed = kms.list_grants(KeyId=key["KeyId"])["Grants"]
    assert [(g["GrantId"], g["GranteePrincipal"], g["RetiringPrincipal"], sorted(g["Operations"]), g["Name"])
            for g in listed] == [(made["GrantId"], grantee_arn, retiree_arn, ["Decrypt", "Encrypt"], "app-grant")]
    retirable = kms.list_retirable_grants(RetiringPrincipal=retiree_arn)["Grants"]
    assert [g["GrantId"] for g in retirable] == [made["GrantId"]] and retirable[0]["KeyId"] == key["Arn"]
    retiree.retire_grant(KeyId=key["Arn"], GrantId=made["GrantId"])
    assert kms.list_grants(KeyId=key["KeyId"])["Grants"] == []
    with pytest.raises(ClientError) as caught:
        grantee.encrypt(KeyId=key["KeyId"], Plaintext=b"x")
    assert _code(caught) == "AccessDeniedException"


def test_grantee_is_needed(kms: Any) -> None:
    """The model makes GranteePrincipal optional (GranteeServicePrincipal may stand instead): absent, it is a
    4xx error, not a crash; GranteeServicePrincipal is refused as unsupported."""
    key = kms.create_key()["KeyMetadata"]["KeyId"]
    for extra, code in (({}, "ValidationException"),
                        ({"GranteeServicePrincipal": "logs.amazonaws.com"}, "UnsupportedOperationException")):
        with pytest.raises(ClientError) as caught:
            kms.create_grant(KeyId=key, Operations=["Encrypt"], **extra)
        assert _code(caught) == code
    assert kms.list_grants(KeyId=key)["Grants"] == []


def test_grant_constraints(server: Server, kms: Any) -> None:
    key = _silent_key(server, kms)
    grantee_arn, grantee = user_clients(server)
    kms.create_grant(KeyId=key["KeyId"], GranteePrincipal=grantee_arn, Operations=["Encrypt"],
                     Constraints={"EncryptionContextSubset": {"app": "x"}})
    equal_arn, equal = user_clients(server)
    kms.create_grant(KeyId=key["KeyId"], GranteePrincipal=equal_arn, Operations=["Encrypt"],
                     Constraints={"EncryptionContextEquals": {"app": "x"}})
    assert grantee.encrypt(KeyId=key["KeyId"], Plaintext=b"1", EncryptionContext={"app": "x", "more": "y"})
    assert equal.encrypt(KeyId=key["KeyId"], Plaintext=b"1", EncryptionContext={"app": "x"})
    for client, context in ((grantee, {"app": "y"}), (grantee, {}), (equal, {"app": "x", "more": "y"}),
                            (equal, {})):
        with pytest.raises(ClientError) as caught:
            client.encrypt(KeyId=key["KeyId"], Plaintext=b"1", EncryptionContext=context)
        assert _code(caught) == "AccessDeniedException"


def test_revoke_and_retire_by_token(server: Server, kms: Any) -> None:
    key = _silent_key(server, kms)
    grantee_arn, grantee = user_clients(server)
    first = kms.create_grant(KeyId=key["KeyId"], GranteePrincipal=grantee_arn, Operations=["Encrypt"])
    second = kms.create_grant(KeyId=key["KeyId"], GranteePrincipal=grantee_arn, Operations=["Encrypt"])
    kms.revoke_grant(KeyId=key["KeyId"], GrantId=first["GrantId"])
    assert grantee.encrypt(KeyId=key["KeyId"], Plaintext=b"x")  # the second grant still allows
    kms.retire_grant(GrantToken=second["GrantToken"])
    with pytest.raises(ClientError) as caught:
        grantee.encrypt(KeyId=key["KeyId"], Plaintext=b"x")
    assert _code(caught) == "AccessDeniedException"
    with pytest.raises(ClientError) as caught:
        kms.retire_grant(GrantToken=second["GrantToken"])
    assert _code(caught) == "InvalidGrantTokenException"
    with pytest.raises(ClientError) as caught:
        kms.revoke_grant(KeyId=key["KeyId"], GrantId=first["GrantId"])
    assert _code(caught) == "NotFoundException"
    with pytest.raises(ClientError) as caught:
        kms.create_grant(KeyId=key["KeyId"], GranteePrincipal=grantee_arn, Operations=["DescribeKey"],
                         Constraints={"EncryptionContextSubset": {"a": "b"}})
    assert _code(caught) == "ValidationException"


def test_grant_condition_keys(server: Server, kms: Any) -> None:
    key = kms.create_key()["KeyMetadata"]
    grantee_arn, _ = user_clients(server)
    _, limited = user_clients(server, {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Action": "kms:CreateGrant", "Resource": key["Arn"],
        "Condition": {"ForAllValues:StringEquals": {"kms:GrantOperations": ["Decrypt"]},
                      "Bool": {"kms:GrantIsForAWSResource": "false"}}}]})
    assert limited.create_grant(KeyId=key["KeyId"], GranteePrincipal=grantee_arn, Operations=["Decrypt"])["GrantId"]
    with pytest.raises(ClientError) as caught:
        limited.create_grant(KeyId=key["KeyId"], GranteePrincipal=grantee_arn, Operations=["Decrypt", "Encrypt"])
    assert _code(caught) == "AccessDeniedException"

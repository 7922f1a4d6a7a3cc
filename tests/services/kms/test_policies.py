"""Key policies enforced by the engine: KMS's rule, delegation to IAM, lockout check, conditions, cross-account."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.conftest import ROOT_ACCOUNT, Server
from tests.services.iam.helpers import allow
from tests.services.kms.helpers import (
    key_policy,
    root_only_statement,
    root_statement,
    user_clients,
)

ADMIN_ONLY_SID = "admin-only"


def _code(caught: Any) -> str:
    return caught.value.response["Error"]["Code"]


def _admin_only_key(server: Server, kms: Any, *extra: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """A key whose policy names one admin user (not the account): IAM policies do not count for it."""
    admin_arn, _ = user_clients(server)
    statement = {"Sid": ADMIN_ONLY_SID, "Effect": "Allow", "Principal": {"AWS": admin_arn}, "Action": "kms:*",
                 "Resource": "*"}
    key = kms.create_key(Policy=key_policy(statement, root_only_statement(ROOT_ACCOUNT), *extra),
                         BypassPolicyLockoutSafetyCheck=True)["KeyMetadata"]
    return admin_arn, key


def test_iam_allow_without_delegation_is_denied(server: Server, kms: Any) -> None:
    _, user = user_clients(server, allow(["kms:Encrypt", "kms:Decrypt", "kms:DescribeKey"]))
    _, key = _admin_only_key(server, kms)
    with pytest.raises(ClientError) as caught:
        user.encrypt(KeyId=key["KeyId"], Plaintext=b"x")
    assert _code(caught) == "AccessDeniedException"
    assert f"kms:Encrypt on resource: {key['Arn']}" in caught.value.response["Error"]["Message"]
    blob = kms.encrypt(KeyId=key["KeyId"], Plaintext=b"x")["CiphertextBlob"]  # root of the account
    with pytest.raises(ClientError) as caught:
        user.decrypt(CiphertextBlob=blob)
    assert _code(caught) == "AccessDeniedException"
    # The default policy delegates to IAM: the same user may use such a key.
    delegated = kms.create_key()["KeyMetadata"]["KeyId"]
    blob = user.encrypt(KeyId=delegated, Plaintext=b"ok")["CiphertextBlob"]
    assert user.decrypt(CiphertextBlob=blob)["Plaintext"] == b"ok"


def test_key_policy_alone_grants_a_named_user(server: Server, kms: Any) -> None:
    user_arn, user = user_clients(server)  # no IAM policy at all
    _, key = _admin_only_key(server, kms, {"Effect": "Allow", "Principal": {"AWS": user_arn},
                                           "Action": ["kms:Encrypt", "kms:Decrypt"], "Resource": "*"})
    blob = user.encrypt(KeyId=key["KeyId"], Plaintext=b"named")["CiphertextBlob"]
    assert user.decrypt(CiphertextBlob=blob, KeyId=key["Arn"])["Plaintext"] == b"named"
    with pytest.raises(ClientError) as caught:
        user.describe_key(KeyId=key["KeyId"])
    assert _code(caught) == "AccessDeniedException"


def test_explicit_deny_in_key_policy_beats_iam(server: Server, kms: Any) -> None:
    user_arn, user = user_clients(server, allow("kms:*"))
    deny = {"Effect": "Deny", "Principal": {"AWS": user_arn}, "Action": "kms:Decrypt", "Resource": "*"}
    key = kms.create_key(Policy=key_policy(root_statement(ROOT_ACCOUNT), deny))["KeyMetadata"]["KeyId"]
    blob = user.encrypt(KeyId=key, Plaintext=b"x")["CiphertextBlob"]
    with pytest.raises(ClientError) as caught:
        user.decrypt(CiphertextBlob=blob)
    assert _code(caught) == "AccessDeniedException"


def test_lockout_safety_check(server: Server, kms: Any) -> None:
    key = kms.create_key()["KeyMetadata"]["KeyId"]
    admin_arn, _ = user_clients(server)
    locked = key_policy({"Effect": "Allow", "Principal": {"AWS": admin_arn}, "Action": "kms:Encrypt",
                         "Resource": "*"})
    with pytest.raises(ClientError) as caught:
        kms.put_key_policy(KeyId=key, PolicyName="default", Policy=locked)
    assert _code(caught) == "MalformedPolicyDocumentException"
    assert "will not allow you to update the key policy" in caught.value.response["Error"]["Message"]
    with pytest.raises(ClientError) as caught:
        kms.create_key(Policy=locked)
    assert _code(caught) == "MalformedPolicyDocumentException"
    with pytest.raises(ClientError) as caught:
        kms.put_key_policy(KeyId=key, PolicyName="default", Policy='{"Statement": "nope"')
    assert _code(caught) == "MalformedPolicyDocumentException"
    kms.put_key_policy(KeyId=key, PolicyName="default", Policy=locked, BypassPolicyLockoutSafetyCheck=True)
    with pytest.raises(ClientError) as caught:  # locked out: even root, as AWS warns
        kms.get_key_policy(KeyId=key, PolicyName="default")
    assert _code(caught) == "AccessDeniedException"


def test_default_policy(kms: Any) -> None:
    key = kms.create_key()["KeyMetadata"]["KeyId"]
    policy = json.loads(kms.get_key_policy(KeyId=key, PolicyName="default")["Policy"])
    assert policy["Statement"] == [{"Sid": "Enable IAM User Permissions", "Effect": "Allow",
                                    "Principal": {"AWS": f"arn:aws:iam::{ROOT_ACCOUNT}:root"}, "Action": "kms:*",
                                    "Resource": "*"}]


def test_encryption_context_and_caller_account_conditions(server: Server, kms: Any) -> None:
    user_arn, user = user_clients(server)
    conditional = {"Effect": "Allow", "Principal": {"AWS": user_arn}, "Action": ["kms:Encrypt", "kms:Decrypt"],
                   "Resource": "*", "Condition": {"StringEquals": {"kms:EncryptionContext:app": "billing",
                                                                   "kms:CallerAccount": ROOT_ACCOUNT}}}
    _, key = _admin_only_key(server, kms, conditional)
    blob = user.encrypt(KeyId=key["KeyId"], Plaintext=b"x", EncryptionContext={"app": "billing"})["CiphertextBlob"]
    assert user.decrypt(CiphertextBlob=blob, KeyId=key["KeyId"], EncryptionContext={"app": "billing"})[
        "Plaintext"] == b"x"
    for context in ({"app": "other"}, {}):
        with pytest.raises(ClientError) as caught:
            user.encrypt(KeyId=key["KeyId"], Plaintext=b"x", EncryptionContext=context)
        assert _code(caught) == "AccessDeniedException"


def test_alias_resolves_to_the_key_arn(server: Server, kms: Any) -> None:
    key = kms.create_key()["KeyMetadata"]
    alias = f"alias/pol-{uuid.uuid4().hex[:8]}"
    kms.create_alias(AliasName=alias, TargetKeyId=key["KeyId"])
    _, user = user_clients(server, allow("kms:Encrypt", key["Arn"]))
    assert user.encrypt(KeyId=alias, Plaintext=b"x")["KeyId"] == key["Arn"]
    _, by_alias = user_clients(server, {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Action": "kms:Encrypt", "Resource": "*",
        "Condition": {"StringEquals": {"kms:RequestAlias": alias}}}]})
    assert by_alias.encrypt(KeyId=alias, Plaintext=b"x")["KeyId"] == key["Arn"]
    with pytest.raises(ClientError) as caught:
        by_alias.encrypt(KeyId=key["KeyId"], Plaintext=b"x")
    assert _code(caught) == "AccessDeniedException"
    _, spec_bound = user_clients(server, {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Action": "kms:Encrypt", "Resource": "*",
        "Condition": {"StringEquals": {"kms:KeySpec": "RSA_2048"}}}]})
    with pytest.raises(ClientError) as caught:
        spec_bound.encrypt(KeyId=alias, Plaintext=b"x")
    assert _code(caught) == "AccessDeniedException"


def test_cross_account_use(server: Server, kms: Any, other_root: tuple[str, dict[str, str]]) -> None:
    other, creds = other_root
    shared = {"Sid": "other-account", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{other}:root"},
              "Action": ["kms:Encrypt", "kms:Decrypt", "kms:DescribeKey"], "Resource": "*"}
    key = kms.create_key(Policy=key_policy(root_statement(ROOT_ACCOUNT), shared))["KeyMetadata"]
    private = kms.create_key()["KeyMetadata"]
    _, theirs = user_clients(server, allow(["kms:Encrypt", "kms:Decrypt"], [key["Arn"], private["Arn"]]), creds)
    blob = theirs.encrypt(KeyId=key["Arn"], Plaintext=b"across")["CiphertextBlob"]
    assert kms.decrypt(CiphertextBlob=blob)["Plaintext"] == b"across"
    assert theirs.decrypt(CiphertextBlob=blob, KeyId=key["Arn"])["Plaintext"] == b"across"
    with pytest.raises(ClientError) as caught:  # the default policy does not name the other account
        theirs.encrypt(KeyId=private["Arn"], Plaintext=b"x")
    assert _code(caught) == "AccessDeniedException"
    _, no_iam = user_clients(server, None, creds)
    with pytest.raises(ClientError) as caught:  # across accounts the caller's IAM policy must allow too
        no_iam.encrypt(KeyId=key["Arn"], Plaintext=b"x")
    assert _code(caught) == "AccessDeniedException"
    their_root = server.client("kms", **creds)
    assert their_root.describe_key(KeyId=key["Arn"])["KeyMetadata"]["Arn"] == key["Arn"]
    for attempt in (lambda: their_root.encrypt(KeyId=private["Arn"], Plaintext=b"x"),
                    lambda: their_root.describe_key(KeyId=private["Arn"])):
        with pytest.raises(ClientError) as caught:
            attempt()
        assert _code(caught) == "AccessDeniedException"
    with pytest.raises(ClientError) as caught:  # a bare id names a key of the caller's own account
        their_root.describe_key(KeyId=key["KeyId"])
    assert _code(caught) == "NotFoundException"


def test_management_of_another_accounts_key_is_refused(server: Server, kms: Any,
                                                       other_root: tuple[str, dict[str, str]]) -> None:
    other, creds = other_root
    generous = {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{other}:root"}, "Action": "kms:*",
                "Resource": "*"}
    key = kms.create_key(Policy=key_policy(root_statement(ROOT_ACCOUNT), generous))["KeyMetadata"]
    their_root = server.client("kms", **creds)
    assert their_root.describe_key(KeyId=key["Arn"])["KeyMetadata"]["KeyId"] == key["KeyId"]
    blob = their_root.encrypt(KeyId=key["Arn"], Plaintext=b"x")["CiphertextBlob"]
    assert their_root.decrypt(CiphertextBlob=blob)["Plaintext"] == b"x"
    # Even kms:* in the key policy does not let another account manage the key: AWS answers as if it were absent.
    for attempt in (lambda: their_root.schedule_key_deletion(KeyId=key["Arn"]),
                    lambda: their_root.disable_key(KeyId=key["Arn"]),
                    lambda: their_root.put_key_policy(KeyId=key["Arn"], PolicyName="default",
                                                      Policy=key_policy(generous))):
        with pytest.raises(ClientError) as caught:
            attempt()
        assert _code(caught) == "NotFoundException"
    assert kms.describe_key(KeyId=key["KeyId"])["KeyMetadata"]["KeyState"] == "Enabled"


def test_decrypt_without_key_id_with_a_policy_scoped_to_the_key(server: Server, kms: Any) -> None:
    key = kms.create_key()["KeyMetadata"]
    _, user = user_clients(server, allow(["kms:Encrypt", "kms:Decrypt"], key["Arn"]))
    blob = user.encrypt(KeyId=key["Arn"], Plaintext=b"x")["CiphertextBlob"]
    assert user.decrypt(CiphertextBlob=blob, KeyId=key["Arn"])["Plaintext"] == b"x"
    assert user.decrypt(CiphertextBlob=blob)["Plaintext"] == b"x"


def test_a_key_policy_without_the_account_locks_out_even_root(kms: Any) -> None:
    """As in AWS: root may do everything in its account except what a key policy withholds."""
    key = kms.create_key(
        Policy=json.dumps({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:root"}, "Action": "kms:*", "Resource": "*"}
        ]}),
        BypassPolicyLockoutSafetyCheck=True,
    )["KeyMetadata"]
    with pytest.raises(ClientError) as caught:
        kms.encrypt(KeyId=key["KeyId"], Plaintext=b"x")
    assert _code(caught) == "AccessDeniedException"

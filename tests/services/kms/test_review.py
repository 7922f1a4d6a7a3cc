"""Holes found in review, each shown closed through the front door (boto3 against the server).

Grant tokens that retire another key's grants, alias changes that skip the key policy, grants that
create wider grants, DryRun that acts, blobs of another region, lockout checks blind to KMS's own
condition keys, S3's calls that did not say they came through a service.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from typing import Any

import pytest
from botocore.exceptions import ClientError

from rampart.services.kms import keys
from rampart.services.kms.keys import KeyRef
from rampart.services.kms.policy import grant_statements
from tests.conftest import ROOT_ACCOUNT, Server
from tests.services.iam.helpers import unique
from tests.services.kms.helpers import key_policy, root_only_statement, user_clients
from tests.services.sts.core_helpers import client_from, role_trusting, trust, user_keys


def _code(caught: Any) -> str:
    return caught.value.response["Error"]["Code"]


def _everything() -> dict[str, Any]:
    """An IAM policy allowing all of KMS (so only key policies and grants can say no)."""
    return {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "kms:*", "Resource": "*"}]}


def _silent_key(kms: Any) -> dict[str, Any]:
    """A key whose policy names only the account's root user (no delegation to IAM)."""
    return kms.create_key(Policy=key_policy(root_only_statement(ROOT_ACCOUNT)),
                          BypassPolicyLockoutSafetyCheck=True)["KeyMetadata"]


def test_a_grant_token_cannot_retire_a_grant_of_another_key(server: Server, kms: Any) -> None:
    """Authorized on key A (KeyId), the token's grant on key B stays: B's policy is asked, and must allow."""
    silent = _silent_key(kms)
    open_key = kms.create_key()["KeyMetadata"]  # default policy: IAM decides
    grantee_arn, _ = user_clients(server)
    made = kms.create_grant(KeyId=silent["KeyId"], GranteePrincipal=grantee_arn, Operations=["Encrypt"])
    _, user = user_clients(server, _everything())
    with pytest.raises(ClientError) as caught:
        user.retire_grant(GrantToken=made["GrantToken"], KeyId=open_key["Arn"])
    assert _code(caught) == "AccessDeniedException"
    with pytest.raises(ClientError) as caught:  # even root, which may act on both keys, must name the right key
        kms.retire_grant(GrantToken=made["GrantToken"], KeyId=open_key["Arn"])
    assert _code(caught) == "InvalidGrantTokenException"
    assert [g["GrantId"] for g in kms.list_grants(KeyId=silent["KeyId"])["Grants"]] == [made["GrantId"]]
    kms.retire_grant(GrantToken=made["GrantToken"], KeyId=silent["Arn"], GrantId=made["GrantId"])
    assert kms.list_grants(KeyId=silent["KeyId"])["Grants"] == []


def test_alias_changes_need_the_current_keys_policy(server: Server, kms: Any) -> None:
    """AWS: UpdateAlias and DeleteAlias also need the action on the alias's current key (key policy)."""
    silent = _silent_key(kms)
    mine = kms.create_key()["KeyMetadata"]
    alias = f"alias/{unique('guarded')}"
    kms.create_alias(AliasName=alias, TargetKeyId=silent["KeyId"])
    _, user = user_clients(server, _everything())
    for attempt in (lambda: user.update_alias(AliasName=alias, TargetKeyId=mine["KeyId"]),
                    lambda: user.delete_alias(AliasName=alias)):
        with pytest.raises(ClientError) as caught:
            attempt()
        assert _code(caught) == "AccessDeniedException"
    aliases = kms.list_aliases(KeyId=silent["KeyId"])["Aliases"]
    assert [a["AliasName"] for a in aliases] == [alias]
    own = f"alias/{unique('free')}"  # on keys whose policies delegate to IAM, the same user may
    user.create_alias(AliasName=own, TargetKeyId=mine["KeyId"])
    user.update_alias(AliasName=own, TargetKeyId=kms.create_key()["KeyMetadata"]["KeyId"])
    user.delete_alias(AliasName=own)


def test_a_grant_that_allows_create_grant_cannot_widen_itself(server: Server, kms: Any) -> None:
    key = _silent_key(kms)
    holder_arn, holder = user_clients(server)
    other_arn, _ = user_clients(server)
    kms.create_grant(KeyId=key["KeyId"], GranteePrincipal=holder_arn, Operations=["CreateGrant", "Encrypt"])
    with pytest.raises(ClientError) as caught:  # Decrypt is not in the grant that allows creating grants
        holder.create_grant(KeyId=key["Arn"], GranteePrincipal=holder_arn, Operations=["Decrypt"])
    assert _code(caught) == "AccessDeniedException"
    assert holder.create_grant(KeyId=key["Arn"], GranteePrincipal=other_arn, Operations=["Encrypt"])["GrantId"]
    assert kms.create_grant(KeyId=key["KeyId"], GranteePrincipal=other_arn, Operations=["Decrypt"])["GrantId"]


def test_a_constrained_grant_creates_only_as_strict_grants(server: Server, kms: Any) -> None:
    key = _silent_key(kms)
    holder_arn, holder = user_clients(server)
    other_arn, _ = user_clients(server)
    kms.create_grant(KeyId=key["KeyId"], GranteePrincipal=holder_arn,
                     Operations=["CreateGrant", "Encrypt", "DescribeKey"],
                     Constraints={"EncryptionContextSubset": {"app": "a"}})
    for constraints in (None, {"EncryptionContextSubset": {"app": "b"}}, {"EncryptionContextSubset": {"x": "a"}}):
        extra = {"Constraints": constraints} if constraints else {}
        with pytest.raises(ClientError) as caught:
            holder.create_grant(KeyId=key["Arn"], GranteePrincipal=other_arn, Operations=["Encrypt"], **extra)
        assert _code(caught) == "AccessDeniedException"
    for constraints in ({"EncryptionContextSubset": {"app": "a", "more": "b"}},
                        {"EncryptionContextEquals": {"app": "a"}}):
        assert holder.create_grant(KeyId=key["Arn"], GranteePrincipal=other_arn, Operations=["Encrypt"],
                                   Constraints=constraints)["GrantId"]
    # The constraint does not apply to DescribeKey (AWS: it applies only to operations with a context).
    assert holder.describe_key(KeyId=key["Arn"])["KeyMetadata"]["Arn"] == key["Arn"]


def test_grant_operations_must_fit_the_key(kms: Any) -> None:
    signing = kms.create_key(KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY")["KeyMetadata"]
    root = f"arn:aws:iam::{ROOT_ACCOUNT}:root"
    for operations, constraints in ((["Encrypt"], None), (["GenerateMac"], None),
                                    (["Sign"], {"EncryptionContextSubset": {"a": "b"}})):
        with pytest.raises(ClientError) as caught:
            kms.create_grant(KeyId=signing["KeyId"], GranteePrincipal=root, Operations=operations,
                             **({"Constraints": constraints} if constraints else {}))
        assert _code(caught) == "ValidationException"
    assert kms.create_grant(KeyId=signing["KeyId"], GranteePrincipal=root, Operations=["Sign", "GetPublicKey"])


def test_dry_run_acts_on_nothing(server: Server, kms: Any) -> None:
    key = kms.create_key()["KeyMetadata"]
    grantee_arn, _ = user_clients(server)
    made = kms.create_grant(KeyId=key["KeyId"], GranteePrincipal=grantee_arn, Operations=["Encrypt"])
    signing = kms.create_key(KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY")["KeyMetadata"]["KeyId"]
    mac = kms.create_key(KeySpec="HMAC_256", KeyUsage="GENERATE_VERIFY_MAC")["KeyMetadata"]["KeyId"]
    attempts = [
        lambda: kms.revoke_grant(KeyId=key["KeyId"], GrantId=made["GrantId"], DryRun=True),
        lambda: kms.retire_grant(GrantToken=made["GrantToken"], DryRun=True),
        lambda: kms.create_grant(KeyId=key["KeyId"], GranteePrincipal=grantee_arn, Operations=["Decrypt"],
                                 DryRun=True),
        lambda: kms.encrypt(KeyId=key["KeyId"], Plaintext=b"x", DryRun=True),
        lambda: kms.generate_data_key(KeyId=key["KeyId"], KeySpec="AES_256", DryRun=True),
        lambda: kms.decrypt(CiphertextBlob=kms.encrypt(KeyId=key["KeyId"], Plaintext=b"x")["CiphertextBlob"],
                            DryRun=True),
        lambda: kms.sign(KeyId=signing, Message=b"m", SigningAlgorithm="ECDSA_SHA_256", DryRun=True),
        lambda: kms.generate_mac(KeyId=mac, Message=b"m", MacAlgorithm="HMAC_SHA_256", DryRun=True),
    ]
    for attempt in attempts:
        with pytest.raises(ClientError) as caught:
            attempt()
        assert _code(caught) == "DryRunOperationException"
        assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 412
    assert [g["GrantId"] for g in kms.list_grants(KeyId=key["KeyId"])["Grants"]] == [made["GrantId"]]
    _, nobody = user_clients(server)
    with pytest.raises(ClientError) as caught:  # DryRun still asks the engine first
        nobody.encrypt(KeyId=key["Arn"], Plaintext=b"x", DryRun=True)
    assert _code(caught) == "AccessDeniedException"


def test_a_blob_of_another_region_names_no_key_here(server: Server, kms: Any) -> None:
    key = kms.create_key()["KeyMetadata"]
    blob = kms.encrypt(KeyId=key["KeyId"], Plaintext=b"regional")["CiphertextBlob"]
    elsewhere = server.client("kms", region_name="eu-west-3")
    with pytest.raises(ClientError) as caught:
        elsewhere.decrypt(CiphertextBlob=blob)
    assert _code(caught) == "InvalidCiphertextException"
    assert kms.decrypt(CiphertextBlob=blob)["Plaintext"] == b"regional"


def test_lockout_check_knows_kms_caller_account(kms: Any) -> None:
    """A policy conditioned on kms:CallerAccount still lets root change it later: no false lockout."""
    policy = key_policy({"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ROOT_ACCOUNT}:root"},
                         "Action": "kms:*", "Resource": "*",
                         "Condition": {"StringEquals": {"kms:CallerAccount": ROOT_ACCOUNT}}})
    key = kms.create_key(Policy=policy)["KeyMetadata"]
    kms.put_key_policy(KeyId=key["KeyId"], PolicyName="default", Policy=policy)
    elsewhere = policy.replace(f'"kms:CallerAccount": "{ROOT_ACCOUNT}"', '"kms:CallerAccount": "000000000000"')
    with pytest.raises(ClientError) as caught:
        kms.put_key_policy(KeyId=key["KeyId"], PolicyName="default", Policy=elsewhere)
    assert _code(caught) == "MalformedPolicyDocumentException"


def test_sse_kms_requests_come_via_an_aws_service(server: Server, kms: Any) -> None:
    """S3 asks KMS with the caller's credentials: aws:ViaAWSService is true there, false when called directly."""
    name = unique("viauser")
    iam = server.client("iam")
    user_arn = iam.create_user(UserName=name)["User"]["Arn"]
    iam.put_user_policy(UserName=name, PolicyName="s3", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["s3:PutObject", "s3:GetObject"],
                                                "Resource": "*"}]}))
    creds = iam.create_access_key(UserName=name)["AccessKey"]
    via_only = {"Effect": "Allow", "Principal": {"AWS": user_arn},
                "Action": ["kms:GenerateDataKey", "kms:Decrypt", "kms:Encrypt"], "Resource": "*",
                "Condition": {"Bool": {"aws:ViaAWSService": "true"}}}
    key = kms.create_key(Policy=key_policy(root_only_statement(ROOT_ACCOUNT), via_only),
                         BypassPolicyLockoutSafetyCheck=True)["KeyMetadata"]
    s3 = server.client("s3", aws_access_key_id=creds["AccessKeyId"], aws_secret_access_key=creds["SecretAccessKey"])
    bucket = unique("via-kms")
    server.client("s3").create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="k", Body=b"through s3", ServerSideEncryption="aws:kms", SSEKMSKeyId=key["Arn"])
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"through s3"
    direct = server.client("kms", aws_access_key_id=creds["AccessKeyId"],
                           aws_secret_access_key=creds["SecretAccessKey"])
    with pytest.raises(ClientError) as caught:
        direct.encrypt(KeyId=key["Arn"], Plaintext=b"x")
    assert _code(caught) == "AccessDeniedException"


class _Row:
    """A stored grant row, as grant_statements reads it."""

    def __init__(self, grantee: str, operations: list[str], constraints: dict[str, Any] | None = None,
                 retiring: str | None = None) -> None:
        self.grant_id = "g" * 64
        self.grantee = grantee
        self.operations = json.dumps(operations)
        self.constraints = json.dumps(constraints) if constraints else None
        self.retiring = retiring


@pytest.mark.parametrize(("row", "expected"), [
    (_Row("rds.us-east-1.amazonaws.com", ["Decrypt"]),
     [({"Service": "rds.us-east-1.amazonaws.com"}, ["kms:Decrypt"], False)]),
    (_Row("arn:aws:iam::111122223333:role/r", ["Encrypt", "DescribeKey", "CreateGrant"], {
        "EncryptionContextSubset": {"a": "b"}}, retiring="arn:aws:iam::111122223333:root"),
     [({"AWS": "arn:aws:iam::111122223333:role/r"}, ["kms:DescribeKey", "kms:CreateGrant"], False),
      ({"AWS": "arn:aws:iam::111122223333:role/r"}, ["kms:Encrypt"], True),
      ({"AWS": "arn:aws:iam::111122223333:root"}, "kms:RetireGrant", False)]),
])
def test_grant_statements(row: _Row, expected: list[tuple[dict[str, str], Any, bool]]) -> None:
    """Service grantees are Service principals; a constraint conditions only the operations with a context."""
    found = [(s["Principal"], s["Action"], "Condition" in s) for s in grant_statements([row])]
    assert found == expected


class _Call:
    """The one thing the request memo reads of a call: its request id."""

    def __init__(self) -> None:
        self.request_id = str(uuid.uuid4())


def test_writers_act_on_the_key_the_alias_named_when_authorized() -> None:
    """A writer resolves an alias as the authorize step did, so a concurrent UpdateAlias cannot redirect it."""
    call = _Call()
    alias = KeyRef(ROOT_ACCOUNT, "us-east-1", alias="alias/x")
    by_id = KeyRef(ROOT_ACCOUNT, "us-east-1", key_id="11111111-1111-1111-1111-111111111111")
    assert keys._as_authorized(call, alias) == alias  # nothing authorized yet: resolve afresh
    seen = keys.Key(key_id="22222222-2222-2222-2222-222222222222", account_id=ROOT_ACCOUNT, region="us-east-1",
                    description="", key_spec="SYMMETRIC_DEFAULT", key_usage="ENCRYPT_DECRYPT", origin="AWS_KMS",
                    manager="CUSTOMER", state="Enabled", created_at=dt.datetime.now(dt.UTC), deletion_date=None,
                    pending_window_days=None, policy="{}", tags={}, rotation_days=None, next_rotation_at=None,
                    current_version=1)
    keys._remember(call, alias, keys.KeyView(seen, ["alias/x"], []))
    assert keys._as_authorized(call, alias) == KeyRef(ROOT_ACCOUNT, "us-east-1", key_id=seen.key_id)
    assert keys._as_authorized(call, by_id) == by_id
    assert keys._as_authorized(_Call(), alias) == alias  # another request's answer is not this one's
    keys.remember_alias_target(call, "alias/x", seen.key_id)
    assert keys.authorized_alias_target(call, "alias/x") == seen.key_id
    assert keys.authorized_alias_target(_Call(), "alias/x") is None


def test_retirable_grants_of_other_accounts_keys(server: Server, kms: Any,
                                                  other_root: tuple[str, dict[str, str]]) -> None:
    """AWS: ListRetirableGrants names a principal of the caller's account and finds its grants on any key."""
    _, creds = other_root
    retiree_arn, _ = user_clients(server, None, creds)
    key = kms.create_key()["KeyMetadata"]
    made = kms.create_grant(KeyId=key["KeyId"], GranteePrincipal=f"arn:aws:iam::{ROOT_ACCOUNT}:root",
                            RetiringPrincipal=retiree_arn, Operations=["Decrypt"])
    theirs = server.client("kms", **creds)
    found = theirs.list_retirable_grants(RetiringPrincipal=retiree_arn)["Grants"]
    assert [(g["GrantId"], g["KeyId"]) for g in found] == [(made["GrantId"], key["Arn"])]
    assert kms.list_retirable_grants(RetiringPrincipal=retiree_arn)["Grants"][0]["GrantId"] == made["GrantId"]
    stranger = f"arn:aws:iam::{ROOT_ACCOUNT}:user/{unique('nobody')}"
    assert theirs.list_retirable_grants(RetiringPrincipal=stranger)["Grants"] == []


def test_a_role_session_of_another_account_retires_as_its_role(server: Server, kms: Any,
                                                                 other_root: tuple[str, dict[str, str]]) -> None:
    """The retiring principal is a role of account B; B's session of that role may retire the grant on A's key."""
    other, creds = other_root
    root_pair = (creds["aws_access_key_id"], creds["aws_secret_access_key"])
    role = role_trusting(server, trust({"AWS": f"arn:aws:iam::{other}:root"}),
                         {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "kms:RetireGrant",
                                                                  "Resource": "*"}]}, root_keys=root_pair)
    _, assumer = user_keys(server, {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": role["Arn"]}]}, root_keys=root_pair)
    session = server.client("sts", **assumer).assume_role(RoleArn=role["Arn"], RoleSessionName="retirer")
    key = kms.create_key()["KeyMetadata"]
    made = kms.create_grant(KeyId=key["KeyId"], GranteePrincipal=f"arn:aws:iam::{ROOT_ACCOUNT}:root",
                            RetiringPrincipal=role["Arn"], Operations=["Decrypt"])
    client_from(server, "kms", session["Credentials"]).retire_grant(GrantToken=made["GrantToken"])
    assert kms.list_grants(KeyId=key["KeyId"])["Grants"] == []


def test_key_policies_are_at_most_32_kib(kms: Any) -> None:
    statements = [{"Sid": f"s{i}", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ROOT_ACCOUNT}:root"},
                   "Action": "kms:*", "Resource": "*"} for i in range(400)]
    big = key_policy(*statements)
    assert len(big) > 32768
    with pytest.raises(ClientError) as caught:
        kms.create_key(Policy=big)
    assert _code(caught) == "LimitExceededException"
    key = kms.create_key()["KeyMetadata"]
    with pytest.raises(ClientError) as caught:
        kms.put_key_policy(KeyId=key["KeyId"], PolicyName="default", Policy=big)
    assert _code(caught) == "LimitExceededException"
    fits = key_policy(*statements[:200])
    assert len(fits) <= 32768
    kms.put_key_policy(KeyId=key["KeyId"], PolicyName="default", Policy=fits)

"""Hostile but model-valid input to every KMS operation: always an AWS 4xx error, never a 500.

Each operation is driven through boto3 with key names, blobs, tokens, policies
and markers that pass the client's own checks but are wrong in every other way
(huge, unicode, other accounts and regions, other services' ARNs, truncated or
tampered ciphertexts). The assertion is the same everywhere: a ClientError with
an HTTP 4xx status and an error code that is not InternalFailure.
"""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import ROOT_ACCOUNT, Server
from tests.services.hostile import assert_4xx, assert_all_4xx, never_5xx

UNKNOWN = str(uuid.uuid4())
HOSTILE_KEY_IDS = [
    "k" * 2048,
    "k" * 4000,  # over the model's maximum
    "ключ/🔑",
    "alias/",
    "alias/aws/",
    "alias/" + "a" * 300,
    "alias/../../etc/passwd",
    "*",
    "arn:aws:kms:us-east-1:123456789012:key/*",
    "arn:aws:kms:us-east-1:123456789012:alias/*",
    UNKNOWN,
    UNKNOWN.upper(),
    f"arn:aws:kms:us-east-1:{ROOT_ACCOUNT}:key/{UNKNOWN}",
    f"arn:aws:kms:us-east-1:000000000000:key/{UNKNOWN}",
    f"arn:aws:kms:eu-west-3:{ROOT_ACCOUNT}:key/{UNKNOWN}",
    "arn:aws:kms:us-east-1:12:key/x",
    "arn:aws:kms:::key/",
    "arn:aws:s3:::some-bucket",
    "arn:aws:iam::123456789012:root",
    "arn:aws-cn:kms:cn-north-1:123456789012:key/" + UNKNOWN,
    "\u0000\u0001\u0002",
    "' OR 1=1 --",
]


@pytest.fixture(scope="module")
def keys(server: Server) -> dict[str, str]:
    """One key of each kind, by kind."""
    kms = server.client("kms")
    made = {
        "sym": kms.create_key(),
        "rsa": kms.create_key(KeySpec="RSA_2048", KeyUsage="ENCRYPT_DECRYPT"),
        "sign": kms.create_key(KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY"),
        "rsa_sign": kms.create_key(KeySpec="RSA_2048", KeyUsage="SIGN_VERIFY"),
        "hmac": kms.create_key(KeySpec="HMAC_256", KeyUsage="GENERATE_VERIFY_MAC"),
    }
    return {kind: out["KeyMetadata"]["Arn"] for kind, out in made.items()}


# Each operation that names a key, with the other members it needs (KeyId filled in by the test).
_KEYED: dict[str, dict[str, Any]] = {
    "describe_key": {},
    "enable_key": {},
    "disable_key": {},
    "schedule_key_deletion": {"PendingWindowInDays": 7},
    "cancel_key_deletion": {},
    "update_key_description": {"Description": "d"},
    "get_key_policy": {"PolicyName": "default"},
    "list_key_policies": {},
    "put_key_policy": {"PolicyName": "default", "Policy": '{"Version":"2012-10-17","Statement":[]}'},
    "tag_resource": {"Tags": [{"TagKey": "a", "TagValue": "b"}]},
    "untag_resource": {"TagKeys": ["a"]},
    "list_resource_tags": {},
    "enable_key_rotation": {},
    "disable_key_rotation": {},
    "get_key_rotation_status": {},
    "rotate_key_on_demand": {},
    "list_key_rotations": {},
    "encrypt": {"Plaintext": b"x"},
    "decrypt": {"CiphertextBlob": b"x" * 64},
    "generate_data_key": {"KeySpec": "AES_256"},
    "generate_data_key_without_plaintext": {"NumberOfBytes": 16},
    "generate_data_key_pair": {"KeyPairSpec": "ECC_NIST_P256"},
    "generate_data_key_pair_without_plaintext": {"KeyPairSpec": "ECC_NIST_P256"},
    "sign": {"Message": b"m", "SigningAlgorithm": "ECDSA_SHA_256"},
    "verify": {"Message": b"m", "Signature": b"s", "SigningAlgorithm": "ECDSA_SHA_256"},
    "get_public_key": {},
    "generate_mac": {"Message": b"m", "MacAlgorithm": "HMAC_SHA_256"},
    "verify_mac": {"Message": b"m", "Mac": b"m" * 32, "MacAlgorithm": "HMAC_SHA_256"},
    "create_grant": {"GranteePrincipal": f"arn:aws:iam::{ROOT_ACCOUNT}:root", "Operations": ["Decrypt"]},
    "list_grants": {},
    "revoke_grant": {"GrantId": "0" * 64},
    "retire_grant": {"GrantId": "0" * 64},
    "list_aliases": {},
}


@pytest.mark.parametrize("operation", sorted(_KEYED))
def test_hostile_key_ids(server: Server, operation: str) -> None:
    kms = server.client("kms")
    method = getattr(kms, operation)
    assert_all_4xx([lambda key_id=key_id: method(KeyId=key_id, **_KEYED[operation]) for key_id in HOSTILE_KEY_IDS],
                    [key_id[:60] for key_id in HOSTILE_KEY_IDS])


@pytest.mark.parametrize("member", ["SourceKeyId", "DestinationKeyId"])
def test_hostile_re_encrypt_keys(server: Server, keys: dict[str, str], member: str) -> None:
    kms = server.client("kms")
    blob = kms.encrypt(KeyId=keys["sym"], Plaintext=b"x")["CiphertextBlob"]
    variants = [{"CiphertextBlob": blob, "DestinationKeyId": keys["sym"], member: key_id} for key_id in HOSTILE_KEY_IDS]
    assert_all_4xx([lambda params=params: kms.re_encrypt(**params) for params in variants],
                    [key_id[:60] for key_id in HOSTILE_KEY_IDS])


@pytest.mark.parametrize("operation", ["create_alias", "update_alias"])
def test_hostile_alias_targets(server: Server, keys: dict[str, str], operation: str) -> None:
    kms = server.client("kms")
    if operation == "update_alias":
        name = f"alias/malformed-{uuid.uuid4().hex[:8]}"
        kms.create_alias(AliasName=name, TargetKeyId=keys["sym"])
    method = getattr(kms, operation)
    assert_all_4xx([lambda key_id=key_id: method(AliasName=name if operation == "update_alias" else
                                                  f"alias/malformed-{uuid.uuid4().hex[:8]}", TargetKeyId=key_id)
                     for key_id in HOSTILE_KEY_IDS], [key_id[:60] for key_id in HOSTILE_KEY_IDS])


HOSTILE_ALIAS_NAMES = ["alias/", "alias", "alias/aws/s3", "alias/aws/", "alias/" + "a" * 300, "alias/ключ",
                       "alias/a b", "alias/%2e%2e", "x" * 256, "arn:aws:kms:us-east-1:123456789012:alias/x"]


@pytest.mark.parametrize("operation", ["create_alias", "update_alias", "delete_alias"])
def test_hostile_alias_names(server: Server, keys: dict[str, str], operation: str) -> None:
    kms = server.client("kms")
    extra = {} if operation == "delete_alias" else {"TargetKeyId": keys["sym"]}
    names = HOSTILE_ALIAS_NAMES + ([] if operation == "create_alias" else [f"alias/never-made-{uuid.uuid4().hex}"])
    method = getattr(kms, operation)
    assert_all_4xx([lambda name=name: method(AliasName=name, **extra) for name in names], names)


def _blob_variants(kms: Any, keys: dict[str, str]) -> list[bytes]:
    """Blobs that look like ours but are not: truncated, tampered header, unknown key, huge version, RSA-sized."""
    good = kms.encrypt(KeyId=keys["sym"], Plaintext=b"payload", EncryptionContext={"a": "b"})["CiphertextBlob"]
    header = 3 + 16
    unknown_key = good[:3] + uuid.uuid4().bytes + good[header:]
    huge_version = good[:header] + b"\xff\xff\xff\xff" + good[header + 4:]
    zero_version = good[:header] + b"\x00\x00\x00\x00" + good[header + 4:]
    return [good[:10], good[:header + 4 + 12], good[:-1], good + b"x", unknown_key, huge_version, zero_version,
            b"\x00" * 6144, b"RK\x01" + b"\xff" * 6000, bytes(range(256)) * 2, good]


def test_hostile_blobs(server: Server, keys: dict[str, str]) -> None:
    kms = server.client("kms")
    calls: list[Callable[[], Any]] = []
    for blob in _blob_variants(kms, keys):
        calls += [lambda blob=blob: kms.decrypt(CiphertextBlob=blob),  # the good one lacks its context
                  lambda blob=blob: kms.decrypt(CiphertextBlob=blob, KeyId=keys["rsa"],
                                                EncryptionAlgorithm="RSAES_OAEP_SHA_256"),
                  lambda blob=blob: kms.decrypt(CiphertextBlob=blob, KeyId=keys["hmac"]),
                  lambda blob=blob: kms.re_encrypt(CiphertextBlob=blob, DestinationKeyId=keys["sym"])]
    assert_all_4xx(calls)


def test_blobs_with_the_wrong_key_or_version_are_invalid_ciphertext(server: Server, keys: dict[str, str]) -> None:
    """A blob whose header names a version the key never had is a bad ciphertext, not a missing key."""
    kms = server.client("kms")
    good = kms.encrypt(KeyId=keys["sym"], Plaintext=b"payload")["CiphertextBlob"]
    huge_version = good[:19] + b"\x00\x00\x01\x00" + good[23:]
    for params in ({"CiphertextBlob": huge_version}, {"CiphertextBlob": huge_version, "KeyId": keys["sym"]}):
        assert assert_4xx(lambda params=params: kms.decrypt(**params)) == "InvalidCiphertextException"
    other = kms.create_key()["KeyMetadata"]["Arn"]
    foreign = good[:3] + uuid.uuid4().bytes + good[19:]  # names a key that does not exist
    assert assert_4xx(lambda: kms.decrypt(CiphertextBlob=foreign, KeyId=other)) in (
        "InvalidCiphertextException", "IncorrectKeyException")


def test_hostile_encryption_contexts(server: Server, keys: dict[str, str]) -> None:
    kms = server.client("kms")
    blob = kms.encrypt(KeyId=keys["sym"], Plaintext=b"x", EncryptionContext={"k": "v"})["CiphertextBlob"]
    contexts = [{"k": "v" * 5000}, {"ключ": "🔑"}, {"": ""}, {f"k{i}": "v" for i in range(300)},
                {"k": "v", "K": "v"}, {"aws:x": "\u0000"}]
    calls: list[Callable[[], Any]] = [lambda context=context: kms.decrypt(CiphertextBlob=blob, EncryptionContext=context)
                                      for context in contexts]
    calls += [lambda context=context: kms.encrypt(KeyId=keys["rsa"], Plaintext=b"x", EncryptionContext=context,
                                                  EncryptionAlgorithm="RSAES_OAEP_SHA_256")
              for context in ({"k": "v"}, {"a": "b"})]
    assert_all_4xx(calls)


def test_wrong_algorithms_and_sizes(server: Server, keys: dict[str, str]) -> None:
    kms = server.client("kms")
    calls: list[Callable[[], Any]] = [
        lambda: kms.encrypt(KeyId=keys["sym"], Plaintext=b"x", EncryptionAlgorithm="RSAES_OAEP_SHA_256"),
        lambda: kms.encrypt(KeyId=keys["rsa"], Plaintext=b"x"),
        lambda: kms.encrypt(KeyId=keys["rsa"], Plaintext=b"x" * 4096, EncryptionAlgorithm="RSAES_OAEP_SHA_1"),
        lambda: kms.encrypt(KeyId=keys["sign"], Plaintext=b"x"),
        lambda: kms.encrypt(KeyId=keys["sym"], Plaintext=b"x" * 4097),
        lambda: kms.generate_data_key(KeyId=keys["sym"]),
        lambda: kms.generate_data_key(KeyId=keys["sym"], KeySpec="AES_256", NumberOfBytes=32),
        lambda: kms.generate_data_key(KeyId=keys["sym"], NumberOfBytes=1025),
        lambda: kms.generate_data_key(KeyId=keys["sym"], KeySpec="AES_512"),
        lambda: kms.generate_data_key(KeyId=keys["rsa"], KeySpec="AES_256"),
        lambda: kms.generate_data_key_pair(KeyId=keys["sym"], KeyPairSpec="SM2"),
        lambda: kms.generate_data_key_pair(KeyId=keys["sym"], KeyPairSpec="RSA_1024"),
        lambda: kms.generate_data_key_pair(KeyId=keys["hmac"], KeyPairSpec="ECC_NIST_P256"),
        lambda: kms.generate_random(),
        lambda: kms.generate_random(NumberOfBytes=1025),
        lambda: kms.generate_random(NumberOfBytes=2**40),
        lambda: kms.sign(KeyId=keys["sign"], Message=b"m", SigningAlgorithm="RSASSA_PSS_SHA_256"),
        lambda: kms.sign(KeyId=keys["sign"], Message=b"m", SigningAlgorithm="ECDSA_SHA_256", MessageType="DIGEST"),
        lambda: kms.sign(KeyId=keys["sign"], Message=b"m" * 4097, SigningAlgorithm="ECDSA_SHA_256"),
        lambda: kms.sign(KeyId=keys["sign"], Message=b"m", SigningAlgorithm="ECDSA_SHA_256",
                         MessageType="EXTERNAL_MU"),
        lambda: kms.sign(KeyId=keys["sym"], Message=b"m", SigningAlgorithm="ECDSA_SHA_256"),
        lambda: kms.sign(KeyId=keys["sign"], Message=b"m", SigningAlgorithm="ML_DSA_SHAKE_256"),
        lambda: kms.verify(KeyId=keys["sign"], Message=b"m", Signature=b"\x30" * 100, SigningAlgorithm="ECDSA_SHA_256"),
        lambda: kms.verify(KeyId=keys["sign"], Message=b"m", Signature=b"\x00" * 6144,
                           SigningAlgorithm="ECDSA_SHA_256"),
        lambda: kms.verify(KeyId=keys["sign"], Message=b"m" * 32, Signature=b"s", SigningAlgorithm="ECDSA_SHA_256",
                           MessageType="DIGEST"),
        lambda: kms.generate_mac(KeyId=keys["hmac"], Message=b"m", MacAlgorithm="HMAC_SHA_512"),
        lambda: kms.generate_mac(KeyId=keys["sym"], Message=b"m", MacAlgorithm="HMAC_SHA_256"),
        lambda: kms.generate_mac(KeyId=keys["hmac"], Message=b"m" * 4097, MacAlgorithm="HMAC_SHA_256"),
        lambda: kms.verify_mac(KeyId=keys["hmac"], Message=b"m", Mac=b"\x00" * 64, MacAlgorithm="HMAC_SHA_256"),
        lambda: kms.get_public_key(KeyId=keys["sym"]),
        lambda: kms.get_public_key(KeyId=keys["hmac"]),
        lambda: kms.decrypt(CiphertextBlob=b"\x01" * 256, KeyId=keys["rsa"], EncryptionAlgorithm="RSAES_OAEP_SHA_1"),
        lambda: kms.decrypt(CiphertextBlob=b"\x01" * 256, KeyId=keys["rsa"], EncryptionAlgorithm="SYMMETRIC_DEFAULT"),
        lambda: kms.decrypt(CiphertextBlob=b"\x01" * 256, KeyId=keys["sign"]),
    ]
    assert_all_4xx(calls)


def test_hostile_create_key_inputs(server: Server) -> None:
    kms = server.client("kms")
    locked = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::000000000000:root"}, "Action": "kms:*",
         "Resource": "*"}]})
    calls: list[Callable[[], Any]] = [
        lambda: kms.create_key(KeySpec="HMAC_256", KeyUsage="ENCRYPT_DECRYPT"),
        lambda: kms.create_key(KeySpec="SYMMETRIC_DEFAULT", KeyUsage="SIGN_VERIFY"),
        lambda: kms.create_key(KeySpec="ECC_NIST_P256", KeyUsage="KEY_AGREEMENT"),
        lambda: kms.create_key(KeySpec="ML_DSA_65", KeyUsage="SIGN_VERIFY"),
        lambda: kms.create_key(KeySpec="SM2"),
        lambda: kms.create_key(Origin="EXTERNAL"),
        lambda: kms.create_key(Origin="AWS_CLOUDHSM"),
        lambda: kms.create_key(MultiRegion=True),
        lambda: kms.create_key(CustomKeyStoreId="cks-1234567890abcdef0"),
        lambda: kms.create_key(Description="d" * 8193),
        lambda: kms.create_key(Policy="{"),
        lambda: kms.create_key(Policy="[]"),
        lambda: kms.create_key(Policy='{"Version":"2012-10-17","Statement":"x"}'),
        lambda: kms.create_key(Policy=json.dumps({"Statement": [{"Effect": "Maybe", "Action": "*"}]})),
        lambda: kms.create_key(Policy="🔑" * 40000),
        lambda: kms.create_key(Policy="x" * 131073),
        lambda: kms.create_key(Policy=locked),
        lambda: kms.create_key(Tags=[{"TagKey": "aws:reserved", "TagValue": "x"}]),
        lambda: kms.create_key(Tags=[{"TagKey": "k" * 129, "TagValue": "x"}]),
        lambda: kms.create_key(Tags=[{"TagKey": f"k{i}", "TagValue": "x"} for i in range(51)]),
    ]
    assert_all_4xx(calls)


def test_hostile_key_policies_and_tags(server: Server, keys: dict[str, str]) -> None:
    kms = server.client("kms")
    key = kms.create_key()["KeyMetadata"]["Arn"]
    calls: list[Callable[[], Any]] = [
        lambda: kms.put_key_policy(KeyId=key, PolicyName="other", Policy="{}"),
        lambda: kms.put_key_policy(KeyId=key, PolicyName="default", Policy="{"),
        lambda: kms.put_key_policy(KeyId=key, PolicyName="default", Policy='{"Statement":[{"Effect":1}]}'),
        lambda: kms.put_key_policy(KeyId=key, PolicyName="default", Policy="\u0000" * 10),
        lambda: kms.get_key_policy(KeyId=key, PolicyName="nope"),
        lambda: kms.get_key_policy(KeyId=key, PolicyName="n" * 200),
        lambda: kms.tag_resource(KeyId=key, Tags=[{"TagKey": "AWS:x", "TagValue": "y"}]),
        lambda: kms.tag_resource(KeyId=key, Tags=[{"TagKey": f"t{i}", "TagValue": "y"} for i in range(51)]),
        lambda: kms.tag_resource(KeyId=key, Tags=[{"TagKey": "k", "TagValue": "v" * 257}]),
        lambda: kms.untag_resource(KeyId=key, TagKeys=["k" * 129]),
        lambda: kms.schedule_key_deletion(KeyId=key, PendingWindowInDays=6),
        lambda: kms.schedule_key_deletion(KeyId=key, PendingWindowInDays=31),
        lambda: kms.schedule_key_deletion(KeyId=key, PendingWindowInDays=366),
        lambda: kms.cancel_key_deletion(KeyId=key),
        lambda: kms.enable_key_rotation(KeyId=key, RotationPeriodInDays=2561),
        lambda: kms.enable_key_rotation(KeyId=keys["rsa"]),
        lambda: kms.rotate_key_on_demand(KeyId=keys["hmac"]),
        lambda: kms.list_key_rotations(KeyId=keys["sign"]),
        lambda: kms.update_key_description(KeyId=key, Description="d" * 8193),
    ]
    assert_all_4xx(calls)


def test_hostile_grants(server: Server, keys: dict[str, str]) -> None:
    kms = server.client("kms")
    key = keys["sym"]
    principal = f"arn:aws:iam::{ROOT_ACCOUNT}:root"
    calls: list[Callable[[], Any]] = [
        lambda: kms.create_grant(KeyId=key, GranteePrincipal="*", Operations=["Decrypt"]),
        lambda: kms.create_grant(KeyId=key, GranteePrincipal="arn:aws:iam::*:root", Operations=["Decrypt"]),
        lambda: kms.create_grant(KeyId=key, GranteePrincipal="arn:aws:iam::123456789012:*", Operations=["Decrypt"]),
        lambda: kms.create_grant(KeyId=key, GranteePrincipal="arn:aws:iam::", Operations=["Decrypt"]),
        lambda: kms.create_grant(KeyId=key, GranteePrincipal="arn:aws:iam::12:user/x", Operations=["Decrypt"]),
        lambda: kms.create_grant(KeyId=key, GranteePrincipal="evil.example.com", Operations=["Decrypt"]),
        lambda: kms.create_grant(KeyId=key, GranteePrincipal="p" * 256, Operations=["Decrypt"]),
        lambda: kms.create_grant(KeyId=key, GranteePrincipal="ключ", Operations=["Decrypt"]),
        lambda: kms.create_grant(KeyId=key, GranteePrincipal=principal, RetiringPrincipal="*", Operations=["Decrypt"]),
        lambda: kms.create_grant(KeyId=key, GranteePrincipal=principal, Operations=[]),
        lambda: kms.create_grant(KeyId=key, GranteePrincipal=principal, Operations=["Sign"],
                                 Constraints={"EncryptionContextSubset": {"a": "b"}}),
        lambda: kms.create_grant(KeyId=key, GranteePrincipal=principal, Operations=["Decrypt"],
                                 Constraints={"EncryptionContextSubset": {"a": "b"},
                                              "EncryptionContextEquals": {"a": "b"}}),
        lambda: kms.create_grant(KeyId=key, GranteePrincipal=principal, Operations=["Decrypt"],
                                 Constraints={"EncryptionContextSubset": {f"k{i}": "v" for i in range(9)}}),
        lambda: kms.create_grant(KeyId=key, GranteePrincipal=principal, Operations=["Decrypt"],
                                 Constraints={"EncryptionContextEquals": {"k": "v" * 385}}),
        lambda: kms.create_grant(KeyId=key, GranteePrincipal=principal, Operations=["Decrypt"], Name="bad name!"),
        lambda: kms.create_grant(KeyId=key, GranteePrincipal=principal, Operations=["Decrypt"], Name="n" * 257),
        lambda: kms.create_grant(KeyId=keys["sign"], GranteePrincipal=principal, Operations=["Encrypt"]),
        lambda: kms.revoke_grant(KeyId=key, GrantId="g"),
        lambda: kms.revoke_grant(KeyId=key, GrantId="ключ" * 16),
        lambda: kms.revoke_grant(KeyId=key, GrantId="0" * 128),
        lambda: kms.retire_grant(GrantToken="t"),
        lambda: kms.retire_grant(GrantToken="t" * 8192),
        lambda: kms.retire_grant(GrantToken="ключ🔑"),
        lambda: kms.retire_grant(KeyId=key),
        lambda: kms.retire_grant(GrantId="0" * 64),
        lambda: kms.retire_grant(),
        lambda: kms.retire_grant(KeyId=key, GrantId="ключ"),
        lambda: kms.list_grants(KeyId=key, Limit=1001),
        lambda: kms.list_retirable_grants(RetiringPrincipal="r" * 300),
    ]
    assert_all_4xx(calls)


def test_hostile_markers_and_limits(server: Server, keys: dict[str, str]) -> None:
    kms = server.client("kms")
    markers = ["!!!", "ключ", "=" * 10, base64.urlsafe_b64encode(b"\xff\xfe").decode(), "A", "\u0000" * 4,
               "m" * 1024, "m" * 1025]
    calls: list[Callable[[], Any]] = []
    labels: list[Any] = []
    for marker in markers:
        calls += [lambda marker=marker: kms.list_keys(Marker=marker),
                  lambda marker=marker: kms.list_aliases(Marker=marker),
                  lambda marker=marker: kms.list_grants(KeyId=keys["sym"], Marker=marker),
                  lambda marker=marker: kms.list_key_rotations(KeyId=keys["sym"], Marker=marker),
                  lambda marker=marker: kms.list_retirable_grants(RetiringPrincipal="arn:aws:iam::1:root",
                                                                  Marker=marker)]
        labels += [(operation, marker[:20]) for operation in ("keys", "aliases", "grants", "rotations", "retirable")]
    for limit in (1001, 2**31 - 1):
        calls += [lambda limit=limit: kms.list_keys(Limit=limit), lambda limit=limit: kms.list_aliases(Limit=limit)]
        labels += [("keys", limit), ("aliases", limit)]
    assert_all_4xx(calls, labels)


# --- property-based: arbitrary model-valid values never get a 5xx ------------------------------------------

_TEXT = st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=300)
_KEY_IDS = st.one_of(_TEXT, st.sampled_from(HOSTILE_KEY_IDS),
                     st.builds(lambda a, r: f"arn:aws:kms:{r}:{a}:key/{uuid.uuid4()}",
                               st.from_regex(r"\A[0-9]{12}\Z"), st.sampled_from(["us-east-1", "x", ""])))
_CONTEXTS = st.dictionaries(_TEXT, _TEXT, max_size=4)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(key_id=_KEY_IDS, blob=st.binary(min_size=1, max_size=700), context=_CONTEXTS)
def test_fuzzed_crypto_calls(server: Server, keys: dict[str, str], key_id: str, blob: bytes,
                             context: dict[str, str]) -> None:
    kms = server.client("kms")
    never_5xx(lambda: kms.decrypt(CiphertextBlob=blob, EncryptionContext=context))
    never_5xx(lambda: kms.decrypt(CiphertextBlob=blob, KeyId=key_id))
    never_5xx(lambda: kms.encrypt(KeyId=key_id, Plaintext=blob[:4096], EncryptionContext=context))
    never_5xx(lambda: kms.re_encrypt(CiphertextBlob=blob, DestinationKeyId=key_id, SourceEncryptionContext=context))
    never_5xx(lambda: kms.describe_key(KeyId=key_id))
    never_5xx(lambda: kms.verify(KeyId=keys["sign"], Message=blob[:4096], Signature=blob,
                                  SigningAlgorithm="ECDSA_SHA_256"))
    never_5xx(lambda: kms.verify(KeyId=keys["rsa_sign"], Message=blob[:32], Signature=blob,
                                  SigningAlgorithm="RSASSA_PSS_SHA_256", MessageType="DIGEST"))
    never_5xx(lambda: kms.decrypt(CiphertextBlob=blob, KeyId=keys["rsa"], EncryptionAlgorithm="RSAES_OAEP_SHA_1"))
    never_5xx(lambda: kms.verify_mac(KeyId=keys["hmac"], Message=blob[:4096], Mac=blob[:64] or b"x",
                                      MacAlgorithm="HMAC_SHA_256"))

"""Symmetric encryption through boto3: blobs that name their key, context as AAD, data keys, ReEncrypt."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.conftest import ROOT_ACCOUNT


def test_encrypt_decrypt_without_key_id(kms: Any) -> None:
    key = kms.create_key(Description="round trip")["KeyMetadata"]
    out = kms.encrypt(KeyId=key["KeyId"], Plaintext=b"secret data", EncryptionContext={"app": "a"})
    assert out["KeyId"] == key["Arn"] and b"secret data" not in out["CiphertextBlob"]
    back = kms.decrypt(CiphertextBlob=out["CiphertextBlob"], EncryptionContext={"app": "a"})
    assert back["Plaintext"] == b"secret data" and back["KeyId"] == key["Arn"]
    assert back["EncryptionAlgorithm"] == "SYMMETRIC_DEFAULT"


@pytest.mark.parametrize("context", [None, {"app": "b"}, {"app": "a", "extra": "x"}])
def test_wrong_context_is_invalid_ciphertext(kms: Any, context: dict[str, str] | None) -> None:
    key = kms.create_key()["KeyMetadata"]["KeyId"]
    blob = kms.encrypt(KeyId=key, Plaintext=b"x", EncryptionContext={"app": "a"})["CiphertextBlob"]
    kwargs = {"EncryptionContext": context} if context is not None else {}
    with pytest.raises(ClientError) as caught:
        kms.decrypt(CiphertextBlob=blob, **kwargs)
    assert caught.value.response["Error"]["Code"] == "InvalidCiphertextException"


def test_tampered_and_foreign_blobs(kms: Any) -> None:
    key = kms.create_key()["KeyMetadata"]["KeyId"]
    blob = bytearray(kms.encrypt(KeyId=key, Plaintext=b"payload")["CiphertextBlob"])
    blob[-1] ^= 1
    for bad in (bytes(blob), b"not a kms blob at all, just some bytes here", b"RK\x01" + b"\x00" * 60):
        with pytest.raises(ClientError) as caught:
            kms.decrypt(CiphertextBlob=bad)
        assert caught.value.response["Error"]["Code"] == "InvalidCiphertextException"


def test_incorrect_key_id(kms: Any) -> None:
    one, two = (kms.create_key()["KeyMetadata"]["KeyId"] for _ in range(2))
    blob = kms.encrypt(KeyId=one, Plaintext=b"x")["CiphertextBlob"]
    with pytest.raises(ClientError) as caught:
        kms.decrypt(CiphertextBlob=blob, KeyId=two)
    assert caught.value.response["Error"]["Code"] == "IncorrectKeyException"
    assert kms.decrypt(CiphertextBlob=blob, KeyId=one)["Plaintext"] == b"x"


def test_plaintext_limit(kms: Any) -> None:
    key = kms.create_key()["KeyMetadata"]["KeyId"]
    assert kms.decrypt(CiphertextBlob=kms.encrypt(KeyId=key, Plaintext=b"a" * 4096)["CiphertextBlob"])[
        "Plaintext"] == b"a" * 4096
    with pytest.raises(ClientError) as caught:
        kms.encrypt(KeyId=key, Plaintext=b"a" * 4097)
    assert caught.value.response["Error"]["Code"] == "ValidationException"


def test_data_keys(kms: Any) -> None:
    key = kms.create_key()["KeyMetadata"]["KeyId"]
    made = kms.generate_data_key(KeyId=key, KeySpec="AES_256", EncryptionContext={"k": "v"})
    assert len(made["Plaintext"]) == 32
    assert kms.decrypt(CiphertextBlob=made["CiphertextBlob"], EncryptionContext={"k": "v"})["Plaintext"] == \
        made["Plaintext"]
    assert len(kms.generate_data_key(KeyId=key, NumberOfBytes=17)["Plaintext"]) == 17
    assert len(kms.generate_data_key(KeyId=key, KeySpec="AES_128")["Plaintext"]) == 16
    bare = kms.generate_data_key_without_plaintext(KeyId=key, KeySpec="AES_256")
    assert "Plaintext" not in bare and len(kms.decrypt(CiphertextBlob=bare["CiphertextBlob"])["Plaintext"]) == 32
    with pytest.raises(ClientError) as caught:
        kms.generate_data_key(KeyId=key)
    assert caught.value.response["Error"]["Code"] == "ValidationException"


@pytest.mark.parametrize("spec", ["RSA_2048", "ECC_NIST_P256", "ECC_SECG_P256K1"])
def test_data_key_pairs(kms: Any, spec: str) -> None:
    from cryptography.hazmat.primitives import serialization

    key = kms.create_key()["KeyMetadata"]["KeyId"]
    pair = kms.generate_data_key_pair(KeyId=key, KeyPairSpec=spec)
    private = serialization.load_der_private_key(pair["PrivateKeyPlaintext"], password=None)
    public = serialization.load_der_public_key(pair["PublicKey"])
    assert private.public_key().public_numbers() == public.public_numbers()
    assert kms.decrypt(CiphertextBlob=pair["PrivateKeyCiphertextBlob"])["Plaintext"] == pair["PrivateKeyPlaintext"]
    bare = kms.generate_data_key_pair_without_plaintext(KeyId=key, KeyPairSpec=spec)
    assert "PrivateKeyPlaintext" not in bare and bare["KeyPairSpec"] == spec


def test_generate_random(kms: Any) -> None:
    one, two = (kms.generate_random(NumberOfBytes=64)["Plaintext"] for _ in range(2))
    assert len(one) == 64 and one != two
    with pytest.raises(ClientError) as caught:
        kms.generate_random(NumberOfBytes=1025)
    assert caught.value.response["Error"]["Code"] == "ValidationException"


def test_re_encrypt(kms: Any) -> None:
    one, two = (kms.create_key()["KeyMetadata"] for _ in range(2))
    blob = kms.encrypt(KeyId=one["KeyId"], Plaintext=b"move me", EncryptionContext={"a": "1"})["CiphertextBlob"]
    moved = kms.re_encrypt(CiphertextBlob=blob, SourceEncryptionContext={"a": "1"}, DestinationKeyId=two["KeyId"],
                           DestinationEncryptionContext={"b": "2"})
    assert moved["SourceKeyId"] == one["Arn"] and moved["KeyId"] == two["Arn"]
    assert kms.decrypt(CiphertextBlob=moved["CiphertextBlob"], EncryptionContext={"b": "2"})["Plaintext"] == b"move me"


def test_alias_names_the_key(kms: Any) -> None:
    import uuid

    key = kms.create_key()["KeyMetadata"]
    alias = f"alias/crypto-{uuid.uuid4().hex[:8]}"
    kms.create_alias(AliasName=alias, TargetKeyId=key["KeyId"])
    for name in (alias, f"arn:aws:kms:us-east-1:{ROOT_ACCOUNT}:{alias}", key["Arn"]):
        blob = kms.encrypt(KeyId=name, Plaintext=b"via name")["CiphertextBlob"]
        assert kms.decrypt(CiphertextBlob=blob)["KeyId"] == key["Arn"]


def test_disabled_and_unknown_keys(kms: Any) -> None:
    key = kms.create_key()["KeyMetadata"]["KeyId"]
    blob = kms.encrypt(KeyId=key, Plaintext=b"x")["CiphertextBlob"]
    kms.disable_key(KeyId=key)
    for attempt in (lambda: kms.encrypt(KeyId=key, Plaintext=b"x"), lambda: kms.decrypt(CiphertextBlob=blob)):
        with pytest.raises(ClientError) as caught:
            attempt()
        assert caught.value.response["Error"]["Code"] == "DisabledException"
    kms.enable_key(KeyId=key)
    assert kms.decrypt(CiphertextBlob=blob)["Plaintext"] == b"x"
    for bad in ("00000000-0000-0000-0000-000000000000", "alias/does-not-exist-anywhere", "not-a-key"):
        with pytest.raises(ClientError) as caught:
            kms.encrypt(KeyId=bad, Plaintext=b"x")
        assert caught.value.response["Error"]["Code"] == "NotFoundException"

"""RSA, ECC and HMAC keys: Sign/Verify (RAW and DIGEST), GetPublicKey, RSA OAEP, GenerateMac/VerifyMac."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
from botocore.exceptions import ClientError
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding

SIGNING = [
    ("RSA_2048", "RSASSA_PSS_SHA_256"), ("RSA_3072", "RSASSA_PKCS1_V1_5_SHA_384"), ("RSA_2048", "RSASSA_PSS_SHA_512"),
    ("ECC_NIST_P256", "ECDSA_SHA_256"), ("ECC_NIST_P384", "ECDSA_SHA_384"), ("ECC_NIST_P521", "ECDSA_SHA_512"),
    ("ECC_SECG_P256K1", "ECDSA_SHA_256"),
]
_HASH = {"256": hashes.SHA256, "384": hashes.SHA384, "512": hashes.SHA512}


def _local_verify(public_der: bytes, algorithm: str, message: bytes, signature: bytes) -> None:
    """Verify with the public key alone, outside the server (raises when invalid)."""
    public = serialization.load_der_public_key(public_der)
    chosen = _HASH[algorithm.rsplit("_", 1)[-1]]()
    if algorithm.startswith("ECDSA"):
        public.verify(signature, message, ec.ECDSA(chosen))
    elif "PSS" in algorithm:
        public.verify(signature, message, padding.PSS(padding.MGF1(chosen), chosen.digest_size), chosen)
    else:
        public.verify(signature, message, padding.PKCS1v15(), chosen)


@pytest.mark.parametrize(("spec", "algorithm"), SIGNING)
def test_sign_verify(kms: Any, spec: str, algorithm: str) -> None:
    key = kms.create_key(KeySpec=spec, KeyUsage="SIGN_VERIFY")["KeyMetadata"]
    assert algorithm in key["SigningAlgorithms"]
    signed = kms.sign(KeyId=key["KeyId"], Message=b"hello", SigningAlgorithm=algorithm)["Signature"]
    assert kms.verify(KeyId=key["KeyId"], Message=b"hello", Signature=signed,
                      SigningAlgorithm=algorithm)["SignatureValid"] is True
    public = kms.get_public_key(KeyId=key["KeyId"])
    assert public["KeySpec"] == spec and public["KeyUsage"] == "SIGN_VERIFY"
    _local_verify(public["PublicKey"], algorithm, b"hello", signed)
    digest = getattr(hashlib, "sha" + algorithm.rsplit("_", 1)[-1])(b"hello").digest()
    by_digest = kms.sign(KeyId=key["KeyId"], Message=digest, MessageType="DIGEST", SigningAlgorithm=algorithm)
    _local_verify(public["PublicKey"], algorithm, b"hello", by_digest["Signature"])
    with pytest.raises(ClientError) as caught:
        kms.verify(KeyId=key["KeyId"], Message=b"hellO", Signature=signed, SigningAlgorithm=algorithm)
    assert caught.value.response["Error"]["Code"] == "KMSInvalidSignatureException"


def test_wrong_algorithm_and_usage(kms: Any) -> None:
    key = kms.create_key(KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY")["KeyMetadata"]["KeyId"]
    with pytest.raises(ClientError) as caught:
        kms.sign(KeyId=key, Message=b"m", SigningAlgorithm="ECDSA_SHA_384")
    assert caught.value.response["Error"]["Code"] == "InvalidKeyUsageException"
    with pytest.raises(ClientError) as caught:
        kms.encrypt(KeyId=key, Plaintext=b"m")
    assert caught.value.response["Error"]["Code"] == "InvalidKeyUsageException"
    with pytest.raises(ClientError) as caught:
        kms.sign(KeyId=key, Message=b"short", MessageType="DIGEST", SigningAlgorithm="ECDSA_SHA_256")
    assert caught.value.response["Error"]["Code"] == "ValidationException"
    with pytest.raises(ClientError) as caught:
        kms.create_key(KeySpec="ECC_NIST_P256", KeyUsage="ENCRYPT_DECRYPT")
    assert caught.value.response["Error"]["Code"] == "ValidationException"


@pytest.mark.parametrize("algorithm", ["RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256"])
def test_rsa_encrypt_decrypt(kms: Any, algorithm: str) -> None:
    key = kms.create_key(KeySpec="RSA_2048", KeyUsage="ENCRYPT_DECRYPT")["KeyMetadata"]
    assert key["EncryptionAlgorithms"] == ["RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256"]
    blob = kms.encrypt(KeyId=key["KeyId"], Plaintext=b"rsa secret", EncryptionAlgorithm=algorithm)["CiphertextBlob"]
    out = kms.decrypt(KeyId=key["KeyId"], CiphertextBlob=blob, EncryptionAlgorithm=algorithm)
    assert out["Plaintext"] == b"rsa secret" and out["EncryptionAlgorithm"] == algorithm
    # Anyone with the public key can encrypt; KMS decrypts.
    public = serialization.load_der_public_key(kms.get_public_key(KeyId=key["KeyId"])["PublicKey"])
    chosen = hashes.SHA1() if algorithm.endswith("_1") else hashes.SHA256()
    outside = public.encrypt(b"from outside", padding.OAEP(padding.MGF1(chosen), chosen, None))
    assert kms.decrypt(KeyId=key["KeyId"], CiphertextBlob=outside, EncryptionAlgorithm=algorithm)[
        "Plaintext"] == b"from outside"
    with pytest.raises(ClientError) as caught:
        kms.encrypt(KeyId=key["KeyId"], Plaintext=b"x")  # SYMMETRIC_DEFAULT on an RSA key
    assert caught.value.response["Error"]["Code"] == "InvalidKeyUsageException"


@pytest.mark.parametrize(("spec", "algorithm", "digest"), [
    ("HMAC_224", "HMAC_SHA_224", "sha224"), ("HMAC_256", "HMAC_SHA_256", "sha256"),
    ("HMAC_384", "HMAC_SHA_384", "sha384"), ("HMAC_512", "HMAC_SHA_512", "sha512"),
])
def test_hmac(kms: Any, spec: str, algorithm: str, digest: str) -> None:
    key = kms.create_key(KeySpec=spec, KeyUsage="GENERATE_VERIFY_MAC")["KeyMetadata"]
    assert key["MacAlgorithms"] == [algorithm]
    tag = kms.generate_mac(KeyId=key["KeyId"], Message=b"msg", MacAlgorithm=algorithm)["Mac"]
    assert len(tag) == getattr(hashlib, digest)().digest_size
    assert kms.verify_mac(KeyId=key["KeyId"], Message=b"msg", Mac=tag, MacAlgorithm=algorithm)["MacValid"] is True
    with pytest.raises(ClientError) as caught:
        kms.verify_mac(KeyId=key["KeyId"], Message=b"msG", Mac=tag, MacAlgorithm=algorithm)
    assert caught.value.response["Error"]["Code"] == "KMSInvalidMacException"
    with pytest.raises(ClientError) as caught:
        kms.get_public_key(KeyId=key["KeyId"])
    assert caught.value.response["Error"]["Code"] == "UnsupportedOperationException"

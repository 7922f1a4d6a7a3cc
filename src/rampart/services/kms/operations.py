"""Symmetric cryptographic operations: Encrypt, Decrypt, ReEncrypt, data keys, random bytes.

The blob names its key and material version (``crypto``), so Decrypt finds
the key without KeyId and an old blob opens with the material version it was
sealed under after rotation. Keys are read in a snapshot (no write lock):
these are the hot paths.
"""

from __future__ import annotations

import os
from typing import Any

from rampart.aws.errors import ValidationError
from rampart.gateway.call import Call
from rampart.gateway.registry import handler
from rampart.services.kms import crypto
from rampart.services.kms.authz import blob_key
from rampart.services.kms.errors import (
    IncorrectKeyException,
    InvalidCiphertextException,
    InvalidKeyUsageException,
)
from rampart.services.kms.keys import (
    Db,
    Key,
    find,
    material,
    refuse_dry_run,
    refuse_recipient,
    require_usable,
)

_DATA_KEY_BYTES = {"AES_256": 32, "AES_128": 16}


def encryption_key(call: Call, db: Db, key_id: str, action: str) -> Key:
    """A usable ENCRYPT_DECRYPT key for ``action``."""
    key = find(call, db, key_id)
    require_usable(key)
    if key.key_usage != "ENCRYPT_DECRYPT":
        raise InvalidKeyUsageException(f"{key.arn} key usage is {key.key_usage} which is not valid for "
                                       f"{action.partition(':')[2]}.")
    return key


def _algorithm(key: Key, params: dict[str, Any], member: str = "EncryptionAlgorithm") -> str:
    """The encryption algorithm asked for (SYMMETRIC_DEFAULT by default), checked against the key spec."""
    algorithm = params.get(member) or crypto.SYMMETRIC
    if not crypto.encryption_algorithm_fits(key.key_spec, algorithm):
        raise InvalidKeyUsageException(f"Algorithm {algorithm} is incompatible with key spec {key.key_spec}.")
    return algorithm


def encrypt_with(call: Call, db: Db, key: Key, plaintext: bytes, context: dict[str, str] | None,
                 algorithm: str = crypto.SYMMETRIC) -> bytes:
    """Ciphertext under the key's current material (symmetric) or its public key (RSA OAEP)."""
    if key.key_spec == crypto.SYMMETRIC:
        return crypto.seal(material(call, db, key), key.key_id, key.current_version, plaintext, context)
    if context:
        raise InvalidKeyUsageException("EncryptionContext is not supported with asymmetric KMS keys.")
    try:
        return crypto.rsa_encrypt(material(call, db, key), algorithm, plaintext)
    except crypto.CryptoFailure as exc:
        raise InvalidKeyUsageException(f"The plaintext is too long for {key.key_spec} with {algorithm}.") from exc


def decrypt_blob(call: Call, db: Db, params: dict[str, Any], *, key_member: str = "KeyId",
                 context_member: str = "EncryptionContext", algorithm_member: str = "EncryptionAlgorithm",
                 ) -> tuple[Key, bytes]:
    """The key and plaintext of ``params['CiphertextBlob']`` (InvalidCiphertextException when it does not open).

    A KeyId given with the blob must be the key the blob names (IncorrectKeyException), even when the
    blob names a key that no longer exists.
    """
    blob = bytes(params["CiphertextBlob"])
    named = params.get(key_member)
    key = blob_key(db, blob, call)
    if named:
        wanted = find(call, db, named)
        header = _header(blob)
        if (key is not None and key.key_id != wanted.key_id) or (
                wanted.key_spec == crypto.SYMMETRIC and header is not None and header.key_id != wanted.key_id):
            raise IncorrectKeyException("The key ID in the request does not identify a CMK that can perform "
                                        "this operation.")
        key = wanted
    if key is None:
        raise InvalidCiphertextException("")
    require_usable(key)
    algorithm = _algorithm(key, params, algorithm_member)
    refuse_dry_run(params)
    if key.key_spec != crypto.SYMMETRIC:
        return key, _rsa_decrypt(call, db, key, blob, algorithm)
    return key, open_sealed(call, db, key, blob, params.get(context_member))


def _header(blob: bytes) -> crypto.BlobHeader | None:
    """What a blob says about its key and version, or None when it is not one of ours."""
    try:
        return crypto.read_header(blob)
    except crypto.CryptoFailure:
        return None


def open_sealed(call: Call, db: Db, key: Key, blob: bytes, context: dict[str, str] | None) -> bytes:
    """The plaintext of a symmetric blob under ``key``; InvalidCiphertextException for anything else.

    A header naming another key, or a material version the key never had, is a bad ciphertext (not a
    missing key): the blob is the caller's input, the key is fine.
    """
    header = _header(blob)
    if header is None or header.key_id != key.key_id or not 1 <= header.version <= key.current_version:
        raise InvalidCiphertextException("")
    try:
        return crypto.open_blob(material(call, db, key, header.version), blob, context)
    except crypto.CryptoFailure as exc:
        raise InvalidCiphertextException("") from exc


def _rsa_decrypt(call: Call, db: Db, key: Key, blob: bytes, algorithm: str) -> bytes:
    """RSA OAEP decryption; anything that does not decrypt is InvalidCiphertextException."""
    try:
        return crypto.rsa_decrypt(material(call, db, key), algorithm, blob)
    except crypto.CryptoFailure as exc:
        raise InvalidCiphertextException("") from exc


@handler("kms", "Encrypt")
def encrypt(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """Up to 4096 bytes under a key; the context is bound as AAD."""
    with call.gateway.db.read() as conn:
        key = encryption_key(call, conn, params["KeyId"], "kms:Encrypt")
        algorithm = _algorithm(key, params)
        refuse_dry_run(params)
        blob = encrypt_with(call, conn, key, params["Plaintext"], params.get("EncryptionContext"), algorithm)
    return {"CiphertextBlob": blob, "KeyId": key.arn, "EncryptionAlgorithm": algorithm}


@handler("kms", "Decrypt")
def decrypt(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """The plaintext of a blob; the key comes from the blob when KeyId is absent."""
    refuse_recipient(params)
    with call.gateway.db.read() as conn:
        key, plaintext = decrypt_blob(call, conn, params)
    return {"KeyId": key.arn, "Plaintext": plaintext,
            "EncryptionAlgorithm": params.get("EncryptionAlgorithm") or crypto.SYMMETRIC}


@handler("kms", "ReEncrypt")
def re_encrypt(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """Decrypt under the source key and encrypt under the destination, server-side."""
    with call.gateway.db.read() as conn:
        target = encryption_key(call, conn, params["DestinationKeyId"], "kms:ReEncryptTo")
        algorithm = _algorithm(target, params, "DestinationEncryptionAlgorithm")
        source, plaintext = decrypt_blob(call, conn, params, key_member="SourceKeyId",
                                         context_member="SourceEncryptionContext",
                                         algorithm_member="SourceEncryptionAlgorithm")
        blob = encrypt_with(call, conn, target, plaintext, params.get("DestinationEncryptionContext"), algorithm)
    return {"CiphertextBlob": blob, "SourceKeyId": source.arn, "KeyId": target.arn,
            "SourceEncryptionAlgorithm": params.get("SourceEncryptionAlgorithm") or crypto.SYMMETRIC,
            "DestinationEncryptionAlgorithm": algorithm}


def data_key_size(params: dict[str, Any]) -> int:
    """KeySpec or NumberOfBytes, exactly one of them (ValidationException otherwise)."""
    spec, count = params.get("KeySpec"), params.get("NumberOfBytes")
    if (spec is None) == (count is None):
        raise ValidationError("Please specify either number of bytes or key spec.")
    return _DATA_KEY_BYTES[spec] if spec is not None else int(count)


def _symmetric_key(call: Call, db: Db, params: dict[str, Any], action: str) -> Key:
    """A usable symmetric encryption key (data keys need one)."""
    key = encryption_key(call, db, params["KeyId"], action)
    if key.key_spec != crypto.SYMMETRIC:
        raise InvalidKeyUsageException(f"{key.arn} key spec {key.key_spec} is not valid for "
                                       f"{action.partition(':')[2]}.")
    return key


@handler("kms", "GenerateDataKey")
def generate_data_key(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """A random data key, in plaintext and encrypted under the KMS key."""
    size = data_key_size(params)
    refuse_recipient(params)
    with call.gateway.db.read() as conn:
        key = _symmetric_key(call, conn, params, "kms:GenerateDataKey")
        refuse_dry_run(params)
        plain = os.urandom(size)
        blob = encrypt_with(call, conn, key, plain, params.get("EncryptionContext"))
    return {"CiphertextBlob": blob, "Plaintext": plain, "KeyId": key.arn}


@handler("kms", "GenerateDataKeyWithoutPlaintext")
def generate_data_key_without_plaintext(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """A random data key, encrypted only."""
    size = data_key_size(params)
    with call.gateway.db.read() as conn:
        key = _symmetric_key(call, conn, params, "kms:GenerateDataKeyWithoutPlaintext")
        refuse_dry_run(params)
        blob = encrypt_with(call, conn, key, os.urandom(size), params.get("EncryptionContext"))
    return {"CiphertextBlob": blob, "KeyId": key.arn}


def _data_key_pair(call: Call, params: dict[str, Any], action: str) -> dict[str, Any]:
    """A fresh RSA or EC key pair whose private key is sealed under a symmetric KMS key."""
    spec = params["KeyPairSpec"]
    if spec not in crypto.RSA_SPECS and spec not in crypto.EC_SPECS:
        raise InvalidKeyUsageException(f"KeyPairSpec {spec} is not supported.")
    refuse_recipient(params)
    with call.gateway.db.read() as conn:
        key = _symmetric_key(call, conn, params, action)
        refuse_dry_run(params)
        private = crypto.private_der(crypto.new_private_key(spec))
        blob = encrypt_with(call, conn, key, private, params.get("EncryptionContext"))
    return {"PrivateKeyCiphertextBlob": blob, "PrivateKeyPlaintext": private,
            "PublicKey": crypto.public_der(private), "KeyId": key.arn, "KeyPairSpec": spec}


@handler("kms", "GenerateDataKeyPair")
def generate_data_key_pair(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """An RSA or EC key pair; the private key also encrypted under the KMS key."""
    return _data_key_pair(call, params, "kms:GenerateDataKeyPair")


@handler("kms", "GenerateDataKeyPairWithoutPlaintext")
def generate_data_key_pair_without_plaintext(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """A key pair whose private key comes back only encrypted."""
    out = _data_key_pair(call, params, "kms:GenerateDataKeyPairWithoutPlaintext")
    del out["PrivateKeyPlaintext"]
    return out


@handler("kms", "GenerateRandom")
def generate_random(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """Random bytes from the operating system's CSPRNG."""
    if "NumberOfBytes" not in params:
        raise ValidationError("NumberOfBytes is required.")
    refuse_recipient(params)
    return {"Plaintext": os.urandom(int(params["NumberOfBytes"]))}

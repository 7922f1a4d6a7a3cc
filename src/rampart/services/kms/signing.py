"""Asymmetric and HMAC operations: Sign, Verify, GetPublicKey, GenerateMac, VerifyMac."""

from __future__ import annotations

from typing import Any

from rampart.aws.errors import ValidationError
from rampart.gateway.call import Call
from rampart.gateway.registry import handler
from rampart.services.kms import crypto
from rampart.services.kms.errors import (
    InvalidKeyUsageException,
    KMSInvalidMacException,
    KMSInvalidSignatureException,
    UnsupportedOperationException,
)
from rampart.services.kms.keys import (
    Db,
    Key,
    find,
    material,
    refuse_dry_run,
    require_usable,
)


def _key(call: Call, db: Db, params: dict[str, Any], action: str, usage: str) -> Key:
    """A usable key of the usage the operation needs (InvalidKeyUsageException otherwise)."""
    key = find(call, db, params["KeyId"])
    require_usable(key)
    if key.key_usage != usage:
        raise InvalidKeyUsageException(f"{key.arn} key usage is {key.key_usage} which is not valid for "
                                       f"{action.partition(':')[2]}.")
    return key


def _signing(key: Key, params: dict[str, Any]) -> tuple[str, bool]:
    """The algorithm (checked against the key) and whether Message is a digest."""
    algorithm = params["SigningAlgorithm"]
    if not crypto.signing_algorithm_fits(key.key_spec, algorithm):
        raise InvalidKeyUsageException(f"Algorithm {algorithm} is incompatible with key spec {key.key_spec}.")
    message_type = params.get("MessageType", "RAW")
    if message_type == "EXTERNAL_MU":
        raise UnsupportedOperationException("MessageType EXTERNAL_MU is only for ML-DSA keys.")
    digest = message_type == "DIGEST"
    if digest and len(params["Message"]) != crypto.signing_hash(algorithm).digest_size:
        raise ValidationError(f"Digest is invalid length for algorithm {algorithm}.")
    return algorithm, digest


@handler("kms", "Sign")
def sign(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """An RSA or ECDSA signature of a message (or of a digest, MessageType DIGEST)."""
    with call.gateway.db.read() as conn:
        key = _key(call, conn, params, "kms:Sign", "SIGN_VERIFY")
        algorithm, digest = _signing(key, params)
        refuse_dry_run(params)
        signature = crypto.sign(material(call, conn, key), algorithm, params["Message"], digest)
    return {"KeyId": key.arn, "Signature": signature, "SigningAlgorithm": algorithm}


@handler("kms", "Verify")
def verify(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """SignatureValid true, or KMSInvalidSignatureException."""
    with call.gateway.db.read() as conn:
        key = _key(call, conn, params, "kms:Verify", "SIGN_VERIFY")
        algorithm, digest = _signing(key, params)
        refuse_dry_run(params)
        try:
            crypto.verify(material(call, conn, key), algorithm, params["Message"], params["Signature"], digest)
        except crypto.CryptoFailure as exc:
            raise KMSInvalidSignatureException("") from exc
    return {"KeyId": key.arn, "SignatureValid": True, "SigningAlgorithm": algorithm}


@handler("kms", "GetPublicKey")
def get_public_key(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """The DER SubjectPublicKeyInfo of an asymmetric key."""
    with call.gateway.db.read() as conn:
        key = find(call, conn, params["KeyId"])
        require_usable(key)
        if key.key_spec not in crypto.RSA_SPECS and key.key_spec not in crypto.EC_SPECS:
            raise UnsupportedOperationException(f"{key.arn} key spec {key.key_spec} has no public key.")
        public = crypto.public_der(material(call, conn, key))
    return {"KeyId": key.arn, "PublicKey": public, "CustomerMasterKeySpec": key.key_spec, "KeySpec": key.key_spec,
            "KeyUsage": key.key_usage, **crypto.algorithms(key.key_spec, key.key_usage)}


def _mac_key(call: Call, db: Db, params: dict[str, Any], action: str) -> tuple[Key, str]:
    """A usable HMAC key and the MAC algorithm asked for, which must be the key's own."""
    key = _key(call, db, params, action, "GENERATE_VERIFY_MAC")
    algorithm = params["MacAlgorithm"]
    if crypto.HMAC_SPECS[key.key_spec][1] != algorithm:
        raise InvalidKeyUsageException(f"Algorithm {algorithm} is incompatible with key spec {key.key_spec}.")
    return key, algorithm


@handler("kms", "GenerateMac")
def generate_mac(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """HMAC of a message under an HMAC key."""
    with call.gateway.db.read() as conn:
        key, algorithm = _mac_key(call, conn, params, "kms:GenerateMac")
        refuse_dry_run(params)
        tag = crypto.mac(material(call, conn, key), algorithm, params["Message"])
    return {"KeyId": key.arn, "Mac": tag, "MacAlgorithm": algorithm}


@handler("kms", "VerifyMac")
def verify_mac(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """MacValid true, or KMSInvalidMacException (compared in constant time)."""
    with call.gateway.db.read() as conn:
        key, algorithm = _mac_key(call, conn, params, "kms:VerifyMac")
        refuse_dry_run(params)
        valid = crypto.mac_matches(material(call, conn, key), algorithm, params["Message"], params["Mac"])
    if not valid:
        raise KMSInvalidMacException("")
    return {"KeyId": key.arn, "MacValid": True, "MacAlgorithm": algorithm}



"""KMS's cryptography, pure: key material per key spec, the symmetric blob, sign, verify, MAC.

Everything here is the ``cryptography`` package; nothing touches storage.
The symmetric ciphertext blob names its key and material version, so Decrypt
needs no KeyId:

    b"RK" | version byte 1 | key id (16 bytes, the UUID) | material version (4 bytes)
    | nonce (12 bytes) | AES-256-GCM ciphertext and tag

The encryption context (canonical JSON, keys sorted) and the blob's header are
the additional authenticated data: a different context, key or version fails
the tag check.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import struct
import uuid
from dataclasses import dataclass

import orjson
from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa, utils
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

MAGIC = b"RK\x01"
_HEADER = struct.Struct(">3s16sI")
NONCE_BYTES = 12
MIN_BLOB = _HEADER.size + NONCE_BYTES + 16

SYMMETRIC = "SYMMETRIC_DEFAULT"
RSA_SPECS = {"RSA_2048": 2048, "RSA_3072": 3072, "RSA_4096": 4096}
EC_SPECS: dict[str, type[ec.EllipticCurve]] = {
    "ECC_NIST_P256": ec.SECP256R1, "ECC_NIST_P384": ec.SECP384R1, "ECC_NIST_P521": ec.SECP521R1,
    "ECC_SECG_P256K1": ec.SECP256K1,
}
HMAC_SPECS = {"HMAC_224": (28, "HMAC_SHA_224"), "HMAC_256": (32, "HMAC_SHA_256"),
              "HMAC_384": (48, "HMAC_SHA_384"), "HMAC_512": (64, "HMAC_SHA_512")}
_HASHES: dict[str, type[hashes.HashAlgorithm]] = {
    "SHA_1": hashes.SHA1, "SHA_224": hashes.SHA224, "SHA_256": hashes.SHA256,
    "SHA_384": hashes.SHA384, "SHA_512": hashes.SHA512,
}
_EC_SIGNING = {"ECC_NIST_P256": "ECDSA_SHA_256", "ECC_SECG_P256K1": "ECDSA_SHA_256",
               "ECC_NIST_P384": "ECDSA_SHA_384", "ECC_NIST_P521": "ECDSA_SHA_512"}
_RSA_SIGNING = [f"RSASSA_{kind}_SHA_{bits}" for kind in ("PSS", "PKCS1_V1_5") for bits in (256, 384, 512)]
_RSA_ENCRYPTION = ["RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256"]


class CryptoFailure(ValueError):
    """A ciphertext, signature or MAC that does not verify (the handler names the AWS error)."""


@dataclass(frozen=True, slots=True)
class BlobHeader:
    """What a symmetric ciphertext blob says about itself."""

    key_id: str
    version: int


def valid_specs(usage: str) -> set[str]:
    """The key specs AWS allows for a key usage."""
    if usage == "ENCRYPT_DECRYPT":
        return {SYMMETRIC, *RSA_SPECS}
    if usage == "SIGN_VERIFY":
        return {*RSA_SPECS, *EC_SPECS}
    if usage == "GENERATE_VERIFY_MAC":
        return set(HMAC_SPECS)
    return set()


def algorithms(spec: str, usage: str) -> dict[str, list[str]]:
    """DescribeKey's EncryptionAlgorithms / SigningAlgorithms / MacAlgorithms for a key."""
    if spec == SYMMETRIC:
        return {"EncryptionAlgorithms": [SYMMETRIC]}
    if spec in HMAC_SPECS:
        return {"MacAlgorithms": [HMAC_SPECS[spec][1]]}
    if spec in EC_SPECS:
        return {"SigningAlgorithms": [_EC_SIGNING[spec]]}
    if usage == "SIGN_VERIFY":
        return {"SigningAlgorithms": list(_RSA_SIGNING)}
    return {"EncryptionAlgorithms": list(_RSA_ENCRYPTION)}


def new_material(spec: str) -> bytes:
    """Fresh key material: 32 random bytes, HMAC bytes, or a PKCS#8 DER private key."""
    if spec == SYMMETRIC:
        return os.urandom(32)
    if spec in HMAC_SPECS:
        return os.urandom(HMAC_SPECS[spec][0])
    return private_der(new_private_key(spec))


def new_private_key(spec: str) -> rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey:
    """An RSA or EC private key of the spec (RSA_*, ECC_*)."""
    if spec in RSA_SPECS:
        return rsa.generate_private_key(public_exponent=65537, key_size=RSA_SPECS[spec])
    return ec.generate_private_key(EC_SPECS[spec]())


def private_der(key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey) -> bytes:
    """PKCS#8 DER, unencrypted (the caller encrypts it)."""
    return key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def public_der(material: bytes) -> bytes:
    """The DER SubjectPublicKeyInfo of a private key's material (GetPublicKey's answer)."""
    key = serialization.load_der_private_key(material, password=None)
    return key.public_key().public_bytes(serialization.Encoding.DER,
                                         serialization.PublicFormat.SubjectPublicKeyInfo)


def context_aad(context: dict[str, str] | None) -> bytes:
    """The canonical bytes of an encryption context: order of the pairs does not matter."""
    return orjson.dumps(context or {}, option=orjson.OPT_SORT_KEYS)


def seal(material: bytes, key_id: str, version: int, plaintext: bytes, context: dict[str, str] | None) -> bytes:
    """A symmetric ciphertext blob naming its key and version."""
    header = _HEADER.pack(MAGIC, uuid.UUID(key_id).bytes, version)
    nonce = os.urandom(NONCE_BYTES)
    return header + nonce + AESGCM(material).encrypt(nonce, plaintext, header + context_aad(context))


def read_header(blob: bytes) -> BlobHeader:
    """The key and material version a blob names; CryptoFailure when it is not one of ours."""
    if len(blob) < MIN_BLOB or blob[:3] != MAGIC:
        raise CryptoFailure("not a Rampart KMS ciphertext")
    _, raw_id, version = _HEADER.unpack_from(blob)
    return BlobHeader(str(uuid.UUID(bytes=raw_id)), version)


def open_blob(material: bytes, blob: bytes, context: dict[str, str] | None) -> bytes:
    """The plaintext of a blob, when key, version and context all match."""
    header, nonce = blob[:_HEADER.size], blob[_HEADER.size:_HEADER.size + NONCE_BYTES]
    try:
        return AESGCM(material).decrypt(nonce, blob[_HEADER.size + NONCE_BYTES:], header + context_aad(context))
    except InvalidTag as exc:
        raise CryptoFailure("ciphertext does not verify") from exc


# --- asymmetric ------------------------------------------------------------------


def _oaep(algorithm: str) -> padding.OAEP:
    """OAEP padding whose MGF1 and label hash is the one the algorithm names (SHA-1 or SHA-256)."""
    digest = _HASHES[algorithm.rsplit("_", 2)[-2] + "_" + algorithm.rsplit("_", 1)[-1]]()
    return padding.OAEP(mgf=padding.MGF1(digest), algorithm=digest, label=None)


def rsa_encrypt(material: bytes, algorithm: str, plaintext: bytes) -> bytes:
    """RSAES-OAEP with the algorithm's hash (SHA-1 or SHA-256); CryptoFailure when too long."""
    key = serialization.load_der_private_key(material, password=None)
    try:
        return key.public_key().encrypt(plaintext, _oaep(algorithm))  # type: ignore[union-attr]
    except ValueError as exc:
        raise CryptoFailure("plaintext too long for the key") from exc


def rsa_decrypt(material: bytes, algorithm: str, ciphertext: bytes) -> bytes:
    """The OAEP plaintext; CryptoFailure for anything that does not decrypt."""
    key = serialization.load_der_private_key(material, password=None)
    try:
        return key.decrypt(ciphertext, _oaep(algorithm))  # type: ignore[union-attr]
    except ValueError as exc:
        raise CryptoFailure("ciphertext does not decrypt") from exc


def signing_hash(algorithm: str) -> hashes.HashAlgorithm:
    """The hash named at the end of a signing algorithm (ECDSA_SHA_256 -> SHA-256)."""
    return _HASHES["SHA_" + algorithm.rsplit("_", 1)[-1]]()


def _signature_scheme(algorithm: str, message: bytes, digest_given: bool) -> tuple[object, bytes]:
    """The padding (RSA) or ECDSA object and the data for sign/verify, prehashed when given a digest."""
    chosen = signing_hash(algorithm)
    hashed = utils.Prehashed(chosen) if digest_given else chosen
    if algorithm.startswith("ECDSA"):
        return ec.ECDSA(hashed), message
    if algorithm.startswith("RSASSA_PSS"):
        return (padding.PSS(mgf=padding.MGF1(chosen), salt_length=chosen.digest_size), hashed), message
    return (padding.PKCS1v15(), hashed), message


def sign(material: bytes, algorithm: str, message: bytes, digest_given: bool) -> bytes:
    """An RSA or ECDSA (DER) signature of the message or of the given digest."""
    key = serialization.load_der_private_key(material, password=None)
    scheme, data = _signature_scheme(algorithm, message, digest_given)
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return key.sign(data, scheme)  # type: ignore[arg-type]
    pad, hashed = scheme  # type: ignore[misc]
    return key.sign(data, pad, hashed)  # type: ignore[union-attr]


def verify(material: bytes, algorithm: str, message: bytes, signature: bytes, digest_given: bool) -> None:
    """Raises CryptoFailure unless the signature is valid."""
    public = serialization.load_der_private_key(material, password=None).public_key()
    scheme, data = _signature_scheme(algorithm, message, digest_given)
    try:
        if isinstance(public, ec.EllipticCurvePublicKey):
            public.verify(signature, data, scheme)  # type: ignore[arg-type]
        else:
            pad, hashed = scheme  # type: ignore[misc]
            public.verify(signature, data, pad, hashed)  # type: ignore[union-attr]
    except (InvalidSignature, ValueError) as exc:
        raise CryptoFailure("signature does not verify") from exc


def signing_algorithm_fits(spec: str, algorithm: str) -> bool:
    """Whether a signing algorithm goes with a key spec."""
    if spec in EC_SPECS:
        return _EC_SIGNING[spec] == algorithm
    return spec in RSA_SPECS and algorithm in _RSA_SIGNING


def encryption_algorithm_fits(spec: str, algorithm: str) -> bool:
    """Whether an encryption algorithm goes with a key spec."""
    if spec == SYMMETRIC:
        return algorithm == SYMMETRIC
    return spec in RSA_SPECS and algorithm in _RSA_ENCRYPTION


# --- HMAC ------------------------------------------------------------------------


def mac(material: bytes, algorithm: str, message: bytes) -> bytes:
    """HMAC of the message with the algorithm's hash."""
    return hmac.new(material, message, getattr(hashlib, "sha" + algorithm.rsplit("_", 1)[-1])).digest()


def mac_matches(material: bytes, algorithm: str, message: bytes, given: bytes) -> bool:
    """Constant-time comparison of a MAC."""
    return hmac.compare_digest(mac(material, algorithm, message), given)

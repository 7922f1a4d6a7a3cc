"""The digest tables (as created by migration 0015).

``ct_signing_keys``: CloudTrail's RSA key pairs, one current per region and
the retired ones kept with their validity range (ListPublicKeys answers for
past digests). The private key is stored only sealed under the server's
master key, its AAD naming region and fingerprint.

``ct_digest_chains``: per (trail, account, region), where the last digest
went and what the next one must link to. A row changes only after its
digest's PUT succeeded, so a failed round repeats the same window.
"""

from __future__ import annotations

from sqlalchemy import Column, LargeBinary, String, Table, Text

from rampart.storage.schema import metadata
from rampart.storage.types import UtcDateTime

ct_signing_keys = Table(
    "ct_signing_keys",
    metadata,
    Column("fingerprint", String(32), primary_key=True),  # hex MD5 of the PKCS#1 DER public key
    Column("region", String(32), nullable=False, index=True),
    Column("public_der", LargeBinary(), nullable=False),  # PKCS#1 RSAPublicKey, DER
    Column("private_sealed", LargeBinary(), nullable=False),  # master-key ciphertext of the PKCS#8 DER
    Column("valid_from", UtcDateTime(timezone=True), nullable=False),
    Column("valid_until", UtcDateTime(timezone=True), nullable=False),
)

ct_digest_chains = Table(
    "ct_digest_chains",
    metadata,
    Column("trail_arn", String(256), primary_key=True),
    Column("account_id", String(12), primary_key=True),
    Column("region", String(32), primary_key=True),
    Column("bucket", String(63), nullable=False),
    Column("s3_key", Text(), nullable=False),
    Column("signature", Text(), nullable=False),  # hex
    Column("hash_value", String(64), nullable=False),  # hex SHA-256 of the inflated digest
    Column("end_time", UtcDateTime(timezone=True), nullable=False),
)

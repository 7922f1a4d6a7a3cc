"""The KMS tables (as created by migration 0007).

Key ids are random UUIDs, unique across accounts and regions, so a ciphertext
blob that names a key id names exactly one key. Key material lives only in
``kms_key_materials``, encrypted under the server's master key; destroying a
key deletes its material rows, after which nothing sealed under it opens.
"""

from __future__ import annotations

from sqlalchemy import Column, ForeignKey, Integer, LargeBinary, String, Table, Text

from rampart.storage.schema import metadata
from rampart.storage.types import UtcDateTime

kms_keys = Table(
    "kms_keys",
    metadata,
    Column("key_id", String(36), primary_key=True),
    Column("account_id", String(12), ForeignKey("accounts.account_id", ondelete="CASCADE"), nullable=False, index=True),
    Column("region", String(32), nullable=False),
    Column("description", Text(), nullable=False),
    Column("key_spec", String(32), nullable=False),
    Column("key_usage", String(32), nullable=False),
    Column("origin", String(32), nullable=False),
    Column("manager", String(16), nullable=False),  # CUSTOMER | AWS
    Column("state", String(32), nullable=False),  # Enabled | Disabled | PendingDeletion
    Column("created_at", UtcDateTime(timezone=True), nullable=False),
    Column("deletion_date", UtcDateTime(timezone=True), nullable=True),
    Column("pending_window_days", Integer(), nullable=True),
    Column("policy", Text(), nullable=False),
    Column("tags", Text(), nullable=False),  # JSON object TagKey -> TagValue
    Column("rotation_days", Integer(), nullable=True),  # None: automatic rotation off
    Column("next_rotation_at", UtcDateTime(timezone=True), nullable=True),
    Column("current_version", Integer(), nullable=False),
)

kms_key_materials = Table(
    "kms_key_materials",
    metadata,
    Column("key_id", String(36), ForeignKey("kms_keys.key_id", ondelete="CASCADE"), primary_key=True),
    Column("version", Integer(), primary_key=True),
    Column("created_at", UtcDateTime(timezone=True), nullable=False),
    Column("rotation_type", String(16), nullable=True),  # None for the original; AUTOMATIC | ON_DEMAND
    Column("material", LargeBinary(), nullable=False),  # master-key ciphertext, AAD names key and version
)

kms_aliases = Table(
    "kms_aliases",
    metadata,
    Column("account_id", String(12), ForeignKey("accounts.account_id", ondelete="CASCADE"), primary_key=True),
    Column("region", String(32), primary_key=True),
    Column("name", String(256), primary_key=True),
    Column("key_id", String(36), ForeignKey("kms_keys.key_id", ondelete="CASCADE"), nullable=False, index=True),
    Column("created_at", UtcDateTime(timezone=True), nullable=False),
    Column("updated_at", UtcDateTime(timezone=True), nullable=False),
)

kms_grants = Table(
    "kms_grants",
    metadata,
    Column("grant_id", String(64), primary_key=True),
    Column("key_id", String(36), ForeignKey("kms_keys.key_id", ondelete="CASCADE"), nullable=False, index=True),
    Column("token_hash", String(64), nullable=False, unique=True),  # SHA-256 of the grant token
    Column("name", String(256), nullable=True),
    Column("grantee", String(256), nullable=False),
    Column("retiring", String(256), nullable=True),
    Column("issuing_account", String(256), nullable=False),
    Column("operations", Text(), nullable=False),  # JSON list
    Column("constraints", Text(), nullable=True),  # JSON object as the API spells it
    Column("created_at", UtcDateTime(timezone=True), nullable=False),
)

"""The database schema, as SQLAlchemy Core tables.

State is keyed the way DESIGN.md says: by account for global services (IAM),
by (account, region, id) for regional ones. This module describes the *latest*
schema (for queries and for ``alembic revision --autogenerate``); the database
itself only changes through the migrations in ``storage/migrations/versions``.
A later feature adds its tables here *and* in a new migration.
"""

from __future__ import annotations

from sqlalchemy import (
    Column,
    ForeignKey,
    Index,
    LargeBinary,
    MetaData,
    String,
    Table,
)

from rampart.storage.types import UtcDateTime

# Deterministic constraint names, so that later migrations (including SQLite's
# batch mode, which recreates tables) can find and alter constraints by name.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING_CONVENTION)
"""All of Rampart's tables; the target of Alembic's autogenerate."""

ACCOUNT_ID_LENGTH = 12
ACCESS_KEY_ID_MAX = 128  # IAM's AccessKeyIdType maxLength

accounts = Table(
    "accounts",
    metadata,
    Column("account_id", String(ACCOUNT_ID_LENGTH), primary_key=True),
    Column("name", String(64), nullable=False, unique=True),
    Column("created_at", UtcDateTime(), nullable=False),
)
"""One row per AWS account that this server hosts."""

access_keys = Table(
    "access_keys",
    metadata,
    Column("access_key_id", String(ACCESS_KEY_ID_MAX), primary_key=True),
    Column(
        "account_id",
        String(ACCOUNT_ID_LENGTH),
        ForeignKey("accounts.account_id", ondelete="CASCADE"),
        nullable=False,
    ),
    # 'root' or 'user' today; later issues may add kinds without a migration.
    Column("principal_kind", String(16), nullable=False),
    Column("user_name", String(64), nullable=True),
    # AES-GCM ciphertext from rampart.secrets; the plaintext never hits disk.
    Column("secret_ciphertext", LargeBinary(), nullable=False),
    Column("status", String(16), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("last_used_at", UtcDateTime(), nullable=True),
    Column("last_used_service", String(64), nullable=True),
    Column("last_used_region", String(32), nullable=True),
    Index("ix_access_keys_account_user", "account_id", "principal_kind", "user_name"),
)
"""Long-term credentials (root and IAM user access keys); looked up by id on every request."""

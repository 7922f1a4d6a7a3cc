"""The database schema, as SQLAlchemy Core tables.

State is keyed the way DESIGN.md says: by account for global services (IAM),
by (account, region, id) for regional ones. This module describes the *latest*
schema (for queries and for ``alembic revision --autogenerate``); the database
itself only changes through the migrations in ``storage/migrations/versions``.
A later feature adds its tables here *and* in a new migration.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    ForeignKey,
    Index,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    func,
    text,
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

account_generations = Table(
    "account_generations",
    metadata,
    Column("account_id", String(ACCOUNT_ID_LENGTH), ForeignKey("accounts.account_id", ondelete="CASCADE"), primary_key=True),
    Column("generation", BigInteger(), nullable=False),
)
"""Bumped by every change to who may do what in an account (keys, IAM), so other processes notice."""

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

# --- IAM ---------------------------------------------------------------------
# IAM is global: every row is keyed by account. Entities of every kind share one
# table (name, path, id, ARN, tags and kind-specific attributes as JSON); the
# relations between them get tables of their own so they can be queried both ways.

IAM_NAME_MAX = 128
ARN_MAX = 2048

iam_entities = Table(
    "iam_entities",
    metadata,
    Column("account_id", String(ACCOUNT_ID_LENGTH), ForeignKey("accounts.account_id", ondelete="CASCADE"), primary_key=True),
    # user, group, role, policy, instance-profile, mfa, oidc-provider, saml-provider
    Column("kind", String(24), primary_key=True),
    Column("name", String(1024), primary_key=True),
    Column("path", String(512), nullable=False),
    Column("entity_id", String(128), nullable=False),
    Column("arn", String(ARN_MAX), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("data", Text(), nullable=False),  # JSON object: the kind's own attributes
    Column("tags", Text(), nullable=False),  # JSON list of {"Key", "Value"} in insertion order
    Index("ix_iam_entities_arn", "arn"),
    Index("ix_iam_entities_name_folded", "account_id", "kind", func.lower(text("name"))),
)
"""Users, groups, roles, customer managed policies, instance profiles, MFA devices, identity providers."""

iam_policy_versions = Table(
    "iam_policy_versions",
    metadata,
    Column("account_id", String(ACCOUNT_ID_LENGTH), primary_key=True),
    Column("policy_name", String(IAM_NAME_MAX), primary_key=True),
    Column("version_id", String(16), primary_key=True),
    Column("document", Text(), nullable=False),
    Column("is_default", Boolean(), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
)
"""The versions of customer managed policies (at most 5 each, one default)."""

iam_inline_policies = Table(
    "iam_inline_policies",
    metadata,
    Column("account_id", String(ACCOUNT_ID_LENGTH), primary_key=True),
    Column("owner_kind", String(24), primary_key=True),  # user, group, role
    Column("owner_name", String(IAM_NAME_MAX), primary_key=True),
    Column("policy_name", String(IAM_NAME_MAX), primary_key=True),
    Column("document", Text(), nullable=False),
)
"""Policies embedded in one user, group or role."""

iam_attachments = Table(
    "iam_attachments",
    metadata,
    Column("account_id", String(ACCOUNT_ID_LENGTH), primary_key=True),
    Column("owner_kind", String(24), primary_key=True),  # user, group, role
    Column("owner_name", String(IAM_NAME_MAX), primary_key=True),
    Column("policy_arn", String(ARN_MAX), primary_key=True),
    Index("ix_iam_attachments_policy", "account_id", "policy_arn"),
)
"""Managed policies (customer or AWS managed) attached to users, groups and roles."""

iam_group_members = Table(
    "iam_group_members",
    metadata,
    Column("account_id", String(ACCOUNT_ID_LENGTH), primary_key=True),
    Column("group_name", String(IAM_NAME_MAX), primary_key=True),
    Column("user_name", String(IAM_NAME_MAX), primary_key=True),
    Index("ix_iam_group_members_user", "account_id", "user_name"),
)

iam_instance_profile_roles = Table(
    "iam_instance_profile_roles",
    metadata,
    Column("account_id", String(ACCOUNT_ID_LENGTH), primary_key=True),
    Column("profile_name", String(IAM_NAME_MAX), primary_key=True),
    Column("role_name", String(IAM_NAME_MAX), primary_key=True),
)

iam_login_profiles = Table(
    "iam_login_profiles",
    metadata,
    Column("account_id", String(ACCOUNT_ID_LENGTH), primary_key=True),
    Column("user_name", String(IAM_NAME_MAX), primary_key=True),
    Column("password_hash", String(256), nullable=False),  # scrypt, salted; never the password
    Column("history", Text(), nullable=False),  # JSON list of earlier hashes (reuse prevention)
    Column("reset_required", Boolean(), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("changed_at", UtcDateTime(), nullable=False),
    Column("last_used_at", UtcDateTime(), nullable=True),
)

iam_account_settings = Table(
    "iam_account_settings",
    metadata,
    Column("account_id", String(ACCOUNT_ID_LENGTH), ForeignKey("accounts.account_id", ondelete="CASCADE"), primary_key=True),
    Column("password_policy", Text(), nullable=True),  # JSON, None when the account has none
    Column("alias", String(63), nullable=True, unique=True),
    Column("credential_report", LargeBinary(), nullable=True),  # CSV bytes
    Column("credential_report_at", UtcDateTime(), nullable=True),
)
"""Per-account IAM settings: password policy, alias, the last credential report."""

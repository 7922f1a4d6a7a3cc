"""Organizations' tables (migration 0006 creates exactly these).

An organization is owned by its management account; every id (OU, policy,
handshake, account-creation request) is unique server-wide, so rows are keyed
by that id and carry the organization's id for scoping. Member accounts are
real Rampart accounts: leaving or deletion removes only the membership row.
"""

from __future__ import annotations

from sqlalchemy import Boolean, Column, ForeignKey, Index, String, Table, Text

from rampart.storage.schema import metadata
from rampart.storage.types import UtcDateTime

ACCOUNT = 12

org_organizations = Table(
    "org_organizations",
    metadata,
    Column("org_id", String(34), primary_key=True),
    Column("management_account_id", String(ACCOUNT), ForeignKey("accounts.account_id", ondelete="CASCADE"),
           nullable=False, unique=True),
    Column("root_id", String(34), nullable=False),
    Column("feature_set", String(32), nullable=False),
    Column("policy_types", Text(), nullable=False),  # JSON list of the types enabled on the root
    Column("created_at", UtcDateTime(), nullable=False),
)
"""One row per organization."""

org_accounts = Table(
    "org_accounts",
    metadata,
    Column("account_id", String(ACCOUNT), ForeignKey("accounts.account_id", ondelete="CASCADE"), primary_key=True),
    Column("org_id", String(34), ForeignKey("org_organizations.org_id", ondelete="CASCADE"), nullable=False),
    Column("parent_id", String(100), nullable=False),
    Column("email", String(64), nullable=False),
    Column("name", String(64), nullable=False),
    Column("joined_method", String(16), nullable=False),
    Column("joined_at", UtcDateTime(), nullable=False),
    Index("ix_org_accounts_org_id", "org_id"),
)
"""Membership: an account belongs to at most one organization (the management account too)."""

org_units = Table(
    "org_units",
    metadata,
    Column("ou_id", String(68), primary_key=True),
    Column("org_id", String(34), ForeignKey("org_organizations.org_id", ondelete="CASCADE"), nullable=False),
    Column("parent_id", String(100), nullable=False),
    Column("name", String(128), nullable=False),
    Index("ix_org_units_org_id", "org_id"),
)
"""Organizational units; ``parent_id`` is the root's or another OU's id."""

org_policies = Table(
    "org_policies",
    metadata,
    Column("org_id", String(34), ForeignKey("org_organizations.org_id", ondelete="CASCADE"), primary_key=True),
    Column("policy_id", String(130), primary_key=True),
    Column("name", String(128), nullable=False),
    Column("description", String(512), nullable=False),
    Column("policy_type", String(40), nullable=False),
    Column("content", Text(), nullable=False),
    Column("aws_managed", Boolean(), nullable=False),
)
"""SCPs and RCPs; the AWS managed ones (p-FullAWSAccess, ...) get a row per organization."""

org_attachments = Table(
    "org_attachments",
    metadata,
    Column("org_id", String(34), ForeignKey("org_organizations.org_id", ondelete="CASCADE"), primary_key=True),
    Column("policy_id", String(130), primary_key=True),
    Column("target_id", String(100), primary_key=True),
    Index("ix_org_attachments_target", "org_id", "target_id"),
)
"""Which policy is attached to which root, OU or account."""

org_handshakes = Table(
    "org_handshakes",
    metadata,
    Column("handshake_id", String(34), primary_key=True),
    Column("org_id", String(34), ForeignKey("org_organizations.org_id", ondelete="CASCADE"), nullable=False),
    Column("target_account_id", String(ACCOUNT), nullable=False),
    Column("state", String(16), nullable=False),
    Column("requested_at", UtcDateTime(), nullable=False),
    Column("expires_at", UtcDateTime(), nullable=False),
    Column("notes", Text(), nullable=False),
    Index("ix_org_handshakes_target", "target_account_id"),
)
"""Invitations to join an organization (action INVITE)."""

org_create_status = Table(
    "org_create_status",
    metadata,
    Column("request_id", String(40), primary_key=True),
    Column("org_id", String(34), ForeignKey("org_organizations.org_id", ondelete="CASCADE"), nullable=False),
    Column("account_name", String(64), nullable=False),
    Column("state", String(16), nullable=False),
    Column("account_id", String(ACCOUNT), nullable=True),
    Column("failure_reason", String(64), nullable=True),
    Column("requested_at", UtcDateTime(), nullable=False),
    Column("completed_at", UtcDateTime(), nullable=True),
)
"""CreateAccount requests and their outcome."""

org_tags = Table(
    "org_tags",
    metadata,
    Column("org_id", String(34), ForeignKey("org_organizations.org_id", ondelete="CASCADE"), primary_key=True),
    Column("resource_id", String(130), primary_key=True),
    Column("tags", Text(), nullable=False),  # JSON list of {"Key", "Value"}
)
"""Tags of accounts, OUs, roots and policies."""

org_settings = Table(
    "org_settings",
    metadata,
    Column("org_id", String(34), ForeignKey("org_organizations.org_id", ondelete="CASCADE"), primary_key=True),
    Column("document", Text(), nullable=False),  # JSON: closed accounts, delegated administrators, services
)
"""Per-organization settings that are no resource of their own (migration 0011)."""

ALL_TABLES = (org_organizations, org_accounts, org_units, org_policies, org_attachments, org_handshakes,
              org_create_status, org_tags, org_settings)

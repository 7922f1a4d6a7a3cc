"""STS's table: which session token goes with a temporary access key id.

SigV4 hands the credential store only the access key id, so a row maps each
ASIA key id to its session token (itself the sealed session: see
``sessions``). The token is authenticated ciphertext under the master key, so
the row reveals neither the secret nor lets anyone mint a session. Matches
migration 0005 exactly.
"""

from __future__ import annotations

from sqlalchemy import Column, ForeignKey, Index, String, Table, Text

from rampart.storage.schema import metadata
from rampart.storage.types import UtcDateTime

sts_sessions = Table(
    "sts_sessions",
    metadata,
    Column("access_key_id", String(128), primary_key=True),
    Column("account_id", String(12), ForeignKey("accounts.account_id", ondelete="CASCADE"), nullable=False),
    Column("session_token", Text(), nullable=False),
    Column("issued_at", UtcDateTime(), nullable=False),
    Column("expires_at", UtcDateTime(), nullable=False),
    Index("ix_sts_sessions_expires_at", "expires_at"),
)

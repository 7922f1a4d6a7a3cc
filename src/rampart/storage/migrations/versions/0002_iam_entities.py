"""IAM: entities, policy versions, inline policies, attachments, memberships, login profiles, account settings.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29 02:51:47.652506
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import rampart.storage.types

revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""

    op.create_table('iam_attachments',
    sa.Column('account_id', sa.String(length=12), nullable=False),
    sa.Column('owner_kind', sa.String(length=24), nullable=False),
    sa.Column('owner_name', sa.String(length=128), nullable=False),
    sa.Column('policy_arn', sa.String(length=2048), nullable=False),
    sa.PrimaryKeyConstraint('account_id', 'owner_kind', 'owner_name', 'policy_arn', name=op.f('pk_iam_attachments'))
    )
    with op.batch_alter_table('iam_attachments', schema=None) as batch_op:
        batch_op.create_index('ix_iam_attachments_policy', ['account_id', 'policy_arn'], unique=False)

    op.create_table('iam_group_members',
    sa.Column('account_id', sa.String(length=12), nullable=False),
    sa.Column('group_name', sa.String(length=128), nullable=False),
    sa.Column('user_name', sa.String(length=128), nullable=False),
    sa.PrimaryKeyConstraint('account_id', 'group_name', 'user_name', name=op.f('pk_iam_group_members'))
    )
    with op.batch_alter_table('iam_group_members', schema=None) as batch_op:
        batch_op.create_index('ix_iam_group_members_user', ['account_id', 'user_name'], unique=False)

    op.create_table('iam_inline_policies',
    sa.Column('account_id', sa.String(length=12), nullable=False),
    sa.Column('owner_kind', sa.String(length=24), nullable=False),
    sa.Column('owner_name', sa.String(length=128), nullable=False),
    sa.Column('policy_name', sa.String(length=128), nullable=False),
    sa.Column('document', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('account_id', 'owner_kind', 'owner_name', 'policy_name', name=op.f('pk_iam_inline_policies'))
    )
    op.create_table('iam_instance_profile_roles',
    sa.Column('account_id', sa.String(length=12), nullable=False),
    sa.Column('profile_name', sa.String(length=128), nullable=False),
    sa.Column('role_name', sa.String(length=128), nullable=False),
    sa.PrimaryKeyConstraint('account_id', 'profile_name', 'role_name', name=op.f('pk_iam_instance_profile_roles'))
    )
    op.create_table('iam_login_profiles',
    sa.Column('account_id', sa.String(length=12), nullable=False),
    sa.Column('user_name', sa.String(length=128), nullable=False),
    sa.Column('password_hash', sa.String(length=256), nullable=False),
    sa.Column('history', sa.Text(), nullable=False),
    sa.Column('reset_required', sa.Boolean(), nullable=False),
    sa.Column('created_at', rampart.storage.types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('changed_at', rampart.storage.types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('last_used_at', rampart.storage.types.UtcDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('account_id', 'user_name', name=op.f('pk_iam_login_profiles'))
    )
    op.create_table('iam_policy_versions',
    sa.Column('account_id', sa.String(length=12), nullable=False),
    sa.Column('policy_name', sa.String(length=128), nullable=False),
    sa.Column('version_id', sa.String(length=16), nullable=False),
    sa.Column('document', sa.Text(), nullable=False),
    sa.Column('is_default', sa.Boolean(), nullable=False),
    sa.Column('created_at', rampart.storage.types.UtcDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('account_id', 'policy_name', 'version_id', name=op.f('pk_iam_policy_versions'))
    )
    op.create_table('iam_account_settings',
    sa.Column('account_id', sa.String(length=12), nullable=False),
    sa.Column('password_policy', sa.Text(), nullable=True),
    sa.Column('alias', sa.String(length=63), nullable=True),
    sa.Column('credential_report', sa.LargeBinary(), nullable=True),
    sa.Column('credential_report_at', rampart.storage.types.UtcDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.account_id'], name=op.f('fk_iam_account_settings_account_id_accounts'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('account_id', name=op.f('pk_iam_account_settings')),
    sa.UniqueConstraint('alias', name=op.f('uq_iam_account_settings_alias'))
    )
    op.create_table('iam_entities',
    sa.Column('account_id', sa.String(length=12), nullable=False),
    sa.Column('kind', sa.String(length=24), nullable=False),
    sa.Column('name', sa.String(length=1024), nullable=False),
    sa.Column('path', sa.String(length=512), nullable=False),
    sa.Column('entity_id', sa.String(length=128), nullable=False),
    sa.Column('arn', sa.String(length=2048), nullable=False),
    sa.Column('created_at', rampart.storage.types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('data', sa.Text(), nullable=False),
    sa.Column('tags', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.account_id'], name=op.f('fk_iam_entities_account_id_accounts'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('account_id', 'kind', 'name', name=op.f('pk_iam_entities'))
    )
    with op.batch_alter_table('iam_entities', schema=None) as batch_op:
        batch_op.create_index('ix_iam_entities_arn', ['arn'], unique=False)




def downgrade() -> None:
    """Revert this revision."""

    with op.batch_alter_table('iam_entities', schema=None) as batch_op:
        batch_op.drop_index('ix_iam_entities_arn')

    op.drop_table('iam_entities')
    op.drop_table('iam_account_settings')
    op.drop_table('iam_policy_versions')
    op.drop_table('iam_login_profiles')
    op.drop_table('iam_instance_profile_roles')
    op.drop_table('iam_inline_policies')
    with op.batch_alter_table('iam_group_members', schema=None) as batch_op:
        batch_op.drop_index('ix_iam_group_members_user')

    op.drop_table('iam_group_members')
    with op.batch_alter_table('iam_attachments', schema=None) as batch_op:
        batch_op.drop_index('ix_iam_attachments_policy')

    op.drop_table('iam_attachments')


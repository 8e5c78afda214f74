"""One-time codes (verifying a customer's mobile, linking a connection by a code to its registered mobile), link
requests that staff approve (connections with no registered mobile), and users.verified_at

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-04 17:30:00

Users who exist already were created before the verification rule: they are marked verified (at their creation
time), so nobody is locked out of the app by this migration.
"""
from alembic import op
import sqlalchemy as sa


revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None

PENDING_ONLY = sa.text("status = 'pending'")


def upgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('verified_at', sa.DateTime(timezone=True), nullable=True))
    op.execute("UPDATE users SET verified_at = created_at")

    op.create_table(
        'one_time_codes',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('purpose', sa.String(length=20), nullable=False),
        sa.Column('subject', sa.String(length=40), nullable=False),
        sa.Column('code_hash', sa.String(length=64), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_one_time_codes_user_id_users'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_one_time_codes')),
    )
    with op.batch_alter_table('one_time_codes', schema=None) as batch_op:
        batch_op.create_index('ix_one_time_codes_lookup', ['user_id', 'purpose', 'subject', 'created_at'],
                              unique=False)

    op.create_table(
        'link_requests',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('account_id', sa.Integer(), nullable=False),
        sa.Column('bill_amount', sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column('status', sa.Enum('pending', 'approved', 'rejected', name='linkrequeststatus', native_enum=False,
                                    length=12), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('decided_by', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_link_requests_account_id_accounts')),
        sa.ForeignKeyConstraint(['decided_by'], ['users.id'], name=op.f('fk_link_requests_decided_by_users'),
                                ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_link_requests_user_id_users'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_link_requests')),
    )
    with op.batch_alter_table('link_requests', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_link_requests_account_id'), ['account_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_link_requests_status'), ['status'], unique=False)
        batch_op.create_index(batch_op.f('ix_link_requests_user_id'), ['user_id'], unique=False)
        batch_op.create_index('uq_link_requests_pending', ['user_id', 'account_id'], unique=True,
                              sqlite_where=PENDING_ONLY, postgresql_where=PENDING_ONLY)


def downgrade():
    with op.batch_alter_table('link_requests', schema=None) as batch_op:
        batch_op.drop_index('uq_link_requests_pending')
        batch_op.drop_index(batch_op.f('ix_link_requests_user_id'))
        batch_op.drop_index(batch_op.f('ix_link_requests_status'))
        batch_op.drop_index(batch_op.f('ix_link_requests_account_id'))
    op.drop_table('link_requests')
    with op.batch_alter_table('one_time_codes', schema=None) as batch_op:
        batch_op.drop_index('ix_one_time_codes_lookup')
    op.drop_table('one_time_codes')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('verified_at')

"""Notifications: the delivery claim's state, push urgency, the unread index, announcements sent once, budgets

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-04 17:30:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.add_column(sa.Column('urgency', sa.String(length=8), nullable=False, server_default='normal'))
        batch_op.create_index('ix_notifications_user_read', ['user_id', 'read_at'], unique=False)
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.alter_column('urgency', server_default=None)
    with op.batch_alter_table('announcements', schema=None) as batch_op:
        batch_op.add_column(sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True))
    op.create_table('usage_budgets',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('amount', sa.Numeric(precision=12, scale=2), nullable=True),
    sa.Column('units', sa.Numeric(precision=14, scale=3), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_usage_budgets_account_id_accounts')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_usage_budgets_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_usage_budgets')),
    sa.UniqueConstraint('user_id', 'account_id', name=op.f('uq_usage_budgets_user_id_account_id'))
    )
    with op.batch_alter_table('usage_budgets', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_usage_budgets_account_id'), ['account_id'], unique=False)


def downgrade():
    with op.batch_alter_table('usage_budgets', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_usage_budgets_account_id'))
    op.drop_table('usage_budgets')
    with op.batch_alter_table('announcements', schema=None) as batch_op:
        batch_op.drop_column('sent_at')
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.drop_index('ix_notifications_user_read')
        batch_op.drop_column('urgency')

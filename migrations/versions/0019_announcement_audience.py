"""Announcements for a list of connections (announcement_targets); an announcement called off before it was sent

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-04 20:10:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'announcement_targets',
        sa.Column('announcement_id', sa.Integer(), nullable=False),
        sa.Column('account_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], ),
        sa.ForeignKeyConstraint(['announcement_id'], ['announcements.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('announcement_id', 'account_id'),
    )
    with op.batch_alter_table('announcement_targets', schema=None) as batch_op:
        batch_op.create_index('ix_announcement_targets_account_id', ['account_id'], unique=False)
    with op.batch_alter_table('announcements', schema=None) as batch_op:
        batch_op.add_column(sa.Column('cancelled_at', sa.DateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table('announcements', schema=None) as batch_op:
        batch_op.drop_column('cancelled_at')
    with op.batch_alter_table('announcement_targets', schema=None) as batch_op:
        batch_op.drop_index('ix_announcement_targets_account_id')
    op.drop_table('announcement_targets')

"""Notifications: the delivery claim's state, push urgency, the unread index, announcements sent once, budgets

Revision ID: 0010
Revises: 0006
Create Date: 2026-12-04 17:30:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0010'
down_revision = '0006'
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


def downgrade():
    with op.batch_alter_table('announcements', schema=None) as batch_op:
        batch_op.drop_column('sent_at')
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.drop_index('ix_notifications_user_read')
        batch_op.drop_column('urgency')

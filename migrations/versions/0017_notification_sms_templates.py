"""Notifications: the DLT template and variables an SMS of each is sent with

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-04 20:15:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.add_column(sa.Column('sms_kind', sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column('sms_params', sa.JSON(), nullable=True))


def downgrade():
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.drop_column('sms_params')
        batch_op.drop_column('sms_kind')

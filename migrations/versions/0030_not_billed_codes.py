"""Bill run errors keep why as a code and its parameters (shown in the reader's language); the English reason
stays for the rows kept before.

Revision ID: 0030
Revises: 0029
Create Date: 2026-12-04 23:40:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0030'
down_revision = '0029'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('bill_run_errors', schema=None) as batch_op:
        batch_op.add_column(sa.Column('code', sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column('params', sa.JSON(), nullable=True))


def downgrade():
    with op.batch_alter_table('bill_run_errors', schema=None) as batch_op:
        batch_op.drop_column('params')
        batch_op.drop_column('code')

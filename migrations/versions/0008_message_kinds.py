"""outbound_messages: each message's kind (it picks the SMS's DLT template), the template's variables, and the
provider's reference for a sent message

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04 17:00:00

Messages already in the outbox were all password resets (the only kind sent until now).
"""
from alembic import op
import sqlalchemy as sa


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('outbound_messages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('kind', sa.String(length=40), nullable=False,
                                      server_default='password_reset'))
        batch_op.add_column(sa.Column('params', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('provider_ref', sa.String(length=100), nullable=True))
    with op.batch_alter_table('outbound_messages', schema=None) as batch_op:
        batch_op.alter_column('kind', server_default=None)  # every new message names its own


def downgrade():
    with op.batch_alter_table('outbound_messages', schema=None) as batch_op:
        batch_op.drop_column('provider_ref')
        batch_op.drop_column('params')
        batch_op.drop_column('kind')

"""Connection changes: each change to a connection's load, category and tariff, holder or mobile, dated

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-04 18:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('connection_changes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('field', sa.String(length=40), nullable=False),
    sa.Column('before', sa.String(length=200), nullable=True),
    sa.Column('after', sa.String(length=200), nullable=True),
    sa.Column('effective_on', sa.Date(), nullable=False),
    sa.Column('changed_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_connection_changes_account_id_accounts')),
    sa.ForeignKeyConstraint(['changed_by_id'], ['users.id'], name=op.f('fk_connection_changes_changed_by_id_users'),
                            ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_connection_changes'))
    )
    with op.batch_alter_table('connection_changes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_connection_changes_account_id'), ['account_id'], unique=False)


def downgrade():
    with op.batch_alter_table('connection_changes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_connection_changes_account_id'))
    op.drop_table('connection_changes')

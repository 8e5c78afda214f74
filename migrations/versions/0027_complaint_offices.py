"""Complaints: the office that handles each (its connection's, or chosen for a complaint without a connection),
the locality of one without a connection, and the senior officer an escalated one was given to

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-04 23:40:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0027'
down_revision = '0026'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.add_column(sa.Column('office', sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column('locality', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('escalated_to_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_tickets_escalated_to_id_users'), 'users', ['escalated_to_id'],
                                    ['id'], ondelete='SET NULL')
        batch_op.create_index('ix_tickets_office_status', ['office', 'status'], unique=False)
    # Complaints raised before: handled by their connection's office (none: head office).
    op.execute("UPDATE tickets SET office = (SELECT region FROM accounts WHERE accounts.id = tickets.account_id) "
               "WHERE account_id IS NOT NULL")


def downgrade():
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.drop_index('ix_tickets_office_status')
        batch_op.drop_constraint(batch_op.f('fk_tickets_escalated_to_id_users'), type_='foreignkey')
        batch_op.drop_column('escalated_to_id')
        batch_op.drop_column('locality')
        batch_op.drop_column('office')

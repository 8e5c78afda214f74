"""Complaints: each ticket's time limit (due), when it was escalated, resolved and reopened

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-04 18:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.add_column(sa.Column('due_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('escalated_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('resolved_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('reopened_at', sa.DateTime(timezone=True), nullable=True))
    # Tickets from before time limits were kept: due when they were raised (staff see them first).
    op.execute("UPDATE tickets SET due_at = created_at")
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.alter_column('due_at', existing_type=sa.DateTime(timezone=True), nullable=False)
        batch_op.create_index('ix_tickets_status_due', ['status', 'due_at'], unique=False)


def downgrade():
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.drop_index('ix_tickets_status_due')
        batch_op.drop_column('reopened_at')
        batch_op.drop_column('resolved_at')
        batch_op.drop_column('escalated_at')
        batch_op.drop_column('due_at')

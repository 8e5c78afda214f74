"""Reconciliation: settlement files and their lines; webhooks that matched no order settled by a person

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-04 20:10:00

Plain SQLAlchemy types only (no app imports).
"""
from alembic import op
import sqlalchemy as sa


revision = '0022'
down_revision = '0021'
branch_labels = None
depends_on = None

OUTCOMES = ('matched', 'amount_differs', 'not_captured', 'not_ours', 'missing')


def upgrade():
    op.create_table(
        'settlement_files',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('filename', sa.String(length=200), nullable=False),
        sa.Column('content_hash', sa.String(length=64), nullable=False),
        sa.Column('first_day', sa.Date(), nullable=False),
        sa.Column('last_day', sa.Date(), nullable=False),
        sa.Column('line_count', sa.Integer(), nullable=False),
        sa.Column('uploaded_by_id', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['uploaded_by_id'], ['users.id'], name=op.f('fk_settlement_files_uploaded_by_id_users'),
                                ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_settlement_files')),
        sa.UniqueConstraint('content_hash', name=op.f('uq_settlement_files_content_hash')),
    )
    op.create_table(
        'settlement_lines',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('settlement_id', sa.Integer(), nullable=False),
        sa.Column('line_number', sa.Integer(), nullable=True),
        sa.Column('settled_on', sa.Date(), nullable=True),
        sa.Column('reference', sa.String(length=64), nullable=True),
        sa.Column('amount', sa.Numeric(precision=12, scale=2), nullable=True),
        sa.Column('payment_id', sa.Integer(), nullable=True),
        sa.Column('outcome', sa.Enum(*OUTCOMES, name='settlementoutcome', native_enum=False, length=18),
                  nullable=False),
        sa.Column('investigated_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('investigated_by_id', sa.Integer(), nullable=True),
        sa.Column('note', sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(['settlement_id'], ['settlement_files.id'],
                                name=op.f('fk_settlement_lines_settlement_id_settlement_files')),
        sa.ForeignKeyConstraint(['payment_id'], ['payments.id'], name=op.f('fk_settlement_lines_payment_id_payments')),
        sa.ForeignKeyConstraint(['investigated_by_id'], ['users.id'],
                                name=op.f('fk_settlement_lines_investigated_by_id_users'), ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_settlement_lines')),
        sa.UniqueConstraint('settlement_id', 'line_number', name=op.f('uq_settlement_lines_settlement_id_line_number')),
        sa.UniqueConstraint('settlement_id', 'payment_id', name=op.f('uq_settlement_lines_settlement_id_payment_id')),
    )
    with op.batch_alter_table('settlement_lines', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_settlement_lines_settlement_id'), ['settlement_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_settlement_lines_payment_id'), ['payment_id'], unique=False)
    with op.batch_alter_table('payment_events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('resolved_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('resolved_by_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('resolution_note', sa.String(length=200), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_payment_events_resolved_by_id_users'), 'users',
                                    ['resolved_by_id'], ['id'], ondelete='SET NULL')


def downgrade():
    with op.batch_alter_table('payment_events', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_payment_events_resolved_by_id_users'), type_='foreignkey')
        batch_op.drop_column('resolution_note')
        batch_op.drop_column('resolved_by_id')
        batch_op.drop_column('resolved_at')
    op.drop_table('settlement_lines')
    op.drop_table('settlement_files')

"""money_approvals: refunds and UPI confirmations proposed by one staff member and approved by another

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04 17:30:00

A cheque or draft is now `clearing` until staff mark it cleared or bounced: payments.state is a plain VARCHAR(12)
(no native enum, no check constraint), so the new value needs no schema change.
Plain SQLAlchemy types only (no app imports).
"""
from alembic import op
import sqlalchemy as sa


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None

WAITING = sa.text("state = 'pending'")


def upgrade():
    op.create_table(
        'money_approvals',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('action', sa.Enum('refund', 'confirm_upi', name='approvalaction', native_enum=False, length=15),
                  nullable=False),
        sa.Column('payment_id', sa.Integer(), nullable=False),
        sa.Column('amount', sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column('reason', sa.String(length=200), nullable=False),
        sa.Column('utr', sa.String(length=30), nullable=True),
        sa.Column('state', sa.Enum('pending', 'approved', 'rejected', name='approvalstate', native_enum=False,
                                   length=12), nullable=False),
        sa.Column('idempotency_key', sa.String(length=64), nullable=False),
        sa.Column('proposed_by_id', sa.Integer(), nullable=False),
        sa.Column('proposed_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('decided_by_id', sa.Integer(), nullable=True),
        sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('decision_note', sa.String(length=200), nullable=True),
        sa.Column('refund_id', sa.Integer(), nullable=True),
        sa.Column('details', sa.JSON(), nullable=False),
        sa.CheckConstraint('decided_by_id IS NULL OR decided_by_id != proposed_by_id',
                           name=op.f('ck_money_approvals_second_person')),
        sa.ForeignKeyConstraint(['payment_id'], ['payments.id'], name=op.f('fk_money_approvals_payment_id_payments')),
        sa.ForeignKeyConstraint(['proposed_by_id'], ['users.id'],
                                name=op.f('fk_money_approvals_proposed_by_id_users')),
        sa.ForeignKeyConstraint(['decided_by_id'], ['users.id'], name=op.f('fk_money_approvals_decided_by_id_users')),
        sa.ForeignKeyConstraint(['refund_id'], ['refunds.id'], name=op.f('fk_money_approvals_refund_id_refunds')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_money_approvals')),
        sa.UniqueConstraint('idempotency_key', name=op.f('uq_money_approvals_idempotency_key')),
        sa.UniqueConstraint('refund_id', name=op.f('uq_money_approvals_refund_id')),
    )
    with op.batch_alter_table('money_approvals', schema=None) as batch_op:
        batch_op.create_index('ix_money_approvals_state_proposed', ['state', 'proposed_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_money_approvals_payment_id'), ['payment_id'], unique=False)
        batch_op.create_index('uq_money_approvals_waiting', ['payment_id', 'action'], unique=True,
                              sqlite_where=WAITING, postgresql_where=WAITING)


def downgrade():
    with op.batch_alter_table('money_approvals', schema=None) as batch_op:
        batch_op.drop_index('uq_money_approvals_waiting')
        batch_op.drop_index(batch_op.f('ix_money_approvals_payment_id'))
        batch_op.drop_index('ix_money_approvals_state_proposed')
    op.drop_table('money_approvals')

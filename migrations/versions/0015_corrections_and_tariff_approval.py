"""bill_corrections (cancel, revise, debit and credit notes proposed and approved by two people); tariff versions
wait for approval; ledger entries may be debit notes

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-04 18:10:00

Versions already stored are approved (they were in force). A rejected version no longer holds its start date, so
the unique (tariff, start) becomes a partial unique index. ledger_entries.kind is a plain VARCHAR(15): the new
kind `debit_note` needs no schema change. Plain SQLAlchemy types only (no app imports).
"""
from alembic import op
import sqlalchemy as sa


revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None

WAITING = sa.text("state = 'pending'")
NOT_REJECTED = sa.text("state != 'rejected'")
STATE = sa.Enum('pending', 'approved', 'rejected', name='approvalstate', native_enum=False, length=12)


def upgrade():
    with op.batch_alter_table('tariff_versions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('state', STATE, nullable=False, server_default='approved'))
        batch_op.add_column(sa.Column('decided_by_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('decision_note', sa.String(length=200), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_tariff_versions_decided_by_id_users'), 'users',
                                    ['decided_by_id'], ['id'], ondelete='SET NULL')
        batch_op.create_check_constraint(batch_op.f('ck_tariff_versions_second_person'),
                                         'decided_by_id IS NULL OR decided_by_id != imported_by_id')
        batch_op.drop_constraint(batch_op.f('uq_tariff_versions_tariff_id_effective_from'), type_='unique')
        batch_op.create_index('uq_tariff_versions_tariff_from', ['tariff_id', 'effective_from'], unique=True,
                              sqlite_where=NOT_REJECTED, postgresql_where=NOT_REJECTED)
    with op.batch_alter_table('tariff_versions', schema=None) as batch_op:
        batch_op.alter_column('state', server_default=None)

    op.create_table(
        'bill_corrections',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('action', sa.Enum('cancel', 'revise', 'debit_note', 'credit_note', name='correctionaction',
                                    native_enum=False, length=15), nullable=False),
        sa.Column('account_id', sa.Integer(), nullable=False),
        sa.Column('bill_id', sa.Integer(), nullable=True),
        sa.Column('amount', sa.Numeric(precision=12, scale=2), nullable=True),
        sa.Column('reason', sa.String(length=200), nullable=False),
        sa.Column('state', STATE, nullable=False),
        sa.Column('idempotency_key', sa.String(length=64), nullable=False),
        sa.Column('proposed_by_id', sa.Integer(), nullable=False),
        sa.Column('proposed_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('decided_by_id', sa.Integer(), nullable=True),
        sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('decision_note', sa.String(length=200), nullable=True),
        sa.Column('ledger_entry_id', sa.Integer(), nullable=True),
        sa.Column('revised_bill_id', sa.Integer(), nullable=True),
        sa.Column('details', sa.JSON(), nullable=False),
        sa.CheckConstraint('decided_by_id IS NULL OR decided_by_id != proposed_by_id',
                           name=op.f('ck_bill_corrections_second_person')),
        sa.CheckConstraint('amount IS NULL OR amount > 0', name=op.f('ck_bill_corrections_positive_amount')),
        sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_bill_corrections_account_id_accounts')),
        sa.ForeignKeyConstraint(['bill_id'], ['bills.id'], name=op.f('fk_bill_corrections_bill_id_bills')),
        sa.ForeignKeyConstraint(['proposed_by_id'], ['users.id'],
                                name=op.f('fk_bill_corrections_proposed_by_id_users')),
        sa.ForeignKeyConstraint(['decided_by_id'], ['users.id'], name=op.f('fk_bill_corrections_decided_by_id_users')),
        sa.ForeignKeyConstraint(['ledger_entry_id'], ['ledger_entries.id'],
                                name=op.f('fk_bill_corrections_ledger_entry_id_ledger_entries')),
        sa.ForeignKeyConstraint(['revised_bill_id'], ['bills.id'],
                                name=op.f('fk_bill_corrections_revised_bill_id_bills')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_bill_corrections')),
        sa.UniqueConstraint('idempotency_key', name=op.f('uq_bill_corrections_idempotency_key')),
        sa.UniqueConstraint('ledger_entry_id', name=op.f('uq_bill_corrections_ledger_entry_id')),
        sa.UniqueConstraint('revised_bill_id', name=op.f('uq_bill_corrections_revised_bill_id')),
    )
    with op.batch_alter_table('bill_corrections', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_bill_corrections_account_id'), ['account_id'], unique=False)
        batch_op.create_index('ix_bill_corrections_state_proposed', ['state', 'proposed_at'], unique=False)
        batch_op.create_index('uq_bill_corrections_waiting', ['bill_id'], unique=True,
                              sqlite_where=WAITING, postgresql_where=WAITING)


def downgrade():
    op.drop_table('bill_corrections')
    with op.batch_alter_table('tariff_versions', schema=None) as batch_op:
        batch_op.drop_index('uq_tariff_versions_tariff_from')
        batch_op.create_unique_constraint(batch_op.f('uq_tariff_versions_tariff_id_effective_from'),
                                          ['tariff_id', 'effective_from'])
        batch_op.drop_constraint(batch_op.f('ck_tariff_versions_second_person'), type_='check')
        batch_op.drop_constraint(batch_op.f('fk_tariff_versions_decided_by_id_users'), type_='foreignkey')
        batch_op.drop_column('decision_note')
        batch_op.drop_column('decided_at')
        batch_op.drop_column('decided_by_id')
        batch_op.drop_column('state')

"""Reports and bill runs at scale: a connection's ledger entries by kind and effective date, so "what did this
account pay between the bill's issue and its due date" (the reports' on-time figures, per bill) reads those few
entries instead of every entry of the account (bench/scale.py)

Revision ID: 0031
Revises: 0030
Create Date: 2026-12-05 00:15:00
"""
from alembic import op


revision = '0031'
down_revision = '0030'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index('ix_ledger_entries_account_kind_effective', 'ledger_entries',
                    ['account_id', 'kind', 'effective_on'])


def downgrade():
    op.drop_index('ix_ledger_entries_account_kind_effective', table_name='ledger_entries')

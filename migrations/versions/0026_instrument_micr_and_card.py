"""Counter payments: a cheque or draft is known by its MICR code and number, once across all connections; a card
paid on the counter's POS terminal keeps its approval code and last four digits only

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-04 23:30:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0026'
down_revision = '0025'
branch_labels = None
depends_on = None

OLD_STANDING = sa.text("instrument_number IS NOT NULL AND method IN ('cheque', 'demand_draft') "
                       "AND state != 'bounced'")
STANDING = sa.text("instrument_micr IS NOT NULL AND method IN ('cheque', 'demand_draft') AND state != 'bounced'")


def upgrade():
    with op.batch_alter_table('payments') as batch_op:
        batch_op.add_column(sa.Column('instrument_micr', sa.String(length=9), nullable=True))
        batch_op.add_column(sa.Column('card_last4', sa.String(length=4), nullable=True))
    op.drop_index('uq_payments_instrument', table_name='payments')
    op.create_index('uq_payments_instrument_micr', 'payments', ['instrument_micr', 'instrument_number'],
                    unique=True, sqlite_where=STANDING, postgresql_where=STANDING)


def downgrade():
    op.drop_index('uq_payments_instrument_micr', table_name='payments')
    with op.batch_alter_table('payments') as batch_op:
        batch_op.drop_column('card_last4')
        batch_op.drop_column('instrument_micr')
    op.create_index('uq_payments_instrument', 'payments',
                    ['account_id', 'method', 'instrument_bank', 'instrument_number'], unique=True,
                    sqlite_where=OLD_STANDING, postgresql_where=OLD_STANDING)

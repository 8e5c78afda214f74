"""A cheque or demand draft is recorded once per connection (unless it bounced and is presented again)

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04 16:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

STANDING = sa.text("instrument_number IS NOT NULL AND method IN ('cheque', 'demand_draft') AND state != 'bounced'")


def upgrade():
    op.create_index('uq_payments_instrument', 'payments',
                    ['account_id', 'method', 'instrument_bank', 'instrument_number'], unique=True,
                    sqlite_where=STANDING, postgresql_where=STANDING)


def downgrade():
    op.drop_index('uq_payments_instrument', table_name='payments')

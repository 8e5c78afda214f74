"""Staff consumer search at scale: the start of a consumer number and of a meter serial (any case) on indexes
PostgreSQL can use for LIKE 'prefix%' (text_pattern_ops)

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-04 21:40:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0024'
down_revision = '0023'
branch_labels = None
depends_on = None


def upgrade():
    postgresql = op.get_bind().dialect.name == 'postgresql'
    op.create_index('ix_accounts_consumer_number_prefix', 'accounts', ['consumer_number'],
                    postgresql_ops={'consumer_number': 'text_pattern_ops'})
    op.create_index('ix_meters_serial_upper', 'meters',
                    [sa.text('upper(serial) text_pattern_ops' if postgresql else 'upper(serial)')])


def downgrade():
    op.drop_index('ix_meters_serial_upper', table_name='meters')
    op.drop_index('ix_accounts_consumer_number_prefix', table_name='accounts')

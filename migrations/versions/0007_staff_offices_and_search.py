"""Staff offices (a staff member sees one region's connections, or all), indexes for finding a consumer by name
(trigrams on PostgreSQL) and by registered mobile, and where each audited action came from

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04 17:30:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('users') as batch:
        batch.add_column(sa.Column('office', sa.String(length=40), nullable=True))
    with op.batch_alter_table('audit_log') as batch:
        batch.add_column(sa.Column('ip', sa.String(length=45), nullable=True))
    op.create_index('ix_accounts_registered_mobile', 'accounts', ['registered_mobile'])
    if op.get_bind().dialect.name == 'postgresql':
        op.execute('CREATE EXTENSION IF NOT EXISTS pg_trgm')
    op.create_index('ix_accounts_holder_name', 'accounts', ['holder_name'], postgresql_using='gin',
                    postgresql_ops={'holder_name': 'gin_trgm_ops'})


def downgrade():
    op.drop_index('ix_accounts_holder_name', table_name='accounts')
    op.drop_index('ix_accounts_registered_mobile', table_name='accounts')
    with op.batch_alter_table('audit_log') as batch:
        batch.drop_column('ip')
    with op.batch_alter_table('users') as batch:
        batch.drop_column('office')

"""Report summaries: bills and collections per month, region and category or channel (app/reports/summaries.py)

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-04 20:15:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0023'
down_revision = '0022'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'report_monthly_billing',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('month', sa.Date(), nullable=False),
        sa.Column('region', sa.String(length=40), nullable=False),
        sa.Column('category', sa.String(length=60), nullable=False),
        sa.Column('bills', sa.Integer(), nullable=False),
        sa.Column('estimated_bills', sa.Integer(), nullable=False),
        sa.Column('units', sa.Numeric(precision=14, scale=3), nullable=False),
        sa.Column('billed', sa.Numeric(precision=16, scale=2), nullable=False),
        sa.Column('bills_due', sa.Integer(), nullable=False),
        sa.Column('paid_on_time', sa.Integer(), nullable=False),
        sa.Column('built_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_report_monthly_billing')),
        sa.UniqueConstraint('month', 'region', 'category', name=op.f('uq_report_monthly_billing_month_region_category')),
    )
    op.create_table(
        'report_monthly_collection',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('month', sa.Date(), nullable=False),
        sa.Column('region', sa.String(length=40), nullable=False),
        sa.Column('channel', sa.String(length=20), nullable=False),
        sa.Column('payments', sa.Integer(), nullable=False),
        sa.Column('collected', sa.Numeric(precision=16, scale=2), nullable=False),
        sa.Column('built_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_report_monthly_collection')),
        sa.UniqueConstraint('month', 'region', 'channel', name=op.f('uq_report_monthly_collection_month_region_channel')),
    )


def downgrade():
    op.drop_table('report_monthly_collection')
    op.drop_table('report_monthly_billing')

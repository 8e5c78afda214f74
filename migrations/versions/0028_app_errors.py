"""Recent application errors for the system page: when, the route's rule, the error's class, the request id

Revision ID: 0028
Revises: 0027
Create Date: 2026-12-04 23:50:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0028'
down_revision = '0027'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'app_errors',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('method', sa.String(length=10), nullable=False),
        sa.Column('route', sa.String(length=200), nullable=False),
        sa.Column('error_class', sa.String(length=200), nullable=False),
        sa.Column('request_id', sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_app_errors')),
    )
    op.create_index('ix_app_errors_occurred_at', 'app_errors', ['occurred_at'], unique=False)


def downgrade():
    op.drop_index('ix_app_errors_occurred_at', table_name='app_errors')
    op.drop_table('app_errors')

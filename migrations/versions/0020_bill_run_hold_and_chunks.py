"""Bill runs: held runs (released once, by whom and when), the bills' issue date per run, and the chunks that
several task consumers bill at once

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-04 20:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0020'
down_revision = '0019'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('bill_runs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('issued_on', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('hold', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column('released_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('released_by_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_bill_runs_released_by_id_users'), 'users',
                                    ['released_by_id'], ['id'], ondelete='SET NULL')
        batch_op.create_check_constraint(batch_op.f('ck_bill_runs_released_only_if_held'),
                                         'released_at IS NULL OR hold')

    op.create_table(
        'bill_run_chunks',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('run_id', sa.Integer(), nullable=False),
        sa.Column('seq', sa.Integer(), nullable=False),
        sa.Column('first_account_id', sa.Integer(), nullable=False),
        sa.Column('last_account_id', sa.Integer(), nullable=False),
        sa.Column('done_at', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['run_id'], ['bill_runs.id'], name=op.f('fk_bill_run_chunks_run_id_bill_runs')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_bill_run_chunks')),
        sa.UniqueConstraint('run_id', 'seq', name=op.f('uq_bill_run_chunks_run_id_seq')),
    )


def downgrade():
    op.drop_table('bill_run_chunks')
    with op.batch_alter_table('bill_runs', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_bill_runs_released_only_if_held'), type_='check')
        batch_op.drop_constraint(batch_op.f('fk_bill_runs_released_by_id_users'), type_='foreignkey')
        batch_op.drop_column('released_by_id')
        batch_op.drop_column('released_at')
        batch_op.drop_column('hold')
        batch_op.drop_column('issued_on')

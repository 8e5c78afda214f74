"""Files of readings imported by staff (checked, then imported or discarded), and meter readers' visits that
brought a status code instead of a reading

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04 17:40:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'reading_imports',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('filename', sa.String(length=200), nullable=False),
        sa.Column('content', sa.Text(), nullable=True),
        sa.Column('status', sa.Enum('checked', 'importing', 'imported', 'discarded', 'failed',
                                    name='importstatus', native_enum=False, length=13), nullable=False),
        sa.Column('office', sa.String(length=40), nullable=True),
        sa.Column('total_rows', sa.Integer(), nullable=False),
        sa.Column('good_rows', sa.Integer(), nullable=False),
        sa.Column('done_rows', sa.Integer(), nullable=False),
        sa.Column('recorded', sa.Integer(), nullable=False),
        sa.Column('problems', sa.JSON(), nullable=False),
        sa.Column('problem_count', sa.Integer(), nullable=False),
        sa.Column('uploaded_by_id', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['uploaded_by_id'], ['users.id'], ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_table(
        'meter_visits',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('meter_id', sa.Integer(), nullable=False),
        sa.Column('visited_on', sa.Date(), nullable=False),
        sa.Column('status', sa.Enum('door_locked', 'meter_faulty', 'meter_not_found', 'not_possible',
                                    name='readerstatus', native_enum=False, length=19), nullable=False),
        sa.Column('import_id', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['import_id'], ['reading_imports.id']),
        sa.ForeignKeyConstraint(['meter_id'], ['meters.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('uq_meter_visits_day', 'meter_visits', ['meter_id', 'visited_on', 'status'], unique=True)


def downgrade():
    op.drop_index('uq_meter_visits_day', table_name='meter_visits')
    op.drop_table('meter_visits')
    op.drop_table('reading_imports')

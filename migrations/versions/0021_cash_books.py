"""Cash books: each cashier's counter collections per day in India (closed by the cashier, accepted by a
supervisor); counter payments name their cash book; payments searchable by date received and instrument number

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-04 20:10:00

Plain SQLAlchemy types only (no app imports). Counter payments recorded before this have no cash book.
"""
from alembic import op
import sqlalchemy as sa


revision = '0021'
down_revision = '0020'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'cash_books',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('cashier_id', sa.Integer(), nullable=False),
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('office', sa.String(length=40), nullable=True),
        sa.Column('state', sa.Enum('open', 'closed', 'accepted', name='cashbookstate', native_enum=False, length=12),
                  nullable=False),
        sa.Column('opened_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('counted_cash', sa.Numeric(precision=12, scale=2), nullable=True),
        sa.Column('expected_cash', sa.Numeric(precision=12, scale=2), nullable=True),
        sa.Column('close_note', sa.String(length=200), nullable=True),
        sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('accepted_by_id', sa.Integer(), nullable=True),
        sa.Column('accepted_at', sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint('accepted_by_id IS NULL OR accepted_by_id != cashier_id',
                           name=op.f('ck_cash_books_second_person')),
        sa.CheckConstraint("state = 'open' OR (closed_at IS NOT NULL AND counted_cash IS NOT NULL "
                           "AND expected_cash IS NOT NULL)", name=op.f('ck_cash_books_closed_counted')),
        sa.CheckConstraint("state != 'accepted' OR (accepted_by_id IS NOT NULL AND accepted_at IS NOT NULL)",
                           name=op.f('ck_cash_books_accepted_by')),
        sa.ForeignKeyConstraint(['cashier_id'], ['users.id'], name=op.f('fk_cash_books_cashier_id_users')),
        sa.ForeignKeyConstraint(['accepted_by_id'], ['users.id'], name=op.f('fk_cash_books_accepted_by_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_cash_books')),
        sa.UniqueConstraint('cashier_id', 'day', name=op.f('uq_cash_books_cashier_id_day')),
    )
    with op.batch_alter_table('cash_books', schema=None) as batch_op:
        batch_op.create_index('ix_cash_books_state_day', ['state', 'day'], unique=False)
    with op.batch_alter_table('payments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('cash_book_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_payments_cash_book_id_cash_books'), 'cash_books',
                                    ['cash_book_id'], ['id'])
        batch_op.create_index(batch_op.f('ix_payments_cash_book_id'), ['cash_book_id'], unique=False)
        batch_op.create_index('ix_payments_captured_at', ['captured_at'], unique=False)
        batch_op.create_index('ix_payments_instrument_number', ['instrument_number'], unique=False)


def downgrade():
    with op.batch_alter_table('payments', schema=None) as batch_op:
        batch_op.drop_index('ix_payments_instrument_number')
        batch_op.drop_index('ix_payments_captured_at')
        batch_op.drop_index(batch_op.f('ix_payments_cash_book_id'))
        batch_op.drop_constraint(batch_op.f('fk_payments_cash_book_id_cash_books'), type_='foreignkey')
        batch_op.drop_column('cash_book_id')
    with op.batch_alter_table('cash_books', schema=None) as batch_op:
        batch_op.drop_index('ix_cash_books_state_day')
    op.drop_table('cash_books')

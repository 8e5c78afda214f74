"""Fields never searched encrypted at rest: a connection's address, a complaint's subject and its messages' text,
and notifications' text (a reply to a complaint is copied there) become Fernet tokens under the first key of
DTECH_DATA_KEYS (the subject becomes TEXT to hold one)

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-04 23:30:00
"""
from alembic import op
import sqlalchemy as sa
from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from flask import current_app


revision = '0025'
down_revision = '0024'
branch_labels = None
depends_on = None

# (table, column) of the fields encrypted here; app/crypto's EncryptedText reads and writes them afterwards.
FIELDS = (('accounts', 'address'), ('tickets', 'subject'), ('ticket_messages', 'body'), ('notifications', 'body'))
BATCH = 1000


def _keys() -> MultiFernet:
    return MultiFernet([Fernet(key) for key in current_app.config['DATA_KEYS']])


def _rewrite(table: str, column: str, change) -> None:
    """Every non-null value of the column through `change` (None: leave it), a batch of rows at a time."""
    connection = op.get_bind()
    rows = sa.table(table, sa.column('id', sa.Integer), sa.column(column, sa.Text))
    last = 0
    while True:
        batch = connection.execute(sa.select(rows.c.id, rows.c[column])
                                   .where(rows.c.id > last, rows.c[column].is_not(None))
                                   .order_by(rows.c.id).limit(BATCH)).all()
        if not batch:
            return
        last = batch[-1][0]
        updates = [{'row_id': row_id, 'value': new} for row_id, value in batch
                   if (new := change(value)) is not None]
        if updates:
            connection.execute(rows.update().where(rows.c.id == sa.bindparam('row_id'))
                               .values({column: sa.bindparam('value')}), updates)


def _encrypted(keys: MultiFernet):
    def change(value: str) -> str | None:
        try:
            keys.decrypt(value.encode('ascii'))
            return None  # already a token (a run interrupted before it was recorded)
        except (InvalidToken, UnicodeEncodeError):
            return keys.encrypt(value.encode('utf-8')).decode('ascii')
    return change


def _decrypted(keys: MultiFernet):
    def change(value: str) -> str | None:
        try:
            return keys.decrypt(value.encode('ascii')).decode('utf-8')
        except (InvalidToken, UnicodeEncodeError):
            return None  # plain text already
    return change


def _subject_type(old, new) -> None:
    """tickets.subject from `old` to `new`. SQLite cannot change a type in place, and batch mode's copy of the table
    would drop the old one, which ticket_messages refers to (with complaints in it, the foreign keys fail at the
    commit, and they cannot be switched off inside the migration's transaction): so a new column takes the values
    and the old one's name (SQLite 3.35+). Its DEFAULT '' is only there because SQLite adds a NOT NULL column with a
    default; every row has a value and the app always gives one."""
    if op.get_bind().dialect.name != 'sqlite':
        op.alter_column('tickets', 'subject', existing_type=old, type_=new, existing_nullable=False)
        return
    op.execute(f"ALTER TABLE tickets ADD COLUMN subject_new {new.compile(dialect=op.get_bind().dialect)} "
               "NOT NULL DEFAULT ''")
    op.execute('UPDATE tickets SET subject_new = subject')
    op.execute('ALTER TABLE tickets DROP COLUMN subject')
    op.execute('ALTER TABLE tickets RENAME COLUMN subject_new TO subject')


def upgrade():
    _subject_type(sa.String(length=160), sa.Text())
    keys = _keys()
    for table, column in FIELDS:
        _rewrite(table, column, _encrypted(keys))


def downgrade():
    keys = _keys()
    for table, column in FIELDS:
        _rewrite(table, column, _decrypted(keys))
    _subject_type(sa.Text(), sa.String(length=160))

"""Fields that are never searched (a connection's address, what a complaint says) are encrypted at rest.

`EncryptedText` is a column type: Python sees text, the database holds a Fernet token (AES-128-CBC with an
HMAC-SHA256, base64). The keys come from configuration (DATA_KEYS, from DTECH_DATA_KEYS): the first encrypts, every
one decrypts (MultiFernet), so a new key can go in front of the old one and `flask rotate-data-keys` then rewrites
every value under the new key, after which the old one can go (docs/deployment.md, "Encrypted fields").

A token is different each time the same text is encrypted: an encrypted column can be read and written, never
compared, searched, sorted or indexed. What staff search (names, numbers, mobiles, emails) stays plain text,
protected by the database's encrypted volume.
"""

import click
from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from flask import Flask, current_app
from sqlalchemy import Table, Text, select, type_coerce, update
from sqlalchemy.types import TypeDecorator

from app.extensions import db

ROTATE_BATCH = 500


class DataKeyError(RuntimeError):
    """A stored value that none of the configured keys decrypts: the keys are wrong or one is missing."""


def init_data_keys(app: Flask) -> None:
    """Each app holds its own keys (tests run several apps, each with its configuration)."""
    keys = app.config.get("DATA_KEYS") or ()
    if not keys:
        raise DataKeyError("DATA_KEYS is empty: no key to encrypt addresses and complaint texts with")
    app.extensions["data_keys"] = MultiFernet([Fernet(key) for key in keys])


def data_keys() -> MultiFernet:
    return current_app.extensions["data_keys"]


def encrypt(text: str) -> str:
    return data_keys().encrypt(text.encode("utf-8")).decode("ascii")


def decrypt(token: str) -> str:
    try:
        return data_keys().decrypt(token.encode("ascii")).decode("utf-8")
    except (InvalidToken, UnicodeEncodeError):
        # Never the value itself in the message: it may be plain text written before encryption was set up.
        raise DataKeyError("a stored value cannot be decrypted with any key in DTECH_DATA_KEYS: a key is wrong or "
                           "missing (docs/deployment.md, \"Encrypted fields\")") from None


class EncryptedText(TypeDecorator):
    """Text encrypted with the current data key; stored as TEXT. Never compare or filter on it."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect) -> str | None:
        return None if value is None else encrypt(value)

    def process_result_value(self, value: str | None, dialect) -> str | None:
        return None if value is None else decrypt(value)


def encrypted_columns() -> list[tuple[Table, str]]:
    """Every (table, column name) of the models whose type is EncryptedText."""
    return [(table, column.name) for table in db.metadata.sorted_tables for column in table.columns
            if isinstance(column.type, EncryptedText)]


def rotate_column(table: Table, name: str, batch: int = ROTATE_BATCH) -> int:
    """Re-encrypt one column's values under the current key, `batch` rows per transaction; returns how many were
    rewritten. Idempotent: a value already under the current key is left as it is, so a second run (or one after
    an interrupted run) rewrites only what is left."""
    (key,) = table.primary_key.columns
    column = table.c[name]
    stored = type_coerce(column, Text)  # the token as stored, not decrypted
    current = Fernet(current_app.config["DATA_KEYS"][0])
    # Setting a column with an onupdate (tickets.updated_at) to itself: a new key is not a change to the row.
    unchanged = {c.name: c for c in table.columns if c.onupdate is not None}
    rewritten, last = 0, None
    while True:
        query = select(key, stored).where(column.is_not(None)).order_by(key).limit(batch)
        rows = db.session.execute(query if last is None else query.where(key > last)).all()
        if not rows:
            return rewritten
        last = rows[-1][0]
        for row_id, token in rows:
            if _under_key(current, token):
                continue
            try:
                new_token = data_keys().rotate(token.encode("ascii")).decode("ascii")
            except InvalidToken:
                raise DataKeyError(f"{table.name}.{name} of row {row_id} cannot be decrypted with any key in "
                                   "DTECH_DATA_KEYS") from None
            # Only if the value is still the one read: one the site wrote meanwhile is under the new key already.
            rewritten += db.session.execute(update(table).where(key == row_id, stored == type_coerce(token, Text))
                                            .values({name: type_coerce(new_token, Text), **unchanged})).rowcount
        db.session.commit()


def _under_key(fernet: Fernet, token: str) -> bool:
    try:
        fernet.decrypt(token.encode("ascii"))
        return True
    except InvalidToken:
        return False


@click.command("rotate-data-keys")
@click.option("--batch", default=ROTATE_BATCH, show_default=True, help="Rows re-encrypted per transaction.")
def rotate_data_keys_command(batch: int) -> None:
    """Re-encrypt every encrypted field under the first key of DTECH_DATA_KEYS (run after putting a new key
    first; then the old ones can be removed). Safe to run again or after an interruption."""
    for table, name in encrypted_columns():
        try:
            count = rotate_column(table, name, batch)
        except DataKeyError as error:  # what was done is kept; the message says where it stopped and why
            raise click.ClickException(str(error)) from None
        click.echo(f"{table.name}.{name}: {count} re-encrypted")
    click.echo("Every encrypted field is under the current key; older keys may now be removed.")

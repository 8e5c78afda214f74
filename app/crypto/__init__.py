"""Fields that are never searched (a connection's address, what a complaint says) are encrypted at rest.

`EncryptedText` is a column type: Python sees text, the database holds a Fernet token (AES-128-CBC with an
HMAC-SHA256, base64). The keys come from configuration (DATA_KEYS, from DTECH_DATA_KEYS): the first encrypts, every
one decrypts (MultiFernet), so a new key can go in front of the old one and `flask rotate-data-keys` then rewrites
every value under the new key, after which the old one can go (docs/deployment.md, "Encrypted fields").

A token is different each time the same text is encrypted: an encrypted column can be read and written, never
compared, searched, sorted or indexed. What staff search (names, numbers, mobiles, emails) stays plain text,
protected by the database's encrypted volume.
"""

from collections.abc import Iterator

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


def rotate_column(table: Table, name: str, batch: int = ROTATE_BATCH) -> Iterator[int]:
    """Re-encrypt one column's values under the current key, `batch` rows at a time, yielding how many of each
    batch were rewritten (the caller commits each batch). Idempotent: a value already under the current key is
    left as it is, so a second run (or one after an interrupted run) rewrites only what is left."""
    (key,) = table.primary_key.columns
    column = table.c[name]
    stored = type_coerce(column, Text)  # the token as stored, not decrypted
    current = Fernet(current_app.config["DATA_KEYS"][0])
    # Setting a column with an onupdate (tickets.updated_at) to itself: a new key is not a change to the row.
    unchanged = {c.name: c for c in table.columns if c.onupdate is not None}
    last = None
    while True:
        query = select(key, stored).where(column.is_not(None)).order_by(key).limit(batch)
        rows = db.session.execute(query if last is None else query.where(key > last)).all()
        if not rows:
            return
        last, rewritten = rows[-1][0], 0
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
        yield rewritten


def _under_key(fernet: Fernet, token: str) -> bool:
    try:
        fernet.decrypt(token.encode("ascii"))
        return True
    except InvalidToken:
        return False

"""The database layer's shared pieces: declarative base, naming convention, column types, SQLite set-up."""

import sqlite3
from datetime import UTC, date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import DateTime, Engine, MetaData, Numeric, event
from sqlalchemy import Enum as SAEnum
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.types import TypeDecorator

# Named constraints, so Alembic can alter them (SQLite batch mode needs names to drop or recreate).
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


# Row ids are INTEGER columns (PostgreSQL: 32-bit): a larger number in a URL or a form is no id of ours, and
# would make the database raise an overflow instead of finding nothing.
MAX_ID = 2**31 - 1


def parse_id(text: str | None) -> int | None:
    """A row id typed or sent as text (digits only, 1 to MAX_ID), or None."""
    if not text or not text.isascii() or not text.isdigit() or len(text) > 10:
        return None
    value = int(text)
    return value if 1 <= value <= MAX_ID else None


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator):
    """A timestamp stored in UTC and always read back timezone-aware (SQLite forgets the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given for a UTC column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


# Money is rupees with paise, units keep the meter's three decimals. Both are Decimal in Python.
Money = Numeric(12, 2, asdecimal=True)
Units = Numeric(14, 3, asdecimal=True)
ZERO = Decimal("0.00")

SQLITE_BUSY_TIMEOUT_MS = 10_000


@event.listens_for(Engine, "connect")
def _configure_sqlite(dbapi_connection, _record) -> None:
    if not isinstance(dbapi_connection, sqlite3.Connection):
        return
    # We issue BEGIN ourselves (below): pysqlite's implicit transactions defer locks badly.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def begin_write(session) -> None:
    """Start `session`'s transaction as a writer. On SQLite a deferred transaction that reads and then writes
    fails at once ("database is locked") when another writer got in between; IMMEDIATE makes writers queue
    (up to the busy timeout). PostgreSQL needs nothing: its row locks do this job."""
    session = session() if hasattr(session, "registry") else session  # a scoped_session: its current session
    if session.get_bind().dialect.name == "sqlite" and not session.in_transaction():
        session.connection(execution_options={"sqlite_immediate": True})


@event.listens_for(Engine, "begin")
def _sqlite_begin(connection) -> None:
    """Transactions that asked for `sqlite_immediate` (begin_write) take the write lock as they begin."""
    if connection.dialect.name != "sqlite":
        return
    immediate = connection.get_execution_options().get("sqlite_immediate", False)
    connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def enum_type(enum_cls, length: int | None = None) -> SAEnum:
    """A Python StrEnum stored as its value in a short VARCHAR (no native enum: simpler migrations); `length`
    keeps a column that was a plain VARCHAR before at its width."""
    return SAEnum(
        enum_cls,
        native_enum=False,
        length=length or max(len(m.value) for m in enum_cls) + 4,
        values_callable=lambda members: [m.value for m in members],
        validate_strings=True,
    )


INDIA = ZoneInfo("Asia/Kolkata")


def today_in_india() -> date:
    """Bills, due dates and reminders follow the Indian calendar day, not UTC's."""
    return datetime.now(INDIA).date()


class ImmutableRowError(RuntimeError):
    pass


def _refuse_change(_mapper, _connection, target) -> None:
    raise ImmutableRowError(f"{type(target).__name__} rows are never edited or deleted")


def refuse_changes(*models) -> None:
    """The ORM refuses to update or delete rows of these models (records of money and of who did what)."""
    for model in models:
        event.listen(model, "before_update", _refuse_change)
        event.listen(model, "before_delete", _refuse_change)


def insert_ignore(session, table, conflict: list[str] | None = None):
    """INSERT … ON CONFLICT DO NOTHING for the session's database (PostgreSQL or SQLite): of two inserts with one
    key, one row results and the other does nothing. `conflict` names the unique columns (default: any)."""
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    return insert(table).on_conflict_do_nothing(index_elements=conflict)

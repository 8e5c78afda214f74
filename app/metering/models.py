from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import JSON, ForeignKey, Index, Numeric, String, Text, func, text
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Units, UTCDateTime, enum_type, utcnow
from app.extensions import db
from app.metering.consumption import RegisterRead


class Meter(db.Model):
    """A physical meter; a connection has one at a time, replacements keep the old row."""

    __tablename__ = "meters"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    serial: Mapped[str] = mapped_column(String(30), unique=True)
    digits: Mapped[int] = mapped_column(default=5)  # the register rolls over to zero after 10**digits - 1
    multiplying_factor: Mapped[Decimal] = mapped_column(Numeric(8, 3), default=Decimal("1"))
    installed_on: Mapped[date]
    removed_on: Mapped[date | None]

    @property
    def rollover_at(self) -> Decimal:
        return Decimal(10) ** self.digits


class ReadingSource(StrEnum):
    METER_READER = "meter_reader"
    SELF = "self"  # submitted by the customer with a photo
    SMART = "smart"  # imported from a smart meter
    ESTIMATED = "estimated"


class ReadingStatus(StrEnum):
    ACCEPTED = "accepted"
    NEEDS_REVIEW = "needs_review"
    REJECTED = "rejected"


class Reading(db.Model):
    """A cumulative register value on a date."""

    __tablename__ = "readings"
    __table_args__ = (
        Index("ix_readings_meter_date", "meter_id", "read_on"),
        # One accepted reading per meter and day; rejected ones stay beside it as a record.
        Index("uq_readings_meter_day_accepted", "meter_id", "read_on", unique=True,
              sqlite_where=text("status = 'accepted'"), postgresql_where=text("status = 'accepted'")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    meter_id: Mapped[int] = mapped_column(ForeignKey("meters.id"))
    read_on: Mapped[date]
    value: Mapped[Decimal] = mapped_column(Units)
    source: Mapped[ReadingSource] = mapped_column(enum_type(ReadingSource))
    status: Mapped[ReadingStatus] = mapped_column(enum_type(ReadingStatus), index=True)
    rollover: Mapped[bool] = mapped_column(default=False)  # the register passed zero since the last one
    photo_path: Mapped[str | None] = mapped_column(String(255))
    submitted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    reviewed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    review_note: Mapped[str | None] = mapped_column(Text)
    # A reading sent from an offline queue carries a key, so a retry never records it twice.
    idempotency_key: Mapped[str | None] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    def register_read(self, meter: Meter) -> RegisterRead:
        """This reading as the consumption calculation takes it (`meter` is the reading's own meter)."""
        return RegisterRead(meter.id, self.read_on, self.id, self.value, self.rollover, meter.rollover_at,
                            meter.multiplying_factor)


class ReaderStatus(StrEnum):
    """What a meter reader writes instead of a number, as reading books do; the bill is then estimated."""

    DOOR_LOCKED = "door_locked"
    METER_FAULTY = "meter_faulty"
    METER_NOT_FOUND = "meter_not_found"
    NOT_POSSIBLE = "not_possible"


# Staff search by the start of a meter serial, whatever its case: upper(serial) LIKE 'MSE12%'.
Index("ix_meters_serial_upper", func.upper(Meter.serial).label("serial_upper"),
      postgresql_ops={"serial_upper": "text_pattern_ops"})


class MeterVisit(db.Model):
    """A meter reader's visit that brought no reading, and why (the billing engine estimates that period)."""

    __tablename__ = "meter_visits"
    __table_args__ = (Index("uq_meter_visits_day", "meter_id", "visited_on", "status", unique=True),)

    id: Mapped[int] = mapped_column(primary_key=True)
    meter_id: Mapped[int] = mapped_column(ForeignKey("meters.id"))
    visited_on: Mapped[date]
    status: Mapped[ReaderStatus] = mapped_column(enum_type(ReaderStatus))
    import_id: Mapped[int | None] = mapped_column(ForeignKey("reading_imports.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ImportStatus(StrEnum):
    CHECKED = "checked"  # validated; waits for the person to import the good rows or nothing
    IMPORTING = "importing"  # the task queue is writing the rows
    IMPORTED = "imported"
    DISCARDED = "discarded"  # the person chose to import nothing
    FAILED = "failed"


class ReadingImport(db.Model):
    """An uploaded file of readings (meter readers', smart meters'): its rows, what is wrong with which line,
    and how far the import has got. The file is kept until it is imported or discarded."""

    __tablename__ = "reading_imports"

    id: Mapped[int] = mapped_column(primary_key=True)
    filename: Mapped[str] = mapped_column(String(200))
    content: Mapped[str | None] = mapped_column(Text)  # emptied once imported or discarded
    status: Mapped[ImportStatus] = mapped_column(enum_type(ImportStatus), default=ImportStatus.CHECKED)
    office: Mapped[str | None] = mapped_column(String(40))  # the uploader's office: rows outside it are refused
    total_rows: Mapped[int] = mapped_column(default=0)
    good_rows: Mapped[int] = mapped_column(default=0)
    done_rows: Mapped[int] = mapped_column(default=0)
    recorded: Mapped[int] = mapped_column(default=0)  # readings and visits written (a re-import writes none)
    problems: Mapped[list] = mapped_column(JSON, default=list)  # [[line, reason], …], the first MAX_PROBLEMS
    problem_count: Mapped[int] = mapped_column(default=0)
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

"""Meter readings submitted by customers: checked, stored once (idempotency key), photo kept clean."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from app import audit
from app.accounts.models import Account
from app.auth.models import User
from app.db import today_in_india
from app.extensions import db
from app.metering.checks import LastRead, ReadingRefused, check_reading
from app.metering.models import Meter, Reading, ReadingSource, ReadingStatus
from app.metering.photos import clean_photo, photo_folder, store_photo
from app.metering.signals import reading_recorded


@dataclass(frozen=True)
class Submitted:
    reading: Reading
    duplicate: bool  # the same idempotency key was recorded before: nothing new was written


def active_meter(account: Account) -> Meter | None:
    return db.session.scalar(select(Meter).where(Meter.account_id == account.id, Meter.removed_on.is_(None))
                             .order_by(Meter.installed_on.desc()).limit(1))


def account_id_of(reading: Reading) -> int:
    """The connection a reading belongs to (through its meter)."""
    return db.session.scalar(select(Meter.account_id).where(Meter.id == reading.meter_id))


def last_accepted(meter: Meter) -> Reading | None:
    return db.session.scalar(
        select(Reading).where(Reading.meter_id == meter.id, Reading.status == ReadingStatus.ACCEPTED,
                              Reading.source != ReadingSource.ESTIMATED)
        .order_by(Reading.read_on.desc(), Reading.id.desc()).limit(1))


def upload_folder() -> Path:
    return photo_folder("readings")


QUEUE_DAYS = 7  # a reading may wait this long on a phone that is offline


def submit_reading(user: User, account: Account, value: Decimal, photo: bytes, confirm_rollover: bool,
                   idempotency_key: str, taken_on: date | None = None,
                   usual_use: Callable[[], Decimal | None] = lambda: None) -> Submitted:
    """Record a customer's reading once. ReadingRefused (or PhotoError) says what to fix. `taken_on` is the day
    a reading queued offline was taken (up to a week back); otherwise it is today. `usual_use` gives the
    connection's usual daily use (from its bills, which are billing's: the caller asks billing for it)."""
    earlier = find_by_key(idempotency_key)
    if earlier is not None:
        if earlier.submitted_by_id != user.id:  # keys are random; another user's is a forgery or a clash
            raise ReadingRefused(_("This form has expired. Please reload the page and try again."))
        return Submitted(earlier, duplicate=True)
    meter = active_meter(account)
    if meter is None:
        raise ReadingRefused(_("This connection has no meter on record. Please raise a complaint."))
    today = today_in_india()
    if taken_on is not None and today - timedelta(days=QUEUE_DAYS) <= taken_on < today:
        today = taken_on
    last = last_accepted(meter)
    verdict = check_reading(value, today, LastRead(last.value, last.read_on) if last else None, meter.digits,
                            usual_use(), confirm_rollover)
    status, note = verdict.status, verdict.reason
    if status is ReadingStatus.ACCEPTED and accepted_on(meter, today):
        status, note = ReadingStatus.NEEDS_REVIEW, "a reading for today is already recorded"
    photo_name = store_photo(upload_folder(), clean_photo(photo))
    reading = Reading(meter_id=meter.id, read_on=today, value=value, source=ReadingSource.SELF, status=status,
                      rollover=verdict.rollover, photo_path=photo_name, submitted_by_id=user.id,
                      review_note=note, idempotency_key=idempotency_key)
    try:
        with db.session.begin_nested():  # a twin request with the same key may have just written it
            db.session.add(reading)
    except IntegrityError:
        earlier = find_by_key(idempotency_key)
        if earlier is None:
            raise
        return Submitted(earlier, duplicate=True)
    audit.record("reading.submitted", reading, {"status": status.value, "value": str(value)}, actor=user)
    reading_recorded.send(reading, account=account)
    return Submitted(reading, duplicate=False)


def find_by_key(idempotency_key: str) -> Reading | None:
    return db.session.scalar(select(Reading).where(Reading.idempotency_key == idempotency_key))


def accepted_on(meter: Meter, day) -> bool:
    """Whether an accepted reading of this meter for `day` is recorded (one a day: a second waits for review)."""
    return bool(db.session.scalar(select(func.count(Reading.id)).where(
        Reading.meter_id == meter.id, Reading.read_on == day, Reading.status == ReadingStatus.ACCEPTED)))


def same_day_reading(reading: Reading) -> Reading | None:
    """The accepted reading of the same meter and day that this one would contradict, if any."""
    return db.session.scalar(select(Reading).where(
        Reading.meter_id == reading.meter_id, Reading.read_on == reading.read_on, Reading.id != reading.id,
        Reading.status == ReadingStatus.ACCEPTED).limit(1))

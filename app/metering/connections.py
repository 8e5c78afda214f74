"""Staff open a connection (with its first meter and that meter's initial reading), install a meter on a
connection that has none, replace a meter (the old one's final reading and the new one's initial reading, in
one transaction), and enter a reader's reading or status code by hand. The billing engine counts each meter's
own run, so the next bill adds the old meter's last stretch to the new one's first."""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from app import audit
from app.accounts.changes import TariffDoesNotFit, check_tariff_fits
from app.accounts.models import Account
from app.db import insert_ignore, today_in_india, utcnow
from app.extensions import db
from app.i18n import indian_date
from app.metering.imports import check_day, record_reading
from app.metering.models import Meter, MeterVisit, ReaderStatus, Reading, ReadingSource, ReadingStatus
from app.metering.services import active_meter, last_accepted
from app.metering.signals import reading_recorded


class MeterRefused(ValueError):
    """What staff asked cannot be done; `field` names the form field to show the message at."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class NewMeter:
    serial: str
    digits: int
    multiplying_factor: Decimal
    installed_on: date
    initial_reading: Decimal


def _check_new_meter(new: NewMeter) -> None:
    if db.session.scalar(select(func.count(Meter.id)).where(Meter.serial == new.serial)):
        raise MeterRefused("serial", _("A meter with serial %(serial)s is already on record.", serial=new.serial))
    if new.installed_on > today_in_india():
        raise MeterRefused("installed_on", _("The day cannot be in the future."))
    if new.initial_reading >= Decimal(10) ** new.digits:
        raise MeterRefused("initial_reading", _("A meter of %(digits)s digits cannot show %(value)s.",
                                                digits=new.digits, value=new.initial_reading))


def _add_meter(account: Account, new: NewMeter, staff) -> Meter:
    """The meter and its initial reading (accepted: staff read it at installation)."""
    meter = Meter(account_id=account.id, serial=new.serial, digits=new.digits,
                  multiplying_factor=new.multiplying_factor, installed_on=new.installed_on)
    try:
        with db.session.begin_nested():  # another request may have just recorded the same serial
            db.session.add(meter)
    except IntegrityError:
        raise MeterRefused("serial", _("A meter with serial %(serial)s is already on record.",
                                       serial=new.serial)) from None
    db.session.add(Reading(meter_id=meter.id, read_on=new.installed_on, value=new.initial_reading,
                           source=ReadingSource.METER_READER, status=ReadingStatus.ACCEPTED,
                           submitted_by_id=staff.id, reviewed_by_id=staff.id, review_note="initial reading"))
    db.session.flush()
    return meter


def open_connection(account: Account, new: NewMeter, staff) -> Account:
    """A new connection with its first meter. `account` is new (not yet added); MeterRefused says what to fix
    (field "consumer_number" when the number is taken)."""
    if db.session.scalar(select(func.count(Account.id)).where(Account.consumer_number == account.consumer_number)):
        raise MeterRefused("consumer_number", _("Consumer number %(number)s is already in use.",
                                                number=account.consumer_number))
    try:
        check_tariff_fits(account.tariff_id, account.region, account.category)
    except TariffDoesNotFit as refusal:
        raise MeterRefused("tariff_id", str(refusal)) from None
    if new.installed_on < account.connected_on:
        raise MeterRefused("installed_on", _("The meter cannot be installed before the connection was made."))
    _check_new_meter(new)
    try:
        with db.session.begin_nested():  # the unique number decides between two offices typing it at once
            db.session.add(account)
    except IntegrityError:
        raise MeterRefused("consumer_number", _("Consumer number %(number)s is already in use.",
                                                number=account.consumer_number)) from None
    meter = _add_meter(account, new, staff)
    audit.record("connection.created", account, {"after": {
        "consumer_number": account.consumer_number, "holder_name": account.holder_name, "region": account.region,
        "category": account.category, "tariff_id": account.tariff_id,
        "sanctioned_load_kw": str(account.sanctioned_load_kw), "phase": account.phase.value,
        "billing_cycle": account.billing_cycle.value, "cycle_offset": account.cycle_offset,
        "connected_on": account.connected_on.isoformat(), "meter": meter.serial,
        "initial_reading": str(new.initial_reading)}}, actor=staff)
    return account


def _lock(account: Account) -> None:
    """Meter changes of one connection one at a time (PostgreSQL: the row lock; SQLite writes one at a time), so
    two people replacing the same meter at once cannot leave two meters in use."""
    db.session.execute(select(Account.id).where(Account.id == account.id).with_for_update())


def install_meter(account: Account, new: NewMeter, staff) -> Meter:
    """A meter on a connection that has none in use."""
    _lock(account)
    if active_meter(account) is not None:
        raise MeterRefused("serial", _("This connection has a meter in use: replace it instead."))
    if new.installed_on < account.connected_on:
        raise MeterRefused("installed_on", _("The meter cannot be installed before the connection was made."))
    latest_removal = db.session.scalar(select(func.max(Meter.removed_on)).where(Meter.account_id == account.id))
    if latest_removal is not None and new.installed_on < latest_removal:
        raise MeterRefused("installed_on", _("The last meter was removed on %(day)s: install the new one on or "
                                             "after that day.", day=indian_date(latest_removal)))
    _check_new_meter(new)
    meter = _add_meter(account, new, staff)
    audit.record("meter.installed", meter, {"account": account.consumer_number, "after": {
        "serial": meter.serial, "digits": meter.digits, "multiplying_factor": str(meter.multiplying_factor),
        "installed_on": meter.installed_on.isoformat(), "initial_reading": str(new.initial_reading)}}, actor=staff)
    return meter


def replace_meter(account: Account, final_reading: Decimal, removed_on: date, new: NewMeter, staff) -> Meter:
    """Close the meter in use with its final reading (accepted) and put `new` in its place."""
    _lock(account)
    old = active_meter(account)
    if old is None:
        raise MeterRefused("final_reading", _("This connection has no meter in use: install one instead."))
    try:
        check_day(old, removed_on)
    except ValueError as problem:
        raise MeterRefused("removed_on", str(problem)) from None
    last = last_accepted(old)
    if last is not None and removed_on < last.read_on:
        raise MeterRefused("removed_on", _("The meter was read on %(day)s: it cannot have been removed before.",
                                           day=indian_date(last.read_on)))
    if last is not None and final_reading < last.value:
        raise MeterRefused("final_reading", _("The final reading cannot be below the last accepted one (%(value)s "
                                              "on %(day)s).", value=last.value, day=indian_date(last.read_on)))
    if final_reading >= old.rollover_at:
        raise MeterRefused("final_reading", _("A meter of %(digits)s digits cannot show %(value)s.",
                                              digits=old.digits, value=final_reading))
    if db.session.scalar(select(func.count(Reading.id)).where(
            Reading.meter_id == old.id, Reading.read_on == removed_on, Reading.status == ReadingStatus.ACCEPTED,
            Reading.value != final_reading)):
        raise MeterRefused("removed_on", _("Another reading of this meter is accepted for that day."))
    if new.installed_on < removed_on:
        raise MeterRefused("installed_on", _("The new meter cannot be installed before the old one was removed."))
    _check_new_meter(new)
    if not (last is not None and last.read_on == removed_on and last.value == final_reading):
        db.session.add(Reading(meter_id=old.id, read_on=removed_on, value=final_reading,
                               source=ReadingSource.METER_READER, status=ReadingStatus.ACCEPTED,
                               submitted_by_id=staff.id, reviewed_by_id=staff.id, review_note="final reading"))
    old.removed_on = removed_on
    db.session.flush()
    meter = _add_meter(account, new, staff)
    audit.record("meter.replaced", meter, {
        "account": account.consumer_number,
        "before": {"serial": old.serial, "final_reading": str(final_reading), "removed_on": removed_on.isoformat()},
        "after": {"serial": meter.serial, "digits": meter.digits, "multiplying_factor": str(meter.multiplying_factor),
                  "installed_on": meter.installed_on.isoformat(), "initial_reading": str(new.initial_reading)},
    }, actor=staff)
    return meter


def enter_reading(account: Account, read_on: date, value: Decimal, staff) -> Reading | None:
    """A reader's reading typed by staff, checked as every reading is (an anomaly waits for review). None when
    the same value for that day is already recorded."""
    meter = _meter_in_use(account, "value")
    try:
        check_day(meter, read_on)
    except ValueError as problem:
        raise MeterRefused("read_on", str(problem)) from None
    if value >= meter.rollover_at:
        raise MeterRefused("value", _("A meter of %(digits)s digits cannot show %(value)s.", digits=meter.digits,
                                      value=value))
    reading = record_reading(meter, read_on, value, ReadingSource.METER_READER, submitted_by_id=staff.id)
    if reading is not None:
        audit.record("reading.entered", reading, {"account": account.consumer_number, "value": str(value),
                                                  "read_on": read_on.isoformat(), "status": reading.status.value},
                     actor=staff)
        reading_recorded.send(reading, account=account)
    return reading


def record_visit(account: Account, visited_on: date, status: ReaderStatus, staff) -> bool:
    """A reader's status code instead of a reading (the bill for that period is estimated). False when the
    same code for that day is already recorded."""
    meter = _meter_in_use(account, "status")
    try:
        check_day(meter, visited_on)
    except ValueError as problem:
        raise MeterRefused("read_on", str(problem)) from None
    visit_id = db.session.scalar(insert_ignore(db.session, MeterVisit.__table__).values(
        meter_id=meter.id, visited_on=visited_on, status=status.value, created_at=utcnow()).returning(MeterVisit.id))
    if visit_id is None:
        return False
    audit.record("meter.visit_recorded", db.session.get(MeterVisit, visit_id),
                 {"account": account.consumer_number, "status": status.value,
                  "visited_on": visited_on.isoformat()}, actor=staff)
    return True


def _meter_in_use(account: Account, field: str) -> Meter:
    meter = active_meter(account)
    if meter is None:
        raise MeterRefused(field, _("This connection has no meter in use: install one first."))
    return meter


def visits(meter_ids: list[int], limit: int) -> list[MeterVisit]:
    return list(db.session.scalars(select(MeterVisit).where(MeterVisit.meter_id.in_(meter_ids))
                                   .order_by(MeterVisit.visited_on.desc(), MeterVisit.id.desc()).limit(limit)))

"""Readings that need a person: the review queue, and a staff member's approval or rejection of one reading.
An approved reading is an accepted one, so the next bill uses it; a rejected one is never billed."""

from datetime import date
from decimal import Decimal

from flask_babel import gettext as _
from sqlalchemy import ColumnElement, Select, select, update
from sqlalchemy.exc import IntegrityError

from app import audit
from app.accounts.models import Account
from app.extensions import db
from app.i18n import indian_date
from app.metering.consumption import ConsumptionError, register_advance
from app.metering.models import Meter, Reading, ReadingSource, ReadingStatus
from app.metering.services import same_day_reading
from app.metering.signals import reading_reviewed


class ReviewRefused(Exception):
    """Why a reading cannot be approved or rejected, for the person who tried (translated)."""


def queue(visible: ColumnElement[bool]) -> Select:
    """Readings waiting for review among the connections `visible` allows, oldest first."""
    return (select(Reading).join(Meter, Meter.id == Reading.meter_id)
            .join(Account, Account.id == Meter.account_id)
            .where(Reading.status == ReadingStatus.NEEDS_REVIEW, visible)
            .order_by(Reading.read_on, Reading.id))


def recent_accepted(meter_id: int, before: date, limit: int = 3) -> list[Reading]:
    """The readings a reviewer compares with: the latest accepted actual ones before this one's day."""
    return list(db.session.scalars(
        select(Reading).where(Reading.meter_id == meter_id, Reading.status == ReadingStatus.ACCEPTED,
                              Reading.source != ReadingSource.ESTIMATED, Reading.read_on <= before)
        .order_by(Reading.read_on.desc(), Reading.id.desc()).limit(limit)))


def units_since(earlier: Reading, reading: Reading) -> Decimal | None:
    """The units used from an accepted reading to the one under review, as a bill would count them (across a
    rollover when the reading is marked as one, times the meter's multiplying factor); None when the two describe
    no possible use (a fall with no rollover)."""
    meter = db.session.get(Meter, reading.meter_id)
    try:
        return register_advance([earlier.register_read(meter), reading.register_read(meter)])
    except ConsumptionError:
        return None


def approve(reading: Reading, staff, note: str = "") -> None:
    _check_waiting(reading)
    if same_day_reading(reading) is not None:
        raise ReviewRefused(_("Another reading is already accepted for %(day)s: reject one of the two.",
                              day=indian_date(reading.read_on)))
    _settle(reading, staff, ReadingStatus.ACCEPTED, note)


def reject(reading: Reading, staff, reason: str) -> None:
    _check_waiting(reading)
    if len(reason.strip()) < 3:
        raise ReviewRefused(_("Say why the reading is rejected: the customer is told."))
    _settle(reading, staff, ReadingStatus.REJECTED, reason)


def _check_waiting(reading: Reading) -> None:
    if reading.status is not ReadingStatus.NEEDS_REVIEW:
        raise ReviewRefused(_("This reading has already been reviewed."))


def _settle(reading: Reading, staff, status: ReadingStatus, note: str) -> None:
    """One conditional UPDATE: of two reviewers at once, one settles the reading and the other is told so."""
    before = {"status": reading.status.value, "note": reading.review_note}
    after_note = note.strip() or reading.review_note
    try:
        with db.session.begin_nested():  # a second accepted reading for the day breaks the unique index
            settled = db.session.execute(
                update(Reading).where(Reading.id == reading.id, Reading.status == ReadingStatus.NEEDS_REVIEW)
                .values(status=status, reviewed_by_id=staff.id, review_note=after_note)).rowcount
    except IntegrityError:
        raise ReviewRefused(_("Another reading is already accepted for %(day)s: reject one of the two.",
                              day=indian_date(reading.read_on))) from None
    db.session.refresh(reading)
    if not settled:
        raise ReviewRefused(_("This reading has already been reviewed."))
    audit.record(f"reading.{'approved' if status is ReadingStatus.ACCEPTED else 'rejected'}", reading,
                 {"before": before, "after": {"status": status.value, "note": after_note},
                  "value": str(Decimal(reading.value))}, actor=staff)
    reading_reviewed.send(reading, approved=status is ReadingStatus.ACCEPTED)

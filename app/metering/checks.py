"""Is a customer's meter reading plausible? Pure: plain values in and out (refusals in the user's language)."""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from flask_babel import gettext as _

from app.i18n import indian_date, quantity
from app.metering.models import ReadingStatus

JUMP_FACTOR = Decimal(3)  # a day's use this many times the usual is checked by staff
JUMP_SLACK = Decimal(20)  # …and at least this many units a day more than usual
NO_HISTORY_DAILY_LIMIT = Decimal(100)


class ReadingRefused(ValueError):
    """The reading cannot be recorded as given; the message says what to do."""


@dataclass(frozen=True)
class LastRead:
    value: Decimal
    read_on: date


@dataclass(frozen=True)
class Verdict:
    status: ReadingStatus
    rollover: bool
    advance: Decimal  # units since the last reading
    reason: str | None = None  # why it needs review


def check_reading(value: Decimal, read_on: date, last: LastRead | None, digits: int,
                  usual_daily: Decimal | None, confirm_rollover: bool) -> Verdict:
    limit = Decimal(10) ** digits
    if value < 0 or value >= limit:
        raise ReadingRefused(_("The meter shows at most %(digits)d digits before the decimal point.", digits=digits))
    if last is None:
        return Verdict(ReadingStatus.NEEDS_REVIEW, False, Decimal(0), "first reading on this meter")
    if read_on < last.read_on:
        raise ReadingRefused(_("A reading cannot be older than the last one."))
    if value < last.value:
        if not confirm_rollover:
            raise ReadingRefused(_(
                "This is lower than the last reading (%(value)s on %(date)s). Check the number; "
                "if your meter went past its highest number and started again from zero, tick the box below.",
                value=quantity(last.value), date=indian_date(last.read_on)))
        return Verdict(ReadingStatus.NEEDS_REVIEW, True, value + limit - last.value, "the meter rolled over")
    advance = value - last.value
    daily = advance / max((read_on - last.read_on).days, 1)
    ceiling = (max(usual_daily * JUMP_FACTOR, usual_daily + JUMP_SLACK) if usual_daily is not None
               else NO_HISTORY_DAILY_LIMIT)
    if daily > ceiling:
        return Verdict(ReadingStatus.NEEDS_REVIEW, False, advance, "much higher use than usual")
    return Verdict(ReadingStatus.ACCEPTED, False, advance)

"""A connection's use over time: per bill (last 24) and per day where a smart meter reports daily."""

import json
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import select

from app.accounts.models import Account
from app.billing.bills import latest_bills
from app.billing.compose import Cycle
from app.db import today_in_india
from app.extensions import db
from app.i18n import chart_month_label
from app.metering.consumption import ConsumptionError, register_advance
from app.metering.models import Meter, Reading, ReadingSource, ReadingStatus

PERIODS = 24
DAILY_DAYS = 60


@dataclass(frozen=True)
class PeriodUse:
    cycle: str
    label: str  # "Nov 26", in the user's language
    period_start: date
    period_end: date
    units: Decimal
    amount: Decimal
    estimated: bool
    last_year_units: Decimal | None
    last_year_amount: Decimal | None


@dataclass(frozen=True)
class DailyUse:
    day: date
    units: Decimal


@dataclass(frozen=True)
class UsageData:
    periods: list[PeriodUse]  # oldest first
    daily: list[DailyUse]


def usage_for(account: Account, today: date | None = None) -> UsageData:
    bills = list(reversed(latest_bills(account.id, limit=PERIODS + 12)))
    by_cycle = {b.cycle: b for b in bills}
    periods = []
    for bill in bills[-PERIODS:]:
        twin = by_cycle.get(str(Cycle.parse(bill.cycle).shifted(-12)))
        periods.append(PeriodUse(bill.cycle, chart_month_label(bill.period_end), bill.period_start, bill.period_end,
                                 bill.units, bill.current_charges, bill.estimated,
                                 twin.units if twin else None, twin.current_charges if twin else None))
    return UsageData(periods, daily_use(account, today or today_in_india()))


def daily_use(account: Account, today: date) -> list[DailyUse]:
    """Day-by-day use from smart-meter reads of the last DAILY_DAYS days (empty without a smart meter)."""
    rows = db.session.execute(
        select(Reading, Meter).join(Meter, Meter.id == Reading.meter_id)
        .where(Meter.account_id == account.id, Reading.source == ReadingSource.SMART,
               Reading.status == ReadingStatus.ACCEPTED, Reading.read_on >= today - timedelta(days=DAILY_DAYS))
        .order_by(Reading.read_on, Reading.id)).all()
    days = []
    for (earlier, meter), (later, _meter) in zip(rows, rows[1:], strict=False):
        if earlier.meter_id != later.meter_id or (later.read_on - earlier.read_on).days != 1:
            continue
        try:
            units = register_advance([r.register_read(meter) for r in (earlier, later)])
        except ConsumptionError:
            continue
        days.append(DailyUse(later.read_on, units))
    return days


def chart_json(data: UsageData, labels: dict[str, object]) -> str:
    """The numbers the interactive chart draws (the page's table shows the same), as JSON for the browser."""
    def numbers(values):
        return [None if v is None else float(v) for v in values]  # floats only for drawing, never for money sums

    return json.dumps({
        "labels": [p.label for p in data.periods],
        "units": numbers(p.units for p in data.periods),
        "amount": numbers(p.amount for p in data.periods),
        "last_year_units": numbers(p.last_year_units for p in data.periods),
        "last_year_amount": numbers(p.last_year_amount for p in data.periods),
        "daily": {"days": [d.day.isoformat() for d in data.daily], "units": numbers(d.units for d in data.daily)},
        "text": labels,
    })

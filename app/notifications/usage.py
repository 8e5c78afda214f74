"""Usage alerts, looked at whenever a reading is accepted: the period's projection passes the customer's monthly
budget (₹ or units); it passes into a dearer slab the use so far has not reached; the reading shows use far above
the usual. Each once per period (or reading) and person."""

from decimal import ROUND_HALF_UP, Decimal

from flask_babel import LazyString
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from app.accounts.models import Account
from app.auth.models import User
from app.billing.bills import latest_bills, usual_daily_use
from app.billing.forecast import current_projection
from app.extensions import db
from app.i18n import quantity
from app.metering.models import Reading, ReadingStatus
from app.notifications.models import NotificationKind, UsageBudget
from app.notifications.reminders import last_digits, linked_users
from app.notifications.services import day, money, notify

FAR_ABOVE_FACTOR = Decimal(2)  # a day's use at least twice the usual …
FAR_ABOVE_SLACK = Decimal(5)  # … and at least this many units a day more is "far above the usual"


class BudgetError(ValueError):
    pass


def units(value) -> LazyString:
    return LazyString(lambda: quantity(value))


# --- budgets -----------------------------------------------------------------------------------------------------

def budget_of(user_id: int, account_id: int) -> UsageBudget | None:
    return db.session.scalar(select(UsageBudget).where(UsageBudget.user_id == user_id,
                                                       UsageBudget.account_id == account_id))


def set_budget(user, account: Account, limit: Decimal | None, in_units: bool) -> UsageBudget | None:
    """Set (or, with no limit, remove) the user's monthly budget for the connection."""
    budget = budget_of(user.id, account.id)
    if limit is None:
        if budget is not None:
            db.session.delete(budget)
        return None
    if limit <= 0 or limit != limit.quantize(Decimal("0.01")) or limit >= Decimal("10000000"):
        raise BudgetError("out of range")
    if budget is None:
        budget = UsageBudget(user_id=user.id, account_id=account.id)
        db.session.add(budget)
    budget.amount, budget.units = (None, limit) if in_units else (limit, None)
    db.session.flush()
    return budget


def months_in(period_days: int) -> int:
    return max(int((Decimal(period_days) / Decimal("30.4")).quantize(Decimal(1), rounding=ROUND_HALF_UP)), 1)


# --- alerts ------------------------------------------------------------------------------------------------------

def reading_recorded(reading: Reading, account: Account, **_kwargs) -> None:
    if reading.status is not ReadingStatus.ACCEPTED:
        return  # an unchecked reading (staff review it) alarms no one; it counts once accepted
    bills = latest_bills(account.id, limit=1)
    if not bills:
        return
    bill = bills[0]
    users = linked_users([account.id]).get(account.id, [])
    projection = current_projection(account, bill)
    if projection is not None:
        for user in users:
            _budget_alert(user, account, bill, projection)
            _slab_alert(user, account, bill, projection)
    _far_above_usual(reading, account, [u for u in users if u.id != reading.submitted_by_id])


def _budget_alert(user, account: Account, bill, projection) -> None:
    budget = budget_of(user.id, account.id)
    if budget is None:
        return
    months = months_in(projection.period_days)
    key = f"usage:budget:{bill.id}:{user.id}"
    if budget.amount is not None and projection.projected_amount > budget.amount * months:
        notify(user, NotificationKind.USAGE_ALERT, _l("Heading over your budget"),
               _l("At this rate the bill for connection ending %(digits)s comes to about %(amount)s, over your "
                  "budget of %(budget)s.", digits=last_digits(account), amount=money(projection.projected_amount),
                  budget=money(budget.amount * months)),
               "/", account=account, dedupe_key=key)
    elif budget.units is not None and projection.projected_units > budget.units * months:
        notify(user, NotificationKind.USAGE_ALERT, _l("Heading over your budget"),
               _l("At this rate connection ending %(digits)s uses about %(units)s units this period, over your "
                  "budget of %(budget)s units.", digits=last_digits(account),
                  units=units(projection.projected_units), budget=units(budget.units * months)),
               "/", account=account, dedupe_key=key)


def _slab_alert(user, account: Account, bill, projection) -> None:
    crossing = projection.crossing
    if crossing is None:
        return
    notify(user, NotificationKind.USAGE_ALERT, _l("Heading into a dearer slab"),
           _l("At this rate connection ending %(digits)s passes %(units)s units this period; each unit after that "
              "costs %(rate)s instead of %(now)s.", digits=last_digits(account), units=units(crossing.at_units),
              rate=money(crossing.rate_next), now=money(crossing.rate_now)),
           "/", account=account, dedupe_key=f"usage:slab:{bill.id}:{crossing.at_units.normalize()}:{user.id}")


def _far_above_usual(reading: Reading, account: Account, users) -> None:
    if not users:
        return
    previous = db.session.scalar(
        select(Reading).where(Reading.meter_id == reading.meter_id, Reading.status == ReadingStatus.ACCEPTED,
                              Reading.read_on < reading.read_on)
        .order_by(Reading.read_on.desc(), Reading.id.desc()).limit(1))
    usual = usual_daily_use(account.id)
    if previous is None or usual is None or reading.rollover or reading.value < previous.value:
        return
    daily = (reading.value - previous.value) / max((reading.read_on - previous.read_on).days, 1)
    if daily < max(usual * FAR_ABOVE_FACTOR, usual + FAR_ABOVE_SLACK):
        return
    for user in users:
        notify(user, NotificationKind.USAGE_ALERT, _l("Much higher use than usual"),
               _l("Connection ending %(digits)s used about %(daily)s units a day since the last reading, against "
                  "%(usual)s usually. A fault or an appliance left on?", digits=last_digits(account),
                  daily=units(daily.quantize(Decimal("0.1"))), usual=units(usual.quantize(Decimal("0.1")))),
               "/usage", account=account, dedupe_key=f"usage:high:{reading.id}:{user.id}")


def reading_reviewed(reading: Reading, approved: bool, **_kwargs) -> None:
    """The customer who sent a reading that needed a person learns what staff decided, and why if it was refused."""
    user = db.session.get(User, reading.submitted_by_id) if reading.submitted_by_id else None
    if user is None or user.is_staff:
        return  # a meter reader's or a staff member's reading: no customer is waiting for it
    if approved:
        title = _l("Your meter reading was accepted")
        body = _l("Your reading of %(value)s on %(day)s was checked and accepted: your next bill uses it.",
                  value=units(reading.value), day=day(reading.read_on))
    else:
        title = _l("Your meter reading was not accepted")
        body = _l("Your reading of %(value)s on %(day)s was not accepted: %(reason)s",
                  value=units(reading.value), day=day(reading.read_on), reason=reading.review_note or "")
    notify(user, NotificationKind.USAGE_ALERT, title, body, f"/readings/{reading.id}",
           dedupe_key=f"reading-reviewed:{reading.id}")

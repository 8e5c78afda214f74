"""Reports about people, read live (their tables are small or kept short): active customers from sign-ins, push
opt-in, complaints. A customer belongs to an office through the connections linked to them."""

from collections import defaultdict
from datetime import datetime, time, timedelta
from decimal import Decimal

from flask import current_app
from sqlalchemy import exists, select

from app.accounts.models import Account, AccountLink
from app.auth.models import Role, SignIn, User
from app.db import INDIA, utcnow
from app.extensions import db
from app.notifications.models import PushSubscription
from app.reports.months import MonthRange, first_of
from app.support.models import Ticket


def _start(day) -> datetime:
    return datetime.combine(day, time.min, tzinfo=INDIA)


def _customers_in(regions):
    """The condition on User for customers with a connection in the regions (None: every customer)."""
    condition = User.role == Role.CUSTOMER
    if regions is None:
        return condition
    linked = (select(AccountLink.id).join(Account, Account.id == AccountLink.account_id)
              .where(AccountLink.user_id == User.id, Account.region.in_(list(regions))))
    return condition & exists(linked)


def active_users(period: MonthRange, regions) -> list[tuple]:
    """Per month: (month, customers who signed in, the average and the highest number signing in on one day).
    Days are Indian days. Sign-ins are kept KEEP["sign_ins"] days (configured): a month that began before the
    oldest kept sign-in has no data, (month, None, None, None), never a count of 0."""
    kept_from = utcnow() - current_app.config["KEEP"]["sign_ins"]
    rows = db.session.execute(
        select(SignIn.user_id, SignIn.created_at).join(User, User.id == SignIn.user_id)
        .where(SignIn.created_at >= _start(period.first), SignIn.created_at < _start(period.end),
               _customers_in(regions)))
    monthly, daily = defaultdict(set), defaultdict(set)
    for user_id, created_at in rows:
        day = created_at.astimezone(INDIA).date()
        monthly[first_of(day)].add(user_id)
        daily[day].add(user_id)
    result = []
    for month in period.months:
        if _start(month) < kept_from:
            result.append((month, None, None, None))
            continue
        days = [len(users) for day, users in daily.items() if first_of(day) == month]
        days_in_month = ((month.replace(day=28) + timedelta(days=4)).replace(day=1) - month).days
        average = (Decimal(sum(days)) / days_in_month).quantize(Decimal("0.1")) if days else Decimal(0)
        result.append((month, len(monthly[month]), average, max(days, default=0)))
    return result


def push_opt_in(regions_shown: list[str]) -> list[tuple[str, int, int]]:
    """Per region: (region, customers with a connection there, those with web push on at least one device)."""
    opted = exists(select(PushSubscription.id).where(PushSubscription.user_id == User.id))
    rows = []
    for region in regions_shown:
        customers = db.session.execute(select(User.id, opted).where(_customers_in([region]))).all()
        rows.append((region, len(customers), sum(1 for _id, on in customers if on)))
    return rows


def complaints(period: MonthRange, regions) -> dict:
    """Per category, of the complaints raised in the period: {category: (raised, resolved, resolved in time,
    total hours to resolve)}. Complaints about no connection count for head office only. One that was ever
    escalated (past its time limit, even if reopened since with a fresh one) is never resolved in time."""
    query = (select(Ticket.category, Ticket.created_at, Ticket.resolved_at, Ticket.due_at, Ticket.escalated_at)
             .outerjoin(Account, Account.id == Ticket.account_id)
             .where(Ticket.created_at >= _start(period.first), Ticket.created_at < _start(period.end)))
    if regions is not None:
        query = query.where(Account.region.in_(list(regions)))
    totals = defaultdict(lambda: [0, 0, 0, Decimal(0)])
    for category, created_at, resolved_at, due_at, escalated_at in db.session.execute(query):
        figures = totals[category]
        figures[0] += 1
        if resolved_at is not None:
            figures[1] += 1
            figures[2] += escalated_at is None and resolved_at <= due_at
            figures[3] += Decimal((resolved_at - created_at).total_seconds()) / 3600
    return {category: tuple(values) for category, values in totals.items()}

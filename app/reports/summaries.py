"""The report summaries: what they hold, how they are built and how they are kept fresh.

A report over a year on a million connections would otherwise sum twelve million bills and as many ledger
entries on every page view. Instead `MonthlyBilling` and `MonthlyCollection` (models.py) hold one row per month
and region and tariff category (or payment channel), and the reports read those few hundred rows.

Kept fresh by two periodic Huey tasks (tasks.py), each under one lock so two consumers never rebuild at once:
- `refresh_recent_report_summaries`, every 15 minutes: rebuilds this month and the two before it, where new
  bills, payments, bounced cheques and corrections land (a report is at most a quarter of an hour behind);
- `rebuild_report_summaries`, every night: rebuilds the last MONTHS_KEPT months (a correction to an older bill).
`flask jobs run` runs both at once. A month is rebuilt whole, in one transaction: its rows are deleted and
computed again from bills and the ledger, so a rebuild is idempotent; the unique (month, region, category) and
(month, region, channel) constraints make sure a month never holds two rows for the same figures.

The `*_rows` functions compute a month straight from bills and the ledger: the rebuild stores what they return,
and reports can read them directly (`live=True`) to check the summaries or to compare speed (bench/reports.py).
"""

from collections.abc import Iterable
from datetime import date, datetime

from sqlalchemy import and_, case, delete, func, insert, select
from sqlalchemy.orm import aliased

from app.accounts.models import Account
from app.billing.ledger import in_force
from app.billing.models import Bill, LedgerEntry, LedgerKind
from app.db import today_in_india, utcnow
from app.extensions import db
from app.payments.models import Payment
from app.reports.models import MonthlyBilling, MonthlyCollection
from app.reports.months import cycle_of, first_of, shifted

RECENT_MONTHS = 3  # this month and the two before: where new figures land
MONTHS_KEPT = 36  # rebuilt nightly; a report's range is at most as long


def _regions(query, regions: Iterable[str] | None):
    return query if regions is None else query.where(Account.region.in_(list(regions)))


def bills_rows(month: date, regions: Iterable[str] | None = None) -> list[dict]:
    """Bills of the month's cycle (those in force: the latest revision, not cancelled) per region and category."""
    query = (select(Account.region, Account.category, func.count(Bill.id),
                    func.coalesce(func.sum(case((Bill.estimated, 1), else_=0)), 0),
                    func.coalesce(func.sum(Bill.units), 0), func.coalesce(func.sum(Bill.current_charges), 0))
             .join(Account, Account.id == Bill.account_id)
             .where(Bill.cycle == cycle_of(month), in_force())
             .group_by(Account.region, Account.category))
    return [{"region": region, "category": category, "bills": bills, "estimated_bills": int(estimated),
             "units": units, "billed": billed}
            for region, category, bills, estimated, units, billed in db.session.execute(_regions(query, regions))]


def paid_by_due_date():
    """Whether the bill's account paid at least its total due between its issue and its due date."""
    payment = aliased(LedgerEntry)
    paid = (select(func.coalesce(-func.sum(payment.amount), 0))
            .where(payment.account_id == Bill.account_id, payment.kind == LedgerKind.PAYMENT,
                   payment.effective_on >= Bill.issued_on, payment.effective_on <= Bill.due_date)
            .scalar_subquery())
    return paid >= Bill.total_due


def due_rows(month: date, regions: Iterable[str] | None = None) -> list[dict]:
    """Bills in force that fell due in the month (before today: a bill not yet due is not late) with something to
    pay, and how many were paid in full on time."""
    until = min(shifted(month, 1), today_in_india())
    query = (select(Account.region, Account.category, func.count(Bill.id),
                    func.coalesce(func.sum(case((paid_by_due_date(), 1), else_=0)), 0))
             .join(Account, Account.id == Bill.account_id)
             .where(Bill.due_date >= month, Bill.due_date < until, Bill.total_due > 0, in_force())
             .group_by(Account.region, Account.category))
    return [{"region": region, "category": category, "bills_due": due, "paid_on_time": int(on_time)}
            for region, category, due, on_time in db.session.execute(_regions(query, regions))]


def collection_rows(month: date, regions: Iterable[str] | None = None) -> list[dict]:
    """Payments credited in the month per region and channel, less the bounced cheques reversed in it."""
    is_payment = LedgerEntry.kind == LedgerKind.PAYMENT
    query = (select(Account.region, Payment.method,
                    func.sum(case((is_payment, 1), else_=-1)), -func.sum(LedgerEntry.amount))
             .join(Payment, Payment.id == LedgerEntry.payment_id)
             .join(Account, Account.id == LedgerEntry.account_id)
             .where(LedgerEntry.kind.in_([LedgerKind.PAYMENT, LedgerKind.REVERSAL]),
                    and_(LedgerEntry.effective_on >= month, LedgerEntry.effective_on < shifted(month, 1)))
             .group_by(Account.region, Payment.method))
    return [{"region": region, "channel": str(method), "payments": int(payments), "collected": collected}
            for region, method, payments, collected in db.session.execute(_regions(query, regions))]


def billing_figures(month: date) -> list[dict]:
    """One row per region and category: the month's bills and the bills due in it, merged."""
    rows: dict[tuple[str, str], dict] = {}
    for row in bills_rows(month) + due_rows(month):
        key = (row["region"], row["category"])
        rows.setdefault(key, {"region": key[0], "category": key[1]}).update(row)
    return list(rows.values())


def rebuild_month(month: date) -> int:
    """Replace the month's summary rows with figures computed from bills and the ledger; returns rows written."""
    month = first_of(month)
    now = utcnow()
    billing = [{"bills": 0, "estimated_bills": 0, "units": 0, "billed": 0, "bills_due": 0, "paid_on_time": 0,
                **row, "month": month, "built_at": now} for row in billing_figures(month)]
    collection = [{**row, "month": month, "built_at": now} for row in collection_rows(month)]
    db.session.execute(delete(MonthlyBilling).where(MonthlyBilling.month == month))
    db.session.execute(delete(MonthlyCollection).where(MonthlyCollection.month == month))
    if billing:
        db.session.execute(insert(MonthlyBilling), billing)
    if collection:
        db.session.execute(insert(MonthlyCollection), collection)
    return len(billing) + len(collection)


def rebuild_recent(months: int, today: date | None = None) -> int:
    """Rebuild this month and the `months - 1` before it; returns the rows written."""
    this_month = first_of(today or today_in_india())
    return sum(rebuild_month(shifted(this_month, -n)) for n in range(months))


def last_built() -> datetime | None:
    """When the summaries were last rebuilt (the oldest of this month's rows: a page says how fresh it is)."""
    return db.session.scalar(select(func.min(MonthlyBilling.built_at))
                             .where(MonthlyBilling.month == first_of(today_in_india())))

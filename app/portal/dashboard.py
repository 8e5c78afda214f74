"""Everything the dashboard shows for one connection, gathered in a handful of indexed queries."""

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import select

from app.accounts.models import Account
from app.billing import ledger
from app.billing import tariff as engine
from app.billing.bills import bill_status, latest_bills, payment_terms, prompt_rebate
from app.billing.models import Bill, TariffParam, TariffVersion
from app.billing.projection import Projection, project
from app.db import today_in_india
from app.extensions import db
from app.metering.consumption import ConsumptionError, register_advance
from app.metering.models import Meter, Reading, ReadingSource, ReadingStatus
from app.payments.models import Payment, PaymentState
from app.payments.queries import open_payments

SPARKLINE_BILLS = 12


@dataclass(frozen=True)
class Dashboard:
    account: Account
    bill: Bill | None
    balance: Decimal  # what is owed now (negative: in credit)
    status: str | None  # paid, due, overdue
    days_left: int | None  # until the due date (negative: overdue by)
    rebate: Decimal
    rebate_by: date | None
    last_payment: Payment | None
    projection: Projection | None
    history: list[Bill]  # oldest first, for the sparkline
    waiting: list[Payment]  # payments the bank or staff have not confirmed yet
    reading_in_review: Reading | None  # the customer's latest reading, while staff check it


def dashboard_for(account: Account, today: date | None = None) -> Dashboard:
    today = today or today_in_india()
    bills = latest_bills(account.id, limit=SPARKLINE_BILLS)
    bill = bills[0] if bills else None
    balance = ledger.balance(account.id)
    rebate, rebate_by = (prompt_rebate(bill, payment_terms(bill), today) if bill and balance > 0
                         else (Decimal("0.00"), None))
    return Dashboard(
        account=account, bill=bill, balance=balance,
        status=bill_status(bill, balance, today) if bill else None,
        days_left=(bill.due_date - today).days if bill else None,
        rebate=rebate, rebate_by=rebate_by,
        last_payment=db.session.scalar(
            select(Payment).where(Payment.account_id == account.id, Payment.state == PaymentState.CAPTURED)
            .order_by(Payment.captured_at.desc()).limit(1)),
        projection=current_projection(account, bill),
        history=list(reversed(bills)),
        waiting=open_payments(account.id),
        reading_in_review=db.session.scalar(
            select(Reading).join(Meter, Meter.id == Reading.meter_id)
            .where(Meter.account_id == account.id, Reading.status == ReadingStatus.NEEDS_REVIEW)
            .order_by(Reading.read_on.desc(), Reading.id.desc()).limit(1)),
    )


def current_projection(account: Account, bill: Bill | None, extra: Reading | None = None) -> Projection | None:
    """This period so far: the meter's advance since the last actual reading, extended to a whole period.
    `extra` counts a reading not yet accepted (one just submitted that staff will check)."""
    anchor = _last_actual_reading(account, bill) if bill is not None else None
    if anchor is None:
        return None
    rows = list(db.session.execute(
        select(Reading, Meter).join(Meter, Meter.id == Reading.meter_id)
        .where(Meter.account_id == account.id, Reading.status == ReadingStatus.ACCEPTED,
               Reading.source != ReadingSource.ESTIMATED, Reading.read_on >= anchor.read_on)
        .order_by(Reading.read_on, Reading.id)
    ).all())
    if extra is not None and extra.status is not ReadingStatus.ACCEPTED:
        rows.append((extra, db.session.get(Meter, extra.meter_id)))
    reads = [r.register_read(m) for r, m in rows if (r.read_on, r.id) >= (anchor.read_on, anchor.id)]
    if len(reads) < 2:
        return None
    try:
        units = register_advance(reads)
    except ConsumptionError:
        return None
    version = db.session.get(TariffVersion, bill.tariff_version_id)
    tariff = engine.parse_tariff(version.document)
    params = dict(db.session.execute(select(TariffParam.name, TariffParam.value).where(
        TariffParam.tariff_id == version.tariff_id, TariffParam.month == bill.period_end.replace(day=1))).all())
    period_days = (bill.period_end - bill.period_start).days + 1
    try:
        return project(tariff, units, anchor.read_on + timedelta(days=1), reads[-1].read_on, period_days,
                       account.sanctioned_load_kw, account.phase.value, account.flags, params)
    except engine.TariffError:
        return None  # the projection is a courtesy; a tariff that cannot price it simply shows none


def _last_actual_reading(account: Account, bill: Bill) -> Reading | None:
    """Where this period's use is counted from: the latest bill's closing reading when the meter was read for it;
    after an estimated bill, the last actual reading up to that bill's end, wherever it is."""
    if not bill.estimated and bill.closing_reading_id is not None:
        return db.session.get(Reading, bill.closing_reading_id)
    return db.session.scalar(
        select(Reading).join(Meter, Meter.id == Reading.meter_id)
        .where(Meter.account_id == account.id, Reading.status == ReadingStatus.ACCEPTED,
               Reading.source != ReadingSource.ESTIMATED, Reading.read_on <= bill.period_end)
        .order_by(Reading.read_on.desc(), Reading.id.desc()).limit(1))

"""Everything the dashboard shows for one connection, gathered in a handful of indexed queries."""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import select

from app.accounts.models import Account
from app.billing import ledger
from app.billing.bills import bill_status, latest_bills, payment_terms, prompt_rebate
from app.billing.forecast import current_projection
from app.billing.models import Bill
from app.billing.projection import Projection
from app.db import today_in_india
from app.extensions import db
from app.metering.models import Meter, Reading, ReadingStatus
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

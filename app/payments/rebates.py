"""Prompt and digital payment rebates: offered from the bill's tariff terms, credited once per bill."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app.billing import ledger
from app.billing.bills import latest_bills, payment_terms, prompt_rebate
from app.billing.models import LedgerEntry, LedgerKind
from app.db import ZERO, today_in_india, utcnow
from app.extensions import db
from app.payments.base import ONE_PAISA, REBATE_GRACE, _india_day, rupees
from app.payments.models import (
    DIGITAL_METHODS,
    Payment,
)


@dataclass(frozen=True)
class RebateOffer:
    """What paying the whole amount due now would earn on the bill in force."""

    bill_id: int
    bill_number: str
    balance: Decimal  # owed now
    prompt: Decimal
    prompt_by: date | None
    digital: Decimal
    total: Decimal

    @property
    def pay_amount(self) -> Decimal:
        """Pay this much (or more) and the bill is settled with the rebates."""
        return self.balance - self.total


def rebate_offer(account_id: int, day: date, digital: bool, balance: Decimal | None = None) -> RebateOffer | None:
    """The prompt-payment and (for digital payments) digital-payment rebates that paying the amount due on
    `day` would earn, from the tariff's payment terms of the bill in force; None when there are none."""
    bills = latest_bills(account_id, limit=1)
    if not bills:
        return None
    bill = bills[0]
    balance = ledger.balance(account_id) if balance is None else balance
    if balance <= 0 or _rebate_given(bill.id):
        return None
    terms = payment_terms(bill)
    prompt, prompt_by = prompt_rebate(bill, terms, day)
    digital_amount = ZERO
    if digital and terms.digital_rebate is not None and day <= bill.due_date:
        digital_amount = (bill.current_charges * terms.digital_rebate.percent / 100).quantize(ONE_PAISA, ROUND_HALF_UP)
        if terms.digital_rebate.cap is not None:
            digital_amount = min(digital_amount, terms.digital_rebate.cap)
    total = min(prompt + digital_amount, balance)
    if total <= 0:
        return None
    return RebateOffer(bill.id, bill.number, balance, prompt, prompt_by, digital_amount, total)


def _rebate_given(bill_id: int) -> bool:
    return db.session.scalar(select(LedgerEntry.id).where(LedgerEntry.kind == LedgerKind.REBATE,
                                                          LedgerEntry.bill_id == bill_id)) is not None


def _paid_on(payment: Payment) -> date:
    """The day the customer paid: when they started, if the bank confirmed within REBATE_GRACE."""
    if utcnow() - payment.created_at <= REBATE_GRACE:
        return _india_day(payment.created_at)
    return today_in_india()


def _grant_rebate(payment: Payment, balance_before: Decimal, received: Decimal, actor=None) -> Decimal:
    offer = rebate_offer(payment.account_id, _paid_on(payment), payment.method in DIGITAL_METHODS, balance_before)
    if offer is None or received < offer.pay_amount:
        return ZERO
    parts = []
    if offer.prompt:
        parts.append(f"prompt payment {rupees(offer.prompt)}")
    if offer.digital:
        parts.append(f"digital payment {rupees(offer.digital)}")
    try:
        with db.session.begin_nested():  # one REBATE per bill: a parallel payment may have got there first
            ledger.post(payment.account_id, LedgerKind.REBATE, -offer.total, today_in_india(),
                        f"Rebate on bill {offer.bill_number}: {', '.join(parts)}"[:200], bill_id=offer.bill_id,
                        payment_id=payment.id, actor=actor)
    except IntegrityError:
        return ZERO
    return offer.total

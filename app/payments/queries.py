"""Reading payments for pages: who may see which, histories, receipts. No writes here."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from sqlalchemy import Select, func, select
from sqlalchemy.orm import aliased

from app.accounts.models import Account
from app.auth.models import User
from app.billing.models import Bill, LedgerEntry, LedgerKind
from app.db import ZERO, utcnow
from app.extensions import db
from app.payments.models import ApprovalState, MoneyApproval, Payment, PaymentState, Refund

PAGE_SIZE = 20


def history(account_id: int) -> Select:
    """A connection's payments, newest first (pages of PAGE_SIZE on screen)."""
    return (select(Payment).where(Payment.account_id == account_id)
            .order_by(Payment.created_at.desc(), Payment.id.desc()))


def open_payments(account_id: int, days: int = 7) -> list[Payment]:
    """Payments still waiting for the bank or for review (cheques clearing too): what a dashboard lists as waiting."""
    return list(db.session.scalars(
        select(Payment).where(Payment.account_id == account_id,
                              Payment.state.in_([PaymentState.PENDING, PaymentState.HELD,
                                                 PaymentState.CLEARING]),
                              Payment.created_at > utcnow() - timedelta(days=days))
        .order_by(Payment.created_at.desc())))


def rebate_of(payment_id: int) -> tuple[Decimal, str | None]:
    """The rebate this payment earned (and the bill it was on)."""
    row = db.session.execute(
        select(LedgerEntry.amount, Bill.number).outerjoin(Bill, Bill.id == LedgerEntry.bill_id)
        .where(LedgerEntry.kind == LedgerKind.REBATE, LedgerEntry.payment_id == payment_id)).first()
    return (-row[0], row[1]) if row else (ZERO, None)


def refunds_of(payment_id: int) -> list[Refund]:
    return list(db.session.scalars(select(Refund).where(Refund.payment_id == payment_id).order_by(Refund.id)))


def payments_for_staff(consumer_number: str | None, limit: int = 50) -> tuple[Account | None, list[Payment]]:
    """A connection's recent payments by consumer number; without one, the payments that need a person (held,
    or cheques to mark cleared or returned)."""
    if consumer_number:
        account = db.session.scalar(select(Account).where(Account.consumer_number == consumer_number.strip()))
        if account is None:
            return None, []
        return account, list(db.session.scalars(select(Payment).where(Payment.account_id == account.id)
                                                .order_by(Payment.created_at.desc()).limit(limit)))
    return None, list(db.session.scalars(select(Payment).where(Payment.state.in_([PaymentState.HELD,
                                                                                  PaymentState.CLEARING]))
                                         .order_by(Payment.created_at).limit(limit)))


def account_by_number(consumer_number: str) -> Account | None:
    return db.session.scalar(select(Account).where(Account.consumer_number == consumer_number.strip()))


@dataclass(frozen=True)
class ApprovalRow:
    approval: MoneyApproval
    payment: Payment
    consumer_number: str
    proposer: str
    decider: str | None


def approvals(payment_id: int | None = None, waiting_only: bool = True, limit: int = 100) -> list[ApprovalRow]:
    """Proposals with what a checker needs beside them (oldest waiting first), for one payment or all."""
    decider = aliased(User)
    statement = (select(MoneyApproval, Payment, Account.consumer_number, User.name, decider.name)
                 .join(Payment, Payment.id == MoneyApproval.payment_id)
                 .join(Account, Account.id == Payment.account_id)
                 .join(User, User.id == MoneyApproval.proposed_by_id)
                 .outerjoin(decider, decider.id == MoneyApproval.decided_by_id))
    if payment_id is not None:
        statement = statement.where(MoneyApproval.payment_id == payment_id)
    if waiting_only:
        statement = statement.where(MoneyApproval.state == ApprovalState.PENDING)
    rows = db.session.execute(statement.order_by(MoneyApproval.proposed_at, MoneyApproval.id).limit(limit))
    return [ApprovalRow(*row) for row in rows]


def count_waiting_events() -> int:
    from app.payments.models import PaymentEvent

    return db.session.scalar(select(func.count()).select_from(PaymentEvent).where(PaymentEvent.processed_at.is_(None)))


@dataclass(frozen=True)
class ReceiptView:
    """Everything a receipt shows, as plain values (the page and the PDF draw from it)."""

    utility_name: str
    receipt_number: str
    paid_at: object  # datetime (UTC)
    consumer_number: str
    holder_name: str
    address: str
    amount: Decimal
    method: str  # PaymentMethod value
    reference: str
    gateway_payment_id: str | None
    instrument_number: str | None
    instrument_bank: str | None
    rebate: Decimal
    rebate_bill: str | None
    refunded: Decimal
    state: str


def receipt_view(payment: Payment, utility_name: str) -> ReceiptView | None:
    if payment.receipt_number is None:
        return None
    account = db.session.get(Account, payment.account_id)
    rebate, rebate_bill = rebate_of(payment.id)
    return ReceiptView(
        utility_name=utility_name, receipt_number=payment.receipt_number, paid_at=payment.captured_at,
        consumer_number=account.consumer_number, holder_name=account.holder_name, address=account.address,
        amount=payment.credited_amount, method=payment.method.value, reference=payment.reference,
        gateway_payment_id=payment.gateway_payment_id, instrument_number=payment.instrument_number,
        instrument_bank=payment.instrument_bank, rebate=rebate, rebate_bill=rebate_bill,
        refunded=payment.refunded_amount or ZERO, state=payment.state.value,
    )

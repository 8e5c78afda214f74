"""Reading payments for pages: who may see which, histories, receipts. No writes here."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from sqlalchemy import Select, and_, func, or_, select
from sqlalchemy.orm import aliased

from app.accounts.models import Account
from app.accounts.offices import visible_to
from app.auth.models import User
from app.billing import ledger
from app.billing.models import Bill, LedgerEntry, LedgerKind
from app.db import INDIA, ZERO, utcnow
from app.extensions import db
from app.i18n import N_
from app.payments.models import (
    ApprovalState,
    CashBook,
    MoneyApproval,
    Payment,
    PaymentMethod,
    PaymentState,
    Refund,
)

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


NEEDS_A_PERSON = (PaymentState.HELD, PaymentState.CLEARING)
NEEDS_A_PERSON_FILTER = "attention"  # the state filter's value for NEEDS_A_PERSON


@dataclass(frozen=True)
class PaymentFilters:
    """What staff search payments by; every one optional. `state` "attention" means NEEDS_A_PERSON."""

    consumer_number: str = ""
    receipt_number: str = ""
    gateway_id: str = ""
    instrument_number: str = ""
    since: date | None = None  # days in India, both included
    until: date | None = None
    method: str = ""
    state: str = ""  # a PaymentState value, or NEEDS_A_PERSON_FILTER


def _start_of(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=INDIA)


def _made_between(since: date | None, until: date | None):
    """When the payment was made (Payment.made_at: received, else started), each side on its own index."""
    def within(column):
        conditions = [column.is_not(None)]
        if since:
            conditions.append(column >= _start_of(since))
        if until:
            conditions.append(column < _start_of(until + timedelta(days=1)))
        return and_(*conditions)

    return or_(within(Payment.captured_at), and_(Payment.captured_at.is_(None), within(Payment.created_at)))


def search_payments(filters: PaymentFilters, staff) -> Select:
    """Payments of the connections `staff` may see (their office's) matching every filter given, newest first."""
    statement = select(Payment).join(Account, Account.id == Payment.account_id).where(visible_to(staff))
    if filters.consumer_number:
        statement = statement.where(Account.consumer_number == filters.consumer_number.strip())
    if filters.receipt_number:
        statement = statement.where(Payment.receipt_number == filters.receipt_number.strip().upper())
    if filters.gateway_id:
        gateway_id = filters.gateway_id.strip()
        statement = statement.where(or_(Payment.gateway_order_id == gateway_id,
                                        Payment.gateway_payment_id == gateway_id))
    if filters.instrument_number:
        statement = statement.where(Payment.instrument_number == filters.instrument_number.strip())
    if filters.since or filters.until:
        statement = statement.where(_made_between(filters.since, filters.until))
    if filters.method:
        statement = statement.where(Payment.method == PaymentMethod(filters.method))
    if filters.state == NEEDS_A_PERSON_FILTER:
        statement = statement.where(Payment.state.in_(NEEDS_A_PERSON))
    elif filters.state:
        statement = statement.where(Payment.state == PaymentState(filters.state))
    return statement.order_by(Payment.created_at.desc(), Payment.id.desc())


def payment_rows(payments: list[Payment]) -> dict:
    """What a list of payments shows beside each: its consumer number, and for a counter payment the cashier and
    the collection centre (two queries for the page, not two per row)."""
    account_ids = {p.account_id for p in payments}
    book_ids = {p.cash_book_id for p in payments if p.cash_book_id}
    consumers = dict(db.session.execute(select(Account.id, Account.consumer_number)
                                        .where(Account.id.in_(account_ids))).all()) if account_ids else {}
    books = {b.id: b for b in db.session.scalars(select(CashBook).where(CashBook.id.in_(book_ids)))} \
        if book_ids else {}
    cashier_ids = {p.recorded_by_id for p in payments if p.recorded_by_id}
    cashiers = dict(db.session.execute(select(User.id, User.name).where(User.id.in_(cashier_ids))).all()) \
        if cashier_ids else {}
    return {"consumers": consumers, "books": books, "cashiers": cashiers}


def account_by_number(consumer_number: str, staff) -> Account | None:
    """The connection with this number, if `staff` may act on it (another office's is as good as none)."""
    return db.session.scalar(select(Account).where(Account.consumer_number == consumer_number.strip(),
                                                   visible_to(staff)))


@dataclass(frozen=True)
class ApprovalRow:
    approval: MoneyApproval
    payment: Payment
    consumer_number: str
    proposer: str
    decider: str | None


def approvals(payment_id: int | None = None, waiting_only: bool = True, limit: int = 100,
              staff=None) -> list[ApprovalRow]:
    """Proposals with what a checker needs beside them (oldest waiting first), for one payment or all (those of
    `staff`'s office's connections when given)."""
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
    if staff is not None:
        statement = statement.where(visible_to(staff))
    rows = db.session.execute(statement.order_by(MoneyApproval.proposed_at, MoneyApproval.id).limit(limit))
    return [ApprovalRow(*row) for row in rows]


def count_waiting_events() -> int:
    from app.payments.models import PaymentEvent

    return db.session.scalar(select(func.count()).select_from(PaymentEvent).where(PaymentEvent.processed_at.is_(None)))


@dataclass(frozen=True)
class BillPaid:
    """A bill a payment went to: its number and period."""

    number: str
    period_start: date
    period_end: date


MAX_BILLS_PAID = 12  # a payment that clears a year of unpaid bills names them all; older ones are history


@dataclass(frozen=True)
class Application:
    """Where a payment went on the ledger: the bills it paid (all or part of), oldest first (none when nothing was
    owed: an advance), and the account's balance right after it (with any rebate it earned)."""

    bills: tuple[BillPaid, ...]
    balance_after: Decimal


def application_of(payment: Payment) -> Application | None:
    """Read from the ledger in its own order (entry ids; captures on one account are taken one at a time), so a
    receipt says the same tomorrow as today. None for a payment that never reached the ledger."""
    first, last = db.session.execute(
        select(func.min(LedgerEntry.id), func.max(LedgerEntry.id))
        .where(LedgerEntry.payment_id == payment.id, LedgerEntry.kind.in_([LedgerKind.PAYMENT, LedgerKind.REBATE]))
    ).one()
    if first is None:
        return None
    owed_before = _ledger_sum(payment.account_id, LedgerEntry.id < first)
    balance_after = _ledger_sum(payment.account_id, LedgerEntry.id <= last)
    credited = owed_before - balance_after
    return Application(_bills_paid(payment.account_id, owed_before, credited, first), balance_after)


def _ledger_sum(account_id: int, condition) -> Decimal:
    total = db.session.scalar(select(func.coalesce(func.sum(LedgerEntry.amount), 0))
                              .where(LedgerEntry.account_id == account_id, condition))
    return Decimal(total).quantize(Decimal("0.01"))


def _bills_paid(account_id: int, owed: Decimal, credited: Decimal, before_entry: int) -> tuple[BillPaid, ...]:
    """Money received pays the oldest charges first. So what was owed is the newest bills' charges (the oldest of
    them perhaps in part), and `credited` pays those, oldest first, as far as it goes."""
    posted = aliased(LedgerEntry)
    bills = db.session.scalars(  # as they stood when the payment came: a later revision changes no receipt
        select(Bill).join(posted, (posted.bill_id == Bill.id) & (posted.kind == LedgerKind.BILL))
        .where(Bill.account_id == account_id, ledger.in_force(before_entry), posted.id < before_entry)
        .order_by(Bill.period_start.desc()).limit(MAX_BILLS_PAID))
    owing = []  # (bill, what is still owed of it), newest first
    for bill in bills:
        if owed <= 0:
            break
        part = min(owed, bill.current_charges + bill.late_fee)
        owing.append((bill, part))
        owed -= part
    paid = []
    for bill, part in reversed(owing):
        if credited <= 0:
            break
        paid.append(BillPaid(bill.number, bill.period_start, bill.period_end))
        credited -= part
    return tuple(paid)


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
    bills_paid: tuple[BillPaid, ...] = ()
    balance_after: Decimal | None = None  # None: the payment is not on the ledger (yet)
    cashier: str | None = None  # a counter payment: who took it
    centre: str | None = None  # and where (an office, or HEAD_OFFICE: translate it when shown)
    card_last4: str | None = None  # a card paid on the POS terminal


HEAD_OFFICE = N_("Head office")


def counter_of(payment: Payment) -> tuple[str | None, str | None]:
    """The cashier who took a counter payment and the collection centre (from the day's cash book)."""
    if payment.recorded_by_id is None:
        return None, None
    book = db.session.get(CashBook, payment.cash_book_id) if payment.cash_book_id else None
    cashier = db.session.get(User, book.cashier_id if book else payment.recorded_by_id)
    centre = (book.office or HEAD_OFFICE) if book else None
    return (cashier.name if cashier else None), centre


def receipt_view(payment: Payment, utility_name: str) -> ReceiptView | None:
    if payment.receipt_number is None:
        return None
    account = db.session.get(Account, payment.account_id)
    rebate, rebate_bill = rebate_of(payment.id)
    application = application_of(payment)
    cashier, centre = counter_of(payment)
    return ReceiptView(
        utility_name=utility_name, receipt_number=payment.receipt_number, paid_at=payment.captured_at,
        consumer_number=account.consumer_number, holder_name=account.holder_name, address=account.address,
        amount=payment.credited_amount, method=payment.method.value, reference=payment.reference,
        gateway_payment_id=payment.gateway_payment_id, instrument_number=payment.instrument_number,
        instrument_bank=payment.instrument_bank, rebate=rebate, rebate_bill=rebate_bill,
        refunded=payment.refunded_amount or ZERO, state=payment.state.value,
        bills_paid=application.bills if application else (),
        balance_after=application.balance_after if application else None, cashier=cashier, centre=centre,
        card_last4=payment.card_last4,
    )

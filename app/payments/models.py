"""Payments, the gateway's webhooks as received, refunds, and the sandbox gateway's own records.

Only app.payments.services writes these tables. The state machine lives in app.payments.states.
"""

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import JSON, CheckConstraint, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from app.auth.maker_checker import ApprovalState
from app.db import ZERO, Money, UTCDateTime, enum_type, utcnow
from app.extensions import db


class PaymentMethod(StrEnum):
    UPI = "upi"
    GATEWAY = "gateway"
    CASH = "cash"
    CHEQUE = "cheque"
    DEMAND_DRAFT = "demand_draft"
    CARD = "card"  # a debit or credit card on the counter's POS terminal; it settles through the acquirer


DIGITAL_METHODS = frozenset({PaymentMethod.UPI, PaymentMethod.GATEWAY})
COUNTER_METHODS = frozenset({PaymentMethod.CASH, PaymentMethod.CHEQUE, PaymentMethod.DEMAND_DRAFT,
                             PaymentMethod.CARD})
# Paper the bank clears (or returns): identified by the MICR code of the branch it is drawn on and its number.
INSTRUMENT_METHODS = frozenset({PaymentMethod.CHEQUE, PaymentMethod.DEMAND_DRAFT})


class PaymentState(StrEnum):
    CREATED = "created"
    PENDING = "pending"
    CLEARING = "clearing"  # a cheque or draft received and credited subject to clearing (until cleared or bounced)
    CAPTURED = "captured"
    FAILED = "failed"
    REFUNDED = "refunded"  # refunded in full; a partial refund leaves the payment captured (see refunded_amount)
    HELD = "held"  # the gateway's amount differed from ours: a person must look before it is credited
    BOUNCED = "bounced"  # a cheque or draft the bank returned: its ledger entry is reversed


class RefundState(StrEnum):
    PENDING = "pending"  # the gateway has not returned the money yet
    PROCESSED = "processed"
    FAILED = "failed"


# A cheque or draft is recorded once, on whichever connection (unless the bank returned it and it is presented
# again): the paper is known by the MICR code printed on it (city, bank, branch) and its number, which a cashier
# types the same way every time, unlike a bank's name.
_INSTRUMENT_STANDING = text("instrument_micr IS NOT NULL AND method IN ('cheque', 'demand_draft') "
                            "AND state != 'bounced'")


class Payment(db.Model):
    __tablename__ = "payments"
    __table_args__ = (
        Index("ix_payments_account_created", "account_id", "created_at"),
        Index("ix_payments_state_created", "state", "created_at"),
        Index("ix_payments_captured_at", "captured_at"),  # staff search by date
        Index("ix_payments_instrument_number", "instrument_number"),  # staff search by UTR, cheque or draft
        Index("uq_payments_instrument_micr", "instrument_micr", "instrument_number", unique=True,
              sqlite_where=_INSTRUMENT_STANDING, postgresql_where=_INSTRUMENT_STANDING),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    amount: Mapped[Decimal] = mapped_column(Money)  # what we asked for (the order's amount)
    method: Mapped[PaymentMethod] = mapped_column(enum_type(PaymentMethod))
    state: Mapped[PaymentState] = mapped_column(enum_type(PaymentState), default=PaymentState.CREATED)
    reference: Mapped[str] = mapped_column(String(35), unique=True)  # ours; the UPI `tr`
    idempotency_key: Mapped[str | None] = mapped_column(String(64), unique=True)
    gateway: Mapped[str | None] = mapped_column(String(20))
    gateway_order_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    gateway_payment_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    receipt_number: Mapped[str | None] = mapped_column(String(24), unique=True)
    # A cheque's or draft's number; a UPI UTR; a card's approval code from the POS terminal.
    instrument_number: Mapped[str | None] = mapped_column(String(30))
    instrument_bank: Mapped[str | None] = mapped_column(String(80))  # bank and branch, as the deposit slip lists
    instrument_micr: Mapped[str | None] = mapped_column(String(9))  # the 9-digit MICR code on a cheque or draft
    card_last4: Mapped[str | None] = mapped_column(String(4))  # a card's last four digits: never the full number
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # A counter payment is an entry in its cashier's cash book of the day (which names the collection centre).
    cash_book_id: Mapped[int | None] = mapped_column(ForeignKey("cash_books.id"), index=True)
    refunded_amount: Mapped[Decimal] = mapped_column(Money, default=ZERO)
    # What the gateway (or the counter) actually received; differs from `amount` only on a HELD payment.
    received_amount: Mapped[Decimal | None] = mapped_column(Money)
    failure_reason: Mapped[str | None] = mapped_column(String(200))
    checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # last asked the gateway (reconcile)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    captured_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    @property
    def made_at(self) -> datetime:
        """When the payment was made, as lists and receipts show it: when it was received, else when started."""
        return self.captured_at or self.created_at

    @property
    def credited_amount(self) -> Decimal:
        """The money the ledger was (or will be) credited with."""
        return self.received_amount if self.received_amount is not None else self.amount

    @property
    def refundable_amount(self) -> Decimal:
        return self.credited_amount - (self.refunded_amount or ZERO)


class CashBookState(StrEnum):
    OPEN = "open"  # taking entries
    CLOSED = "closed"  # the cashier counted the cash and closed the day: no more entries
    ACCEPTED = "accepted"  # a supervisor (another person) checked it


class CashBook(db.Model):
    """One cashier's counter collections on one day in India: opened by the day's first counter payment, closed
    once by the cashier with the cash counted, accepted once by a supervisor who is someone else. The collection
    centre is the cashier's office when the book opened (None: head office). Only app.payments.cash_books writes
    it; its state moves forward only, by a conditional update of the locked row."""

    __tablename__ = "cash_books"
    __table_args__ = (
        UniqueConstraint("cashier_id", "day"),
        CheckConstraint("accepted_by_id IS NULL OR accepted_by_id != cashier_id", name="second_person"),
        CheckConstraint("state = 'open' OR (closed_at IS NOT NULL AND counted_cash IS NOT NULL "
                        "AND expected_cash IS NOT NULL)", name="closed_counted"),
        CheckConstraint("state != 'accepted' OR (accepted_by_id IS NOT NULL AND accepted_at IS NOT NULL)",
                        name="accepted_by"),
        Index("ix_cash_books_state_day", "state", "day"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    cashier_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    day: Mapped[date] = mapped_column(Date)  # in India
    office: Mapped[str | None] = mapped_column(String(40))  # the collection centre
    state: Mapped[CashBookState] = mapped_column(enum_type(CashBookState), default=CashBookState.OPEN)
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    counted_cash: Mapped[Decimal | None] = mapped_column(Money)  # what the cashier counted at closing
    expected_cash: Mapped[Decimal | None] = mapped_column(Money)  # the cash entries' total at closing
    close_note: Mapped[str | None] = mapped_column(String(200))  # why the count differs, if it does
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    accepted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    @property
    def cash_difference(self) -> Decimal | None:
        """Counted less expected: below zero the drawer is short, above it has more than was recorded."""
        if self.counted_cash is None or self.expected_cash is None:
            return None
        return self.counted_cash - self.expected_cash


class PaymentEvent(db.Model):
    """A webhook as received: kept even when we cannot match it yet, so nothing is lost."""

    __tablename__ = "payment_events"
    __table_args__ = (UniqueConstraint("gateway", "event_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    gateway: Mapped[str] = mapped_column(String(20))
    event_id: Mapped[str] = mapped_column(String(100))
    event_type: Mapped[str] = mapped_column(String(60))
    payload: Mapped[str] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    outcome: Mapped[str | None] = mapped_column(String(60))
    payment_id: Mapped[int | None] = mapped_column(ForeignKey("payments.id"), index=True)
    # A webhook that matched no order, settled by a person on the reconciliation page (matched or dismissed).
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    resolution_note: Mapped[str | None] = mapped_column(String(200))


class Refund(db.Model):
    __tablename__ = "refunds"

    id: Mapped[int] = mapped_column(primary_key=True)
    payment_id: Mapped[int] = mapped_column(ForeignKey("payments.id"), index=True)
    amount: Mapped[Decimal] = mapped_column(Money)
    state: Mapped[RefundState] = mapped_column(enum_type(RefundState, length=20), default=RefundState.PENDING)
    gateway_refund_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    idempotency_key: Mapped[str] = mapped_column(String(64), unique=True)
    reason: Mapped[str] = mapped_column(String(200))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The REFUND entry on the ledger (partial refunds of one payment each have their own).
    ledger_entry_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_entries.id"), unique=True)


class ApprovalAction(StrEnum):
    REFUND = "refund"
    CONFIRM_UPI = "confirm_upi"  # a UPI payment found on the bank statement, confirmed by its UTR


_WAITING = text("state = 'pending'")


class MoneyApproval(db.Model):
    """A money-moving action proposed by one staff member (maker) and decided by another (checker). The money
    moves only when it is approved, once: the row leaves `pending` once (a conditional update), the refund it
    makes is unique to it, and the proposer never decides it (a check constraint). An administrator acting alone
    within APPROVAL_LIMIT makes no proposal: the audit log names them as proposer and approver."""

    __tablename__ = "money_approvals"
    __table_args__ = (
        CheckConstraint("decided_by_id IS NULL OR decided_by_id != proposed_by_id", name="second_person"),
        Index("ix_money_approvals_state_proposed", "state", "proposed_at"),
        # One proposal of a kind waits per payment at a time.
        Index("uq_money_approvals_waiting", "payment_id", "action", unique=True, sqlite_where=_WAITING,
              postgresql_where=_WAITING),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    action: Mapped[ApprovalAction] = mapped_column(enum_type(ApprovalAction))
    payment_id: Mapped[int] = mapped_column(ForeignKey("payments.id"), index=True)
    amount: Mapped[Decimal] = mapped_column(Money)
    reason: Mapped[str] = mapped_column(String(200))  # the refund's reason, or the proposer's note
    utr: Mapped[str | None] = mapped_column(String(30))  # for CONFIRM_UPI
    state: Mapped[ApprovalState] = mapped_column(enum_type(ApprovalState), default=ApprovalState.PENDING)
    idempotency_key: Mapped[str] = mapped_column(String(64), unique=True)  # the proposing form's
    proposed_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    proposed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decision_note: Mapped[str | None] = mapped_column(String(200))
    refund_id: Mapped[int | None] = mapped_column(ForeignKey("refunds.id"), unique=True)  # the refund it made
    details: Mapped[dict] = mapped_column(JSON, default=dict)


class SandboxRecord(db.Model):
    """The sandbox gateway's side of the world (its orders, payments, refunds and outgoing webhooks), kept in
    the database like a real gateway keeps them on its servers, so every worker process sees the same."""

    __tablename__ = "sandbox_gateway_records"
    __table_args__ = (Index("ix_sandbox_gateway_records_kind_status", "kind", "status"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)  # order_…, pay_…, rfnd_…, evt_…
    kind: Mapped[str] = mapped_column(String(10))  # order, payment, refund, webhook
    parent_id: Mapped[str | None] = mapped_column(String(40), index=True)
    reference: Mapped[str | None] = mapped_column(String(40), index=True)  # an order's receipt
    amount: Mapped[int | None] = mapped_column(Integer)  # paise
    status: Mapped[str] = mapped_column(String(20))
    data: Mapped[str] = mapped_column(Text, default="{}")  # JSON
    idempotency_key: Mapped[str | None] = mapped_column(String(64), unique=True)
    attempts: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class SettlementOutcome(StrEnum):
    MATCHED = "matched"
    AMOUNT_DIFFERS = "amount_differs"  # ours, but the file says another amount
    NOT_CAPTURED = "not_captured"  # ours, but not captured here (pending, failed, held …)
    NOT_OURS = "not_ours"  # in the file, but no payment of ours has the reference
    MISSING = "missing"  # ours (captured, digital, in the file's days) but not in the file


class SettlementFile(db.Model):
    """A bank's or aggregator's settlement file, matched against our payments when uploaded; kept with its lines
    so the report can be opened again. The same file twice is one row (its content hash is unique)."""

    __tablename__ = "settlement_files"

    id: Mapped[int] = mapped_column(primary_key=True)
    filename: Mapped[str] = mapped_column(String(200))
    content_hash: Mapped[str] = mapped_column(String(64), unique=True)  # sha256 of the bytes uploaded
    first_day: Mapped[date] = mapped_column(Date)
    last_day: Mapped[date] = mapped_column(Date)
    line_count: Mapped[int] = mapped_column(default=0)
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SettlementLine(db.Model):
    """One line of a settlement file and what it matched, or one payment of ours the file lacks (no line number)."""

    __tablename__ = "settlement_lines"
    __table_args__ = (UniqueConstraint("settlement_id", "line_number"), UniqueConstraint("settlement_id", "payment_id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    settlement_id: Mapped[int] = mapped_column(ForeignKey("settlement_files.id"), index=True)
    line_number: Mapped[int | None] = mapped_column(Integer)  # None: ours, missing from the file
    settled_on: Mapped[date | None] = mapped_column(Date)
    reference: Mapped[str | None] = mapped_column(String(64))  # the UTR or gateway id as the file has it
    amount: Mapped[Decimal | None] = mapped_column(Money)  # the file's amount
    payment_id: Mapped[int | None] = mapped_column(ForeignKey("payments.id"), index=True)
    outcome: Mapped[SettlementOutcome] = mapped_column(enum_type(SettlementOutcome))
    investigated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    investigated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    note: Mapped[str | None] = mapped_column(String(200))

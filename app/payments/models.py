from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.db import ZERO, Money, UTCDateTime, enum_type, utcnow
from app.extensions import db


class PaymentMethod(StrEnum):
    UPI = "upi"
    GATEWAY = "gateway"
    CASH = "cash"
    CHEQUE = "cheque"
    DEMAND_DRAFT = "demand_draft"


class PaymentState(StrEnum):
    CREATED = "created"
    PENDING = "pending"
    CAPTURED = "captured"
    FAILED = "failed"
    REFUNDED = "refunded"
    HELD = "held"  # the gateway's amount differed from ours: a person must look before it is credited


class Payment(db.Model):
    __tablename__ = "payments"
    __table_args__ = (
        Index("ix_payments_account_created", "account_id", "created_at"),
        Index("ix_payments_state_created", "state", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    amount: Mapped[Decimal] = mapped_column(Money)
    method: Mapped[PaymentMethod] = mapped_column(enum_type(PaymentMethod))
    state: Mapped[PaymentState] = mapped_column(enum_type(PaymentState), default=PaymentState.CREATED)
    reference: Mapped[str] = mapped_column(String(35), unique=True)  # ours; the UPI `tr`
    idempotency_key: Mapped[str | None] = mapped_column(String(64), unique=True)
    gateway: Mapped[str | None] = mapped_column(String(20))
    gateway_order_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    gateway_payment_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    receipt_number: Mapped[str | None] = mapped_column(String(24), unique=True)
    instrument_number: Mapped[str | None] = mapped_column(String(30))  # cheque or draft number
    instrument_bank: Mapped[str | None] = mapped_column(String(80))
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    refunded_amount: Mapped[Decimal] = mapped_column(Money, default=ZERO)
    failure_reason: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    captured_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


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


class Refund(db.Model):
    __tablename__ = "refunds"

    id: Mapped[int] = mapped_column(primary_key=True)
    payment_id: Mapped[int] = mapped_column(ForeignKey("payments.id"), index=True)
    amount: Mapped[Decimal] = mapped_column(Money)
    state: Mapped[str] = mapped_column(String(20), default="pending")
    gateway_refund_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    idempotency_key: Mapped[str] = mapped_column(String(64), unique=True)
    reason: Mapped[str] = mapped_column(String(200))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.crypto import EncryptedText
from app.db import UTCDateTime, enum_type, utcnow
from app.extensions import db


class TicketStatus(StrEnum):
    OPEN = "open"
    IN_PROGRESS = "in_progress"
    RESOLVED = "resolved"
    CLOSED = "closed"


# Those the utility still has to act on (their time limit runs).
ACTIVE_STATUSES = (TicketStatus.OPEN, TicketStatus.IN_PROGRESS)


class TicketCategory(StrEnum):
    """What a complaint is about; each has its time limit (config COMPLAINT_TIME_LIMITS)."""

    NO_SUPPLY = "no_supply"
    VOLTAGE = "voltage"
    METER_FAULT = "meter_fault"
    BILLING_DISPUTE = "billing_dispute"
    NEW_CONNECTION = "new_connection"
    OTHER = "other"


# What a customer may raise without a connection (a consumer number): asking for one, or something else.
WITHOUT_CONNECTION = (TicketCategory.NEW_CONNECTION, TicketCategory.OTHER)


class Ticket(db.Model):
    """A complaint raised by a customer (or by staff on a customer's behalf). Its number (CMP-2611-000123) is
    unique; `due_at` is when its category's time limit runs out; `escalated_at` is set once, when it is found past
    that (and it is given to a senior officer of its office); `reopened_at` once, when the customer was not
    satisfied with the resolution. A complaint without a connection (a new connection, or something else) gives
    its locality instead, and an office."""

    __tablename__ = "tickets"
    __table_args__ = (Index("ix_tickets_status_created", "status", "created_at"),
                      Index("ix_tickets_status_due", "status", "due_at"),
                      Index("ix_tickets_office_status", "office", "status"))

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(20), unique=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"), index=True)
    # The office that handles it (an accounts.region; None: head office): its connection's, or for a complaint
    # without one (a new connection), the office the customer chose or staff routed it to.
    office: Mapped[str | None] = mapped_column(String(40))
    # Where, for a complaint without a connection: the address or locality the customer gave.
    locality: Mapped[str | None] = mapped_column(String(200))
    category: Mapped[TicketCategory] = mapped_column(enum_type(TicketCategory, length=40))
    # What the customer wrote (the subject is its first line) is never searched: encrypted at rest (app/crypto/).
    subject: Mapped[str] = mapped_column(EncryptedText)
    status: Mapped[TicketStatus] = mapped_column(enum_type(TicketStatus), default=TicketStatus.OPEN)
    assigned_to_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    escalated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The senior officer it was given to when escalated (support.services.senior_officer).
    escalated_to_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reopened_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    messages = relationship("TicketMessage", order_by="TicketMessage.id", lazy="selectin")

    @property
    def public_messages(self) -> list["TicketMessage"]:
        """What the customer sees: never an internal note."""
        return [message for message in self.messages if not message.internal]

    def is_overdue(self, now: datetime) -> bool:
        return self.status in ACTIVE_STATUSES and self.due_at < now


class TicketMessage(db.Model):
    __tablename__ = "ticket_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    body: Mapped[str] = mapped_column(EncryptedText)
    internal: Mapped[bool] = mapped_column(default=False)  # staff-only note, never shown to the customer
    # A random name (uuid4.jpg) under UPLOAD_FOLDER/complaints: the photo re-encoded without EXIF or GPS, no
    # original file name or type kept; the file is on disk, protected by the encrypted volume like the database.
    attachment_path: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    author = relationship("User", lazy="joined")

from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.crypto import EncryptedText
from app.db import Money, Units, UTCDateTime, enum_type, utcnow
from app.extensions import db


class NotificationKind(StrEnum):
    BILL_ISSUED = "bill_issued"
    DUE_REMINDER = "due_reminder"
    PAYMENT = "payment"
    USAGE_ALERT = "usage_alert"
    ANNOUNCEMENT = "announcement"
    TICKET = "ticket"
    SECURITY = "security"


class Channel(StrEnum):
    PUSH = "push"
    SMS = "sms"
    EMAIL = "email"


class PushSubscription(db.Model):
    __tablename__ = "push_subscriptions"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    endpoint: Mapped[str] = mapped_column(String(1000), unique=True)
    p256dh: Mapped[str] = mapped_column(String(200))
    auth: Mapped[str] = mapped_column(String(100))
    user_agent: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_success_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Notification(db.Model):
    """An inbox item. `dedupe_key` makes a reminder for one bill and day impossible to send twice."""

    __tablename__ = "notifications"
    __table_args__ = (
        Index("ix_notifications_user_created", "user_id", "created_at"),
        Index("ix_notifications_user_read", "user_id", "read_at"),  # the header's unread count
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"))
    kind: Mapped[NotificationKind] = mapped_column(enum_type(NotificationKind))
    title: Mapped[str] = mapped_column(String(120))
    # A complaint's reply is copied here word for word; never searched: encrypted at rest (app/crypto/).
    body: Mapped[str] = mapped_column(EncryptedText)
    url: Mapped[str | None] = mapped_column(String(255))
    dedupe_key: Mapped[str | None] = mapped_column(String(120), unique=True)
    urgency: Mapped[str] = mapped_column(String(8), default="normal")  # web push Urgency: very-low … high
    # By SMS it goes as a DLT template (app.messaging.kinds) with these variables; none: it is not sent by SMS.
    sms_kind: Mapped[str | None] = mapped_column(String(40))
    sms_params: Mapped[dict | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class DeliveryStatus(StrEnum):
    PENDING = "pending"  # waiting for next_attempt_at (the end of quiet hours, perhaps)
    SENDING = "sending"  # claimed by a consumer until next_attempt_at (if it died, claimable again after that)
    SENT = "sent"
    FAILED = "failed"  # will be retried at next_attempt_at
    DEAD = "dead"  # gave up (subscription gone, too many attempts)


class NotificationDelivery(db.Model):
    """The outbox: one row per notification and channel, with its attempts."""

    __tablename__ = "notification_deliveries"
    __table_args__ = (
        UniqueConstraint("notification_id", "channel"),
        Index("ix_notification_deliveries_due", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    notification_id: Mapped[int] = mapped_column(ForeignKey("notifications.id", ondelete="CASCADE"))
    channel: Mapped[Channel] = mapped_column(enum_type(Channel))
    status: Mapped[DeliveryStatus] = mapped_column(enum_type(DeliveryStatus), default=DeliveryStatus.PENDING)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_error: Mapped[str | None] = mapped_column(String(300))
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class NotificationPreference(db.Model):
    """A user's choice for one kind on one channel; no row means the kind's default."""

    __tablename__ = "notification_preferences"
    __table_args__ = (UniqueConstraint("user_id", "kind", "channel"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[NotificationKind] = mapped_column(enum_type(NotificationKind))
    channel: Mapped[Channel] = mapped_column(enum_type(Channel))
    enabled: Mapped[bool]


class Announcement(db.Model):
    """For everyone, for one region, or for the connections listed in announcement_targets (neither a region nor a
    target: everyone)."""

    __tablename__ = "announcements"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(120))
    body: Mapped[str] = mapped_column(Text)
    region: Mapped[str | None] = mapped_column(String(40))  # None: everyone
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # sent to the customers it concerns (once)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # called off before it was sent


class AnnouncementTarget(db.Model):
    """One connection an announcement is for (an announcement for a list of consumer numbers)."""

    __tablename__ = "announcement_targets"

    announcement_id: Mapped[int] = mapped_column(ForeignKey("announcements.id", ondelete="CASCADE"),
                                                 primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), primary_key=True, index=True)


class UsageBudget(db.Model):
    """A customer's monthly budget for one connection, in rupees or in units: a usage alert when the projection of
    the period passes it."""

    __tablename__ = "usage_budgets"
    __table_args__ = (UniqueConstraint("user_id", "account_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    amount: Mapped[Decimal | None] = mapped_column(Money)  # rupees a month, or
    units: Mapped[Decimal | None] = mapped_column(Units)  # units a month
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

"""The message outbox's table: texts to a mobile number or an email address, sent after the commit."""

from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.db import UTCDateTime, enum_type, utcnow
from app.extensions import db


class MessageStatus(StrEnum):
    PENDING = "pending"  # waiting for next_attempt_at
    SENDING = "sending"  # claimed by a consumer until next_attempt_at (if it died, claimable again after that)
    SENT = "sent"
    DEAD = "dead"  # gave up: too many attempts, or expired before it could be sent


class OutboundMessage(db.Model):
    """The message outbox: a text to a mobile number or an email address (a reset link, an SMS), written in the
    transaction that decided to send it and sent after its commit by the task queue. Once sent (or given up) the
    body and the template variables are wiped and the address masked: a reset link must not outlive its use.
    `kind` (app.messaging.kinds) picks the DLT template of an SMS; `params` are that template's variables."""

    __tablename__ = "outbound_messages"
    __table_args__ = (Index("ix_outbound_messages_due", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    to: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(200))
    body: Mapped[str | None] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(40))
    params: Mapped[dict | None] = mapped_column(JSON)
    status: Mapped[MessageStatus] = mapped_column(enum_type(MessageStatus), default=MessageStatus.PENDING)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # not worth sending after this
    last_error: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    provider_ref: Mapped[str | None] = mapped_column(String(100))  # the provider's id for it (delivery reports)

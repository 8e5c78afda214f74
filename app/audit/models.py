from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from app.db import UTCDateTime, refuse_changes, utcnow
from app.extensions import db


class AuditLog(db.Model):
    """Who did what to which object. Written by the services, never by views; never edited."""

    __tablename__ = "audit_log"
    # The viewer filters by object (a consumer's rows), by person (actor_id) and by action prefix, newest first.
    __table_args__ = (Index("ix_audit_log_object", "object_type", "object_id"),
                      Index("ix_audit_log_action_created", "action", "created_at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    action: Mapped[str] = mapped_column(String(60))
    object_type: Mapped[str] = mapped_column(String(40))
    object_id: Mapped[str] = mapped_column(String(40))
    details: Mapped[dict] = mapped_column(JSON, default=dict)
    ip: Mapped[str | None] = mapped_column(String(45))  # where the request came from; None: a command
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


refuse_changes(AuditLog)

"""Recent application errors (unhandled exceptions), for the system page: when, which route (the URL rule, never
the path: ids and tokens stay out), the error's class and the request id to find its log lines. No message text
(it may hold personal data), no user, no parameters. Kept KEEP_FOR, and at most KEEP_AT_MOST rows: each new one
prunes the old, so the table stays small whatever happens."""

from datetime import datetime, timedelta

from flask import g, request
from sqlalchemy import Index, String, delete, func, select
from sqlalchemy.orm import Mapped, mapped_column

from app.db import UTCDateTime, utcnow
from app.extensions import db
from app.web.logs import route_of_request

KEEP_FOR = timedelta(days=30)
KEEP_AT_MOST = 500


class AppError(db.Model):
    __tablename__ = "app_errors"
    __table_args__ = (Index("ix_app_errors_occurred_at", "occurred_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    method: Mapped[str] = mapped_column(String(10))
    route: Mapped[str] = mapped_column(String(200))
    error_class: Mapped[str] = mapped_column(String(200))  # module.Class of the exception
    request_id: Mapped[str] = mapped_column(String(64))


def error_class(error: BaseException) -> str:
    kind = type(error)
    return f"{kind.__module__}.{kind.__qualname__}"[:200]


def record_error(error: BaseException) -> None:
    """Keep one line of an unhandled error and prune the old ones, in the session the error handler rolled back
    (the request's commit, which an error page's response goes through too, keeps it)."""
    now = utcnow()
    db.session.add(AppError(occurred_at=now, method=request.method[:10], route=route_of_request()[:200],
                            error_class=error_class(error), request_id=str(g.get("request_id") or "")[:64]))
    db.session.flush()
    db.session.execute(delete(AppError).where(AppError.occurred_at < now - KEEP_FOR))
    newest_kept = select(AppError.id).order_by(AppError.id.desc()).offset(KEEP_AT_MOST).limit(1).scalar_subquery()
    db.session.execute(delete(AppError).where(AppError.id <= newest_kept))


def recent_errors(limit: int = 10) -> list[AppError]:
    return list(db.session.scalars(select(AppError).order_by(AppError.occurred_at.desc(), AppError.id.desc())
                                   .limit(limit)))


def errors_since(moment: datetime) -> int:
    return db.session.scalar(select(func.count()).select_from(AppError).where(AppError.occurred_at >= moment))

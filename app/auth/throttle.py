"""Counting failed attempts in the database, so a limit holds across every gunicorn worker and host."""

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select

from app.auth.models import ThrottleEvent
from app.db import utcnow
from app.extensions import db


@dataclass(frozen=True)
class Limit:
    attempts: int
    window: timedelta

    @classmethod
    def from_config(cls, pair: tuple[int, timedelta]) -> "Limit":
        return cls(*pair)


def _key_hash(scope: str, key: str) -> str:
    # Hashed so the table holds no phone numbers or addresses, only what it needs to count.
    return hashlib.sha256(f"{scope}:{key}".encode()).hexdigest()


def blocked_until(scope: str, key: str, limit: Limit) -> datetime | None:
    """When the caller may try again, or None if it may try now."""
    since = utcnow() - limit.window
    recent = (
        select(ThrottleEvent.created_at)
        .where(
            ThrottleEvent.scope == scope,
            ThrottleEvent.key_hash == _key_hash(scope, key),
            ThrottleEvent.created_at > since,
        )
        .order_by(ThrottleEvent.created_at.desc())
        .offset(limit.attempts - 1)
        .limit(1)
    )
    oldest_that_counts = db.session.scalar(recent)
    return None if oldest_that_counts is None else oldest_that_counts + limit.window


def record_failure(scope: str, key: str) -> None:
    db.session.add(ThrottleEvent(scope=scope, key_hash=_key_hash(scope, key)))
    db.session.flush()


def clear(scope: str, key: str) -> None:
    db.session.execute(
        delete(ThrottleEvent).where(ThrottleEvent.scope == scope, ThrottleEvent.key_hash == _key_hash(scope, key))
    )


def prune(older_than: timedelta) -> int:
    """Delete events too old to count under any limit. Returns how many went."""
    result = db.session.execute(delete(ThrottleEvent).where(ThrottleEvent.created_at < utcnow() - older_than))
    return result.rowcount or 0


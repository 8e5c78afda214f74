"""Limits on attempts (sign-in, codes, linking, resets), counted in the database so that they hold across every
gunicorn worker and host.

Each (scope, key) has one counter row for its current window, which starts at the first attempt. An attempt is
counted *before* it is tried, by one atomic statement (an upsert that returns the new count): parallel requests
cannot all read "under the limit" and then all go ahead. An attempt that succeeds is given back (`forgive`), so
only failures stay counted where only failures should (a right password, a right code).
"""

import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import case, delete, literal, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from app.auth.models import ThrottleCounter
from app.db import UTCDateTime, utcnow
from app.extensions import db


@dataclass(frozen=True)
class Limit:
    attempts: int
    window: timedelta

    @classmethod
    def from_config(cls, pair: tuple[int, timedelta]) -> "Limit":
        return cls(*pair)


Guard = tuple[str, str, Limit]  # (scope, key, limit): e.g. ("login_ip", "203.0.113.7", Limit(100, 15 min))


def _key_hash(scope: str, key: str) -> str:
    # Hashed so the table holds no phone numbers or addresses, only what it needs to count; keyed with the app's
    # secret, because a plain hash of a ten-digit number is undone by trying them all.
    secret = current_app.config["SECRET_KEY"].encode()
    return hmac.new(secret, f"{scope}:{key}".encode(), hashlib.sha256).hexdigest()


def attempt(guards: list[Guard]) -> datetime | None:
    """Count one attempt under each guard. None if every one is within its limit; else when the caller may try
    again (the latest), and the attempt is not counted at all."""
    counted = [(scope, key, _count(scope, key, limit)) for scope, key, limit in guards]
    over = [retry_at for _scope, _key, retry_at in counted if retry_at is not None]
    if not over:
        return None
    forgive(guards)
    return max(over)


def _count(scope: str, key: str, limit: Limit) -> datetime | None:
    now = utcnow()
    window_over = ThrottleCounter.window_start <= now - limit.window
    insert = postgresql_insert if db.session.get_bind().dialect.name == "postgresql" else sqlite_insert
    statement = insert(ThrottleCounter).values(scope=scope, key_hash=_key_hash(scope, key), count=1,
                                               window_start=now)
    statement = statement.on_conflict_do_update(
        index_elements=[ThrottleCounter.scope, ThrottleCounter.key_hash],
        set_={"count": case((window_over, 1), else_=ThrottleCounter.count + 1),
              "window_start": case((window_over, literal(now, UTCDateTime)), else_=ThrottleCounter.window_start)},
    ).returning(ThrottleCounter.count, ThrottleCounter.window_start)
    count, window_start = db.session.execute(statement).one()
    return window_start + limit.window if count > limit.attempts else None


def forgive(guards: list[Guard]) -> None:
    """The attempt succeeded (or was refused before it was tried): it does not count."""
    for scope, key, _limit in guards:
        db.session.execute(update(ThrottleCounter)
                           .where(ThrottleCounter.scope == scope, ThrottleCounter.key_hash == _key_hash(scope, key),
                                  ThrottleCounter.count > 0)
                           .values(count=ThrottleCounter.count - 1).execution_options(synchronize_session=False))


def blocked_until(scope: str, key: str, limit: Limit) -> datetime | None:
    """When the caller may try again, or None if it may try now (a look only: nothing is counted)."""
    row = db.session.execute(select(ThrottleCounter.count, ThrottleCounter.window_start).where(
        ThrottleCounter.scope == scope, ThrottleCounter.key_hash == _key_hash(scope, key))).first()
    if row is None or row.window_start <= utcnow() - limit.window or row.count < limit.attempts:
        return None
    return row.window_start + limit.window


def clear(scope: str, key: str) -> None:
    db.session.execute(delete(ThrottleCounter).where(ThrottleCounter.scope == scope,
                                                     ThrottleCounter.key_hash == _key_hash(scope, key)))


def prune(older_than: timedelta) -> int:
    """Delete counters whose window started longer ago than any limit's window. Returns how many went."""
    result = db.session.execute(delete(ThrottleCounter).where(ThrottleCounter.window_start < utcnow() - older_than))
    return result.rowcount or 0

"""Periodic clean-up of the sign-in machinery's records."""

from datetime import timedelta

from huey import crontab
from sqlalchemy import delete

from app.auth import throttle
from app.auth.models import PasswordResetToken
from app.db import utcnow
from app.extensions import db
from app.taskqueue import periodic_task


@periodic_task(crontab(minute="7"), retries=2, retry_delay=60)
def prune_security_records() -> str:
    """Drop throttle events older than a day and reset tokens a day past expiry (idempotent)."""
    events = throttle.prune(older_than=timedelta(days=1))
    tokens = db.session.execute(
        delete(PasswordResetToken).where(PasswordResetToken.expires_at < utcnow() - timedelta(days=1))
    ).rowcount
    return f"{events} throttle events, {tokens} reset tokens removed"

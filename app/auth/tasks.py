"""Periodic clean-up of the sign-in machinery's records."""

from datetime import timedelta

from flask import current_app
from huey import crontab
from sqlalchemy import delete

from app import audit
from app.auth import services, sign_ins, throttle
from app.auth.models import OneTimeCode, PasswordResetToken, PendingSignUp
from app.db import utcnow
from app.extensions import db
from app.taskqueue import periodic_task, task


@periodic_task(crontab(minute="7"), retries=2, retry_delay=60)
def prune_security_records() -> str:
    """Drop throttle counters whose window began over a day ago, reset tokens a day past expiry, and, as long as
    configured (KEEP, docs/deployment.md), sign-ins, one-time codes and sign-ups past expiry, and the network
    addresses in the audit log (idempotent)."""
    keep = current_app.config["KEEP"]
    now = utcnow()
    events = throttle.prune(older_than=timedelta(days=1))
    tokens = db.session.execute(delete(PasswordResetToken)
                                .where(PasswordResetToken.expires_at < now - timedelta(days=1))).rowcount
    codes = db.session.execute(delete(OneTimeCode)
                               .where(OneTimeCode.expires_at < now - keep["one_time_codes"])).rowcount
    sign_ups = db.session.execute(delete(PendingSignUp)
                                  .where(PendingSignUp.expires_at < now - keep["pending_sign_ups"])).rowcount
    history = sign_ins.prune()
    addresses = audit.forget_addresses(older_than=now - keep["audit_addresses"])
    return (f"{events} throttle counters, {tokens} reset tokens, {history} sign-ins, {sign_ups} sign-ups, "
            f"{codes} one-time codes removed; {addresses} audit addresses blanked")


@task(retries=3, retry_delay=30)
def send_password_reset(login: str, root_url: str) -> None:
    """The reset link asked for on /forgot (app.auth.services.request_password_reset)."""
    services.send_reset_link(login, root_url)


@task(retries=3, retry_delay=30)
def send_sign_up_message(pending_id: int, root_url: str) -> None:
    """The code (or, to a registered number, a warning) for a sign-up (app.auth.services.start_sign_up)."""
    services.send_sign_up_message(pending_id, root_url)

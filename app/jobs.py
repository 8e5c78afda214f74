"""Background jobs: `flask jobs run` does each once; `flask jobs worker` repeats them.

Every job is idempotent, so running it twice, or on two machines at once, does no harm.
A scheduler (cron, a systemd timer) may call `flask jobs run` instead of the worker loop.
"""

import logging
import signal
import time
from collections.abc import Callable
from datetime import timedelta

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import delete

from app.auth import throttle
from app.auth.models import PasswordResetToken
from app.db import utcnow
from app.extensions import db
from app.payments.cli import deliver_sandbox_webhooks, reconcile_payments

log = logging.getLogger(__name__)
jobs_cli = AppGroup("jobs", help="Background jobs.")


def prune_security_records() -> str:
    """Drop throttle events older than a day and reset tokens a day past expiry."""
    events = throttle.prune(older_than=timedelta(days=1))
    tokens = db.session.execute(
        delete(PasswordResetToken).where(PasswordResetToken.expires_at < utcnow() - timedelta(days=1))
    ).rowcount
    return f"{events} throttle events, {tokens} reset tokens removed"


JOBS: list[Callable[[], str]] = [prune_security_records, deliver_sandbox_webhooks, reconcile_payments]


def run_jobs_once() -> None:
    for job in JOBS:
        try:
            outcome = job()
            db.session.commit()
            log.info("job %s: %s", job.__name__, outcome)
        except Exception:
            db.session.rollback()
            log.exception("job %s failed; the next round tries again", job.__name__)


@jobs_cli.command("run")
def run_command() -> None:
    """Run every job once."""
    run_jobs_once()
    click.echo("jobs done")


@jobs_cli.command("worker")
@click.option("--interval", type=int, default=None, help="Seconds between rounds.")
def worker_command(interval: int | None) -> None:
    """Run the jobs every INTERVAL seconds until stopped (SIGTERM or Ctrl-C)."""
    interval = interval or current_app.config["WORKER_INTERVAL_SECONDS"]
    stopping = False

    def stop(_signum, _frame) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    click.echo(f"job worker: every {interval} s")
    while not stopping:
        run_jobs_once()
        deadline = time.monotonic() + interval
        while not stopping and time.monotonic() < deadline:
            time.sleep(0.5)
    click.echo("job worker stopped")

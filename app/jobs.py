"""`flask jobs run`: every periodic task once, now, in this process (the consumer runs them on their schedules).

Useful after a restore, from a cron job where no consumer runs, or to see what they do. Each task is idempotent
and takes its lock, so running this beside a consumer does no harm.
"""

import logging

import click
from flask.cli import AppGroup

from app.taskqueue import PERIODIC_TASKS

log = logging.getLogger(__name__)
jobs_cli = AppGroup("jobs", help="Periodic tasks (the Huey consumer runs them on their schedules).")


def run_jobs_once() -> list[str]:
    """Run every periodic task once. Returns the names of those that failed (each is logged)."""
    failed = []
    for periodic in PERIODIC_TASKS:
        try:
            log.info("task %s: %s", periodic.func.__name__, periodic.call_local())
        except Exception:
            log.exception("task %s failed", periodic.func.__name__)
            failed.append(periodic.func.__name__)
    return failed


@jobs_cli.command("run")
def run_command() -> None:
    """Run every periodic task once, now."""
    failed = run_jobs_once()
    if failed:
        raise click.ClickException(f"failed: {', '.join(failed)} (see the log)")
    click.echo(f"{len(PERIODIC_TASKS)} periodic tasks done")

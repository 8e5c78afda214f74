"""`flask jobs worker`: the Huey consumer (`make run` starts it beside gunicorn); `flask jobs run`: every periodic
task once, now, in this process.

The worker is Huey's consumer with a few threads, started through the app so its logging and config are the
app's (`huey_consumer wsgi.huey -k thread -w 4` starts the same consumer). `jobs run` is for a machine where no
consumer runs, or to see what the tasks do; each task is idempotent and takes its lock, so running it beside a
consumer does no harm.
"""

import logging
import os

import click
from flask.cli import AppGroup

from app.extensions import huey
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


@jobs_cli.command("worker")
@click.option("-w", "--workers", type=click.IntRange(1, 64), default=4, show_default=True,
              help="Worker threads running tasks.")
@click.option("--periodic/--no-periodic", default=True, show_default=True,
              help="Also run the periodic tasks on their schedules.")
@click.option("--flush-locks", is_flag=True,
              help="Clear task locks a killed consumer left behind (only when no other consumer is running).")
@click.option("--max-delay", type=click.FloatRange(0.1, 60), default=2.0, show_default=True,
              help="Longest wait, in seconds, between two looks at an idle SQLite queue (Redis wakes at once).")
def worker_command(workers: int, periodic: bool, flush_locks: bool, max_delay: float) -> None:
    """Run the Huey consumer until stopped: Ctrl-C (SIGINT) lets running tasks finish, SIGTERM stops at once."""
    if huey.immediate:
        raise click.ClickException("this configuration runs tasks at once (TASKS_IMMEDIATE): no worker needed")
    where = "Redis" if huey.storage_class.__name__.startswith("Redis") else huey.storage_kwargs.get("filename")
    click.echo(f"task worker: {workers} threads, queue {huey.name!r} in {where}")
    if metrics_dir := os.environ.get("PROMETHEUS_MULTIPROC_DIR"):  # gunicorn makes it; a worker may start first
        os.makedirs(metrics_dir, exist_ok=True)
    huey.create_consumer(workers=workers, worker_type="thread", periodic=periodic, flush_locks=flush_locks,
                         max_delay=max_delay).run()

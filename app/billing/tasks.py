"""Periodic billing work: a bill run whose process was killed is marked interrupted, so its state tells the truth."""

from huey import crontab

from app.billing.runs import mark_stale_runs
from app.taskqueue import periodic_task


@periodic_task(crontab(minute="*/5"), retries=2, retry_delay=30)
def mark_stale_bill_runs() -> str:
    return f"{mark_stale_runs()} bill runs marked interrupted"

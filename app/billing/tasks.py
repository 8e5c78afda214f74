"""Billing's background work: the bill runs staff start from the pages, and the periodic check that marks a run
whose process was killed as interrupted, so its state tells the truth."""

from huey import crontab

from app.auth.models import User
from app.billing.compose import Cycle
from app.billing.models import BillRun, BillRunStatus
from app.billing.runs import mark_stale_runs, run_bills
from app.extensions import db
from app.taskqueue import periodic_task, task


@task(retries=0)  # a failed run shows as failed; staff resume it (it bills only what is left)
def bill_run(run_id: int) -> str | None:
    run = db.session.get(BillRun, run_id)
    if run is None or run.status is not BillRunStatus.RUNNING:
        return None
    actor = db.session.get(User, run.started_by_id) if run.started_by_id else None
    summary = run_bills(Cycle.parse(run.cycle), run.region or None, actor=actor, run=run)
    return f"run {run_id} ({run.cycle}): billed {summary.billed} of {summary.total}"


@periodic_task(crontab(minute="*/5"), retries=2, retry_delay=30)
def mark_stale_bill_runs() -> str:
    return f"{mark_stale_runs()} bill runs marked interrupted"

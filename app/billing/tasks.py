"""Billing's background work: the bill runs staff start from the pages (on PostgreSQL, a large run as chunk tasks
that several consumers run at once), the notices of a held run's bills once it is released, and the periodic check
that marks a run whose process was killed as interrupted, so its state tells the truth."""

from huey import crontab

from app.auth.models import User
from app.billing.compose import Cycle
from app.billing.models import BillRun, BillRunStatus
from app.billing.release import announce_chunk, released_bill_ids
from app.billing.runs import (
    bill_chunk,
    chunk_seqs,
    fail_run,
    mark_stale_runs,
    plan_chunks,
    run_bills,
    runs_in_chunks,
)
from app.extensions import db
from app.taskqueue import in_own_transaction, periodic_task, task

ANNOUNCE_CHUNK = 500  # bills per notice transaction


@task(retries=0)  # a failed run shows as failed; staff resume it (it bills only what is left)
def bill_run(run_id: int) -> str | None:
    run = db.session.get(BillRun, run_id)
    if run is None or run.status is not BillRunStatus.RUNNING:
        return None
    if runs_in_chunks(run):
        in_own_transaction(plan_chunks, run_id)
        seqs = chunk_seqs(run_id)
        for seq in seqs:
            bill_run_chunk(run_id, seq)  # queued: every consumer takes chunks
        return f"run {run_id} ({run.cycle}): {len(seqs)} chunks queued"
    actor = db.session.get(User, run.started_by_id) if run.started_by_id else None
    summary = run_bills(Cycle.parse(run.cycle), run.region or None, actor=actor, run=run)
    return f"run {run_id} ({run.cycle}): billed {summary.billed} of {summary.total}"


@task(retries=0)
def bill_run_chunk(run_id: int, seq: int) -> str | None:
    """One chunk of a run; an error fails the run (its other chunks then stop; staff resume it)."""
    try:
        billed = in_own_transaction(bill_chunk, run_id, seq)
    except Exception:
        in_own_transaction(fail_run, run_id)
        raise
    return None if billed is None else f"run {run_id} chunk {seq}: billed {billed}"


@task(retries=5, retry_delay=30)  # notices are written once each (their dedupe key): a retry only finishes them
def announce_released_run(run_id: int) -> str:
    ids = released_bill_ids(run_id)
    for start in range(0, len(ids), ANNOUNCE_CHUNK):
        in_own_transaction(announce_chunk, ids[start:start + ANNOUNCE_CHUNK])
    return f"run {run_id}: {len(ids)} bills announced"


@periodic_task(crontab(minute="*/5"), retries=2, retry_delay=30)
def mark_stale_bill_runs() -> str:
    return f"{mark_stale_runs()} bill runs marked interrupted"

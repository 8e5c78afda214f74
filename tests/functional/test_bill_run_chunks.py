"""Chunked bill runs: a run split into chunk tasks bills exactly what one task bills; on PostgreSQL several
consumers (threads, each with its own session) take the chunks at once, and nothing is billed twice, the progress is
the sum of the chunks and the run ends once, with the last chunk; an interrupted chunked run is resumed."""

import random
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta

import pytest
from sqlalchemy import delete, func, select

from app.accounts.models import Account
from app.audit.models import AuditLog
from app.billing import runs
from app.billing.compose import Cycle
from app.billing.models import (
    Bill,
    BillLine,
    BillRun,
    BillRunChunk,
    BillRunError,
    BillRunStatus,
    LedgerEntry,
    LedgerKind,
)
from app.billing.runs import bill_chunk, chunk_seqs, mark_stale_runs, plan_chunks, run_bills, start_run
from app.billing.tasks import bill_run, bill_run_chunk
from app.db import utcnow
from app.extensions import db
from app.taskqueue import in_own_transaction
from tests import factories

NOV, ISSUED = Cycle(2024, 11), date(2024, 11, 12)


def on_postgres() -> bool:
    return db.engine.dialect.name == "postgresql"


def month(n: int) -> list[Account]:
    """n connections read for November 2024 with varied use, and one that cannot be billed (no reading)."""
    tariff = factories.make_tariff()
    accounts = [factories.make_read_connection(tariff, closing=str(1000 + 37 * k + 5)) for k in range(n)]
    accounts.append(factories.make_read_connection(tariff, closing=None))
    db.session.commit()
    return accounts


def bills_written() -> dict[str, tuple]:
    """Every bill by consumer number, with its lines and ledger entries: all a run writes but row ids."""
    bills = db.session.execute(select(Bill, Account.consumer_number).join(Account)).all()
    entries = {(e.bill_id, e.kind, e.amount, e.effective_on) for e in db.session.scalars(select(LedgerEntry))}
    return {number: (b.number, b.period_start, b.period_end, b.issued_on, b.due_date, b.units, b.estimated,
                     b.current_charges, b.previous_balance, b.late_fee, b.total_due,
                     [(line.code, line.amount, line.details) for line in b.lines],
                     sorted((kind, amount, day) for bill_id, kind, amount, day in entries if bill_id == b.id))
            for b, number in bills}


def errors_written() -> dict[int, str]:
    return dict(db.session.execute(select(BillRunError.account_id, BillRunError.reason)).all())


def forget_the_run() -> None:
    for model in (LedgerEntry, BillLine, Bill, BillRunError, BillRunChunk, AuditLog, BillRun):
        db.session.execute(delete(model))
    db.session.commit()


def chunked_run(chunk_size: int) -> BillRun:
    run = start_run(NOV, issued_on=ISSUED)
    db.session.commit()
    assert in_own_transaction(plan_chunks, run.id, chunk_size) == -(-run.total // chunk_size)
    return run


def finished_once(run_id: int) -> bool:
    return db.session.scalar(select(func.count(AuditLog.id)).where(
        AuditLog.action == "bill_run.finished", AuditLog.object_id == str(run_id))) == 1


def test_chunks_bill_exactly_what_one_task_bills(app):
    month(9)
    run_bills(NOV, issued_on=ISSUED)
    one_task, one_task_errors = bills_written(), errors_written()
    assert len(one_task) == 9 and len(one_task_errors) == 1
    forget_the_run()

    run = chunked_run(chunk_size=4)  # 10 connections: chunks of 4, 4 and 2
    for seq in chunk_seqs(run.id):
        in_own_transaction(bill_chunk, run.id, seq)
    assert bills_written() == one_task and errors_written() == one_task_errors
    db.session.expire_all()
    assert (run.status, run.total, run.done, run.error_count) == (BillRunStatus.FINISHED, 10, 10, 1)
    assert finished_once(run.id) and chunk_seqs(run.id) == []
    assert in_own_transaction(bill_chunk, run.id, 0) is None  # a chunk done is not billed again


def test_a_chunk_of_a_run_that_stopped_bills_nothing(app):
    month(3)
    run = chunked_run(chunk_size=2)
    db.session.execute(BillRun.__table__.update().values(status="failed"))
    db.session.commit()
    assert in_own_transaction(bill_chunk, run.id, 0) is None
    assert db.session.scalar(select(func.count(Bill.id))) == 0


def test_a_large_run_is_queued_as_chunks_on_postgres_and_stays_one_task_on_sqlite(app, monkeypatch):
    monkeypatch.setattr(runs, "CHUNK_SIZE", 2)
    month(5)
    run = start_run(NOV)
    db.session.commit()
    run_id = run.id
    db.session.commit()  # the task's session writes: this one's snapshot ends
    bill_run.call_local(run_id)  # on PostgreSQL it queues 3 chunk tasks, which the tests run at once
    db.session.commit()
    assert run.status is BillRunStatus.FINISHED and (run.done, run.error_count) == (6, 1)
    assert db.session.scalar(select(func.count(Bill.id))) == 5 and finished_once(run.id)
    chunks_done = db.session.scalar(select(func.count(BillRunChunk.id)).where(BillRunChunk.done_at.is_not(None)))
    assert chunks_done == (3 if on_postgres() else 0)  # SQLite has one writer at a time: chunks would only queue


def test_on_postgres_three_consumers_at_once_bill_each_connection_once(app):
    if not on_postgres():
        pytest.skip("SQLite has one writer at a time: chunks there run one after another")
    accounts = month(40)
    run = chunked_run(chunk_size=3)  # 41 connections: 14 chunks
    run_id, seqs = run.id, chunk_seqs(run.id)
    db.session.commit()  # the threads get plain values only, never this session's objects
    # Every consumer is handed every chunk, in its own order: each chunk is billed by whoever locks it first.
    orders = [random.Random(n).sample(seqs, len(seqs)) for n in range(3)]

    def consumer(order: list[int]) -> None:
        for seq in order:
            with app.app_context():
                bill_run_chunk.call_local(run_id, seq)

    with ThreadPoolExecutor(max_workers=3) as pool:
        list(pool.map(consumer, orders))

    db.session.commit()
    per_account = db.session.execute(select(Bill.account_id, func.count()).group_by(Bill.account_id)).all()
    assert len(per_account) == 40 and {n for _a, n in per_account} == {1}
    assert (run.status, run.total, run.done, run.error_count) == (BillRunStatus.FINISHED, 41, 41, 1)
    assert finished_once(run.id)
    charged = db.session.scalar(select(func.sum(LedgerEntry.amount)).where(LedgerEntry.kind == LedgerKind.BILL))
    assert charged == db.session.scalar(select(func.sum(Bill.current_charges))) == runs.run_result(run).amount
    assert db.session.scalar(select(func.count(LedgerEntry.id))) == 40

    billed_by_chunks = bills_written()
    forget_the_run()
    run_bills(NOV, issued_on=ISSUED)
    assert bills_written() == billed_by_chunks and len(accounts) == 41


def test_an_interrupted_chunked_run_is_resumed_and_bills_only_the_rest(app, clock):
    month(7)
    run = chunked_run(chunk_size=3)  # 8 connections: 3 chunks
    in_own_transaction(bill_chunk, run.id, 0)  # then its consumers die
    clock.move_to(utcnow() + runs.STALE_AFTER + timedelta(minutes=1), tick=False)
    assert in_own_transaction(mark_stale_runs) == 1
    assert in_own_transaction(bill_chunk, run.id, 1) is None  # its chunks no longer run
    db.session.expire_all()
    assert run.status is BillRunStatus.INTERRUPTED and run.done == 3

    resumed = chunked_run(chunk_size=3)  # the 5 connections left: 2 chunks
    assert resumed.total == 5
    for seq in chunk_seqs(resumed.id):
        in_own_transaction(bill_chunk, resumed.id, seq)
    db.session.expire_all()
    assert resumed.status is BillRunStatus.FINISHED and resumed.done == 5
    assert db.session.scalar(select(func.count(Bill.id))) == 7
    assert db.session.scalar(select(func.count(func.distinct(Bill.account_id)))) == 7

import os
import signal
import subprocess
import sys
import time
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select, text

from app.accounts.models import BillingCycle
from app.audit.models import AuditLog
from app.billing import ledger
from app.billing.bills import cancel_bill, latest_bills, revise_bill
from app.billing.compose import Cycle
from app.billing.models import Bill, BillLine, BillRun, BillRunError, BillRunStatus, LedgerEntry, LedgerKind
from app.billing.runs import run_bills
from app.db import utcnow
from app.extensions import db
from app.metering.models import Reading
from tests import factories

ROOT = Path(__file__).resolve().parents[2]
NOV = Cycle(2024, 11)


connection = factories.make_read_connection


def count(model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def test_a_run_bills_each_due_connection_once_with_lines_and_ledger(app):
    tariff = factories.make_tariff()
    accounts = [connection(tariff) for _ in range(3)]
    db.session.commit()
    result = app.test_cli_runner().invoke(args=["bills", "run", "--cycle", "2024-11", "--issued-on", "2024-11-12",
                                                *factories.staff_cli_args()])
    assert result.exit_code == 0, result.output
    assert "billed 3 of 3" in result.output
    bill = db.session.scalar(select(Bill).where(Bill.account_id == accounts[0].id))
    assert bill.number == f"B2411-{accounts[0].consumer_number}"
    assert bill.units == Decimal("221") and bill.current_charges == Decimal("2424.12")
    assert sum(line.amount for line in bill.lines) == bill.current_charges
    energy = next(line for line in bill.lines if line.code == "energy")
    # 100 × 1.03 → 103, and the slab's range as scaled to the period, for the bill to show
    assert energy.details[0] == {"quantity": "103", "rate": "4.71", "amount": "485.13", "above": "0", "upto": "103"}
    assert energy.details[1]["above"] == "103" and energy.details[1]["upto"] == "309"
    assert ledger.balance(accounts[0].id) == Decimal("2424.12")
    run = db.session.scalar(select(BillRun))
    assert (run.status, run.total, run.done, run.error_count) == (BillRunStatus.FINISHED, 3, 3, 0)
    started = db.session.scalar(select(AuditLog).where(AuditLog.action == "bill_run.started"))
    assert started.actor_id is not None and started.actor_id == run.started_by_id  # who ran it, proven

    again = app.test_cli_runner().invoke(args=["bills", "run", "--cycle", "2024-11", *factories.staff_cli_args()])
    assert "billed 0 of 0" in again.output
    assert count(Bill) == 3 and count(LedgerEntry) == 3


def test_dry_run_writes_nothing(app):
    tariff = factories.make_tariff()
    connection(tariff)
    db.session.commit()
    result = app.test_cli_runner().invoke(args=["bills", "run", "--cycle", "2024-11", "--dry-run",
                                                "--issued-on", "2024-11-12", *factories.staff_cli_args()])
    assert "would bill 1 of 1" in result.output and "2424.12" in result.output
    assert count(Bill) == 0 and count(BillRun) == 0


def test_unbillable_connections_are_listed_with_reasons_and_the_run_goes_on(app):
    tariff = factories.make_tariff()
    good = connection(tariff)
    no_tariff = connection(None)
    no_history = connection(tariff, closing=None)  # no reading this cycle, nothing to estimate from
    db.session.commit()
    summary = run_bills(NOV, issued_on=date(2024, 11, 12))
    assert summary.billed == 1
    reasons = dict(db.session.execute(select(BillRunError.account_id, BillRunError.reason)).all())
    assert reasons[no_tariff.id] == "the connection has no tariff"
    assert "no past consumption" in reasons[no_history.id]
    assert count(Bill, Bill.account_id == good.id) == 1
    assert db.session.scalar(select(BillRun.error_count)) == 2


def test_bimonthly_connections_are_billed_in_their_months_only(app):
    tariff = factories.make_tariff()
    odd = connection(tariff, billing_cycle=BillingCycle.BIMONTHLY, cycle_offset=1)
    even = connection(tariff, billing_cycle=BillingCycle.BIMONTHLY, cycle_offset=0)
    db.session.commit()
    run_bills(NOV, issued_on=date(2024, 11, 12))  # November is month 11: odd
    assert count(Bill, Bill.account_id == odd.id) == 1 and count(Bill, Bill.account_id == even.id) == 0


def test_region_filter(app):
    tariff = factories.make_tariff()
    pune, kochi = connection(tariff, region="Pune"), connection(tariff, region="Kochi")
    db.session.commit()
    run_bills(NOV, region="Kochi", issued_on=date(2024, 11, 12))
    assert count(Bill, Bill.account_id == kochi.id) == 1 and count(Bill, Bill.account_id == pune.id) == 0


def test_running_twice_bills_nothing_twice(app):
    tariff = factories.make_tariff()
    for _ in range(30):
        connection(tariff)
    db.session.commit()
    run_bills(NOV, issued_on=date(2024, 11, 12), chunk_size=7)
    run_bills(NOV, issued_on=date(2024, 11, 12), chunk_size=5)
    assert count(Bill) == 30 and count(LedgerEntry, LedgerEntry.kind == LedgerKind.BILL) == 30


def test_insert_skips_bills_another_run_already_wrote(app):
    from app.billing.runs import compose_for, insert_bills

    tariff = factories.make_tariff()
    accounts = [connection(tariff) for _ in range(4)]
    db.session.commit()
    composed, errors = compose_for(NOV, [a.id for a in accounts], date(2024, 11, 12))
    assert not errors
    first = insert_bills(NOV, date(2024, 11, 12), composed[:2])
    second = insert_bills(NOV, date(2024, 11, 12), composed)  # as if a racing run composed the same four
    assert len(first) == 2 and len(second) == 2 and set(first).isdisjoint(second)
    assert count(Bill) == 4 and count(LedgerEntry) == 4
    assert count(BillLine) == sum(len(bill.lines) for _a, bill in composed)


def test_a_run_killed_halfway_finishes_on_the_next_run_and_duplicates_nothing(app, tmp_path):
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    tariff = factories.make_tariff()
    for _ in range(400):
        connection(tariff)
    db.session.commit()
    env = {**os.environ, "DATABASE_URL": url, "DTECH_INSTANCE_DIR": str(tmp_path), "FLASK_APP": "wsgi",
           "SECRET_KEY": "x" * 40}
    command = [sys.executable, "-m", "flask", "bills", "run", "--cycle", "2024-11", "--issued-on", "2024-11-12",
               "--chunk-size", "10", *factories.staff_cli_args()]
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    watcher = create_engine(url)
    try:
        deadline = time.monotonic() + 60
        done = 0
        while time.monotonic() < deadline and process.poll() is None:
            with watcher.connect() as conn:
                done = conn.execute(text("SELECT count(*) FROM bills")).scalar()
            if done >= 30:
                break
            time.sleep(0.05)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
    finally:
        watcher.dispose()
    assert 0 < done < 400, f"the run was not caught halfway ({done} bills)"
    db.session.commit()
    killed = db.session.scalar(select(BillRun))
    assert killed.status is BillRunStatus.RUNNING and 0 < killed.done < 400

    finish = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert finish.returncode == 0, finish.stdout + finish.stderr
    db.session.commit()
    assert count(Bill) == 400
    assert count(LedgerEntry, LedgerEntry.kind == LedgerKind.BILL) == 400
    assert db.session.scalar(select(func.count(func.distinct(BillLine.bill_id)))) == 400
    assert db.session.scalar(select(func.max(func.coalesce(BillLine.position, 0)))) == 5  # no doubled lines
    db.session.refresh(killed)
    finished = db.session.scalar(select(BillRun).where(BillRun.id != killed.id))
    assert killed.status is BillRunStatus.INTERRUPTED and finished.status is BillRunStatus.FINISHED


def test_a_run_whose_heartbeat_stopped_is_marked_interrupted_and_a_live_one_is_left_alone(app, clock):
    from app.billing.tasks import mark_stale_bill_runs

    now = utcnow()
    silent = BillRun(cycle="2024-11", region="", heartbeat_at=now - timedelta(minutes=6), started_at=now)
    beating = BillRun(cycle="2024-11", region="Pune", heartbeat_at=now - timedelta(seconds=20), started_at=now)
    db.session.add_all([silent, beating])
    db.session.commit()
    assert "1 bill runs marked interrupted" in mark_stale_bill_runs.call_local()
    db.session.commit()
    assert (silent.status, beating.status) == (BillRunStatus.INTERRUPTED, BillRunStatus.RUNNING)


def test_a_finished_run_leaves_a_run_beating_beside_it_running(app):
    tariff = factories.make_tariff()
    connection(tariff)
    alive = BillRun(cycle="2024-11", region="", heartbeat_at=utcnow() + timedelta(seconds=30))  # beats after ours began
    db.session.add(alive)
    db.session.commit()
    run_bills(NOV, issued_on=date(2024, 11, 12))
    db.session.refresh(alive)
    assert alive.status is BillRunStatus.RUNNING


def test_revising_a_paid_bill_asks_only_for_the_difference(app, client, login_as):
    """A paid bill revised showed "Paid" beside a total due of the whole bill again, its arrears, a surcharge and a
    prompt-payment offer, while the ledger said nothing was owed."""
    from app.billing.bills import build_statement
    from app.billing.ledger import post

    tariff = factories.make_tariff()
    account = connection(tariff)
    db.session.commit()
    run_bills(NOV, issued_on=date(2024, 11, 12))
    bill = db.session.scalar(select(Bill))
    post(account.id, LedgerKind.PAYMENT, -bill.total_due, date(2024, 11, 14), "paid in full")
    db.session.commit()
    revised = revise_bill(bill, "tariff recheck")
    db.session.commit()
    assert revised.current_charges == bill.current_charges  # the same readings and tariff
    assert revised.total_due == Decimal("0.00") == ledger.balance(account.id)
    statement = build_statement(revised, today=date(2024, 11, 15))
    assert statement.prompt_rebate == 0 and not statement.payable
    assert statement.arrears == -bill.current_charges  # the payment, now that the old charges are taken back
    # Regression (review): the revision showed "payments since ₹0.00", hiding the payment behind its arrears.
    assert revised.previous_balance == bill.previous_balance
    assert statement.payments_since == bill.total_due  # the payment made after the original bill


def test_cancel_and_revise_are_audited_and_never_edit_the_bill(app):
    tariff = factories.make_tariff()
    account = connection(tariff)
    db.session.commit()
    run_bills(NOV, issued_on=date(2024, 11, 12))
    bill = db.session.scalar(select(Bill))
    reading = db.session.scalar(select(Reading).where(Reading.read_on == date(2024, 11, 5)))
    # The meter reader misread: 1221 should have been 1121. The reading is rejected (a bill still points at
    # it, so it cannot be deleted), the right one recorded and the bill revised.
    reading.status = "rejected"
    db.session.add(Reading(meter_id=reading.meter_id, read_on=date(2024, 11, 5), value=Decimal("1121"),
                           source="meter_reader", status="accepted"))
    revised = revise_bill(bill, "reading corrected from 1221 to 1121")
    db.session.commit()
    assert revised.number == f"{bill.number}-R1" and revised.revision == 1 and revised.revises_id == bill.id
    assert revised.units == Decimal("121")
    assert bill.units == Decimal("221") and bill.current_charges == Decimal("2424.12")  # untouched
    kinds = db.session.scalars(select(LedgerEntry.kind).order_by(LedgerEntry.id)).all()
    assert kinds == [LedgerKind.BILL, LedgerKind.CREDIT_NOTE, LedgerKind.BILL]
    assert ledger.balance(account.id) == revised.current_charges
    assert revised.total_due == revised.current_charges  # the cancelled bill is not in the arrears
    actions = db.session.scalars(select(AuditLog.action)).all()
    assert "bill.cancelled" in actions and "bill.revised" in actions
    with pytest.raises(Exception, match="already cancelled"):
        cancel_bill(bill, "again")


def test_the_pages_and_the_bill_runs_see_the_same_bills_in_force(app):
    """Per cycle the latest revision, unless a credit note cancelled it: one definition (ledger.in_force)."""
    from app.billing.runs import _prior_bills_by_account

    account = connection_with_late_fees_read_in_december()
    db.session.commit()
    run_bills(NOV, issued_on=date(2024, 11, 12))
    november = db.session.scalar(select(Bill))
    revised = revise_bill(november, "recheck")
    run_bills(Cycle(2024, 12), issued_on=date(2024, 12, 12))
    december = db.session.scalar(select(Bill).where(Bill.cycle == "2024-12"))

    def in_force():
        pages = latest_bills(account.id, limit=10)
        runs = _prior_bills_by_account([account.id], date(2023, 1, 1), "2025-01")[account.id]
        assert [(b.cycle, b.issued_on) for b in pages] == [(b.cycle, b.issued_on) for b in reversed(runs)]
        return pages

    assert in_force() == [december, revised]  # the revision replaced the November bill
    cancel_bill(december, "billed in error")
    assert in_force() == [revised]
    assert latest_bills(account.id, limit=5, up_to=date(2024, 11, 30)) == [revised]


def connection_with_late_fees_read_in_december():
    """MSEDCL with a 1.25% a month late surcharge; read on 5 Oct, 5 Nov and 5 Dec 2024."""
    import json

    from app.billing.services import BUNDLED_TARIFFS, import_tariff

    document = json.loads((BUNDLED_TARIFFS / "msedcl-lt1b-2024-25.json").read_text())
    document["payment_terms"] = {"due_days": 15, "late_surcharge": {"percent_per_month": "1.25", "on": "arrears"}}
    account = connection(import_tariff(json.dumps(document)).tariff)
    meter_id = db.session.scalar(select(Reading.meter_id).where(Reading.meter_id.is_not(None)))
    db.session.add(Reading(meter_id=meter_id, read_on=date(2024, 12, 5), value=Decimal("1421"),
                           source="meter_reader", status="accepted"))
    return account


def test_next_cycle_carries_arrears_and_charges_the_late_fee(app):
    account = connection_with_late_fees_read_in_december()
    db.session.commit()
    run_bills(NOV, issued_on=date(2024, 11, 12))
    ledger.post(account.id, LedgerKind.PAYMENT, Decimal("-1000.00"), date(2024, 11, 20), "part payment")
    db.session.commit()
    run_bills(Cycle(2024, 12), issued_on=date(2024, 12, 12))
    december = db.session.scalar(select(Bill).where(Bill.cycle == "2024-12"))
    assert december.previous_balance == Decimal("2424.12")
    assert december.payments_since == Decimal("1000.00")
    assert december.late_fee == Decimal("17.80")  # 1.25% of the 1,424.12 unpaid at the due date
    assert december.total_due == Decimal("1424.12") + december.current_charges + Decimal("17.80")
    assert ledger.balance(account.id) == december.total_due


def test_a_cycle_that_has_not_begun_is_refused(app):
    result = app.test_cli_runner().invoke(args=["bills", "run", "--cycle", "2099-01", *factories.staff_cli_args()])
    assert result.exit_code != 0 and "has not begun" in result.output
    assert count(BillRun) == 0


def test_a_run_that_fails_is_marked_failed(app, monkeypatch):
    import app.billing.runs as runs

    tariff = factories.make_tariff()
    connection(tariff)
    db.session.commit()

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(runs, "insert_bills", broken)
    with pytest.raises(RuntimeError):
        run_bills(NOV, issued_on=date(2024, 11, 12))
    assert db.session.scalar(select(BillRun.status)) is BillRunStatus.FAILED


def test_only_the_latest_bill_can_be_revised_and_the_revision_keeps_its_arrears(app):
    account = connection_with_late_fees_read_in_december()
    admin = factories.make_user(role="admin", email="chief@example.com")
    db.session.commit()
    run_bills(NOV, issued_on=date(2024, 11, 12))
    run_bills(Cycle(2024, 12), issued_on=date(2024, 12, 12))
    november, december = db.session.scalars(select(Bill).order_by(Bill.cycle)).all()
    runner = app.test_cli_runner()
    proof = ["--password", factories.PASSWORD]
    old = runner.invoke(args=["bills", "revise", november.number, "--reason", "typo", "--by", "chief@example.com",
                              *proof])
    assert old.exit_code != 0 and "not the latest bill" in old.output
    result = runner.invoke(args=["bills", "revise", december.number, "--reason", "recheck", "--by",
                                 "chief@example.com", *proof])
    assert result.exit_code == 0, result.output
    assert "proposed as correction 1" in result.output
    assert db.session.scalar(select(Bill).where(Bill.revision == 1)) is None  # nothing until it is approved
    own = runner.invoke(args=["bills", "approve", "1", "--by", "chief@example.com", *proof])
    assert own.exit_code != 0 and "You proposed this yourself" in own.output
    second = factories.make_user(role="admin", email="second@example.com")
    db.session.commit()
    approved = runner.invoke(args=["bills", "approve", "1", "--by", "second@example.com", *proof])
    assert approved.exit_code == 0, approved.output
    again = runner.invoke(args=["bills", "approve", "1", "--by", "second@example.com", *proof])
    assert again.exit_code != 0 and "already decided" in again.output
    revised = db.session.scalar(select(Bill).where(Bill.revision == 1))
    assert revised.late_fee == december.late_fee == Decimal("30.30")
    assert revised.previous_balance - revised.payments_since == december.previous_balance - december.payments_since
    assert revised.total_due == december.total_due  # the same readings re-priced, nothing paid: nothing changes
    assert ledger.balance(account.id) == december.total_due
    audit = db.session.scalar(select(AuditLog).where(AuditLog.action == "bill.revised"))
    assert audit.actor_id == second.id
    proposed = db.session.scalar(select(AuditLog).where(AuditLog.action == "correction.proposed"))
    assert proposed.actor_id == admin.id
    not_staff = runner.invoke(args=["bills", "cancel", revised.number, "--reason", "x", "--by", "nobody@x.com",
                                    *proof])
    assert not_staff.exit_code != 0 and "not a staff member" in not_staff.output
    wrong = runner.invoke(args=["bills", "cancel", revised.number, "--reason", "x", "--by", "chief@example.com",
                                "--password", "not-the-password"])
    assert wrong.exit_code != 0 and "password is not right" in wrong.output
    assert not ledger.is_cancelled(revised)


def test_a_new_connections_first_month_is_billed_from_its_installation_reading(app):
    """Connected 1 Nov 2024 with an installation reading of 100 and read 250 on 30 Nov: November charges the 150
    units, December starts from 250; a connection read before the cycle is billed as before."""
    tariff = factories.make_tariff()
    ordinary = connection(tariff)
    new = factories.make_account(tariff, connected_on=date(2024, 11, 1))
    meter = factories.make_meter(new, installed_on=date(2024, 11, 1))
    factories.make_reading(meter, date(2024, 11, 1), "100")
    factories.make_reading(meter, date(2024, 11, 30), "250")
    db.session.commit()
    run_bills(NOV, issued_on=date(2024, 12, 2))
    assert count(BillRunError) == 0
    november = db.session.scalar(select(Bill).where(Bill.account_id == new.id))
    assert (november.period_start, november.period_end, november.units) == (date(2024, 11, 1), date(2024, 11, 30),
                                                                             Decimal("150"))
    assert isinstance(november.current_charges, Decimal) and november.current_charges > 0
    assert db.session.scalar(select(Bill.units).where(Bill.account_id == ordinary.id)) == Decimal("221")

    factories.make_reading(meter, date(2024, 12, 30), "400")
    db.session.commit()
    run_bills(Cycle(2024, 12), issued_on=date(2025, 1, 2))
    december = db.session.scalar(select(Bill).where(Bill.account_id == new.id, Bill.cycle == "2024-12"))
    assert (december.period_start, december.units) == (date(2024, 12, 1), Decimal("150"))
    assert december.opening_reading_id == november.closing_reading_id

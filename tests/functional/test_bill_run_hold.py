"""Held bill runs: a billing officer starts a run held; its bills are written (a second run cannot bill them
again) but no customer sees them, is charged for them or is told of them until the run is released, once, by a
billing officer or an administrator; then their issue and due dates count from the release."""

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from app.audit.models import AuditLog
from app.billing import ledger
from app.billing.bills import BillCorrectionError, cancel_bill, latest_bills
from app.billing.compose import Cycle
from app.billing.corrections import CorrectionRefused, propose
from app.billing.models import Bill, BillRun, BillRunStatus, CorrectionAction, LedgerEntry, LedgerKind
from app.billing.release import ReleaseError, release_run
from app.billing.runs import run_bills, start_run
from app.db import INDIA
from app.extensions import db
from app.notifications.models import Notification, NotificationKind
from app.notifications.reminders import send_due_reminders
from tests import factories
from tests.functional.test_bill_runs import connection_with_late_fees_read_in_december

RUN_DAY, RELEASE_DAY = date(2024, 12, 2), date(2024, 12, 6)


def india(day: date, hour: int = 11) -> datetime:
    return datetime.combine(day, time(hour), INDIA).astimezone(UTC)


def sign_in(client, user) -> None:
    db.session.commit()
    client.post("/logout")
    response = client.post("/login", data={"login": user.email or user.mobile, "password": factories.PASSWORD})
    assert response.status_code == 302


def count(model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


@pytest.fixture
def held_month(client, clock):
    """A customer's connection read for November 2024, billed on 2 Dec 2024 by a run a billing officer held."""
    tariff = factories.make_tariff()
    account = factories.make_read_connection(tariff)
    customer = factories.make_user()
    factories.link(customer, account)
    officer = factories.make_user(role="billing", email="officer@example.com")
    db.session.commit()
    clock.move_to(india(RUN_DAY), tick=False)
    sign_in(client, officer)
    response = client.post("/staff/bill-runs", data={"cycle": "2024-11", "region": "", "hold": "y"})
    assert response.status_code == 303
    run = db.session.scalar(select(BillRun))
    bill = db.session.scalar(select(Bill))
    return run, bill, account, customer, officer


def test_a_held_run_bills_but_shows_charges_and_tells_nobody(client, held_month):
    run, bill, account, customer, officer = held_month
    assert (run.status, run.hold, run.withheld, run.started_by_id) == (BillRunStatus.FINISHED, True, True, officer.id)
    assert bill.current_charges == Decimal("2424.12") and bill.issued_on == RUN_DAY
    assert count(LedgerEntry) == 0 and ledger.balance(account.id) == 0  # not charged yet
    assert count(Notification) == 0  # nobody told
    assert latest_bills(account.id) == []  # dashboard, usage, projections, reminders: none of them sees it

    page = client.get(f"/staff/bill-runs/{run.id}").get_data(as_text=True)
    assert "Held: the customers do not see these bills" in page and "Release the bills" in page
    assert f"/bills/{bill.id}" in page and account.consumer_number in page  # the sample links to the bill
    staff_view = client.get(f"/bills/{bill.id}")
    assert staff_view.status_code == 200 and "this bill is in a bill run that has not been released" in \
        staff_view.get_data(as_text=True)

    sign_in(client, customer)
    assert bill.number not in client.get("/bills").get_data(as_text=True)
    assert client.get(f"/bills/{bill.id}").status_code == 404
    assert client.get(f"/bills/{bill.id}.pdf").status_code == 404
    assert "2,424.12" not in client.get("/").get_data(as_text=True)


def test_a_held_bill_still_blocks_a_second_bill_and_cannot_be_corrected(app, held_month):
    run, bill, account, _customer, officer = held_month
    again = run_bills(Cycle(2024, 11), issued_on=RUN_DAY)  # another run of the month, not held
    assert again.billed == 0 and count(Bill) == 1
    with pytest.raises(CorrectionRefused, match="held"):
        propose(CorrectionAction.CANCEL, account.id, "wrong reading", officer, "k" * 20, bill_id=bill.id)
    with pytest.raises(BillCorrectionError, match="held"):
        cancel_bill(bill, "wrong reading", actor=officer)
    db.session.rollback()
    assert count(LedgerEntry) == 0


def test_no_reminder_for_a_held_bill(clock, held_month):
    _run, bill, *_ = held_month
    clock.move_to(india(bill.due_date - timedelta(days=1)), tick=False)
    send_due_reminders()
    assert count(Notification) == 0


def test_release_issues_the_bills_from_that_day_charges_them_and_tells_the_customer_once(client, clock, held_month):
    run, bill, account, customer, officer = held_month
    days_to_pay = bill.due_date - bill.issued_on
    clock.move_to(india(RELEASE_DAY), tick=False)
    sign_in(client, officer)  # the day they release it (a staff sign-in ends after an hour without use)
    response = client.post(f"/staff/bill-runs/{run.id}/release")
    assert response.status_code == 303
    db.session.expire_all()
    bill = db.session.get(Bill, bill.id)
    assert bill.issued_on == RELEASE_DAY and bill.due_date == RELEASE_DAY + days_to_pay  # the usual days, from now
    assert db.session.get(BillRun, run.id).released_by_id == officer.id
    entries = db.session.execute(select(LedgerEntry.kind, LedgerEntry.amount, LedgerEntry.effective_on,
                                        LedgerEntry.description)).all()
    assert entries == [(LedgerKind.BILL, Decimal("2424.12"), RELEASE_DAY, f"Bill {bill.number}")]
    issued = db.session.scalars(select(Notification).where(Notification.kind == NotificationKind.BILL_ISSUED)).all()
    assert [n.user_id for n in issued] == [customer.id]
    released = db.session.scalar(select(AuditLog).where(AuditLog.action == "bill_run.released"))
    assert released.actor_id == officer.id and released.details["before"] == {"held": True}
    page = client.get(f"/staff/bill-runs/{run.id}").get_data(as_text=True)
    assert "Released on" in page and "Release the bills" not in page

    again = client.post(f"/staff/bill-runs/{run.id}/release", follow_redirects=True)
    assert "can be released, and only once" in again.get_data(as_text=True)
    assert count(LedgerEntry) == 1 and count(Notification) == 1 and count(AuditLog,
                                                                          AuditLog.action == "bill_run.released") == 1

    sign_in(client, customer)
    assert client.get(f"/bills/{bill.id}").status_code == 200
    assert bill.number in client.get("/bills").get_data(as_text=True)
    assert latest_bills(account.id) == [bill]


def test_a_run_released_once_even_when_asked_twice_at_the_service(held_month):
    run, _bill, _account, _customer, officer = held_month
    release_run(run, officer)
    with pytest.raises(ReleaseError):
        release_run(run, officer)
    assert count(LedgerEntry) == 1


def test_a_running_or_unheld_run_cannot_be_released(app, clock):
    officer = factories.make_user(role="billing")
    running = BillRun(cycle="2024-11", region="", hold=True)
    plain = BillRun(cycle="2024-10", region="", status=BillRunStatus.FINISHED)
    db.session.add_all([running, plain])
    db.session.commit()
    for run in (running, plain):
        with pytest.raises(ReleaseError):
            release_run(run, officer)


def test_release_needs_a_billing_officer_or_an_administrator(client, held_month):
    run, *_ = held_month
    sign_in(client, factories.make_user(role="support", email="desk@example.com"))
    assert client.post(f"/staff/bill-runs/{run.id}/release").status_code == 403
    sign_in(client, factories.make_user(role="admin", email="admin@example.com"))
    assert client.post(f"/staff/bill-runs/{run.id}/release").status_code == 303
    assert db.session.get(BillRun, run.id).released_at is not None


def test_a_later_month_waits_for_the_held_one(client, clock, held_month):
    run, *_, officer = held_month
    clock.move_to(india(date(2025, 1, 3)), tick=False)
    sign_in(client, officer)
    refused = client.post("/staff/bill-runs", data={"cycle": "2024-12", "region": "", "hold": "y"})
    assert refused.status_code == 422
    assert "The run for 2024-11 is held: release it before billing a later month." in refused.get_data(as_text=True)
    client.post(f"/staff/bill-runs/{run.id}/release")
    assert client.post("/staff/bill-runs", data={"cycle": "2024-12", "region": ""}).status_code == 303


def test_a_resumed_held_run_is_held_too(client, held_month):
    run, *_ = held_month
    db.session.execute(BillRun.__table__.update().where(BillRun.id == run.id).values(status="interrupted"))
    db.session.commit()
    response = client.post(f"/staff/bill-runs/{run.id}/resume")
    assert response.status_code == 303
    resumed = db.session.scalar(select(BillRun).where(BillRun.id != run.id))
    assert resumed.hold and resumed.withheld


def test_another_offices_held_run_is_not_found_and_stays_held(client):
    kochi_run = BillRun(cycle="2024-11", region="Kochi", status=BillRunStatus.FINISHED, hold=True)
    db.session.add(kochi_run)
    sign_in(client, factories.make_user(role="billing", office="Pune", email="pune@example.com"))
    assert client.post(f"/staff/bill-runs/{kochi_run.id}/release").status_code == 404
    db.session.refresh(kochi_run)
    assert kochi_run.withheld


def test_a_held_bills_late_fee_is_charged_at_release_too(app, clock):
    account = connection_with_late_fees_read_in_december()
    officer = factories.make_user(role="billing")
    db.session.commit()
    run_bills(Cycle(2024, 11), issued_on=date(2024, 11, 12))
    run = start_run(Cycle(2024, 12), hold=True, issued_on=date(2024, 12, 12))
    db.session.commit()
    run_bills(Cycle(2024, 12), run=run)
    december = db.session.scalar(select(Bill).where(Bill.cycle == "2024-12"))
    assert december.late_fee > 0 and ledger.balance(account.id) == Decimal("2424.12")  # November's only
    clock.move_to(india(date(2024, 12, 14)), tick=False)
    release_run(run, officer)
    posted = dict(db.session.execute(select(LedgerEntry.kind, LedgerEntry.amount)
                                     .where(LedgerEntry.bill_id == december.id)).all())
    assert posted == {LedgerKind.BILL: december.current_charges, LedgerKind.LATE_FEE: december.late_fee}
    assert ledger.balance(account.id) == december.total_due

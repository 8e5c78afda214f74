"""Bill runs from the pages: a billing officer starts one (the task queue runs it), watches it, sees what could
not be billed and why, and resumes one that was interrupted; each office runs and sees its own region only."""

from datetime import date, datetime

import pytest
from sqlalchemy import func, select

from app.billing.models import Bill, BillRun, BillRunStatus
from app.db import INDIA, utcnow
from app.extensions import db
from tests import factories


@pytest.fixture
def month():
    """Two Pune connections read for November 2024 and one with no meter (it cannot be billed)."""
    tariff = factories.make_tariff()
    read = [factories.make_read_connection(tariff) for _ in range(2)]
    meterless = factories.make_account(tariff, holder_name="No Meter Yet")
    db.session.commit()
    return read, meterless


def start(client, cycle="2024-11", region="", **headers):
    return client.post("/staff/bill-runs", data={"cycle": cycle, "region": region}, headers=headers)


def test_a_run_started_from_the_page_bills_the_month_and_shows_what_it_could_not(client, login_as, month):
    read, meterless = month
    officer = login_as("billing")
    response = start(client)
    assert response.status_code == 303
    run = db.session.scalar(select(BillRun))
    assert response.headers["Location"] == f"/staff/bill-runs/{run.id}"
    assert (run.status, run.started_by_id, run.total) == (BillRunStatus.FINISHED, officer.id, 3)
    assert db.session.scalar(select(func.count(Bill.id))) == 2

    page = client.get(f"/staff/bill-runs/{run.id}").get_data(as_text=True)
    assert "Bill run for 2024-11 started." in page and "Finished" in page
    assert "3 of 3 connections" in page and "442" in page  # 221 units each
    assert meterless.consumer_number in page and "No Meter Yet" in page  # not billed, with the reason
    assert 'hx-trigger="every 2s"' not in page  # nothing left to watch

    again = start(client)  # the month again: everything is billed already
    assert again.status_code == 303 and db.session.scalar(select(func.count(Bill.id))) == 2


def test_a_running_run_is_polled_by_htmx_until_it_ends(client, login_as):
    login_as("admin")
    run = BillRun(cycle="2024-11", region="", total=10, done=4, heartbeat_at=utcnow())
    db.session.add(run)
    db.session.commit()
    fragment = client.get(f"/staff/bill-runs/{run.id}", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "<h1>" not in fragment and 'hx-trigger="every 2s"' in fragment and "4 of 10 connections" in fragment
    refused = start(client).get_data(as_text=True)
    assert "A run for 2024-11 is already running." in refused


@pytest.mark.parametrize(("cycle", "message"), [
    ("2026-13", "Give the month as YYYY-MM, like 2026-11."),
    ("Nov", "Give the month as YYYY-MM, like 2026-11."),
    ("", "Please fill this in."),
    ("2026-12", "2026-12 has not begun yet: it cannot be billed."),  # today is 18 Nov 2026
])
def test_a_wrong_month_is_refused_with_a_reason(client, login_as, cycle, message):
    login_as("billing")
    response = start(client, cycle)
    assert response.status_code == 422 and message in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count(BillRun.id))) == 0


def test_an_interrupted_run_is_resumed_and_bills_only_what_is_left(client, login_as, month):
    login_as("billing")
    killed = BillRun(cycle="2024-11", region="", status=BillRunStatus.INTERRUPTED, total=3, done=0,
                     heartbeat_at=utcnow())
    db.session.add(killed)
    db.session.commit()
    page = client.get(f"/staff/bill-runs/{killed.id}").get_data(as_text=True)
    assert "Resume the run" in page
    response = client.post(f"/staff/bill-runs/{killed.id}/resume")
    assert response.status_code == 303
    resumed = db.session.scalar(select(BillRun).where(BillRun.id != killed.id))
    assert resumed.status is BillRunStatus.FINISHED and db.session.scalar(select(func.count(Bill.id))) == 2
    finished = client.post(f"/staff/bill-runs/{resumed.id}/resume", follow_redirects=True)
    assert "Only an interrupted or failed run can be resumed." in finished.get_data(as_text=True)


def test_an_office_runs_and_sees_its_own_region_only(client, login_as, month):
    kochi_run = BillRun(cycle="2024-11", region="Kochi", status=BillRunStatus.FINISHED, heartbeat_at=utcnow())
    db.session.add(kochi_run)
    db.session.commit()
    login_as("billing", office="Pune")
    form = client.get("/staff/bill-runs").get_data(as_text=True)
    assert '<option value="Pune"' in form and "Every region" not in form and "Kochi" not in form
    assert start(client, region="").status_code == 422  # every region is head office's
    assert client.get(f"/staff/bill-runs/{kochi_run.id}").status_code == 404
    assert start(client, region="Pune").status_code == 303
    assert db.session.scalar(select(func.count(Bill.id))) == 2


def test_support_staff_have_no_bill_runs_in_their_menu(client, login_as):
    login_as("support")
    home = client.get("/staff").get_data(as_text=True)
    assert "/staff/consumers" in home and "/staff/bill-runs" not in home
    assert client.get("/staff/bill-runs").status_code == 403


def test_a_run_on_the_first_of_a_month_bills_the_month_that_ended(client, login_as, month, clock):
    clock.move_to(datetime(2024, 12, 1, 0, 5, tzinfo=INDIA))  # five minutes into December in India
    login_as("billing")
    assert start(client, "2024-12").status_code == 303  # December has begun: nothing due yet, but allowed
    assert start(client, "2024-11").status_code == 303
    assert db.session.scalar(select(func.count(Bill.id))) == 2
    assert date(2024, 12, 1) == db.session.scalar(select(func.min(Bill.issued_on)))

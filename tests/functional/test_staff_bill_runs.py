"""Bill runs from the pages: a billing officer starts one (the task queue runs it), watches it, sees what could
not be billed and why, and resumes one that was interrupted; each office runs and sees its own region only."""

from datetime import date, datetime
from decimal import Decimal

import pytest
from flask_babel import force_locale, gettext
from sqlalchemy import func, select

from app.billing.bills import cancel_bill
from app.billing.compose import NOT_BILLED, Cycle
from app.billing.models import Bill, BillRun, BillRunError, BillRunStatus
from app.billing.runs import run_bills, run_result, start_run
from app.db import INDIA, utcnow
from app.extensions import db
from app.i18n import indian_date
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
    ("2026-11", "2026-11 has not ended yet: it can be billed from the 1st of next month."),
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


def test_support_looks_at_bill_runs_and_corrections_but_changes_nothing(client, login_as, month):
    run_bills(Cycle(2024, 11), issued_on=date(2024, 12, 2), run=start_run(Cycle(2024, 11), hold=True))
    run = db.session.scalar(select(BillRun))
    db.session.commit()
    login_as("support")
    assert "/staff/bill-runs" in client.get("/staff").get_data(as_text=True)  # in the menu now
    listing = client.get("/staff/bill-runs")
    assert listing.status_code == 200 and "2024-11" in listing.get_data(as_text=True)
    assert "Start the run" not in listing.get_data(as_text=True)
    page = client.get(f"/staff/bill-runs/{run.id}").get_data(as_text=True)
    assert "A sample to check before release" in page and "Release the bills" not in page
    assert client.get(f"/staff/bill-runs/{run.id}/not-billed").status_code == 200
    assert client.get("/staff/corrections").status_code == 200
    for refused in ("/staff/bill-runs", f"/staff/bill-runs/{run.id}/release", f"/staff/bill-runs/{run.id}/resume"):
        assert client.post(refused, data={"cycle": "2024-12", "region": ""}).status_code == 403, refused
    db.session.expire_all()
    assert db.session.get(BillRun, run.id).withheld and db.session.scalar(select(func.count(BillRun.id))) == 1


def test_why_a_connection_was_not_billed_is_said_in_the_readers_language(client, login_as, month):
    _read, meterless = month
    run = run_bills(Cycle(2024, 11), issued_on=date(2024, 12, 2)) and db.session.scalar(select(BillRun))
    error = db.session.scalar(select(BillRunError))
    assert (error.account_id, error.code) == (meterless.id, "no_opening_reading")
    dated = factories.make_account(factories.make_tariff(), holder_name="Read Later")
    db.session.add(BillRunError(run_id=run.id, account_id=dated.id, reason="the period ends on 2024-12-05, …",
                                code="period_after_issue", params={"end_on": "2024-12-05", "issued_on": "2024-12-02"}))
    old = factories.make_account(factories.make_tariff(), holder_name="Kept Before Codes")
    db.session.add(BillRunError(run_id=run.id, account_id=old.id, reason="an English reason kept before"))
    db.session.commit()
    login_as("billing")
    english = client.get(f"/staff/bill-runs/{run.id}").get_data(as_text=True)
    assert "The period ends on 5 Dec 2024, after the issue date 2 Dec 2024: bill it later" in english
    client.post("/logout")
    login_as("billing", locale="hi_IN")
    hindi = client.get(f"/staff/bill-runs/{run.id}").get_data(as_text=True)
    with force_locale("hi_IN"):
        expected = gettext(NOT_BILLED["period_after_issue"], end_on=indian_date(date(2024, 12, 5)),
                           issued_on=indian_date(date(2024, 12, 2)))
        opening = gettext(NOT_BILLED["no_opening_reading"])
    assert expected != NOT_BILLED["period_after_issue"] and "2024-12-05" not in expected
    assert expected in hindi and opening in hindi and opening != NOT_BILLED["no_opening_reading"]
    assert "An English reason kept before" in hindi  # a row kept before codes is shown as it was written


def test_the_start_form_offers_the_month_just_ended_in_india(client, login_as, clock):
    clock.move_to(datetime(2026, 12, 1, 0, 30, tzinfo=INDIA), tick=False)  # still 30 Nov in UTC
    login_as("billing")
    form = client.get("/staff/bill-runs").get_data(as_text=True)
    assert 'name="cycle"' in form and 'value="2026-11"' in form


def test_a_runs_totals_leave_out_bills_cancelled_since_and_say_how_many(client, login_as, month):
    run_bills(Cycle(2024, 11), issued_on=date(2024, 12, 2))
    run = db.session.scalar(select(BillRun))
    first = db.session.scalar(select(Bill).order_by(Bill.id))
    cancel_bill(first, "meter misread", actor=factories.make_user(role="admin"))
    db.session.commit()
    assert (run_result(run).bills, run_result(run).units, run_result(run).replaced) == (1, Decimal(221), 1)
    login_as("billing")
    page = client.get(f"/staff/bill-runs/{run.id}").get_data(as_text=True)
    assert "<dt>Bills</dt><dd>1</dd>" in page and "<dt>Cancelled or revised since</dt><dd>1</dd>" in page


def test_a_held_runs_sample_and_release_come_before_a_long_list_of_exceptions(client, login_as, month):
    tariff = factories.make_tariff()
    for n in range(25):
        factories.make_account(tariff, holder_name=f"Unread {n:02d}")
    db.session.commit()
    run_bills(Cycle(2024, 11), issued_on=date(2024, 12, 2), run=start_run(Cycle(2024, 11), hold=True))
    run = db.session.scalar(select(BillRun))
    db.session.commit()
    login_as("billing")
    page = client.get(f"/staff/bill-runs/{run.id}").get_data(as_text=True)
    sample, release, exceptions = (page.index(text) for text in (
        "A sample to check before release", "Release the bills", "Connections not billed</h2>"))
    assert release < exceptions and sample < exceptions
    assert page.count("Unread ") + page.count("No Meter Yet") == 20  # the first twenty, then a link to all
    assert f'href="/staff/bill-runs/{run.id}/not-billed">See all 26 connections not billed' in page
    every = client.get(f"/staff/bill-runs/{run.id}/not-billed").get_data(as_text=True)
    assert every.count("Unread ") == 25 and "No Meter Yet" in every
    assert client.get(f"/staff/bill-runs/{run.id}/not-billed?page=2").status_code == 404  # one page holds them


def test_a_run_on_the_first_of_a_month_bills_the_month_that_ended(client, login_as, month, clock):
    clock.move_to(datetime(2024, 12, 1, 0, 5, tzinfo=INDIA))  # five minutes into December in India
    login_as("billing")
    assert start(client, "2024-12").status_code == 422  # December has begun but not ended: refused
    assert start(client, "2024-11").status_code == 303
    assert db.session.scalar(select(func.count(Bill.id))) == 2
    assert date(2024, 12, 1) == db.session.scalar(select(func.min(Bill.issued_on)))


def test_a_month_is_billed_only_once_it_has_ended_in_india(client, login_as, clock):
    clock.move_to(datetime(2026, 11, 30, 23, 30, tzinfo=INDIA), tick=False)  # the last evening of November
    login_as("billing")
    refused = start(client, "2026-11")
    assert refused.status_code == 422
    assert "2026-11 has not ended yet: it can be billed from the 1st of next month." in refused.get_data(as_text=True)
    assert db.session.scalar(select(func.count(BillRun.id))) == 0
    clock.move_to(datetime(2026, 12, 1, 0, 30, tzinfo=INDIA), tick=False)  # still 30 Nov in UTC
    assert start(client, "2026-11").status_code == 303
    assert db.session.scalar(select(BillRun.cycle)) == "2026-11"

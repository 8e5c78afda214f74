"""The important flows travelled to awkward days: the 1st and the last day of a month, 29 February, New Year's
Eve into New Year's Day, a due date on a Sunday, and the moment of 00:00 in India (18:30 UTC the day before).

The suite's clock (tests/conftest.py) starts each test at SUITE_NOW; these tests move it on purpose."""

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from app.accounts.models import Account
from app.billing.bills import bill_status
from app.billing.compose import Cycle
from app.billing.ledger import balance
from app.billing.models import Bill, BillStatus
from app.billing.runs import run_bills
from app.db import INDIA, today_in_india
from app.extensions import db
from app.metering.models import Reading, ReadingSource
from app.payments.services import rebate_offer
from tests import factories
from tests.functional.test_customer_pages import reading_form


def india(*args) -> datetime:
    """A moment written in Indian time, handed to the clock in UTC (time-machine then leaves the zone alone)."""
    return datetime(*args, tzinfo=INDIA).astimezone(UTC)


AWKWARD_MOMENTS = {
    "1st of a month": india(2026, 12, 1, 9, 0),
    "last day of a month": india(2027, 1, 31, 20, 0),
    "29 Feb": india(2028, 2, 29, 12, 0),
    "New Year's Eve, a minute to midnight": india(2026, 12, 31, 23, 59),
    "New Year's Day, midnight in India": india(2027, 1, 1, 0, 0),
    "00:15 in India on the 2nd": india(2027, 3, 2, 0, 15),
    "the 16th (the demo's latest cycle turns)": india(2026, 12, 16, 10, 0),
    "the 17th": india(2026, 12, 17, 10, 0),
}


def test_midnight_in_india_is_the_next_day_before_utc_turns(clock):
    clock.move_to(datetime(2026, 12, 31, 18, 29, 59, tzinfo=UTC), tick=False)
    assert today_in_india() == date(2026, 12, 31)
    clock.move_to(datetime(2026, 12, 31, 18, 30, tzinfo=UTC), tick=False)
    assert today_in_india() == date(2027, 1, 1)


# The demo seed: the same story on any day.

DEMO_DAYS = ["1st of a month", "29 Feb", "New Year's Day, midnight in India",
             "the 16th (the demo's latest cycle turns)"]


def sign_in(client, login: str) -> None:
    response = client.post("/login", data={"login": login, "password": "bijli-demo-2026"})
    assert response.status_code == 302


def latest_bill(consumer_number: str) -> Bill:
    account_id = db.session.scalar(select(Account.id).where(Account.consumer_number == consumer_number))
    return db.session.scalars(select(Bill).where(Bill.account_id == account_id)
                              .order_by(Bill.period_end.desc(), Bill.revision.desc())).first()


@pytest.mark.parametrize("moment", DEMO_DAYS)
def test_the_demo_tells_the_same_story_on_any_day(app, client, clock, moment):
    clock.move_to(AWKWARD_MOMENTS[moment])
    today = today_in_india()
    assert app.test_cli_runner().invoke(args=["demo", "seed"]).exit_code == 0

    assert len(db.session.scalars(select(Bill.cycle).distinct()).all()) == 24  # as the README says

    # Asha's home: billed two days ago, unpaid, the prompt-payment rebate on offer; a smart meter that has
    # reported every day up to yesterday, heading for a slab warning.
    home = latest_bill("170000000001")
    assert home.issued_on == today - timedelta(days=2)
    assert bill_status(home, balance(home.account_id), today) is BillStatus.DUE
    assert rebate_offer(home.account_id, today, digital=True) is not None
    last_read = db.session.scalar(select(func.max(Reading.read_on)).where(Reading.source == ReadingSource.SMART))
    assert last_read == today - timedelta(days=1)
    sign_in(client, "9876500001")
    page = client.get("/").get_data(as_text=True)
    assert "to save" in page and "units to the next slab" in page and "This period so far" in page

    # Ravi's Chennai flat: billed last month and not paid: overdue.
    flat = latest_bill("090200000001")
    assert bill_status(flat, balance(flat.account_id), today) is BillStatus.OVERDUE
    client.post("/logout")
    sign_in(client, "9876500002")
    client.post(f"/connections/{flat.account_id}/select")
    assert "Overdue since" in client.get("/").get_data(as_text=True)


# A bill run, the dashboard and a reading on each awkward day.

def regularly_read_customer(login_as, today: date):
    """A customer whose meter was read on the 1st of each of the last three months (or today), with the
    bills for those cycles issued the day of the reading."""
    user = login_as("customer")
    tariff = factories.make_tariff("derc-domestic-2019.json")  # open-ended: any recent cycle can be billed
    account = factories.make_account(tariff=tariff, region="Delhi", category="Domestic")
    factories.link(user, account)
    meter = factories.make_meter(account)
    this = Cycle(today.year, today.month)
    for n, cycle in enumerate(this.shifted(-k) for k in range(3, -1, -1)):
        factories.make_reading(meter, cycle.day(1), 1000 + 180 * n)
    from app.billing.services import set_monthly_param

    for k in range(4):
        for name, value in (("ppac_percent", "8"), ("pension_percent", "3.8")):
            set_monthly_param("DL-DERC-DOMESTIC", this.shifted(-k).first_day, name, value)
    db.session.commit()
    return account, meter


@pytest.mark.parametrize("moment", list(AWKWARD_MOMENTS))
def test_bill_run_dashboard_and_reading_on_an_awkward_day(client, login_as, clock, moment):
    clock.move_to(AWKWARD_MOMENTS[moment])
    today = today_in_india()
    account, meter = regularly_read_customer(login_as, today)
    this = Cycle(today.year, today.month)

    result = run_bills(this, issued_on=today)  # the month's run, on the day its last reading came in
    db.session.commit()
    assert result.billed == 1
    bill = latest_bill(account.consumer_number)
    assert (bill.cycle, bill.period_end, bill.issued_on) == (str(this), today.replace(day=1), today)
    assert bill.due_date > today
    assert run_bills(this, issued_on=today).billed == 0  # a rerun bills nobody twice

    page = client.get("/").get_data(as_text=True)
    assert "Amount due" in page and f"in {(bill.due_date - today).days} days" in page

    response = client.post("/readings/new", data=reading_form("1600", key="calendar-key-0001"),
                           content_type="multipart/form-data")
    assert response.status_code == 303, response.get_data(as_text=True)
    reading = db.session.scalar(select(Reading).where(Reading.source == ReadingSource.SELF))
    assert reading.read_on == today  # the Indian day, even when UTC still says yesterday


def test_a_due_date_on_a_sunday(client, login_as, clock):
    clock.move_to(india(2026, 11, 14, 10, 0))
    account, _meter = regularly_read_customer(login_as, today_in_india())
    bill = factories.make_bill(account, "1500.00", period_start=date(2026, 10, 1), issued_on=date(2026, 11, 14),
                               due_date=date(2026, 11, 29))
    db.session.commit()
    assert bill.due_date.weekday() == 6  # a Sunday

    clock.move_to(india(2026, 11, 29, 23, 59))
    assert bill_status(bill, balance(account.id), today_in_india()) is BillStatus.DUE
    assert "Due today, 29 Nov 2026" in client.get("/").get_data(as_text=True)

    clock.move_to(india(2026, 11, 30, 0, 0))
    assert bill_status(bill, balance(account.id), today_in_india()) is BillStatus.OVERDUE
    assert "Overdue since 29 Nov 2026" in client.get("/").get_data(as_text=True)

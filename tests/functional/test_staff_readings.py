"""The review queue: a reading that needs a person is approved (the next bill uses it) or rejected with a reason,
once, by staff of its office, and the audit log says who did what."""

from datetime import date

import pytest
from sqlalchemy import select

from app.audit.models import AuditLog
from app.billing.models import Bill
from app.billing.runs import Cycle, run_bills
from app.extensions import db
from app.metering.models import Meter, Reading, ReadingSource, ReadingStatus
from app.notifications.models import Notification
from tests import factories


@pytest.fixture
def flagged():
    return flagged_reading()


def flagged_reading(submitted_by=None):
    """A connection read at 1,000 on 5 Oct 2024 whose customer sent 1,221 with a photo on 5 Nov: to review."""
    account = factories.make_read_connection(factories.make_tariff(), closing=None, holder_name="Asha Patil")
    meter = db.session.scalar(select(Meter).where(Meter.account_id == account.id))
    reading = factories.make_reading(meter, date(2024, 11, 5), "1221", source=ReadingSource.SELF,
                                     status=ReadingStatus.NEEDS_REVIEW, review_note="much higher use than usual",
                                     photo_path="meter.jpg", submitted_by_id=getattr(submitted_by, "id", None))
    db.session.commit()
    return reading


def test_the_queue_shows_the_reading_with_its_photo_the_last_reading_and_why(client, login_as, flagged):
    login_as("support")
    page = client.get("/staff/readings").get_data(as_text=True)
    assert "1,221 · 5 Nov 2024" in page
    assert "Asha Patil" in page and "Much higher use than usual" in page
    assert f"/readings/{flagged.id}/photo" in page
    assert "221 units in 31 days" in page  # against the last accepted reading


def test_a_meter_that_went_past_its_highest_number_shows_the_real_use(client, login_as):
    account = factories.make_account(factories.make_tariff(), holder_name="Rollover Four")
    meter = factories.make_meter(account, digits=4)
    factories.make_reading(meter, date(2024, 10, 5), "9990")
    factories.make_reading(meter, date(2024, 11, 5), "15", status=ReadingStatus.NEEDS_REVIEW, rollover=True,
                           review_note="the meter rolled over")
    fallen = factories.make_meter(factories.make_account(factories.make_tariff(), holder_name="Fallen Five"))
    factories.make_reading(fallen, date(2024, 10, 5), "500")
    factories.make_reading(fallen, date(2024, 11, 5), "400", status=ReadingStatus.NEEDS_REVIEW,
                           review_note="older than the last reading")
    db.session.commit()
    login_as("support")
    page = client.get("/staff/readings").get_data(as_text=True)
    assert "25 units in 31 days (past the meter's highest number)" in page  # 9,990 → 9,999 → 0 → 15
    assert "-9,975" not in page and "-100 units" not in page
    assert "the new reading is lower and not marked as a rollover" in page
    assert "Lower than the last accepted reading" in page and "older than the last reading" not in page


def test_a_reading_one_day_after_the_last_says_one_day_in_english_and_hindi(client, login_as):
    account = factories.make_account(factories.make_tariff(), holder_name="Next Day")
    meter = factories.make_meter(account)
    factories.make_reading(meter, date(2024, 11, 4), "1000")
    factories.make_reading(meter, date(2024, 11, 5), "1090", status=ReadingStatus.NEEDS_REVIEW,
                           review_note="much higher use than usual")
    db.session.commit()
    login_as("support")
    page = client.get("/staff/readings").get_data(as_text=True)
    assert "90 units in 1 day" in page and "1 days" not in page
    client.post("/logout")
    login_as("support", locale="hi_IN")
    assert "1 दिन में 90 यूनिट" in client.get("/staff/readings").get_data(as_text=True)


def test_an_approved_reading_is_billed(client, login_as, flagged):
    reviewer = login_as("support")
    response = client.post(f"/staff/readings/{flagged.id}/approve", data={"note": ""}, follow_redirects=True)
    assert "Reading of 1,221 approved: the next bill uses it." in response.get_data(as_text=True)
    db.session.refresh(flagged)
    assert (flagged.status, flagged.reviewed_by_id) == (ReadingStatus.ACCEPTED, reviewer.id)
    entry = db.session.scalar(select(AuditLog).where(AuditLog.action == "reading.approved"))
    assert (entry.actor_id, entry.ip) == (reviewer.id, "127.0.0.1")  # who, and from where
    assert entry.details["before"]["status"] == "needs_review" and entry.details["after"]["status"] == "accepted"

    run_bills(Cycle(2024, 11), issued_on=date(2024, 11, 12))
    bill = db.session.scalar(select(Bill))
    assert bill.units == 221 and not bill.estimated
    assert "Nothing to review." in client.get("/staff/readings").get_data(as_text=True)


def test_a_rejection_needs_a_reason_and_is_never_billed(client, login_as, flagged):
    login_as("support")
    refused = client.post(f"/staff/readings/{flagged.id}/reject", data={"note": ""}, follow_redirects=True)
    assert "Say why the reading is rejected: the customer is told." in refused.get_data(as_text=True)
    db.session.refresh(flagged)
    assert flagged.status is ReadingStatus.NEEDS_REVIEW

    client.post(f"/staff/readings/{flagged.id}/reject", data={"note": "The photo shows 1,122."})
    db.session.refresh(flagged)
    assert (flagged.status, flagged.review_note) == (ReadingStatus.REJECTED, "The photo shows 1,122.")
    assert db.session.scalar(select(AuditLog.action).where(AuditLog.object_id == str(flagged.id),
                                                          AuditLog.action.like("reading.r%"))) == "reading.rejected"


def test_a_reading_is_reviewed_once(client, login_as, flagged):
    login_as("admin")
    client.post(f"/staff/readings/{flagged.id}/approve", data={"note": "Photo matches."})
    again = client.post(f"/staff/readings/{flagged.id}/reject", data={"note": "Changed my mind"},
                        follow_redirects=True)
    assert "This reading has already been reviewed." in again.get_data(as_text=True)
    db.session.refresh(flagged)
    assert flagged.status is ReadingStatus.ACCEPTED
    assert len(db.session.scalars(select(AuditLog).where(AuditLog.action.like("reading.%ed"),
                                                         AuditLog.object_id == str(flagged.id))).all()) == 1


def test_a_second_accepted_reading_for_the_same_day_is_refused(client, login_as, flagged):
    # The meter reader read it the same day, accepted.
    factories.make_reading(db.session.get(Meter, flagged.meter_id), date(2024, 11, 5), "1219")
    db.session.commit()
    login_as("support")
    response = client.post(f"/staff/readings/{flagged.id}/approve", data={"note": ""}, follow_redirects=True)
    assert "Another reading is already accepted for 5 Nov 2024: reject one of the two." in response.get_data(
        as_text=True)
    db.session.refresh(flagged)
    assert flagged.status is ReadingStatus.NEEDS_REVIEW


def test_staff_of_another_office_neither_see_nor_decide(client, login_as, flagged):
    login_as("support", office="Kochi")  # the connection is in Pune
    assert "Asha Patil" not in client.get("/staff/readings").get_data(as_text=True)
    assert client.post(f"/staff/readings/{flagged.id}/approve", data={"note": ""}).status_code == 404
    assert client.get(f"/readings/{flagged.id}/photo").status_code == 404
    db.session.refresh(flagged)
    assert flagged.status is ReadingStatus.NEEDS_REVIEW


def test_a_reviewed_reading_is_in_no_queue(client, login_as, flagged):
    other = db.session.get(Reading, flagged.id)
    other.status = ReadingStatus.REJECTED
    db.session.commit()
    login_as("support")
    assert "Nothing to review." in client.get("/staff/readings").get_data(as_text=True)


def test_the_customer_who_sent_it_is_told_the_outcome(client, login_as):
    customer = factories.make_user(name="Asha")
    reading = flagged_reading(submitted_by=customer)
    login_as("support")
    client.post(f"/staff/readings/{reading.id}/reject", data={"note": "The photo shows 1,122."})
    (notice,) = db.session.scalars(select(Notification))
    assert notice.user_id == customer.id and notice.url == f"/readings/{reading.id}"
    assert notice.title == "Your meter reading was not accepted"
    assert notice.body == "Your reading of 1,221 on 5 Nov 2024 was not accepted: The photo shows 1,122."


def test_a_reading_staff_typed_tells_nobody_when_it_is_reviewed(client, login_as):
    """Staff typed it from a reader's book: the outcome is theirs to know, not a customer's message."""
    reader = factories.make_user(role="support", name="Meter desk")
    reading = flagged_reading(submitted_by=reader)
    login_as("support")
    client.post(f"/staff/readings/{reading.id}/approve", data={"note": ""})
    assert db.session.scalars(select(Notification)).all() == []

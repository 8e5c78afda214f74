"""Complaints by office (issue 12, review): head office filters the queue by office; a complaint past its time
limit is given to a senior officer of its office (head office's when the office has none), who sees it as
escalated to them; a customer without a connection raises a new-connection complaint with the locality and an
office, which head office may send on to another office."""

from datetime import timedelta

import pytest
from sqlalchemy import select

from app.audit.models import AuditLog
from app.extensions import db
from app.support import services
from app.support.models import Ticket, TicketCategory
from app.support.tasks import escalate_overdue_complaints
from tests import factories
from tests.conftest import SUITE_NOW
from tests.functional.test_complaints import sign_in, staff_member


def complaint_in(region: str, description: str = "No power since morning.") -> Ticket:
    holder = factories.make_user()
    account = factories.make_account(region=region)
    factories.link(holder, account)
    ticket = services.raise_complaint(holder, account, TicketCategory.NO_SUPPLY, description)
    db.session.commit()
    return ticket


# --- the queue by office ------------------------------------------------------------------------------------------

def test_head_office_filters_the_queue_by_office_and_an_office_sees_its_own_only(app, client):
    pune, nashik = complaint_in("Pune"), complaint_in("Nashik")
    head = app.test_client()
    sign_in(head, staff_member(name="Hema Head"))
    everything = head.get("/staff/complaints").get_data(as_text=True)
    assert pune.number in everything and nashik.number in everything
    assert '<select id="office" name="office">' in everything
    only_pune = head.get("/staff/complaints?office=Pune").get_data(as_text=True)
    assert pune.number in only_pune and nashik.number not in only_pune
    nowhere = head.get("/staff/complaints?office=Nowhere")
    assert nowhere.status_code == 400 and "is not one of the choices" in nowhere.get_data(as_text=True)
    assert pune.number in nowhere.get_data(as_text=True)  # the filter left out: every office
    assert nashik.number not in head.get("/staff/complaints?office=head-office").get_data(as_text=True)

    office = app.test_client()
    sign_in(office, staff_member(office="Nashik", name="Nisha Nashik"))
    theirs = office.get("/staff/complaints").get_data(as_text=True)
    assert nashik.number in theirs and pune.number not in theirs and 'name="office"' not in theirs
    round_it = office.get("/staff/complaints?office=Pune")  # no way round their office
    assert round_it.status_code == 400 and pune.number not in round_it.get_data(as_text=True)
    assert nashik.number in round_it.get_data(as_text=True)


# --- escalation to a senior officer -------------------------------------------------------------------------------

def test_an_overdue_complaint_goes_to_its_offices_senior_officer_who_sees_it_escalated_to_them(app, clock):
    officer = staff_member(role="admin", office="Pune", name="Prakash Officer")
    staff_member(role="admin", name="Hema Head")  # head office's: not the first choice
    desk = staff_member(office="Pune", name="Pooja Desk")
    ticket = complaint_in("Pune")
    services.assign(ticket, desk, desk)
    db.session.commit()

    clock.move_to(SUITE_NOW + timedelta(hours=3, minutes=59), tick=False)  # within its 4 hours
    assert escalate_overdue_complaints.call_local() == "0 complaints escalated"
    clock.move_to(SUITE_NOW + timedelta(hours=4, minutes=1), tick=False)  # past them
    assert escalate_overdue_complaints.call_local() == "1 complaints escalated"
    db.session.rollback()  # the task committed in its own session
    db.session.refresh(ticket)
    assert ticket.escalated_to_id == ticket.assigned_to_id == officer.id
    audit = db.session.scalar(select(AuditLog).where(AuditLog.action == "complaint.escalated",
                                                     AuditLog.object_id == str(ticket.id)))
    assert audit.details["before"] == {"assigned_to": desk.id}
    assert audit.details["after"] == {"assigned_to": officer.id, "escalated_to": officer.id}

    browser = app.test_client()
    sign_in(browser, officer)
    queue = browser.get("/staff/complaints").get_data(as_text=True)
    assert "1 complaint was escalated to you." in queue and "Escalated to you" in queue
    page = browser.get(f"/staff/complaints/{ticket.id}").get_data(as_text=True)
    assert "to Prakash Officer (senior officer)" in page
    other = app.test_client()
    sign_in(other, desk)
    assert "escalated to you" not in other.get("/staff/complaints").get_data(as_text=True).lower()


def test_an_office_without_an_administrator_escalates_to_head_office(clock):
    head = staff_member(role="admin", name="Hema Head")
    staff_member(role="admin", office="Pune", name="Prakash Officer")  # another office's
    gone = staff_member(role="admin", office="Nashik", name="Old Officer")
    gone.active = False
    db.session.commit()
    ticket = complaint_in("Nashik")
    clock.move_to(SUITE_NOW + timedelta(hours=5), tick=False)
    assert services.escalate_overdue() == 1
    assert ticket.escalated_to_id == ticket.assigned_to_id == head.id


def test_without_any_administrator_it_is_escalated_and_left_with_its_assignee(clock):
    desk = staff_member(office="Pune", name="Pooja Desk")
    ticket = complaint_in("Pune")
    services.assign(ticket, desk, desk)
    clock.move_to(SUITE_NOW + timedelta(hours=5), tick=False)
    assert services.escalate_overdue() == 1
    assert ticket.escalated_at is not None and ticket.escalated_to_id is None and ticket.assigned_to_id == desk.id


# --- complaints from people without a connection ------------------------------------------------------------------

@pytest.fixture
def newcomer(login_as):
    factories.make_account(region="Pune")  # the offices are the regions with connections
    factories.make_account(region="Nashik")
    user = login_as("customer")
    db.session.commit()
    return user


def ask(client, **data):
    form = {"account_id": "", "category": "new_connection", "description": "A connection for my new shop, please.",
            "locality": "Shop 4, Baner Road, Baner", "office": "Pune", **data}
    return client.post("/complaints/new", data=form, content_type="multipart/form-data")


def test_a_customer_without_a_connection_asks_for_one_with_the_locality_and_an_office(app, client, newcomer):
    form = client.get("/complaints/new")
    html = form.get_data(as_text=True)
    assert form.status_code == 200 and "You have no connection linked yet." in html
    assert 'name="locality"' in html and '<option value="Nashik">Nashik</option>' in html
    assert ask(client).status_code == 303
    ticket = db.session.scalars(select(Ticket)).one()
    assert (ticket.account_id, ticket.category, ticket.office, ticket.locality) == (
        None, TicketCategory.NEW_CONNECTION, "Pune", "Shop 4, Baner Road, Baner")
    assert client.get(f"/complaints/{ticket.id}").status_code == 200

    pune, nashik = app.test_client(), app.test_client()
    sign_in(pune, staff_member(office="Pune", name="Pooja Pune"))
    sign_in(nashik, staff_member(office="Nashik", name="Nisha Nashik"))
    assert ticket.number in pune.get("/staff/complaints").get_data(as_text=True)
    page = pune.get(f"/staff/complaints/{ticket.id}").get_data(as_text=True)
    assert "Shop 4, Baner Road, Baner" in page and "None (no consumer number yet)" in page
    assert nashik.get(f"/staff/complaints/{ticket.id}").status_code == 404


@pytest.mark.parametrize(("data", "field", "message"), [
    ({"category": "billing_dispute"}, "account_id", "you can raise only a new connection request"),
    ({"category": "no_supply"}, "account_id", "you can raise only a new connection request"),
    ({"locality": " "}, "locality", "Give the address or locality"),
    ({"office": "Nowhere"}, "office", "Choose one of the listed offices."),
])
def test_without_a_connection_only_a_new_connection_or_something_else_with_its_locality(client, newcomer, data,
                                                                                       field, message):
    response = ask(client, **data)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert message in html.split(f'id="{field}-errors"')[1].split("</ul>")[0]
    assert db.session.scalar(select(Ticket)) is None


def test_something_else_without_a_connection_goes_to_head_office_which_sends_it_on(app, client, newcomer):
    assert ask(client, category="other", office="", description="A pole leans over the road.").status_code == 303
    ticket = db.session.scalars(select(Ticket)).one()
    assert ticket.office is None and ticket.category == TicketCategory.OTHER
    pune = app.test_client()
    sign_in(pune, staff_member(office="Pune", name="Pooja Pune"))
    assert pune.get(f"/staff/complaints/{ticket.id}").status_code == 404
    assert pune.post(f"/staff/complaints/{ticket.id}/route", data={"office": "Pune"}).status_code == 403

    head = app.test_client()
    sign_in(head, staff_member(name="Hema Head"))
    assert ticket.number in head.get("/staff/complaints?office=head-office").get_data(as_text=True)
    assert head.post(f"/staff/complaints/{ticket.id}/route", data={"office": "Pune"}).status_code == 303
    db.session.refresh(ticket)
    assert ticket.office == "Pune"
    assert db.session.scalar(select(AuditLog.details).where(AuditLog.action == "complaint.routed")) == {
        "before": {"office": None}, "after": {"office": "Pune"}}
    assert pune.get(f"/staff/complaints/{ticket.id}").status_code == 200


def test_a_complaint_of_a_connection_cannot_be_sent_to_another_office(app):
    ticket = complaint_in("Pune")
    head = app.test_client()
    sign_in(head, staff_member(name="Hema Head"))
    assert head.post(f"/staff/complaints/{ticket.id}/route", data={"office": "Nashik"}).status_code == 404
    with pytest.raises(services.ComplaintRefused):
        services.route(ticket, staff_member(name="Other Head"), "Nashik")

"""Complaints: a customer raises one and gets a reference number, follows its public replies, is told of each
reply and the resolution, reopens it once and is then shown the grievance forum; staff of its office answer it
(public reply or internal note), assign, set status and resolve it; past its time limit it is escalated once."""

import io
import re
from datetime import timedelta
from decimal import Decimal

import pytest
from PIL import Image
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app.audit.models import AuditLog
from app.db import utcnow
from app.extensions import db
from app.notifications.models import Notification, NotificationKind
from app.support import services
from app.support.models import Ticket, TicketCategory, TicketStatus
from app.support.tasks import escalate_overdue_complaints
from tests import factories
from tests.conftest import SUITE_NOW


def jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (640, 480), (120, 90, 60)).save(out, format="JPEG")
    return out.getvalue()


@pytest.fixture
def customer(login_as):
    user = login_as("customer")
    account = factories.make_account(region="Pune", holder_name="Asha Patil")
    factories.link(user, account)
    db.session.commit()
    return user, account


def raise_one(client, account, category="no_supply", description="No power since 8 am in the whole building.",
              **extra):
    data = {"account_id": str(account.id), "category": category, "description": description, **extra}
    return client.post("/complaints/new", data=data, content_type="multipart/form-data")


def only_ticket() -> Ticket:
    return db.session.scalars(select(Ticket)).one()


def ticket_notifications(user) -> list[Notification]:
    return list(db.session.scalars(select(Notification).where(
        Notification.user_id == user.id, Notification.kind == NotificationKind.TICKET).order_by(Notification.id)))


def staff_member(role="support", office=None, name="Ravi Desk"):
    staff = factories.make_user(role=role, office=office, name=name, email=f"{name.split()[0].lower()}@example.com")
    db.session.commit()
    return staff


def sign_in(client, user):
    client.post("/logout")
    response = client.post("/login", data={"login": user.email or user.mobile, "password": factories.PASSWORD})
    assert response.status_code == 302


# --- raising and following one --------------------------------------------------------------------------------------

def test_a_customer_raises_a_complaint_and_gets_a_reference_number(client, customer):
    user, account = customer
    form = client.get("/complaints/new").get_data(as_text=True)
    assert account.consumer_number in form and "Billing dispute" in form and 'enctype="multipart/form-data"' in form

    response = raise_one(client, account, photo=(io.BytesIO(jpeg()), "meter.jpg"))
    assert response.status_code == 303
    ticket = only_ticket()
    assert re.fullmatch(r"CMP-2611-000001", ticket.number)  # November 2026, the month's first
    assert (ticket.user_id, ticket.account_id, ticket.category, ticket.status) == (
        user.id, account.id, TicketCategory.NO_SUPPLY, TicketStatus.OPEN)
    assert ticket.due_at == ticket.created_at + timedelta(hours=4)  # no supply: hours, not days
    assert response.headers["Location"] == f"/complaints/{ticket.id}"

    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Complaint CMP-2611-000001 registered" in page and "No power since 8 am" in page
    assert "To be resolved by" in page and "14:30 IST, 18 Nov 2026" in page
    photo_url = f"/complaints/{ticket.id}/photos/{ticket.messages[0].id}"
    assert photo_url in page
    photo = client.get(photo_url)
    assert photo.status_code == 200 and photo.mimetype == "image/jpeg"
    assert "CMP-2611-000001" in client.get("/complaints").get_data(as_text=True)
    entry = db.session.scalar(select(AuditLog).where(AuditLog.action == "complaint.raised"))
    assert entry.actor_id == user.id and entry.details["category"] == "no_supply"


def test_a_complaint_needs_a_category_a_description_and_a_linked_connection(client, customer, login_as):
    _user, account = customer
    response = raise_one(client, account, category="", description="")
    assert response.status_code == 422
    assert "Please correct the marked fields." in response.get_data(as_text=True)
    too_short = raise_one(client, account, description=" x ")
    assert too_short.status_code == 422 and "Please write a few words." in too_short.get_data(as_text=True)
    stranger = factories.make_account(region="Pune")  # not linked to this customer
    db.session.commit()
    assert raise_one(client, stranger).status_code == 422
    assert db.session.scalar(select(Ticket)) is None


def test_a_photo_too_large_comes_back_at_its_field_with_the_form_kept(app, client, customer):
    _user, account = customer
    big = b"\xff\xd8" + b"\x00" * (7 * 1024 * 1024)
    assert len(big) > app.config["MAX_CONTENT_LENGTH"]  # over the app-wide limit: only upload_limit lets it in
    response = raise_one(client, account, category="meter_fault", description="The meter display is blank.",
                         photo=(io.BytesIO(big), "huge.jpg"))
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "The photo is too large (at most 5 MB)." in page and 'id="photo-errors"' in page
    assert "The meter display is blank." in page  # the description is kept
    assert re.search(r'value="meter_fault"[^>]*checked|checked[^>]*value="meter_fault"', page)
    assert db.session.scalar(select(Ticket)) is None


# --- reference numbers ---------------------------------------------------------------------------------------------

def test_reference_numbers_count_up_each_month_and_never_repeat(client, customer, clock):
    _user, account = customer
    raise_one(client, account)
    raise_one(client, account, category="voltage")
    clock.move_to(SUITE_NOW + timedelta(days=20), tick=False)  # 8 December
    raise_one(client, account, category="other")
    numbers = list(db.session.scalars(select(Ticket.number).order_by(Ticket.id)))
    assert numbers == ["CMP-2611-000001", "CMP-2611-000002", "CMP-2612-000001"]


def test_a_number_taken_meanwhile_by_another_request_makes_it_take_the_next(client, customer, monkeypatch):
    """Two complaints raised at once both read the same last number: the unique index lets one in and the
    other takes the next one (as if the other request had committed between its read and its write)."""
    user, account = customer
    raise_one(client, account)
    real = services.next_number
    stale = iter(["CMP-2611-000001"])  # what a request that read before the first one committed would compute
    monkeypatch.setattr(services, "next_number", lambda when: next(stale, None) or real(when))
    services.raise_complaint(user, account, TicketCategory.VOLTAGE, "Voltage drops every evening.")
    db.session.commit()
    assert sorted(db.session.scalars(select(Ticket.number))) == ["CMP-2611-000001", "CMP-2611-000002"]


def test_the_database_refuses_a_reference_number_twice(customer):
    user, account = customer
    first = services.raise_complaint(user, account, TicketCategory.OTHER, "First complaint.")
    twin = Ticket(number=first.number, user_id=user.id, account_id=account.id, category=TicketCategory.OTHER,
                  subject="Twin", due_at=utcnow())
    db.session.add(twin)
    with pytest.raises(IntegrityError):
        db.session.flush()
    db.session.rollback()


# --- who may see what ---------------------------------------------------------------------------------------------

def test_another_customers_complaint_is_not_found(app, client, customer, login_as):
    _user, account = customer
    raise_one(client, account, photo=(io.BytesIO(jpeg()), "meter.jpg"))
    ticket = only_ticket()
    other = app.test_client()
    intruder = factories.make_user(email="intruder@example.com")
    db.session.commit()
    sign_in(other, intruder)
    for url in (f"/complaints/{ticket.id}", f"/complaints/{ticket.id}/photos/{ticket.messages[0].id}"):
        assert other.get(url).status_code == 404, url
    assert other.post(f"/complaints/{ticket.id}/comment", data={"text": "Hello"}).status_code == 404
    assert other.post(f"/complaints/{ticket.id}/reopen", data={"reason": "Mine now"}).status_code == 404
    assert "CMP-2611-000001" not in other.get("/complaints").get_data(as_text=True)


def test_staff_see_and_act_on_their_own_offices_complaints_only(app, client, customer):
    _user, account = customer
    raise_one(client, account)
    ticket = only_ticket()
    elsewhere = app.test_client()
    sign_in(elsewhere, staff_member(office="Nashik", name="Nisha Nashik"))
    assert "CMP-2611-000001" not in elsewhere.get("/staff/complaints").get_data(as_text=True)
    assert elsewhere.get(f"/staff/complaints/{ticket.id}").status_code == 404
    assert elsewhere.post(f"/staff/complaints/{ticket.id}/resolve", data={"resolution": "Done"}).status_code == 404
    assert elsewhere.get(f"/complaints/{ticket.id}/photos/{ticket.messages[0].id}").status_code == 404

    here = app.test_client()
    sign_in(here, staff_member(office="Pune", name="Pooja Pune"))
    assert "CMP-2611-000001" in here.get("/staff/complaints").get_data(as_text=True)
    assert here.get(f"/staff/complaints/{ticket.id}").status_code == 200


# --- staff's answers ----------------------------------------------------------------------------------------------

def test_an_internal_note_is_never_shown_to_the_customer_nor_sent(app, client, customer):
    user, account = customer
    raise_one(client, account)
    ticket = only_ticket()
    desk = app.test_client()
    staff = staff_member()
    sign_in(desk, staff)
    desk.post(f"/staff/complaints/{ticket.id}/reply",
              data={"text": "Transformer DP-14 burnt; lineman says tomorrow.", "visibility": "internal"})
    assert ticket_notifications(user) == []
    assert "Transformer DP-14 burnt" not in client.get(f"/complaints/{ticket.id}").get_data(as_text=True)
    assert "Transformer DP-14 burnt" in desk.get(f"/staff/complaints/{ticket.id}").get_data(as_text=True)

    response = desk.post(f"/staff/complaints/{ticket.id}/reply",
                         data={"text": "A team is on its way to your area.", "visibility": "public"})
    assert response.status_code == 303
    customer_page = client.get(f"/complaints/{ticket.id}").get_data(as_text=True)
    assert "A team is on its way to your area." in customer_page and "Transformer DP-14" not in customer_page
    [told] = ticket_notifications(user)
    assert told.title == "Reply to your complaint CMP-2611-000001"
    assert told.body == "A team is on its way to your area." and told.url == f"/complaints/{ticket.id}"
    db.session.refresh(ticket)
    assert ticket.status is TicketStatus.IN_PROGRESS  # someone is on it
    actions = set(db.session.scalars(select(AuditLog.action).where(AuditLog.actor_id == staff.id)))
    assert actions == {"complaint.noted", "complaint.replied"}


def test_staff_filter_assign_and_set_status_each_audited(app, client, customer):
    _user, account = customer
    raise_one(client, account, category="billing_dispute", description="Billed 900 units, I used 200.")
    raise_one(client, account, category="voltage", description="Lights flicker every evening.")
    billing_ticket, voltage_ticket = db.session.scalars(select(Ticket).order_by(Ticket.id)).all()
    desk = app.test_client()
    me = staff_member(office="Pune", name="Pooja Pune")
    colleague = staff_member(office=None, name="Hemant Head")
    outsider = staff_member(office="Nashik", name="Nisha Nashik")
    sign_in(desk, me)

    page = desk.get("/staff/complaints?category=voltage").get_data(as_text=True)
    assert voltage_ticket.number in page and billing_ticket.number not in page
    for bad in ("category=nonsense", "status=nonsense"):
        response = desk.get(f"/staff/complaints?{bad}")
        assert response.status_code == 400 and "is not one of the choices" in response.get_data(as_text=True)
        assert voltage_ticket.number in response.get_data(as_text=True)  # the usual queue

    form = desk.get(f"/staff/complaints/{billing_ticket.id}").get_data(as_text=True)
    assert "Hemant Head" in form and "Pooja Pune (you)" in form and "Nisha Nashik" not in form
    assert desk.post(f"/staff/complaints/{billing_ticket.id}/assign",
                     data={"assignee": str(outsider.id)}).status_code == 422
    assert desk.post(f"/staff/complaints/{billing_ticket.id}/assign",
                     data={"assignee": str(colleague.id)}).status_code == 303
    assert desk.post(f"/staff/complaints/{billing_ticket.id}/status",
                     data={"status": "in_progress"}).status_code == 303
    db.session.refresh(billing_ticket)
    assert (billing_ticket.assigned_to_id, billing_ticket.status) == (colleague.id, TicketStatus.IN_PROGRESS)

    page = desk.get("/staff/complaints?status=in_progress").get_data(as_text=True)
    assert billing_ticket.number in page and voltage_ticket.number not in page and "Hemant Head" in page
    assigned = db.session.scalar(select(AuditLog).where(AuditLog.action == "complaint.assigned"))
    assert (assigned.actor_id, assigned.details["after"]["assigned_to"]) == (me.id, colleague.id)
    status = db.session.scalar(select(AuditLog).where(AuditLog.action == "complaint.status"))
    assert status.details == {"before": {"status": "open"}, "after": {"status": "in_progress"}}


def test_the_consumer_page_links_to_its_complaints(app, client, customer):
    _user, account = customer
    raise_one(client, account)
    ticket = only_ticket()
    desk = app.test_client()
    sign_in(desk, staff_member())
    page = desk.get(f"/staff/consumers/{account.id}").get_data(as_text=True)
    assert f'href="/staff/complaints/{ticket.id}"' in page


# --- resolution, reopening once, the forum -------------------------------------------------------------------------

def test_resolved_reopened_once_then_the_customer_is_shown_the_forum(app, client, customer):
    user, account = customer
    app.config["GRIEVANCE_FORUM_NAME"] = "CGRF, Pune Zone"
    app.config["GRIEVANCE_FORUM_ADDRESS"] = "Rastapeth, Pune 411011"
    try:
        raise_one(client, account, category="meter_fault", description="The meter runs with everything off.")
        ticket = only_ticket()
        desk = app.test_client()
        sign_in(desk, staff_member())
        assert desk.post(f"/staff/complaints/{ticket.id}/resolve", data={"resolution": ""}).status_code == 422
        desk.post(f"/staff/complaints/{ticket.id}/resolve", data={"resolution": "Meter tested and replaced."})
        db.session.refresh(ticket)
        assert ticket.status is TicketStatus.RESOLVED
        assert [n.title for n in ticket_notifications(user)] == ["Complaint CMP-2611-000001 resolved"]

        late = desk.post(f"/staff/complaints/{ticket.id}/reply", data={"text": "Also…", "visibility": "public"})
        assert late.status_code == 422 and "already resolved" in late.get_data(as_text=True)
        page = client.get(f"/complaints/{ticket.id}").get_data(as_text=True)
        assert "Meter tested and replaced." in page and "Reopen the complaint" in page
        assert "CGRF, Pune Zone" not in page
        response = client.post(f"/complaints/{ticket.id}/reopen", data={"reason": "It still runs fast."})
        assert response.status_code == 303
        db.session.refresh(ticket)
        assert ticket.status is TicketStatus.OPEN and ticket.reopened_at is not None

        desk.post(f"/staff/complaints/{ticket.id}/resolve", data={"resolution": "Checked again: the meter is right."})
        assert len(ticket_notifications(user)) == 2  # told of the second resolution too
        page = client.get(f"/complaints/{ticket.id}").get_data(as_text=True)
        assert "Reopen the complaint" not in page
        assert "CGRF, Pune Zone" in page and "Rastapeth, Pune 411011" in page and "Electricity Ombudsman" in page
        again = client.post(f"/complaints/{ticket.id}/reopen", data={"reason": "Still wrong."})
        assert again.status_code == 422 and "cannot be reopened again" in again.get_data(as_text=True)
        db.session.refresh(ticket)
        assert ticket.status is TicketStatus.RESOLVED
        assert db.session.scalar(select(AuditLog.actor_id).where(AuditLog.action == "complaint.reopened")) == user.id
    finally:
        app.config["GRIEVANCE_FORUM_NAME"] = app.config["GRIEVANCE_FORUM_ADDRESS"] = ""


def test_without_a_configured_forum_the_page_names_it_in_general_words(app, client, customer):
    user, account = customer
    ticket = services.raise_complaint(user, account, TicketCategory.OTHER, "Streetlight pole leaning.")
    staff = staff_member()
    services.resolve(ticket, staff, "Pole straightened.")
    db.session.commit()
    client.post(f"/complaints/{ticket.id}/reopen", data={"reason": "It leans again."})
    services.resolve(db.session.get(Ticket, ticket.id), staff, "Pole replaced.")
    db.session.commit()
    page = client.get(f"/complaints/{ticket.id}").get_data(as_text=True)
    assert "Consumer Grievance Redressal Forum (CGRF)" in page and "printed on your bill" in page


def test_the_customer_adds_to_an_open_complaint_but_not_to_a_resolved_one(client, customer):
    user, account = customer
    raise_one(client, account)
    ticket = only_ticket()
    assert client.post(f"/complaints/{ticket.id}/comment", data={"text": "Now the neighbours too."}).status_code == 303
    assert "Now the neighbours too." in client.get(f"/complaints/{ticket.id}").get_data(as_text=True)
    services.resolve(ticket, staff_member(), "Supply restored.")
    db.session.commit()
    refused = client.post(f"/complaints/{ticket.id}/comment", data={"text": "Thanks"})
    assert refused.status_code == 422 and "reopen it" in refused.get_data(as_text=True)


# --- time limits and escalation -------------------------------------------------------------------------------------

def test_a_complaint_past_its_time_limit_is_marked_and_escalated_once(app, client, customer, clock):
    user, account = customer
    raise_one(client, account, category="no_supply")  # 4 hours
    raise_one(client, account, category="voltage", description="Voltage is 170 V.")  # 24 hours
    no_supply, voltage = db.session.scalars(select(Ticket).order_by(Ticket.id)).all()
    assert escalate_overdue_complaints.call_local() == "0 complaints escalated"

    clock.move_to(SUITE_NOW + timedelta(hours=4, minutes=5), tick=False)
    assert escalate_overdue_complaints.call_local() == "1 complaints escalated"
    assert escalate_overdue_complaints.call_local() == "0 complaints escalated"  # once
    db.session.rollback()  # the task committed in a session of its own
    assert no_supply.escalated_at is not None and voltage.escalated_at is None
    [told] = ticket_notifications(user)
    assert told.title == "Complaint CMP-2611-000001 escalated"
    assert db.session.scalar(select(AuditLog.action).where(AuditLog.object_id == str(no_supply.id),
                                                           AuditLog.action == "complaint.escalated"))

    desk = app.test_client()
    sign_in(desk, staff_member())
    queue = desk.get("/staff/complaints").get_data(as_text=True)
    assert queue.index(no_supply.number) < queue.index(voltage.number) and "Escalated" in queue
    assert "Escalated" in client.get(f"/complaints/{no_supply.id}").get_data(as_text=True)


def test_a_resolved_complaint_is_never_escalated(client, customer, clock):
    user, account = customer
    ticket = services.raise_complaint(user, account, TicketCategory.NO_SUPPLY, "No power.")
    services.resolve(ticket, staff_member(), "Fuse replaced.")
    db.session.commit()
    clock.move_to(SUITE_NOW + timedelta(days=1), tick=False)
    assert services.escalate_overdue() == 0


def test_two_escalation_runs_at_once_escalate_a_complaint_once(customer, clock, monkeypatch):
    """The second run read the same overdue complaint before the first marked it: its conditional UPDATE finds
    it already escalated and writes nothing."""
    user, account = customer
    ticket = services.raise_complaint(user, account, TicketCategory.NO_SUPPLY, "No power.")
    db.session.commit()
    clock.move_to(SUITE_NOW + timedelta(hours=5), tick=False)
    stale_read = services.overdue_ids(utcnow())
    assert stale_read == [ticket.id]
    ticket.escalated_at = utcnow()  # the other run's mark, made after this run read
    db.session.flush()
    monkeypatch.setattr(services, "overdue_ids", lambda _now: stale_read)
    assert services.escalate_overdue() == 0
    assert ticket_notifications(user) == []


def test_time_limits_come_from_the_configuration():
    from config import ConfigError, parse_time_limits

    limits = parse_time_limits("no_supply=6h, meter_fault=10d")
    assert limits["no_supply"] == timedelta(hours=6) and limits["meter_fault"] == timedelta(days=10)
    assert limits["billing_dispute"] == timedelta(days=15)  # the default stays
    assert set(limits) == {c.value for c in TicketCategory}
    for wrong in ("no_supply=4", "power=4h", "voltage=0h", "voltage=-1d"):
        with pytest.raises(ConfigError):
            parse_time_limits(wrong)


# --- finding the page, and in Hindi ---------------------------------------------------------------------------------

def test_the_home_page_and_a_connection_without_a_meter_lead_to_the_complaint_form(client, customer):
    assert 'href="/complaints"' in client.get("/").get_data(as_text=True)
    page = client.get("/readings/new").get_data(as_text=True)  # this connection has no meter on record
    assert "Please raise a complaint." in page and 'href="/complaints/new"' in page


def test_a_hindi_speaking_customer_raises_and_is_told_in_hindi(app, client, customer):
    user, account = customer
    user.locale = "hi_IN"
    db.session.commit()
    form = client.get("/complaints/new").get_data(as_text=True)
    assert "शिकायत दर्ज करें" in form and "बिल पर विवाद" in form and "समस्या बताइए" in form
    raise_one(client, account)
    ticket = only_ticket()
    page = client.get(f"/complaints/{ticket.id}").get_data(as_text=True)
    assert "शिकायत CMP-2611-000001 दर्ज हो गई" in page and "सुलझाने की समय-सीमा" in page
    services.resolve(ticket, staff_member(), "Fuse replaced.")  # staff work in English
    db.session.commit()
    [told] = ticket_notifications(user)
    assert told.title == "शिकायत CMP-2611-000001 सुलझा दी गई"


def test_a_reopened_complaint_keeps_its_escalation_on_the_pages_and_in_the_report(app, client, customer, clock):
    """Escalated, resolved, then reopened with a fresh time limit and resolved within it: the pages still say it
    was escalated and reopened, and the report does not count it as resolved in time."""
    from app.reports import figures
    from app.reports.months import MonthRange

    user, account = customer
    ticket = services.raise_complaint(user, account, TicketCategory.NO_SUPPLY, "No power.")
    db.session.commit()
    clock.move_to(SUITE_NOW + timedelta(hours=5), tick=False)
    assert services.escalate_overdue() == 1
    staff = staff_member()
    services.resolve(ticket, staff, "Line repaired.")
    db.session.commit()
    assert client.post(f"/complaints/{ticket.id}/reopen", data={"reason": "Off again."}).status_code == 303
    services.resolve(db.session.get(Ticket, ticket.id), staff, "Transformer fuse replaced.")  # within the new limit
    db.session.commit()

    page = client.get(f"/complaints/{ticket.id}").get_data(as_text=True)
    assert "Escalated to a senior officer" in page and "Reopened" in page and account.consumer_number in page
    desk = app.test_client()
    sign_in(desk, staff)
    assert "Escalated" in desk.get(f"/staff/complaints/{ticket.id}").get_data(as_text=True)
    month = SUITE_NOW.date().replace(day=1)
    rows = {row[0]: row[1:] for row in figures.complaints(MonthRange(month, month), None).rows}
    raised, resolved, in_time = rows["No supply (power cut at my premises)"][:3]
    assert (raised, resolved, in_time) == (1, 1, Decimal("0.0"))


def test_a_complaint_never_escalated_is_not_shown_as_escalated(client, customer):
    user, account = customer
    ticket = services.raise_complaint(user, account, TicketCategory.OTHER, "Pole leaning.")
    db.session.commit()
    page = client.get(f"/complaints/{ticket.id}").get_data(as_text=True)
    assert "Escalated to a senior officer" not in page and "Reopened</dt>" not in page


def test_the_fields_without_a_connection_say_when_they_apply(client, customer):
    """Without JavaScript they are shown with a hint; app.js hides them unless "No connection yet" is chosen."""
    page = client.get("/complaints/new").get_data(as_text=True)
    assert 'data-shown-when="account_id="' in page and "Only if you chose “No connection yet” above." in page
    assert '<option value="">No connection yet' in page  # the value the group is shown for

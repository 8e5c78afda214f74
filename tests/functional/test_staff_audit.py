"""/staff/audit: the audit log, read-only, newest first, filtered by person, consumer, action and dates."""

from datetime import datetime, timedelta

import pytest

from app import audit
from app.audit.models import AuditLog
from app.db import INDIA
from app.extensions import db
from tests import factories


def rows_shown(client, query: str = "") -> str:
    response = client.get(f"/staff/audit{query}")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_each_row_shows_who_what_object_details_ip_and_time(client, login_as):
    admin = login_as("admin")
    member = factories.make_user("support", name="Sunil Support")
    db.session.commit()
    client.post(f"/staff/users/{member.id}/role", data={"role": "billing", "office": ""},
                environ_base={"REMOTE_ADDR": "192.0.2.44"})
    page = rows_shown(client)
    assert "user.role_changed" in page and admin.name in page
    assert f'href="/staff/users/{member.id}">User {member.id}' in page  # the object, linked
    assert "role: support → <strong>billing</strong>" in page  # before and after, readable
    assert "192.0.2.44" in page
    assert "IST" in page


def test_the_filters_narrow_by_person_consumer_action_and_date(client, login_as, clock):
    asha = factories.make_user("support", name="Asha Rao", email="asha@dtech.example")
    ravi = factories.make_user("billing", name="Ravi Shah")
    tariff = factories.make_tariff()
    mine = factories.make_account(tariff=tariff, consumer_number="170000000001")
    other = factories.make_account(tariff=tariff, consumer_number="170000000002")
    meter = factories.make_meter(mine)
    reading = factories.make_reading(meter, datetime(2026, 11, 1).date(), "1500")
    bill = factories.make_bill(mine, "500")
    audit.record("reading.approved", reading, {"value": "1500"}, actor=asha)
    audit.record("bill.cancelled", bill, {"reason": "wrong reading"}, actor=ravi)
    audit.record("account.paperless", other, {"paperless": True}, actor=asha)
    db.session.commit()
    clock.move_to(datetime(2026, 11, 20, 9, 0, tzinfo=INDIA))
    audit.record("account.linked", mine, {"user_id": asha.id}, actor=ravi)
    db.session.commit()
    login_as("admin")  # on the day looked at (a staff sign-in ends after an hour without use)

    by_asha = rows_shown(client, "?person=asha@dtech.example")
    assert "reading.approved" in by_asha and "account.paperless" in by_asha and "bill.cancelled" not in by_asha
    assert "bill.cancelled" in rows_shown(client, "?person=shah") and "reading.approved" not in \
        rows_shown(client, "?person=shah")

    about_mine = rows_shown(client, "?consumer=170000000001")
    assert all(action in about_mine for action in ("reading.approved", "bill.cancelled", "account.linked"))
    assert "account.paperless" not in about_mine
    assert "No connection has the consumer number" in rows_shown(client, "?consumer=999")

    accounts_only = rows_shown(client, "?action=account.")
    assert "account.paperless" in accounts_only and "bill.cancelled" not in accounts_only
    assert "Nothing matches" in rows_shown(client, "?action=%25")  # a wildcard is a character, not "anything"

    on_the_20th = rows_shown(client, "?from=2026-11-20&to=2026-11-20")
    assert "account.linked" in on_the_20th and "reading.approved" not in on_the_20th
    until_the_18th = rows_shown(client, "?to=2026-11-18")
    assert "reading.approved" in until_the_18th and "account.linked" not in until_the_18th


def test_newest_first_and_paginated_with_the_filters_kept(client, login_as):
    admin = login_as("admin")
    account = factories.make_account()
    for n in range(55):
        db.session.add(AuditLog(actor_id=admin.id, action=f"account.test_{n:02d}", object_type="Account",
                                object_id=str(account.id), details={},
                                created_at=datetime(2026, 11, 1, tzinfo=INDIA) + timedelta(minutes=n)))
    db.session.commit()
    first = rows_shown(client, "?action=account.test")
    assert first.index("account.test_54") < first.index("account.test_53")
    assert "account.test_04" not in first
    assert 'href="/staff/audit?page=2&amp;action=account.test"' in first
    second = rows_shown(client, "?action=account.test&page=2")
    assert "account.test_04" in second and "account.test_05" not in second
    assert client.get("/staff/audit?page=0").status_code == 404
    assert client.get("/staff/audit?page=x").status_code == 404
    assert client.get("/staff/audit?from=not-a-date").status_code == 400  # said, not ignored


def test_the_log_is_read_only(client, login_as):
    login_as("admin")
    assert client.post("/staff/audit").status_code == 405
    page = rows_shown(client)
    assert page.count('method="post"') == 1 and 'action="/logout"' in page  # only signing out writes



@pytest.mark.parametrize("query", ["?from=2026-99-01", "?to=yesterday", "?from=2026-11-20&to=2026-11-19"])
def test_a_date_that_is_none_is_said_and_nothing_is_shown(client, login_as, query):
    login_as("admin")
    audit.record("bill.cancelled", factories.make_user(), {"reason": "x"}, actor=None)
    db.session.commit()
    response = client.get(f"/staff/audit{query}")
    page = response.get_data(as_text=True)
    assert response.status_code == 400 and "Give the dates as year-month-day" in page
    assert "bill.cancelled" not in page

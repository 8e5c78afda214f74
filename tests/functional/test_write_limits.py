"""A signed-in customer's writes that reach staff or cost work (complaints, readings with photos, push
subscriptions) are limited per person, counted atomically in the database like every other limit."""

from sqlalchemy import func, select

from app.extensions import db
from app.support.models import Ticket
from tests.functional.test_complaints import customer, raise_one  # noqa: F401 - customer is a fixture
from tests.functional.test_customer_pages import billed_customer, reading_form


def test_complaints_beyond_the_limit_are_refused_and_not_raised(app, client, customer, monkeypatch):  # noqa: F811
    monkeypatch.setitem(app.config, "COMPLAINTS_LIMIT_PER_USER", (2, app.config["COMPLAINTS_LIMIT_PER_USER"][1]))
    _user, account = customer
    assert [raise_one(client, account).status_code for _ in range(3)] == [303, 303, 429]
    assert db.session.scalar(select(func.count(Ticket.id))) == 2
    assert client.get("/complaints").status_code == 200  # reading is never counted


def test_readings_beyond_the_limit_are_refused(app, client, login_as, monkeypatch):
    monkeypatch.setitem(app.config, "READINGS_LIMIT_PER_USER", (1, app.config["READINGS_LIMIT_PER_USER"][1]))
    billed_customer(login_as, months=2)
    first = client.post("/readings/new", data=reading_form("99999", key="a" * 32), content_type="multipart/form-data")
    second = client.post("/readings/new", data=reading_form("99999", key="b" * 32), content_type="multipart/form-data")
    assert first.status_code != 429 and second.status_code == 429


def test_push_subscription_calls_beyond_the_limit_are_refused(app, client, login_as, monkeypatch):
    monkeypatch.setitem(app.config, "PUSH_LIMIT_PER_USER", (3, app.config["PUSH_LIMIT_PER_USER"][1]))
    login_as("customer")
    asked = [client.post("/push/subscription/state", json={"endpoint": "https://fcm.googleapis.com/x"}).status_code
             for _ in range(4)]
    assert asked == [200, 200, 200, 429]

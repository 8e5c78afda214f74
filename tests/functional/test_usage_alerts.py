"""Usage alerts when a reading is accepted: the projection passes the customer's monthly budget (₹ or units), passes
into a dearer slab, or the reading shows use far above the usual; each once per period (or reading) and person.
The budget is set on the notification choices page."""

from datetime import timedelta
from decimal import Decimal

from sqlalchemy import select

from app.extensions import db
from app.metering.models import Reading, ReadingStatus
from app.notifications.models import Notification, NotificationKind, UsageBudget
from tests import factories
from tests.functional.test_customer_pages import billed_customer, reading_form


def alerts(user=None) -> list[Notification]:
    db.session.commit()
    query = select(Notification).where(Notification.kind == NotificationKind.USAGE_ALERT).order_by(Notification.id)
    if user is not None:
        query = query.where(Notification.user_id == user.id)
    return list(db.session.scalars(query))


def last_value() -> Decimal:
    return db.session.scalars(select(Reading.value).order_by(Reading.read_on.desc(), Reading.id.desc())).first()


def submit(client, advance: int, key: str):
    response = client.post("/readings/new", data=reading_form(str(last_value() + advance), key=key * 32),
                           content_type="multipart/form-data")
    assert response.status_code == 303, response.get_data(as_text=True)
    return db.session.scalars(select(Reading).order_by(Reading.id.desc())).first()


def test_a_budget_in_rupees_is_set_and_its_alert_comes_once_a_period(client, login_as, clock):
    user, account, _meter = billed_customer(login_as, months=3)
    assert client.post("/notifications/budget", data={"limit": "₹500", "unit": "rupees"}).status_code == 302
    assert db.session.scalar(select(UsageBudget.amount)) == Decimal("500.00")
    assert "value=\"500.00\"" in client.get("/notifications/settings").get_data(as_text=True)
    submit(client, 60, "a")  # 60 units in 13 days: about 138 this period, over ₹500
    (alert,) = alerts(user)
    assert alert.title == "Heading over your budget"
    assert alert.body.startswith(f"At this rate the bill for connection ending {account.consumer_number[-4:]} "
                                 "comes to about ₹") and alert.body.endswith("over your budget of ₹500.00.")
    clock.shift(timedelta(days=1))
    submit(client, 10, "b")
    assert len(alerts(user)) == 1  # once this period


def test_a_budget_in_units_and_a_dearer_slab(client, login_as):
    user, account, _meter = billed_customer(login_as, months=3)
    client.post("/notifications/budget", data={"limit": "150", "unit": "units"})
    submit(client, 100, "a")  # about 238 units this period (31 days): over 150 units, and past the 200-unit slab
    titles = [a.title for a in alerts(user)]
    assert titles == ["Heading over your budget", "Heading into a dearer slab"]
    budget, slab = alerts(user)
    assert "uses about 238 units this period, over your budget of 150 units." in budget.body
    assert slab.body == (f"At this rate connection ending {account.consumer_number[-4:]} passes 205 units this "
                         "period; each unit after that costs ₹4.50 instead of ₹3.00.")  # 200 a month, for 31 days


def test_no_budget_and_a_modest_reading_alert_no_one(client, login_as):
    user, _account, _meter = billed_customer(login_as, months=3)
    submit(client, 40, "a")  # about 92 units: below the first slab's end, no budget
    assert alerts() == []


def test_a_reading_far_above_the_usual_tells_the_others_linked_not_the_one_who_sent_it(client, login_as):
    user, account, _meter = billed_customer(login_as, months=3)
    spouse = factories.make_user(locale="hi_IN")
    factories.link(spouse, account)
    db.session.commit()
    reading = submit(client, 160, "a")  # about 12 units a day against about 5.6 usually
    assert reading.status is ReadingStatus.ACCEPTED
    assert "Much higher use than usual" not in [a.title for a in alerts(user)]
    high = [a for a in alerts(spouse) if a.dedupe_key.startswith("usage:high:")]
    assert len(high) == 1 and high[0].title == "सामान्य से बहुत ज़्यादा खपत"
    assert high[0].url == "/usage"


def test_an_unchecked_reading_alerts_no_one(client, login_as):
    user, account, _meter = billed_customer(login_as, months=3)
    client.post("/notifications/budget", data={"limit": "100", "unit": "rupees"})
    reading = submit(client, 900, "a")  # far too high: staff check it first
    assert reading.status is ReadingStatus.NEEDS_REVIEW
    assert alerts() == []


def test_the_budget_form_refuses_nonsense_and_removes(client, login_as):
    billed_customer(login_as, months=3)
    for bad in ("lots", "-5", "0", "1e5", "12.345"):
        response = client.post("/notifications/budget", data={"limit": bad, "unit": "rupees"})
        assert response.status_code == 422, bad
        assert "Give the budget as a number" in response.get_data(as_text=True)
    assert db.session.scalar(select(UsageBudget)) is None
    client.post("/notifications/budget", data={"limit": "800", "unit": "units"})
    assert db.session.scalar(select(UsageBudget.units)) == Decimal("800")
    client.post("/notifications/budget", data={"limit": "800", "unit": "units", "remove": "1"})
    assert db.session.scalar(select(UsageBudget)) is None


def test_a_budget_is_for_a_linked_connection_only(client, login_as):
    login_as()  # no connection linked
    assert client.post("/notifications/budget", data={"limit": "800", "unit": "units"}).status_code == 404

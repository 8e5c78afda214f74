"""Notifications: the inbox item is written at once, push and SMS deliveries leave after the commit (never in quiet
hours), are retried with growing waits and recorded, never sent twice; the inbox pages show a customer only their
own notifications."""

import re
import threading
from datetime import UTC, datetime, timedelta

import pytest
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from app.extensions import db
from app.messaging.kinds import MessageKind
from app.messaging.models import OutboundMessage
from app.notifications import delivery, push
from app.notifications.models import (
    Channel,
    DeliveryStatus,
    Notification,
    NotificationDelivery,
    NotificationKind,
    NotificationPreference,
    PushSubscription,
)
from app.notifications.services import Sms, notify, release_time, set_preference
from app.notifications.tasks import sweep_deliveries
from app.taskqueue import in_own_transaction
from tests import factories

K = NotificationKind
BILL_SMS = Sms(MessageKind.DUE_REMINDER, {"number": "990000000001", "amount": "1,234.50", "due": "03-12-2026"})
DAY = datetime(2026, 11, 20, 6, 0, tzinfo=UTC)  # 11:30 in India
NIGHT = datetime(2026, 11, 20, 17, 0, tzinfo=UTC)  # 22:30 in India
MORNING = datetime(2026, 11, 21, 1, 30, tzinfo=UTC)  # 07:00 in India


def fake_push_service(monkeypatch, push_one) -> None:
    """Stand in for the push services: push_batch asks `push_one(user_id, payload, ttl=, urgency=)` for each
    message; a PushRetry or PushUndelivered it raises is that message's answer."""
    def push_batch(messages, threads=1):
        answers = {}
        for message in messages:
            try:
                push_one(message.user_id, message.payload, ttl=message.ttl, urgency=message.urgency)
                answers[message.key] = None
            except (push.PushRetry, push.PushUndelivered) as error:
                answers[message.key] = error
        return answers

    monkeypatch.setattr(push, "push_batch", push_batch)


@pytest.fixture
def pushed(monkeypatch):
    """What was pushed: (user id, payload, ttl, urgency)."""
    calls = []

    def fake_push(user_id, payload, *, ttl, urgency):
        calls.append((user_id, payload, ttl, urgency))

    fake_push_service(monkeypatch, fake_push)
    return calls


def subscribed(user):
    db.session.add(PushSubscription(user_id=user.id, endpoint=f"https://push.example/{user.id}", p256dh="k",
                                    auth="a"))
    db.session.flush()
    return user


def deliveries() -> list[NotificationDelivery]:
    db.session.commit()
    return list(db.session.scalars(select(NotificationDelivery).order_by(NotificationDelivery.id)))


def test_a_notification_is_in_the_inbox_at_once_and_pushed_after_the_commit(clock, pushed, outbox):
    clock.move_to(DAY, tick=False)
    user = subscribed(factories.make_user(mobile="+919811111111"))
    notification = notify(user, K.PAYMENT, "Payment received", "₹500 for 9900…", "/payments/1")
    db.session.flush()
    assert notification.id and pushed == []  # not before the commit
    db.session.commit()
    ((user_id, payload, ttl, urgency),) = pushed
    assert user_id == user.id and urgency == "normal" and ttl == 86400
    assert payload == {"title": "Payment received", "body": "₹500 for 9900…",
                       "url": f"/notifications/{notification.id}", "tag": f"payment-{notification.id}"}
    (row,) = deliveries()  # payments go by push only unless the customer asks for SMS
    assert row.channel is Channel.PUSH and row.status is DeliveryStatus.SENT and row.attempts == 1
    assert outbox == []


def test_reminders_go_by_sms_too_through_the_message_outbox_and_not_without_push(clock, pushed, outbox):
    clock.move_to(DAY, tick=False)
    user = factories.make_user(mobile="+919811111111")  # no push subscription
    notify(user, K.DUE_REMINDER, "Bill due", "Pay by 3 Dec", "/bills/1", sms=BILL_SMS)
    db.session.commit()
    assert pushed == []
    (row,) = deliveries()
    assert row.channel is Channel.SMS and row.status is DeliveryStatus.SENT
    (sms,) = outbox
    assert sms.to == "+919811111111" and sms.body == "Bill due: Pay by 3 Dec"
    # The DLT template's variables, each short and plain, not the whole text in one
    assert (sms.kind, sms.params) == ("due_reminder", BILL_SMS.params)


def test_a_customer_with_push_on_gets_bills_by_push_only_unless_they_ask_for_sms(clock, pushed, outbox, client,
                                                                                login_as):
    clock.move_to(DAY, tick=False)
    without_push = factories.make_user(mobile="+919811100001")
    with_push = subscribed(factories.make_user(mobile="+919811100002"))
    for user in (without_push, with_push):
        notify(user, K.BILL_ISSUED, "Bill ready", "₹1,234.50 due on 3 Dec", sms=BILL_SMS)
    db.session.commit()
    assert [m.to for m in outbox] == ["+919811100001"]
    assert [user_id for user_id, *_rest in pushed] == [with_push.id]
    login_as(mobile="+919811100009")
    page = client.get("/notifications/settings").get_data(as_text=True)
    assert 'name="bills-sms" checked' in page  # no push on this phone yet: bills by SMS


def test_a_notification_without_an_sms_template_never_goes_by_sms(clock, pushed, outbox):
    clock.move_to(DAY, tick=False)
    user = factories.make_user(mobile="+919811111111")
    db.session.add(NotificationPreference(user_id=user.id, kind=K.ANNOUNCEMENT, channel=Channel.SMS, enabled=True))
    notify(user, K.ANNOUNCEMENT, "Planned outage", "Tomorrow 10:00–14:00 in Kothrud")
    db.session.commit()
    assert deliveries() == [] and outbox == []


def test_sms_template_variables_must_be_the_templates_own():
    with pytest.raises(ValueError, match="amount, due, number"):
        Sms(MessageKind.BILL_ISSUED, {"text": "Your bill is ready"})


def test_a_rolled_back_notification_sends_nothing(clock, pushed):
    user = subscribed(factories.make_user())
    db.session.commit()
    notify(user, K.PAYMENT, "t", "b")
    db.session.rollback()
    sweep_deliveries.call_local()
    assert pushed == [] and deliveries() == []


def test_the_same_dedupe_key_is_written_once_and_the_callers_transaction_goes_on(pushed):
    user = subscribed(factories.make_user())
    first = notify(user, K.DUE_REMINDER, "Due", "b", dedupe_key="reminder:1:due")
    second = notify(user, K.DUE_REMINDER, "Due", "b", dedupe_key="reminder:1:due")
    other = notify(user, K.DUE_REMINDER, "Due", "b", dedupe_key="reminder:1:after")
    db.session.commit()
    assert first is not None and second is None and other is not None
    assert db.session.scalars(select(Notification.dedupe_key).order_by(Notification.id)).all() == [
        "reminder:1:due", "reminder:1:after"]
    assert len(pushed) == 2


def test_texts_are_in_the_users_language(pushed):
    user = subscribed(factories.make_user(locale="hi_IN"))
    notify(user, K.PAYMENT, _l("Notifications"), _l("Mark all read"))
    db.session.commit()
    (notification,) = db.session.scalars(select(Notification))
    assert (notification.title, notification.body) == ("सूचनाएँ", "सब पढ़ा हुआ करें")
    assert pushed[0][1]["title"] == "सूचनाएँ"


@pytest.mark.parametrize("moment, held", [
    (datetime(2026, 11, 20, 16, 29, tzinfo=UTC), None),  # 21:59 in India: sent
    (NIGHT, MORNING),
    (datetime(2026, 11, 20, 20, 0, tzinfo=UTC), MORNING),  # 01:30
    (datetime(2026, 11, 21, 1, 29, tzinfo=UTC), MORNING),  # 06:59
    (MORNING, None),
])
def test_quiet_hours_hold_push_and_sms_until_seven_in_india(moment, held):
    user = factories.make_user()
    assert release_time(user, moment) == (held or moment)


def test_a_notification_at_night_is_in_the_inbox_at_once_and_pushed_at_seven(clock, pushed, outbox, client):
    clock.move_to(NIGHT, tick=False)
    user = subscribed(factories.make_user(mobile="+919811111111"))
    set_preference(user, [K.DUE_REMINDER], Channel.SMS, True)  # by SMS too, as they chose
    notify(user, K.DUE_REMINDER, "Bill due", "Pay by 21 Nov", sms=BILL_SMS)
    db.session.commit()
    assert pushed == [] and outbox == []
    assert {(d.status, d.next_attempt_at) for d in deliveries()} == {(DeliveryStatus.PENDING, MORNING)}
    assert db.session.scalar(select(Notification.title)) == "Bill due"  # the inbox has it now
    clock.move_to(MORNING - timedelta(seconds=1), tick=False)
    sweep_deliveries.call_local()
    assert pushed == []
    clock.move_to(MORNING, tick=False)
    sweep_deliveries.call_local()
    assert len(pushed) == 1 and len(outbox) == 1
    assert {d.status for d in deliveries()} == {DeliveryStatus.SENT}


def test_a_failed_push_is_retried_with_growing_waits_its_error_kept_then_given_up(clock, monkeypatch):
    clock.move_to(DAY, tick=False)
    attempts = []

    def unavailable(user_id, payload, *, ttl, urgency):
        attempts.append(user_id)
        raise push.PushRetry("push service answered 503")

    fake_push_service(monkeypatch, unavailable)
    user = subscribed(factories.make_user())
    notify(user, K.PAYMENT, "t", "b")
    db.session.commit()
    (row,) = deliveries()
    assert row.status is DeliveryStatus.FAILED and row.attempts == 1
    assert row.last_error == "PushRetry: push service answered 503"
    assert row.next_attempt_at == DAY + timedelta(seconds=30)
    clock.shift(timedelta(seconds=29))
    sweep_deliveries.call_local()
    assert len(attempts) == 1
    clock.shift(timedelta(seconds=1))
    sweep_deliveries.call_local()
    (row,) = deliveries()
    assert len(attempts) == 2 and row.next_attempt_at == DAY + timedelta(seconds=30 + 60)
    for _ in range(delivery.MAX_ATTEMPTS):
        clock.move_to(release_time(user, row.next_attempt_at), tick=False)
        sweep_deliveries.call_local()
        (row,) = deliveries()
    assert row.status is DeliveryStatus.DEAD and row.attempts == delivery.MAX_ATTEMPTS
    assert len(attempts) == delivery.MAX_ATTEMPTS


def test_a_retry_that_would_fall_in_quiet_hours_waits_for_the_morning(clock, monkeypatch):
    clock.move_to(datetime(2026, 11, 20, 16, 29, 50, tzinfo=UTC), tick=False)  # 21:59:50 in India

    def unavailable(*args, **kwargs):
        raise push.PushRetry("503")

    fake_push_service(monkeypatch, unavailable)
    notify(subscribed(factories.make_user()), K.PAYMENT, "t", "b")
    db.session.commit()
    (row,) = deliveries()
    assert row.status is DeliveryStatus.FAILED and row.next_attempt_at == MORNING


def unsent(count: int, user) -> None:
    """Notifications with push deliveries written straight into the tables (nothing enqueued at the commit)."""
    for n in range(count):
        notification = Notification(user_id=user.id, kind=K.PAYMENT, title=f"n{n}", body="b")
        db.session.add(notification)
        db.session.flush()
        db.session.add(NotificationDelivery(notification_id=notification.id, channel=Channel.PUSH))
    db.session.commit()


def test_two_consumers_sweeping_at_once_push_each_notification_once(app, pushed):
    unsent(40, subscribed(factories.make_user()))
    start = threading.Barrier(2)
    errors = []

    def consumer():
        try:
            with app.app_context():
                start.wait(timeout=10)
                for _ in range(3):
                    sweep_deliveries.call_local()
        except Exception as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=consumer) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert sorted(payload["title"] for _user, payload, _ttl, _urgency in pushed) == sorted(
        f"n{n}" for n in range(40))
    assert {row.status for row in deliveries()} == {DeliveryStatus.SENT}


def test_a_claimed_delivery_is_skipped_by_another_consumer(app):
    unsent(1, factories.make_user())
    with app.app_context():
        first = delivery.claim_due_deliveries()
        if db.engine.dialect.name == "postgresql":
            with app.app_context():
                assert delivery.claim_due_deliveries() == []
                db.session.rollback()
        db.session.commit()
    with app.app_context():
        assert delivery.claim_due_deliveries() == []
        db.session.commit()
    assert len(first) == 1 and first[0].attempts == 1


def test_a_consumer_whose_lease_ran_out_does_not_push_what_another_took_again(clock, pushed):
    """A slow batch: consumer A claimed a delivery, and before A got to it the lease ran out and B claimed it
    again and pushed it. A must neither push it a second time nor overwrite B's outcome."""
    clock.move_to(DAY, tick=False)
    unsent(1, subscribed(factories.make_user()))
    (stale,) = in_own_transaction(delivery._claim, None, 50)
    clock.shift(timedelta(minutes=5))
    assert delivery.deliver_due() == {DeliveryStatus.SENT: 1}  # B
    assert in_own_transaction(delivery._prepare, [stale]) == ({delivery.TAKEN: 1}, [])  # A, late
    assert len(pushed) == 1
    (row,) = deliveries()
    assert row.status is DeliveryStatus.SENT and row.attempts == 2


def test_a_claim_is_renewed_as_each_delivery_is_sent(clock, pushed):
    clock.move_to(DAY, tick=False)
    unsent(1, subscribed(factories.make_user()))
    claimed = in_own_transaction(delivery._claim, None, 50)
    clock.shift(timedelta(minutes=4))  # the consumer was slow, but the lease has not run out
    _outcomes, pushes = in_own_transaction(delivery._prepare, claimed)
    assert in_own_transaction(delivery._push, pushes) == {DeliveryStatus.SENT: 1}
    assert len(pushed) == 1


def test_an_sms_delivery_to_a_user_without_a_mobile_is_given_up(clock, outbox):
    user = factories.make_user(email="asha@example.com")
    unsent(0, user)
    notification = Notification(user_id=user.id, kind=K.DUE_REMINDER, title="t", body="b")
    db.session.add(notification)
    db.session.flush()
    db.session.add(NotificationDelivery(notification_id=notification.id, channel=Channel.SMS))
    db.session.commit()
    sweep_deliveries.call_local()
    (row,) = deliveries()
    assert row.status is DeliveryStatus.DEAD and "no mobile" in row.last_error and outbox == []
    assert db.session.scalars(select(OutboundMessage)).all() == []


def test_a_push_no_browser_took_is_given_up_with_its_reason_not_marked_sent(clock, app, monkeypatch):
    """Regression (review): a push every service refused, or to a user whose subscriptions had gone, was 'sent'."""
    monkeypatch.setitem(app.config, "VAPID_PRIVATE_KEY", None)  # push not configured: nothing can take it
    user = subscribed(factories.make_user())
    notification = Notification(user_id=user.id, kind=K.PAYMENT, title="t", body="b")
    db.session.add(notification)
    db.session.flush()
    db.session.add(NotificationDelivery(notification_id=notification.id, channel=Channel.PUSH))
    db.session.commit()
    sweep_deliveries.call_local()
    (row,) = deliveries()
    assert row.status is DeliveryStatus.DEAD and "no browser took it" in row.last_error and row.sent_at is None


# --- the inbox pages --------------------------------------------------------------------------------------------

def written(user, count: int, **fields) -> list[Notification]:
    rows = []
    for n in range(count):
        rows.append(notify(user, fields.get("kind", K.PAYMENT), f"Title {n}", f"Body {n}", fields.get("url")))
    db.session.commit()
    return rows


def test_the_inbox_lists_newest_first_in_pages(client, login_as):
    user = login_as()
    written(user, 25)
    page = client.get("/notifications").get_data(as_text=True)
    assert page.index("Title 24") < page.index("Title 5") and "Title 4" not in page
    assert "/notifications?page=2" in page
    older = client.get("/notifications?page=2", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "Title 4" in older and "Title 0" in older and "<html" not in older
    assert client.get("/notifications?page=9").status_code == 404


def test_the_header_shows_the_unread_count_and_its_fragment_refreshes_it(client, login_as):
    user = login_as()
    written(user, 3)
    home = client.get("/notifications").get_data(as_text=True)
    assert 'id="inbox-badge"' in home and '<span class="badge" aria-label="3 unread">3</span>' in home
    fragment = client.get("/notifications/badge", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert fragment.strip().startswith('<a class="inbox-link"') and ">3</span>" in fragment


def test_opening_a_notification_marks_it_read_and_leads_within_the_app_only(client, login_as):
    user = login_as()
    (inside,) = written(user, 1, url="/bills/7")
    (outside,) = written(user, 1, url="https://evil.example/pay")
    response = client.get(f"/notifications/{inside.id}")
    assert response.status_code == 302 and response.headers["Location"] == "/bills/7"
    assert client.get(f"/notifications/{outside.id}").headers["Location"] == "/notifications"
    assert db.session.get(Notification, inside.id).read_at is not None
    badge = client.get("/notifications/badge").get_data(as_text=True)
    assert 'class="badge"' not in badge


def test_mark_all_read_is_a_post(client, login_as):
    user = login_as()
    written(user, 2)
    assert client.get("/notifications/read-all").status_code == 405
    assert client.post("/notifications/read-all").status_code == 302
    assert db.session.scalars(select(Notification.read_at)).all() != [None, None]
    assert all(db.session.scalars(select(Notification.read_at)))


def test_mark_all_read_needs_the_csrf_token(app, client, login_as):
    user = login_as()
    written(user, 1)
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        assert client.post("/notifications/read-all").status_code == 400
    finally:
        app.config["WTF_CSRF_ENABLED"] = False
    assert db.session.scalar(select(Notification.read_at)) is None


def test_a_customer_never_sees_or_opens_another_users_notifications(client, login_as):
    other = factories.make_user()
    (theirs,) = written(other, 1)
    login_as()
    assert "Title 0" not in client.get("/notifications").get_data(as_text=True)
    assert client.get(f"/notifications/{theirs.id}").status_code == 404
    client.post("/notifications/read-all")
    assert db.session.get(Notification, theirs.id).read_at is None


# --- preferences --------------------------------------------------------------------------------------------------

def test_the_choices_page_shows_the_defaults_and_saves_per_kind_and_channel(client, login_as, pushed, outbox):
    user = subscribed(login_as(mobile="+919811122222"))
    db.session.commit()
    page = client.get("/notifications/settings").get_data(as_text=True)
    checked = set(re.findall(r'name="([a-z]+-[a-z]+)" checked', page))
    # With push on, nothing goes by SMS unless asked for (without push, bills do: the next test)
    assert checked == {"bills-push", "payments-push", "usage-push", "announcements-push"}
    # SMS is offered only where a DLT template exists: bills and payments
    assert set(re.findall(r'name="([a-z]+-sms)"', page)) == {"bills-sms", "payments-sms"}
    assert 'href="/notifications/settings"' in client.get("/profile").get_data(as_text=True)

    response = client.post("/notifications/settings", data={"bills-push": "on", "payments-sms": "on"})
    assert response.status_code == 302
    page = client.get("/notifications/settings").get_data(as_text=True)
    assert set(re.findall(r'name="([a-z]+-[a-z]+)" checked', page)) == {"bills-push", "payments-sms"}

    notify(user, K.DUE_REMINDER, "Due", "b", sms=BILL_SMS)  # push only now
    notify(user, K.BILL_ISSUED, "Bill", "b", sms=BILL_SMS)  # push only now (bills: issued and reminders)
    notify(user, K.PAYMENT, "Paid", "b",
           sms=Sms(MessageKind.PAYMENT, {"number": "9900", "amount": "500.00", "receipt": "R1"}))  # SMS only now
    notify(user, K.ANNOUNCEMENT, "Outage", "b")  # inbox only
    db.session.commit()
    assert sorted(payload["title"] for _u, payload, _t, _g in pushed) == ["Bill", "Due"]  # sent side by side
    assert [m.subject for m in outbox] == ["Paid"]
    assert db.session.scalar(select(func.count()).select_from(Notification)) == 4  # the inbox gets everything


def test_choices_are_a_customers_own_and_need_the_csrf_token(app, client, login_as):
    other = factories.make_user()
    db.session.commit()
    user = login_as()
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        assert client.post("/notifications/settings", data={}).status_code == 400
    finally:
        app.config["WTF_CSRF_ENABLED"] = False
    client.post("/notifications/settings", data={})
    rows = db.session.scalars(select(NotificationPreference)).all()
    assert rows and {row.user_id for row in rows} == {user.id} and not any(row.enabled for row in rows)
    assert other.id not in {row.user_id for row in rows}

"""What is sent about bills and payments, and when, with the clock travelled from a bill's issue to long after its due
date: "bill ready" once; reminders 3 days before, on the due date and 1 day after, each once per bill and person,
none once the bill is paid, none pushed in quiet hours (held to 07:00 in India); two reminder runs at once write
nothing twice; payments captured, failed and refunded are confirmed."""

import threading
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select, text

from app.billing.compose import Cycle
from app.billing.models import Bill
from app.billing.runs import run_bills
from app.db import INDIA, utcnow
from app.extensions import db
from app.i18n import rupees
from app.notifications.models import Channel, DeliveryStatus, Notification, NotificationDelivery, NotificationKind
from app.notifications.reminders import bills_to_remind, reminder_stage, send_due_reminders
from app.notifications.services import set_preference
from app.notifications.tasks import remind_due_bills, sweep_deliveries
from app.payments import services as payments
from app.payments.models import PaymentMethod
from tests import factories
from tests.functional.test_notifications import fake_push_service, subscribed

K = NotificationKind
ISSUED, DUE = date(2026, 11, 18), date(2026, 12, 3)


def india(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), INDIA).astimezone(UTC)


@pytest.fixture
def pushed(monkeypatch, clock):
    """Each push: (the moment in India it was sent, user id, title)."""
    calls = []

    def fake_push(user_id, payload, *, ttl, urgency):
        calls.append((datetime.now(INDIA), user_id, payload["title"], urgency, ttl))

    fake_push_service(monkeypatch, fake_push)
    return calls


def billed_customer(total="1450.00", locale="en_IN", due=DUE):
    user = subscribed(factories.make_user(locale=locale, mobile=None, email=f"c{factories._next()}@example.com"))
    account = factories.make_account(factories.make_tariff())
    factories.link(user, account)
    bill = factories.make_bill(account, total, period_start=date(2026, 10, 1), issued_on=ISSUED, due_date=due)
    db.session.commit()
    return user, account, bill


def reminders(user=None) -> list[Notification]:
    db.session.commit()
    query = select(Notification).where(Notification.kind == K.DUE_REMINDER).order_by(Notification.id)
    if user is not None:
        query = query.where(Notification.user_id == user.id)
    return list(db.session.scalars(query))


def travel(clock, first: date, last: date, hours=(0, 6, 7, 10, 15, 21, 22, 23)):
    """Day by day, several times a day (the reminder task runs every 15 minutes), with the sweep after each."""
    day = first
    while day <= last:
        for hour in hours:
            clock.move_to(india(day, hour, 15), tick=False)
            remind_due_bills.call_local()
            sweep_deliveries.call_local()
        day += timedelta(days=1)


@pytest.mark.parametrize("today, stage", [
    (DUE - timedelta(days=4), None), (DUE - timedelta(days=3), "before"), (DUE - timedelta(days=1), "before"),
    (DUE, "due"), (DUE + timedelta(days=1), "after"), (DUE + timedelta(days=3), "after"),
    (DUE + timedelta(days=4), None),
])
def test_the_stage_of_a_reminder_by_day(today, stage):
    assert reminder_stage(DUE, today) == stage


def test_from_issue_to_overdue_each_reminder_is_sent_once_and_never_in_quiet_hours(clock, pushed):
    user, account, bill = billed_customer()
    travel(clock, ISSUED, DUE + timedelta(days=8))
    sent = reminders(user)
    assert [n.dedupe_key for n in sent] == [f"reminder:{bill.id}:{stage}:{user.id}"
                                             for stage in ("before", "due", "after")]
    # Written by the first run of each day (00:15, in the inbox at once) …
    assert [n.created_at for n in sent] == [india(DUE - timedelta(days=3), 0, 15), india(DUE, 0, 15),
                                            india(DUE + timedelta(days=1), 0, 15)]
    assert sent[0].title == "Bill due on 3 Dec 2026"
    assert sent[0].body == ("₹1,450.00 is due on 3 Dec 2026 for connection ending "
                            f"{account.consumer_number[-4:]}. Pay in the app to avoid a late fee.")
    assert sent[0].url == f"/bills/{bill.id}"
    # … and pushed at 07:00, out of quiet hours, once each; urgent on the due date itself, kept for 3 days.
    assert [(when.astimezone(UTC), title, urgency) for when, _user, title, urgency, _ttl in pushed] == [
        (india(DUE - timedelta(days=3), 7, 15), "Bill due on 3 Dec 2026", "normal"),
        (india(DUE, 7, 15), "Your bill is due today", "high"),
        (india(DUE + timedelta(days=1), 7, 15), "Your bill is overdue", "normal")]
    assert {ttl for *_rest, ttl in pushed} == {3 * 24 * 3600}
    assert all(time(7) <= when.time() < time(22) for when, *_rest in pushed)


def test_no_reminder_once_the_bill_is_paid(clock, pushed):
    user, account, bill = billed_customer()
    staff = factories.make_user(role="support")
    db.session.commit()
    travel(clock, DUE - timedelta(days=3), DUE - timedelta(days=2))
    clock.move_to(india(DUE - timedelta(days=1), 12), tick=False)
    payments.record_counter_payment(account.id, PaymentMethod.CASH, Decimal("1450.00"), staff, "reminder-test-0001")
    db.session.commit()
    travel(clock, DUE - timedelta(days=1), DUE + timedelta(days=8))
    assert [n.dedupe_key.split(":")[2] for n in reminders(user)] == ["before"]
    assert [title for _when, _user, title, *_rest in pushed] == ["Bill due on 3 Dec 2026", "Payment received"]


def test_a_reminder_held_through_the_night_is_not_pushed_if_the_bill_is_paid_before_seven(clock, pushed):
    user, account, bill = billed_customer()
    staff = factories.make_user(role="support")
    db.session.commit()
    clock.move_to(india(DUE, 0, 15), tick=False)
    assert send_due_reminders() == 1  # in the inbox at once, the push held until 07:00
    clock.move_to(india(DUE, 6, 30), tick=False)
    payments.record_counter_payment(account.id, PaymentMethod.CASH, Decimal("1450.00"), staff, "reminder-test-0002")
    db.session.commit()
    pushed.clear()  # the payment confirmation is held too; look at what the morning sends
    clock.move_to(india(DUE, 7), tick=False)
    sweep_deliveries.call_local()
    assert [title for _when, _user, title, *_rest in pushed] == ["Payment received"]
    reminder_delivery = db.session.scalar(select(NotificationDelivery).join(Notification).where(
        Notification.kind == K.DUE_REMINDER))
    assert reminder_delivery.status is DeliveryStatus.DEAD and "paid" in reminder_delivery.last_error


def test_a_part_payment_still_reminds_of_what_is_left(clock, pushed):
    user, account, bill = billed_customer()
    staff = factories.make_user(role="support")
    db.session.commit()
    payments.record_counter_payment(account.id, PaymentMethod.CASH, Decimal("450.00"), staff, "reminder-test-0003")
    db.session.commit()
    clock.move_to(india(DUE, 9), tick=False)
    send_due_reminders()
    (reminder,) = reminders(user)
    assert reminder.body.startswith("₹1,000.00 is due today")


def test_everyone_linked_to_the_connection_is_reminded_and_an_older_bill_is_not(clock, pushed):
    user, account, old = billed_customer(due=DUE - timedelta(days=30))
    spouse = subscribed(factories.make_user())
    factories.link(spouse, account)
    newer = factories.make_bill(account, "900.00", period_start=date(2026, 11, 1), issued_on=ISSUED,
                                due_date=DUE)
    db.session.commit()
    clock.move_to(india(DUE, 9), tick=False)
    assert send_due_reminders() == 2
    assert {(n.user_id, n.dedupe_key.split(":")[1]) for n in reminders()} == {
        (user.id, str(newer.id)), (spouse.id, str(newer.id))}


def test_reminders_are_in_hindi_for_a_hindi_speaker(clock, pushed):
    user, account, bill = billed_customer(locale="hi_IN")
    clock.move_to(india(DUE + timedelta(days=1), 9), tick=False)
    send_due_reminders()
    (reminder,) = reminders(user)
    assert reminder.title == "आपका बिल बकाया है"
    assert reminder.body.startswith("₹1,450.00 की अंतिम तिथि 3 दिस॰ 2026 थी")
    assert "बिल" in pushed[0][2]


def test_the_remind_command_writes_the_reminders_once(app, clock, pushed):
    billed_customer()
    clock.move_to(india(DUE, 9), tick=False)
    first = app.test_cli_runner().invoke(args=["notifications", "remind"])
    second = app.test_cli_runner().invoke(args=["notifications", "remind"])
    assert first.exit_code == 0 and "1 due-date reminders written" in first.output
    assert "0 due-date reminders written" in second.output
    assert len(reminders()) == 1


def test_two_reminder_runs_at_once_write_and_push_each_reminder_once(app, clock, pushed):
    customers = [billed_customer() for _ in range(25)]
    clock.move_to(india(DUE, 9), tick=False)
    start = threading.Barrier(3)
    errors = []

    def run():
        try:
            with app.app_context():
                start.wait(timeout=10)
                remind_due_bills.call_local()
                sweep_deliveries.call_local()
        except Exception as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=run) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    assert len(reminders()) == 25
    assert sorted(user_id for _when, user_id, *_rest in pushed) == sorted(user.id for user, _a, _b in customers)
    assert db.session.scalar(select(func.count()).select_from(NotificationDelivery).where(
        NotificationDelivery.status == DeliveryStatus.SENT)) == 25


# --- bill issued -------------------------------------------------------------------------------------------------

def test_a_bill_run_tells_each_linked_customer_once_paperless_first(app, clock, pushed, outbox):
    tariff = factories.make_tariff()
    printed = factories.make_read_connection(tariff)
    paperless = factories.make_read_connection(tariff, paperless=True)
    nobody = factories.make_read_connection(tariff)  # linked to no one: billed, nobody told
    first = subscribed(factories.make_user(mobile="+919822200009"))
    set_preference(first, [K.BILL_ISSUED], Channel.SMS, True)  # push is on: SMS only because they asked
    second = subscribed(factories.make_user(locale="hi_IN"))
    factories.link(first, printed)
    factories.link(second, paperless)
    db.session.commit()
    clock.move_to(india(date(2024, 12, 2), 11), tick=False)
    run_bills(Cycle(2024, 11), issued_on=date(2024, 12, 2))
    run_bills(Cycle(2024, 11), issued_on=date(2024, 12, 2))  # a second run bills nothing, tells no one again
    issued = list(db.session.scalars(select(Notification).where(Notification.kind == K.BILL_ISSUED)
                                     .order_by(Notification.id)))
    assert [n.user_id for n in issued] == [second.id, first.id]  # paperless first
    assert issued[1].title == "Your bill for Nov 2024 is ready"
    assert issued[1].body.startswith("₹2,424.12 for connection ending")
    assert issued[0].title == "नव॰ 2024 का आपका बिल तैयार है"
    # Pushed once each; the order of pushes is the sending threads' (the inbox order above is what is promised).
    assert sorted(user_id for _when, user_id, *_rest in pushed) == sorted([second.id, first.id])
    assert nobody.id not in {n.account_id for n in issued}
    # By SMS too (bills go by SMS unless turned off): the DLT template's variables, plain ASCII
    (sms,) = [message for message in outbox if message.to == "+919822200009"]
    bill = db.session.scalar(select(Bill).where(Bill.account_id == printed.id))
    assert sms.kind == "bill_issued" and len(outbox) == 1  # the other has push on and asked for no SMS
    assert sms.params == {"number": printed.consumer_number, "amount": "2,424.12",
                          "due": bill.due_date.strftime("%d-%m-%Y")}


# --- payments ----------------------------------------------------------------------------------------------------

def test_a_payment_captured_online_is_confirmed_to_the_payer_once(client, login_as, pushed):
    from tests.functional.test_payment_helpers import billed_account, pay_in_full

    user = subscribed(login_as())
    db.session.commit()
    account, _bill = billed_account(user)
    payment, _landed = pay_in_full(client)
    (notice,) = db.session.scalars(select(Notification).where(Notification.kind == K.PAYMENT))
    assert notice.user_id == user.id and notice.title == "Payment received"
    assert notice.body == (f"We received {rupees(payment.received_amount, 'en_IN')} for connection ending "
                           f"{account.consumer_number[-4:]}. Receipt {payment.receipt_number}.")
    assert notice.url == f"/payments/{payment.id}"
    assert [title for _when, _user, title, *_rest in pushed] == ["Payment received"]


def test_a_failed_payment_is_told_and_a_refund_too(client, login_as, pushed):
    from app.payments.refunds import refund_payment
    from tests.functional.test_payment_helpers import billed_account, pay_in_full

    user = subscribed(login_as())
    db.session.commit()
    billed_account(user)
    pay_in_full(client, outcome="fail")
    payment, _landed = pay_in_full(client)
    admin = factories.make_user(role="admin")
    refund_payment(payment.id, Decimal("500.00"), "charged twice", admin, "refund-test-key-0001")
    db.session.commit()
    titles = db.session.scalars(select(Notification.title).where(Notification.kind == K.PAYMENT)
                                .order_by(Notification.id)).all()
    assert titles == ["Payment not completed", "Payment received", "Refund made"]
    refund_body = db.session.scalar(select(Notification.body).where(Notification.title == "Refund made"))
    assert refund_body.startswith("We refunded ₹500.00 of payment")


def test_a_counter_payment_sends_the_receipt_to_the_registered_mobile_even_if_nobody_linked_it(outbox):
    from app.payments.counter import record_counter_payment
    from tests.functional.test_payment_helpers import billed_account

    account, _bill = billed_account()  # linked to nobody in the app
    account.registered_mobile = "+919822200001"
    cashier = factories.make_user(role="support")
    db.session.commit()
    payment = record_counter_payment(account.id, PaymentMethod.CASH, Decimal("1234.50"), cashier,
                                     "counter-test-key-000001")
    db.session.commit()
    (sms,) = outbox
    assert sms.to == "+919822200001" and sms.kind == "payment"
    assert sms.params == {"number": account.consumer_number, "amount": "1,234.50", "receipt": payment.receipt_number}
    assert db.session.scalar(select(func.count()).select_from(Notification)) == 0  # no one in the app to tell


def test_the_payer_whose_mobile_is_the_registered_one_gets_one_sms_not_two(client, login_as, outbox):
    from tests.functional.test_payment_helpers import billed_account, pay_in_full

    user = login_as(mobile="+919822200002")
    set_preference(user, [K.PAYMENT], Channel.SMS, True)
    account, _bill = billed_account(user)
    account.registered_mobile = user.mobile
    db.session.commit()
    pay_in_full(client)
    assert [m.to for m in outbox] == ["+919822200002"]


def test_a_receipt_sms_after_ten_at_night_waits_until_seven(clock, outbox):
    from app.messaging.tasks import sweep_outbox
    from app.payments.counter import record_counter_payment
    from tests.functional.test_payment_helpers import billed_account

    clock.move_to(datetime(2026, 11, 20, 18, 0, tzinfo=UTC), tick=False)  # 23:30 in India
    account, _bill = billed_account()
    account.registered_mobile = "+919822200004"
    db.session.commit()
    record_counter_payment(account.id, PaymentMethod.CASH, Decimal("200.00"), factories.make_user(role="support"),
                           "counter-night-key-00001")
    db.session.commit()
    assert outbox == []
    clock.move_to(datetime(2026, 11, 21, 1, 29, tzinfo=UTC), tick=False)  # 06:59
    sweep_outbox.call_local()
    assert outbox == []
    clock.move_to(datetime(2026, 11, 21, 1, 30, tzinfo=UTC), tick=False)  # 07:00
    sweep_outbox.call_local()
    assert [m.to for m in outbox] == ["+919822200004"]


def test_reminder_sms_before_and_on_the_due_date_say_is_due_and_after_it_was_due(clock, outbox):
    user, account, bill = billed_customer()
    user.mobile = "+919822200005"
    set_preference(user, [K.DUE_REMINDER], Channel.SMS, True)
    db.session.commit()
    travel(clock, ISSUED, DUE + timedelta(days=3), hours=(10,))
    assert [(m.kind, m.params) for m in outbox] == [
        (kind, {"number": account.consumer_number, "amount": "1,450.00", "due": DUE.strftime("%d-%m-%Y")})
        for kind in ("due_reminder", "due_reminder", "overdue_reminder")]


def test_the_bills_to_remind_of_a_week_with_more_bills_than_one_statement_takes_parameters():
    """At a million connections a week's due bills are hundreds of thousands: more than a PostgreSQL statement takes
    parameters (65,535). The reminders still find each connection's latest one. (PostgreSQL only, which such a
    utility runs.)"""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("a utility with 66,000 bills due in a week runs PostgreSQL")
    n, today = 66_000, date(2026, 11, 18)
    factories.make_tariff()
    version_id = db.session.scalar(text("SELECT min(id) FROM tariff_versions"))
    for statement in (
            "INSERT INTO accounts (id, consumer_number, holder_name, address, region, category, sanctioned_load_kw, "
            "phase, billing_cycle, cycle_offset, subsidy_opted, bpl, paperless, status, connected_on, created_at) "
            "SELECT i, '88' || lpad(i::text, 10, '0'), 'Holder', 'Pune', 'Pune', 'LT-I(B) Residential', 3, "
            "'single', 'monthly', 0, false, false, false, 'active', '2015-01-01', :now FROM generate_series(1, :n) i",
            # Each connection: an older bill and, due tomorrow, its latest.
            "INSERT INTO bills (id, number, account_id, cycle, period_start, period_end, revision, tariff_version_id, "
            "issued_on, due_date, units, estimated, carried_units, current_charges, previous_balance, payments_since, "
            "late_fee, total_due, created_at) SELECT i * 2 - m, 'B-' || i || '-' || m, i, '2026-1' || m, "
            "make_date(2026, 10 + m, 1), make_date(2026, 10 + m, 28), 0, :version, make_date(2026, 10 + m, 4), "
            "make_date(2026, 10 + m, 19), 10, false, 0, 100, 0, 0, 0, 100, :now "
            "FROM generate_series(1, :n) i CROSS JOIN generate_series(0, 1) m"):
        db.session.execute(text(statement), {"n": n, "version": version_id, "now": utcnow()})
    db.session.commit()
    assert sorted(bills_to_remind(today)) == list(range(1, 2 * n, 2))  # the November bills, due tomorrow

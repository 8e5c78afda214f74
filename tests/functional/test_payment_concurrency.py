"""Exactly once under concurrency (PostgreSQL's row locks; SQLite's queued writers): many threads, each with its
own test client (its own app context and database session), passing only plain values between threads."""

import random
import threading
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from urllib.parse import urlsplit

import pytest
from sqlalchemy import func, select

from app.billing.models import LedgerEntry, LedgerKind
from app.extensions import db
from app.payments.models import Payment, PaymentEvent, PaymentState, SandboxRecord
from tests import factories
from tests.functional.test_payment_helpers import attempt_with_order, billed_account, pay_form, sandbox

THREADS = 8


@pytest.fixture
def queued_webhooks(app, monkeypatch):
    monkeypatch.setitem(app.config, "SANDBOX_WEBHOOKS", "queued")


def test_200_signed_webhooks_each_delivered_three_times_from_8_threads(app, queued_webhooks):
    gateway = sandbox()
    accounts = [factories.make_account() for _ in range(20)]
    db.session.commit()
    deliveries, expected = [], {}
    for n in range(200):
        account = accounts[n % len(accounts)]
        amount = Decimal(100 + n) + Decimal("0.25")
        payment, order_id = attempt_with_order(account, str(amount))
        record = gateway.pay(order_id, "succeed")
        body = gateway.event_body("payment.captured", {"payment": gateway.payment_entity(record)})
        event_id = f"evt_concurrent_{n:03d}"
        deliveries += [(body, gateway.webhook_headers(body, event_id))] * 3
        expected[account.id] = expected.get(account.id, Decimal("0")) - amount
    db.session.commit()
    random.Random(5).shuffle(deliveries)

    def deliver(item):
        body, headers = item
        with app.test_client() as own:
            return own.post("/payments/webhook", data=body, headers=headers).status_code

    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        statuses = list(pool.map(deliver, deliveries))
    assert statuses == [200] * 600
    db.session.expire_all()
    captured = db.session.scalar(select(func.count()).select_from(Payment)
                                 .where(Payment.state == PaymentState.CAPTURED, Payment.receipt_number.is_not(None)))
    assert captured == 200
    assert db.session.scalar(select(func.count()).select_from(PaymentEvent)
                             .where(PaymentEvent.processed_at.is_not(None))) == 200
    entries = db.session.execute(select(LedgerEntry.account_id, func.count(), func.sum(LedgerEntry.amount))
                                 .where(LedgerEntry.kind == LedgerKind.PAYMENT).group_by(LedgerEntry.account_id)).all()
    assert sum(count for _account, count, _total in entries) == 200
    assert {account_id: Decimal(total) for account_id, _count, total in entries} == expected
    assert db.session.scalar(select(func.count(func.distinct(Payment.receipt_number)))) == 200


def test_the_callback_and_the_webhooks_for_one_payment_at_the_same_moment_make_one_payment(app, queued_webhooks):
    gateway = sandbox()
    user = factories.make_user()
    account, _bill = billed_account(user, "5000.00", terms={"due_days": 15, "prompt_rebate": [
        {"within_days": 7, "percent": "1"}]})
    rounds = []
    for n in range(20):
        payment, order_id = attempt_with_order(account, f"{100 + n}.00", state=PaymentState.CREATED, user=user)
        record = gateway.pay(order_id, "succeed")
        entity = gateway.payment_entity(record)
        order = gateway.order(order_id)
        callback = (f"/payments/callback?razorpay_payment_id={record.id}&razorpay_order_id={order_id}"
                    f"&razorpay_signature={gateway.sign_checkout(order_id, record.id)}")
        webhooks = []
        for kind, entities in (("payment.captured", {"payment": entity}),
                               ("order.paid", {"payment": entity, "order": gateway.order_entity(order)})):
            body = gateway.event_body(kind, entities)
            webhooks.append((body, gateway.webhook_headers(body, f"evt_race_{n}_{kind}")))
        rounds.append((payment.id, callback, webhooks))
    db.session.commit()

    def race(one_round):
        _payment_id, callback, webhooks = one_round
        barrier = threading.Barrier(3)

        def via_callback():
            with app.test_client() as own:
                barrier.wait()
                return own.get(callback).status_code

        def via_webhook(item):
            body, headers = item
            with app.test_client() as own:
                barrier.wait()
                return own.post("/payments/webhook", data=body, headers=headers).status_code

        with ThreadPoolExecutor(max_workers=3) as pool:
            futures = [pool.submit(via_callback)] + [pool.submit(via_webhook, item) for item in webhooks]
            return [future.result() for future in futures]

    results = [race(one_round) for one_round in rounds]
    assert results == [[302, 200, 200]] * 20
    db.session.expire_all()
    for payment_id, _callback, _webhooks in rounds:
        payment = db.session.get(Payment, payment_id)
        assert payment.state == PaymentState.CAPTURED
        assert db.session.scalar(select(func.count()).select_from(LedgerEntry).where(
            LedgerEntry.kind == LedgerKind.PAYMENT, LedgerEntry.payment_id == payment_id)) == 1
    # None of these payments covered the bill, so none earned its rebate.
    assert db.session.scalar(select(func.count()).select_from(LedgerEntry)
                             .where(LedgerEntry.kind == LedgerKind.REBATE)) == 0


def test_one_idempotency_key_from_two_threads_makes_one_attempt(app):
    user = factories.make_user(mobile="+919812300001")
    billed_account(user, "1500.00", terms={"due_days": 15})
    clients = [app.test_client(), app.test_client()]
    for own in clients:
        assert own.post("/login", data={"login": user.mobile, "password": factories.PASSWORD}).status_code == 302
    forms = [pay_form(clients[0]) for _ in range(10)]

    def submit(args):
        own, form, barrier = args
        barrier.wait()
        response = own.post("/pay", data=form)
        return response.status_code, urlsplit(response.headers.get("Location", "")).path

    for form in forms:
        barrier = threading.Barrier(2)
        with ThreadPoolExecutor(max_workers=2) as pool:
            first, second = pool.map(submit, [(own, form, barrier) for own in clients])
        assert first[0] == second[0] == 303
        assert first[1] == second[1]  # the same attempt, the same order at the gateway
    db.session.expire_all()
    for form in forms:
        assert db.session.scalar(select(func.count()).select_from(Payment)
                                 .where(Payment.idempotency_key == form["idempotency_key"])) == 1
    assert db.session.scalar(select(func.count()).select_from(Payment)) == 10
    assert db.session.scalar(select(func.count()).select_from(SandboxRecord)
                             .where(SandboxRecord.kind == "order")) == 10

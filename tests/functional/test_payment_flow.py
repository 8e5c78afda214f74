"""Paying online through the sandbox gateway: checkout, callback, webhooks, replays, bad signatures, unknown orders,
amount mismatches, reconciliation, UPI, rebates."""

import json
import logging
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from app.billing import ledger
from app.billing.bills import bill_status
from app.billing.models import BillStatus, LedgerKind
from app.db import today_in_india, utcnow
from app.extensions import db
from app.payments import services
from app.payments.gateways.sandbox import SandboxGateway, deliver_webhooks
from app.payments.models import Payment, PaymentEvent, PaymentState, SandboxRecord
from tests import factories
from tests.functional.test_payment_helpers import (
    attempt_with_order,
    billed_account,
    checkout,
    events,
    ledger_entries,
    pay_form,
    pay_in_full,
    post_webhook,
    sandbox,
    start_checkout,
    waiting_webhooks,
    webhook_bodies,
)

NO_REBATES = {"due_days": 15}


@pytest.fixture(autouse=True)
def loggers_enabled():
    """Alembic's fileConfig (test_migrations runs it in this process) disables loggers that existed before it."""
    for name in ("dtech.security", "app.payments.capture", "app.payments.webhooks", "app.payments.reconcile"):
        logging.getLogger(name).disabled = False


@pytest.fixture
def queued_webhooks(app, monkeypatch):
    """The sandbox leaves its webhooks in its outbox (as if slow), so a test decides when they arrive."""
    monkeypatch.setitem(app.config, "SANDBOX_WEBHOOKS", "queued")


def test_pay_page_shows_the_amount_due_the_rebates_and_suggests_the_amount_net_of_them(client, login_as):
    user = login_as("customer")
    account, bill = billed_account(user, "2000.00")
    html = client.get("/pay").get_data(as_text=True)
    assert "₹2,000.00" in html
    assert "Prompt payment rebate" in html and "Digital payment rebate" in html
    # 1% prompt (₹20.00) + 0.25% digital (₹5.00): the customer is asked for ₹1,975.00
    assert pay_form(client)["amount"] == "1975.00"
    assert "₹1,975.00" in html and "UPI app on this phone" in html


def test_a_customer_without_a_connection_is_sent_to_link_one(client, login_as):
    login_as("customer")
    assert client.get("/pay").headers["Location"] == "/connections/link"


def test_pay_through_the_sandbox_checkout_then_callback_then_webhooks(client, login_as, queued_webhooks):
    user = login_as("customer")
    account, bill = billed_account(user, "1500.00", terms=NO_REBATES)
    started = start_checkout(client)
    assert started.status_code == 303 and started.headers["Location"].startswith("/sandbox-gateway/checkout/order_")
    payment = db.session.scalar(select(Payment))
    assert (payment.state, payment.amount, payment.user_id) == (PaymentState.CREATED, Decimal("1500.00"), user.id)

    back = checkout(client, started.headers["Location"], "succeed")
    assert back.headers["Location"].startswith("/payments/callback?razorpay_payment_id=pay_")
    landed = client.get(back.headers["Location"])
    assert landed.status_code == 302
    assert landed.headers["Location"] == f"/payments/{payment.id}?returned=paid"
    db.session.refresh(payment)
    assert payment.state == PaymentState.CAPTURED  # the callback's signature checked, the gateway asked
    assert payment.receipt_number == f"RCP{payment.id:09d}" and payment.received_amount == Decimal("1500.00")
    page = client.get(landed.headers["Location"]).get_data(as_text=True)
    assert "Paid" in page and payment.receipt_number in page

    # Now the gateway's webhooks arrive (authorized, captured, order.paid): nothing more changes.
    assert waiting_webhooks() == 3
    assert deliver_webhooks(sandbox()) == (3, 0)
    db.session.expire_all()
    assert [e.outcome for e in events()] == ["kept captured: webhook says authorized", "unchanged: captured",
                                             "unchanged: captured"]
    assert all(e.processed_at and e.payment_id == payment.id for e in events())
    assert [e.amount for e in ledger_entries(account.id, LedgerKind.PAYMENT)] == [Decimal("-1500.00")]
    assert bill_status(bill, ledger.balance(account.id), today_in_india()) is BillStatus.PAID


def test_the_webhook_first_then_the_callback(client, login_as):
    user = login_as("customer")
    account, _bill = billed_account(user, "800.00", terms=NO_REBATES)
    payment, landed = pay_in_full(client)  # the sandbox delivers its webhooks before redirecting the browser
    assert payment.state == PaymentState.CAPTURED
    outcomes = [e.outcome for e in events()]
    assert outcomes == ["pending", "captured", "unchanged: captured"]  # authorized, captured, order.paid
    assert len(ledger_entries(account.id, LedgerKind.PAYMENT)) == 1
    assert landed.status_code == 302 and "returned=paid" in landed.headers["Location"]


def test_a_double_tap_or_a_back_button_resubmit_returns_the_same_attempt(client, login_as):
    user = login_as("customer")
    billed_account(user, "900.00", terms=NO_REBATES)
    form = pay_form(client)
    first = client.post("/pay", data=form)
    second = client.post("/pay", data=form)
    assert first.headers["Location"] == second.headers["Location"]  # the same order at the gateway
    assert db.session.scalar(select(func.count()).select_from(Payment)) == 1
    assert db.session.scalar(select(func.count()).select_from(SandboxRecord).where(SandboxRecord.kind == "order")) == 1
    # After paying, the same form once more lands on the paid attempt, not on a second payment.
    back = checkout(client, first.headers["Location"])
    client.get(back.headers["Location"])
    again = client.post("/pay", data=form)
    payment = db.session.scalar(select(Payment))
    assert again.headers["Location"] == f"/payments/{payment.id}"
    assert db.session.scalar(select(func.count()).select_from(Payment)) == 1


@pytest.mark.parametrize(("amount", "error"), [("0.50", "from ₹1.00 to ₹1,00,000.00"),
                                               ("100000.01", "from ₹1.00 to ₹1,00,000.00"),
                                               ("12.345", "rupees and paise"), ("lots", "in rupees"),
                                               ("1" * 40, "in rupees"), ("1e5", "in rupees"), ("NaN", "in rupees"),
                                               ("Infinity", "in rupees"), ("-5", "in rupees"),
                                               ("1." + "0" * 39 + "1", "rupees and paise")])
def test_amounts_outside_the_bounds_are_refused_with_a_clear_error(client, login_as, amount, error):
    user = login_as("customer")
    billed_account(user, "1200.00", terms=NO_REBATES)
    response = client.post("/pay", data={**pay_form(client), "amount": amount})
    assert response.status_code == 422
    assert error in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(Payment)) == 0


@pytest.mark.parametrize(("amount", "error"), [("0.50", "₹1.00 से ₹1,00,000.00 तक की राशि लिखें।"),
                                               ("12.345", "केवल रुपये और पैसे लिखें"),
                                               ("", "कृपया यह भरें।")])  # regression: was English
def test_refusals_are_shown_in_the_customers_language(client, login_as, amount, error):
    user = login_as("customer")
    user.locale = "hi_IN"
    db.session.commit()
    billed_account(user, "1200.00", terms=NO_REBATES)
    response = client.post("/pay", data={**pay_form(client), "amount": amount})
    assert response.status_code == 422
    assert error in response.get_data(as_text=True)


def test_a_big_bill_allows_up_to_ten_times_the_amount_due(client, login_as):
    user = login_as("customer")
    billed_account(user, "20000.00", terms=NO_REBATES)
    assert client.post("/pay", data={**pay_form(client), "amount": "200000.01"}).status_code == 422
    assert client.post("/pay", data={**pay_form(client), "amount": "₹2,00,000"}).status_code == 303


def test_a_part_payment_and_an_advance_are_allowed(client, login_as):
    user = login_as("customer")
    account, bill = billed_account(user, "1000.00", terms=NO_REBATES)
    pay_in_full(client, amount="400")
    assert ledger.balance(account.id) == Decimal("600.00")
    assert bill_status(bill, ledger.balance(account.id), today_in_india()) is BillStatus.DUE
    pay_in_full(client, amount="1,600.00")
    assert ledger.balance(account.id) == Decimal("-1000.00")  # an advance: credit on the ledger
    html = client.get("/pay").get_data(as_text=True)
    assert "in credit by ₹1,000.00" in html


def test_a_replayed_webhook_changes_nothing(client, login_as, queued_webhooks):
    user = login_as("customer")
    account, _bill = billed_account(user, "700.00", terms=NO_REBATES)
    started = start_checkout(client)
    checkout(client, started.headers["Location"])
    (auth_id, _), (captured_id, captured_body), _paid = webhook_bodies()
    first = post_webhook(client, captured_body, captured_id)
    assert (first.status_code, first.get_json()["status"]) == (200, "captured")
    for _ in range(3):  # the same delivery again, as gateways retry
        replay = post_webhook(client, captured_body, captured_id)
        assert (replay.status_code, replay.get_json()["status"]) == (200, "already processed")
    # The same old event under a new id (a replay by someone who kept it) changes nothing either.
    renamed = post_webhook(client, captured_body, "evt_replayed_by_someone")
    assert (renamed.status_code, renamed.get_json()["status"]) == (200, "unchanged: captured")
    assert len(ledger_entries(account.id, LedgerKind.PAYMENT)) == 1
    assert db.session.scalar(select(func.count()).select_from(PaymentEvent)) == 2


def test_a_webhook_with_a_bad_signature_gets_400_writes_nothing_and_logs_a_security_line(client, login_as, caplog,
                                                                                         queued_webhooks):
    user = login_as("customer")
    billed_account(user, "650.00", terms=NO_REBATES)
    started = start_checkout(client)
    checkout(client, started.headers["Location"])
    (_, _), (event_id, body), _ = webhook_bodies()
    secret = sandbox()._webhook_secret
    forged = SandboxGateway("k", "not-the-secret").sign_webhook(body)
    tampered = body.replace(b'"amount":65000', b'"amount":1')
    caplog.set_level(logging.INFO)
    for attempt_body, signature in ((body, forged), (tampered, sandbox().sign_webhook(body)), (body, ""),
                                    (body, "zz")):
        response = post_webhook(client, attempt_body, event_id, signature=signature)
        assert response.status_code == 400
    assert client.post("/payments/webhook", data=body).status_code == 400  # no signature header at all
    assert events() == []
    assert db.session.scalar(select(Payment)).state == PaymentState.CREATED
    security = [r for r in caplog.records if r.name == "dtech.security"]
    assert len(security) == 5 and all("bad signature" in r.getMessage() for r in security)
    logged = caplog.text
    assert secret not in logged and "pay_" not in logged and '"amount"' not in logged


def test_the_webhook_endpoint_needs_no_csrf_token(app, client, login_as, queued_webhooks):
    user = login_as("customer")
    billed_account(user, "300.00", terms=NO_REBATES)
    checkout(client, start_checkout(client).headers["Location"])
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        (event_id, body), *_ = webhook_bodies()
        assert post_webhook(app.test_client(), body, event_id).status_code == 200
    finally:
        app.config["WTF_CSRF_ENABLED"] = False


def test_a_webhook_for_an_order_we_do_not_know_yet_is_kept_retried_and_matched_later(client, login_as,
                                                                                    queued_webhooks):
    user = login_as("customer")
    account, _bill = billed_account(user, "450.00", terms=NO_REBATES)
    gateway = sandbox()
    order = gateway.create_order(Decimal("450.00"), "DTLATECOMER00001", {"reference": "DTLATECOMER00001"})
    gateway.pay(order.id, "succeed")
    db.session.commit()
    assert deliver_webhooks(gateway) == (0, 3)  # not acknowledged: the gateway keeps retrying
    stored = events()
    assert len(stored) == 3 and all(e.processed_at is None and e.outcome == "waiting: not matched yet" for e in stored)
    # A retry of one of them while we still do not know the order: stored once, still waiting.
    (event_id, body), *_ = webhook_bodies()
    assert post_webhook(client, body, event_id).status_code == 409
    assert len(events()) == 3

    # Our side of the order turns up (say, its request committed late) …
    payment = Payment(account_id=account.id, user_id=user.id, amount=Decimal("450.00"), method="gateway",
                      state=PaymentState.CREATED, reference="DTLATECOMER00001", gateway="sandbox",
                      gateway_order_id=order.id, idempotency_key="late-comer-key-0001")
    db.session.add(payment)
    db.session.commit()
    # … and reconcile matches the stored events (and asks the gateway about the attempt).
    summary = services.reconcile(older_than_minutes=0)
    db.session.expire_all()
    assert summary.events_matched == 3 and summary.events_waiting == 0
    assert payment.state == PaymentState.CAPTURED
    assert all(e.processed_at is not None and e.payment_id == payment.id for e in events())
    assert len(ledger_entries(account.id, LedgerKind.PAYMENT)) == 1
    # The gateway's own retries now succeed and change nothing.
    assert deliver_webhooks(gateway) == (3, 0)
    assert len(ledger_entries(account.id, LedgerKind.PAYMENT)) == 1


def test_an_amount_that_differs_from_the_order_is_held_not_credited(client, login_as, queued_webhooks):
    user = login_as("customer")
    account, _bill = billed_account(user, "1000.00", terms=NO_REBATES)
    payment, order_id = attempt_with_order(account, "1000.00", user=user)
    gateway = sandbox()
    record = gateway.pay(order_id, "succeed", amount_paise=99_900)  # ₹999 arrived for a ₹1,000 order
    db.session.commit()
    deliver_webhooks(gateway)
    db.session.expire_all()
    assert payment.state == PaymentState.HELD
    assert payment.received_amount == Decimal("999.00") and "INR 999.00" in payment.failure_reason
    assert ledger_entries(account.id, LedgerKind.PAYMENT) == []
    assert ledger.balance(account.id) == Decimal("1000.00")
    assert payment.gateway_payment_id == record.id
    page = client.get(f"/payments/{payment.id}").get_data(as_text=True)
    assert "Under review" in page and "not lost" in page

    # Staff look and accept what arrived.
    staff = factories.make_user(role="support")
    services.accept_held(payment.id, staff)
    db.session.commit()
    assert payment.state == PaymentState.CAPTURED
    assert [e.amount for e in ledger_entries(account.id, LedgerKind.PAYMENT)] == [Decimal("-999.00")]


def test_reconcile_captures_a_late_authorisation(app, client, login_as, monkeypatch):
    monkeypatch.setitem(app.config, "SANDBOX_LATE_AFTER_SECONDS", 0)
    user = login_as("customer")
    account, bill = billed_account(user, "560.00", terms=NO_REBATES)
    payment, landed = pay_in_full(client, outcome="late")
    assert payment.state == PaymentState.FAILED  # the payment.failed webhook came first
    assert "returned=failed" in landed.headers["Location"]
    page = client.get(f"/payments/{payment.id}").get_data(as_text=True)
    assert "did not go through" in page

    summary = services.reconcile(older_than_minutes=0)
    db.session.expire_all()
    assert summary.changed == {"captured": 1}
    assert payment.state == PaymentState.CAPTURED and payment.receipt_number
    assert bill_status(bill, ledger.balance(account.id), today_in_india()) is BillStatus.PAID
    # The gateway's late webhooks arrive afterwards: no second credit.
    deliver_webhooks(sandbox())
    assert len(ledger_entries(account.id, LedgerKind.PAYMENT)) == 1


def test_reconcile_captures_a_payment_the_bank_had_left_pending(app, client, login_as, monkeypatch):
    monkeypatch.setitem(app.config, "SANDBOX_LATE_AFTER_SECONDS", 0)
    user = login_as("customer")
    billed_account(user, "340.00", terms=NO_REBATES)
    payment, _ = pay_in_full(client, outcome="pending")
    assert payment.state == PaymentState.CREATED  # nothing signed came back, no webhook yet
    page = client.get(f"/payments/{payment.id}?returned=failed").get_data(as_text=True)
    assert "The payment page reported a problem" in page
    assert services.reconcile(older_than_minutes=15).checked == 0  # too young to ask about
    services.reconcile(older_than_minutes=0)
    db.session.expire_all()
    assert payment.state == PaymentState.CAPTURED


def test_reconcile_marks_a_failure_whose_webhook_never_came(client, login_as, queued_webhooks):
    user = login_as("customer")
    account, _bill = billed_account(user, "210.00", terms=NO_REBATES)
    payment, _ = pay_in_full(client, outcome="fail")
    assert payment.state == PaymentState.CREATED
    summary = services.reconcile(older_than_minutes=0)
    db.session.expire_all()
    assert summary.changed == {"failed": 1}
    assert payment.state == PaymentState.FAILED and "TEST MODE" in payment.failure_reason
    assert ledger_entries(account.id, LedgerKind.PAYMENT) == []


def test_reconcile_gives_up_on_an_abandoned_checkout_but_a_late_payment_still_counts(client, login_as):
    user = login_as("customer")
    account, _bill = billed_account(user, "120.00", terms=NO_REBATES)
    started = start_checkout(client)
    payment = db.session.scalar(select(Payment))
    assert services.reconcile(older_than_minutes=0).changed == {}  # just abandoned: it may yet be paid
    payment.created_at = utcnow() - timedelta(hours=3)
    db.session.commit()
    services.reconcile(older_than_minutes=0)
    db.session.expire_all()
    assert payment.state == PaymentState.FAILED and "abandoned" in payment.failure_reason
    # The customer comes back to the gateway's page after all and pays: the money is not refused.
    checkout(client, started.headers["Location"])
    db.session.expire_all()
    assert payment.state == PaymentState.CAPTURED
    assert len(ledger_entries(account.id, LedgerKind.PAYMENT)) == 1


def test_the_reconcile_command_and_job(app, client, login_as, queued_webhooks):
    from app.jobs import run_jobs_once

    user = login_as("customer")
    billed_account(user, "260.00", terms=NO_REBATES)
    payment, _ = pay_in_full(client, outcome="fail")
    result = app.test_cli_runner().invoke(args=["payments", "reconcile", "--older-than-minutes", "0"])
    assert result.exit_code == 0, result.output
    assert "1 attempts checked (1 failed)" in result.output
    db.session.expire_all()
    assert payment.state == PaymentState.FAILED
    db.session.commit()  # end the test's read: each task runs in a session of its own
    assert run_jobs_once() == []  # delivers the sandbox's waiting webhooks and reconciles: nothing left to do
    db.session.commit()
    assert waiting_webhooks() == 0


def test_a_callback_with_a_bad_signature_changes_nothing(client, login_as, caplog, queued_webhooks):
    user = login_as("customer")
    billed_account(user, "510.00", terms=NO_REBATES)
    back = checkout(client, start_checkout(client).headers["Location"])
    forged = back.headers["Location"].replace("razorpay_signature=", "razorpay_signature=00")
    caplog.set_level(logging.WARNING)
    response = client.get(forged)
    assert response.status_code == 302 and response.headers["Location"] == "/payments?notice=unverified"
    assert db.session.scalar(select(Payment)).state == PaymentState.CREATED
    assert any(r.name == "dtech.security" and "bad signature" in r.getMessage() for r in caplog.records)
    assert "could not verify" in client.get(response.headers["Location"]).get_data(as_text=True)


def test_the_gateways_cross_site_post_to_the_callback_sets_no_cookie(app, client, login_as, queued_webhooks):
    user = login_as("customer")
    billed_account(user, "515.00", terms=NO_REBATES)
    back = checkout(client, start_checkout(client).headers["Location"])
    query = back.headers["Location"].split("?", 1)[1]
    from urllib.parse import parse_qsl

    stranger = app.test_client()  # no session cookie, as after a cross-site POST with SameSite=Lax
    response = stranger.post("/payments/callback", data=dict(parse_qsl(query)))
    assert response.status_code == 303 and "Set-Cookie" not in response.headers
    assert db.session.scalar(select(Payment)).state == PaymentState.CAPTURED


def test_upi_link_and_qr_are_offered_and_only_the_bank_confirms(client, login_as, app, monkeypatch):
    monkeypatch.setitem(app.config, "UPI_VPA", "dtechpower@upi")
    monkeypatch.setitem(app.config, "UPI_PAYEE_NAME", "D-Tech Power")
    user = login_as("customer")
    account, _bill = billed_account(user, "730.00", terms=NO_REBATES)
    response = start_checkout(client, method="upi")
    payment = db.session.scalar(select(Payment))
    assert response.headers["Location"] == f"/payments/{payment.id}"
    assert payment.state == PaymentState.PENDING and payment.gateway_order_id
    html = client.get(f"/payments/{payment.id}").get_data(as_text=True)
    link = f"upi://pay?pa=dtechpower%40upi&amp;pn=D-Tech%20Power&amp;am=730.00&amp;tr={payment.reference}"
    assert link in html and "cu=INR" in html
    assert "<svg" in html and "Pending confirmation" in html and "not when your UPI app shows success" in html
    assert 'hx-trigger="every 6s"' in html  # the status refreshes itself while pending (htmx)
    # The status fragment alone, as htmx asks for it.
    fragment = client.get(f"/payments/{payment.id}", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert fragment.lstrip().startswith('<div id="payment-status"')

    # The customer's UPI app (the sandbox's stand-in) pays; the bank's word comes by webhook.
    sandbox_upi = client.get(f"/sandbox-gateway/upi?pa=dtechpower@upi&am=730.00&tr={payment.reference}")
    assert sandbox_upi.status_code == 200 and "TEST MODE" in sandbox_upi.get_data(as_text=True)
    client.post(f"/sandbox-gateway/upi?tr={payment.reference}", data={"amount": "730.00", "outcome": "pay"})
    db.session.expire_all()
    assert payment.state == PaymentState.CAPTURED
    assert ledger.balance(account.id) == Decimal("0.00")
    done = client.get(f"/payments/{payment.id}").get_data(as_text=True)
    assert 'hx-trigger="every 6s"' not in done and payment.receipt_number in done  # no longer refreshes itself


def test_rebates_are_applied_when_earned_and_only_once_per_bill(client, login_as):
    user = login_as("customer")
    account, bill = billed_account(user, "2000.00")
    payment, _ = pay_in_full(client)  # the suggested ₹1,975.00
    assert payment.amount == Decimal("1975.00")
    rebates = ledger_entries(account.id, LedgerKind.REBATE)
    assert [(r.amount, r.bill_id, r.payment_id) for r in rebates] == [(Decimal("-25.00"), bill.id, payment.id)]
    assert "prompt payment ₹20.00, digital payment ₹5.00" in rebates[0].description
    assert ledger.balance(account.id) == Decimal("0.00")
    assert bill_status(bill, ledger.balance(account.id), today_in_india()) is BillStatus.PAID
    receipt = client.get(f"/payments/{payment.id}/receipt").get_data(as_text=True)
    assert "Rebate on bill" in receipt and "₹25.00" in receipt
    # Another payment (an advance) within the window earns nothing more.
    pay_in_full(client, amount="500.00")
    assert len(ledger_entries(account.id, LedgerKind.REBATE)) == 1


def test_a_part_payment_earns_no_rebate_and_a_late_payment_no_prompt_rebate(client, login_as):
    user = login_as("customer")
    account, _bill = billed_account(user, "2000.00")
    pay_in_full(client, amount="1000.00")
    assert ledger_entries(account.id, LedgerKind.REBATE) == []
    other_user = factories.make_user()
    late_account, _ = billed_account(other_user, "2000.00", issued_days_ago=10)  # past the 7-day prompt window
    offer = services.rebate_offer(late_account.id, today_in_india(), digital=True)
    assert (offer.prompt, offer.digital, offer.pay_amount) == (Decimal("0.00"), Decimal("5.00"), Decimal("1995.00"))
    assert services.rebate_offer(late_account.id, today_in_india(), digital=False) is None


def test_online_payments_off_says_so_and_charges_nothing(app, client, login_as, monkeypatch):
    user = login_as("customer")
    billed_account(user, "100.00", terms=NO_REBATES)
    form = pay_form(client)
    monkeypatch.setitem(app.config, "PAYMENT_GATEWAY", "")
    response = client.post("/pay", data=form)
    assert response.headers["Location"] == "/pay"
    assert db.session.scalar(select(func.count()).select_from(Payment)) == 0
    assert client.post("/payments/webhook", data=b"{}").status_code == 503
    assert client.get("/sandbox-gateway/upi?tr=DT1").status_code == 404


def test_the_sandbox_refuses_to_send_the_browser_elsewhere(client, login_as):
    user = login_as("customer")
    billed_account(user, "100.00", terms=NO_REBATES)
    location = start_checkout(client).headers["Location"]
    order_id = location.split("/")[3].split("?")[0]
    for evil in ("https://evil.example/steal", "//evil.example/x", "javascript:alert(1)"):
        response = client.get(f"/sandbox-gateway/checkout/{order_id}?callback_url={evil}&cancel_url=/")
        assert response.status_code == 400


def test_the_stored_event_keeps_the_raw_payload(client, login_as):
    user = login_as("customer")
    billed_account(user, "100.00", terms=NO_REBATES)
    pay_in_full(client)
    stored = events()[1]
    assert json.loads(stored.payload)["event"] == stored.event_type == "payment.captured"


def test_an_unpaid_upi_attempt_waits_days_for_the_bank_statement_before_it_is_given_up(client, login_as):
    user = login_as("customer")
    account, _bill = billed_account(user, "90.00", terms=NO_REBATES)
    start_checkout(client, method="upi")
    payment = db.session.scalar(select(Payment))
    payment.created_at = utcnow() - timedelta(hours=5)
    db.session.commit()
    services.reconcile(older_than_minutes=0)
    db.session.expire_all()
    assert payment.state == PaymentState.PENDING  # paid to our VPA directly? only the bank statement will say
    payment.created_at = utcnow() - timedelta(days=4)
    payment.checked_at = None
    db.session.commit()
    services.reconcile(older_than_minutes=0)
    db.session.expire_all()
    assert payment.state == PaymentState.FAILED
    services.confirm_upi_by_staff(payment.id, "512345678901", Decimal("90.00"), factories.make_user(role="admin"))
    db.session.commit()
    assert payment.state == PaymentState.CAPTURED and ledger.balance(account.id) == Decimal("0.00")


def test_the_pay_form_pays_the_connection_it_was_shown_for(client, login_as):
    from tests.functional.test_payment_helpers import billed_account, pay_form

    user = login_as("customer")
    first, _ = billed_account(user, "800.00")
    second, _ = billed_account(user, "300.00")
    db.session.commit()
    client.post(f"/connections/{first.id}/select")
    form = pay_form(client)
    client.post(f"/connections/{second.id}/select")  # switched in another tab before paying
    client.post("/pay", data={**form, "account_id": str(first.id)})
    payment = db.session.scalar(select(Payment).order_by(Payment.id.desc()).limit(1))
    assert payment.account_id == first.id
    stranger = factories.make_account()
    db.session.commit()
    assert client.post("/pay", data={**pay_form(client), "account_id": str(stranger.id)}).status_code == 404

"""Helpers for the payment tests (no tests here): billed connections, the sandbox gateway's moves, webhooks."""

import json
import re
from datetime import timedelta
from decimal import Decimal

from flask import current_app
from sqlalchemy import func, select

from app.billing.models import LedgerEntry, LedgerKind, Tariff
from app.billing.services import BUNDLED_TARIFFS, import_tariff
from app.db import today_in_india
from app.extensions import db
from app.payments.gateways.sandbox import SandboxGateway
from app.payments.models import Payment, PaymentEvent, PaymentMethod, PaymentState, SandboxRecord
from app.payments.services import new_reference
from tests import factories

TERMS = {"due_days": 15, "prompt_rebate": [{"within_days": 7, "percent": "1"}],
         "digital_rebate": {"percent": "0.25", "cap": "500"}}


def tariff_with_terms(terms: dict | None = None) -> Tariff:
    document = json.loads((BUNDLED_TARIFFS / "msedcl-lt1b-2024-25.json").read_text())
    document.update(code="TEST-REBATES", name="Test tariff with rebates", payment_terms=terms or TERMS)
    version = import_tariff(json.dumps(document))
    return db.session.get(Tariff, version.tariff_id)


def billed_account(user=None, total: str = "1500.00", terms: dict | None = None, issued_days_ago: int = 2):
    """A connection with one issued bill (and its ledger entry), linked to `user` if given."""
    tariff = tariff_with_terms(terms)
    account = factories.make_account(tariff)
    today = today_in_india()
    issued = today - timedelta(days=issued_days_ago)
    bill = factories.make_bill(account, total, period_start=issued - timedelta(days=31), issued_on=issued,
                               due_date=issued + timedelta(days=15))
    if user is not None:
        factories.link(user, account)
    db.session.commit()
    return account, bill


def sandbox() -> SandboxGateway:
    return SandboxGateway.from_config(current_app.config)


def pay_form(client) -> dict:
    """GET /pay and return its form's fields (the amount suggested and the fresh idempotency key)."""
    page = client.get("/pay")
    assert page.status_code == 200, page.status_code
    html = page.get_data(as_text=True)
    key = re.search(r'name="idempotency_key" type="hidden" value="([^"]+)"', html) or re.search(
        r'id="idempotency_key" name="idempotency_key" type="hidden" value="([^"]+)"', html)
    amount = re.search(r'id="amount"[^>]*value="([^"]*)"', html) or re.search(r'value="([^"]*)"[^>]*id="amount"', html)
    return {"idempotency_key": key.group(1), "amount": amount.group(1) if amount else "", "method": "gateway"}


def start_checkout(client, **overrides):
    """Submit the pay form; returns the response (a redirect to the sandbox's checkout page for the gateway)."""
    form = {**pay_form(client), **overrides}
    return client.post("/pay", data=form)


def checkout(client, location: str, outcome: str = "succeed"):
    """On the sandbox's checkout page, choose `outcome`; returns its redirect (to our callback)."""
    assert location.startswith("/sandbox-gateway/checkout/"), location
    page = client.get(location)
    assert page.status_code == 200 and "TEST MODE" in page.get_data(as_text=True)
    html = page.get_data(as_text=True)
    fields = dict(re.findall(r'<input id="(callback_url|cancel_url)" name="[^"]+" type="hidden" value="([^"]*)"',
                             html))
    fields = {k: v.replace("&amp;", "&") for k, v in fields.items()}
    return client.post(location.split("?")[0], data={"outcome": outcome, "method": "upi", **fields})


def pay_in_full(client, outcome: str = "succeed", **overrides):
    """The whole customer journey up to our callback's redirect; returns (payment, last response)."""
    started = start_checkout(client, **overrides)
    assert started.status_code == 303, started.get_data(as_text=True)
    back = checkout(client, started.headers["Location"], outcome)
    assert back.status_code == 303
    landed = client.get(back.headers["Location"])
    db.session.expire_all()
    payment = db.session.scalar(select(Payment).order_by(Payment.id.desc()).limit(1))
    return payment, landed


def waiting_webhooks() -> int:
    return db.session.scalar(select(func.count()).select_from(SandboxRecord).where(
        SandboxRecord.kind == "webhook", SandboxRecord.status == "pending"))


def webhook_bodies() -> list[tuple[str, bytes]]:
    rows = db.session.execute(select(SandboxRecord.id, SandboxRecord.data).where(SandboxRecord.kind == "webhook")
                              .order_by(SandboxRecord.created_at, SandboxRecord.id)).all()
    return [(record_id, json.loads(data)["body"].encode()) for record_id, data in rows]


def post_webhook(client, body: bytes, event_id: str, gateway: SandboxGateway | None = None, signature=None):
    gateway = gateway or sandbox()
    headers = gateway.webhook_headers(body, event_id)
    if signature is not None:
        headers["X-Razorpay-Signature"] = signature
    return client.post("/payments/webhook", data=body, headers=headers)


def ledger_entries(account_id: int, kind: LedgerKind | None = None) -> list[LedgerEntry]:
    query = select(LedgerEntry).where(LedgerEntry.account_id == account_id)
    if kind is not None:
        query = query.where(LedgerEntry.kind == kind)
    return list(db.session.scalars(query.order_by(LedgerEntry.id)))


def events() -> list[PaymentEvent]:
    return list(db.session.scalars(select(PaymentEvent).order_by(PaymentEvent.id)))


def attempt_with_order(account, amount: str = "500.00", state=PaymentState.PENDING, user=None) -> tuple[Payment, str]:
    """A gateway attempt whose sandbox order exists (set up directly, as start_payment + ensure_order leave it)."""
    gateway = sandbox()
    reference = new_reference()
    order = gateway.create_order(Decimal(amount), reference, {"reference": reference})
    payment = Payment(account_id=account.id, user_id=getattr(user, "id", None), amount=Decimal(amount),
                      method=PaymentMethod.GATEWAY, state=state, reference=reference, gateway="sandbox",
                      gateway_order_id=order.id, idempotency_key=f"test-key-{reference}")
    db.session.add(payment)
    db.session.commit()
    return payment, order.id

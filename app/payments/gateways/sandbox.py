"""The sandbox gateway: Razorpay's test mode, imitated inside the app for development, the demo and tests.

It keeps its own records (orders, payments, refunds, outgoing webhooks) in `sandbox_gateway_records`, as a
real gateway keeps them on its servers, and talks to us only the way Razorpay does: its hosted checkout page
(app.payments.sandbox_views, clearly marked TEST MODE) sends the browser back to our callback with a
signed result, and it POSTs signed, Razorpay-shaped webhooks to our webhook endpoint.

Webhooks wait in its outbox and are delivered through the app's own WSGI stack (the same code path as an
HTTP POST, without a socket or a base URL to configure): right after the checkout action, and again by the
`deliver_sandbox_webhooks` task until our endpoint answers 2xx or a day has passed (Razorpay retries for
24 hours). Its secrets are derived from SECRET_KEY, so every worker process agrees on them; they sign
nothing but sandbox traffic.

Outcomes offered on its checkout page: succeed; fail; "late" (reported failed now, captured later, as
banks do with late authorisations); "pending" (the bank has not answered; captured later). The later
capture happens when the sandbox is next asked about the payment after SANDBOX_LATE_AFTER_SECONDS,
which is what `flask payments reconcile` does; its webhook for it follows through the outbox.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import secrets
import string
from datetime import timedelta
from decimal import Decimal

from flask import current_app, url_for
from sqlalchemy import select
from werkzeug.test import Client

from app.db import begin_write, utcnow
from app.extensions import db
from app.payments import WEBHOOK_PATH, signatures
from app.payments.gateways import (
    CheckoutStep,
    Gateway,
    GatewayError,
    GatewayOrder,
    GatewayPayment,
    GatewayRefund,
    payment_from_entity,
    to_paise,
)
from app.payments.models import SandboxRecord
from app.taskqueue import in_own_transaction

log = logging.getLogger(__name__)

KEY_ID = "rzp_test_sandbox"
OUTCOMES = ("succeed", "fail", "late", "pending")
DELIVERY_WINDOW = timedelta(hours=24)
_ID_ALPHABET = string.ascii_letters + string.digits


def _derive(secret_key: str, purpose: str) -> str:
    return hmac.new(secret_key.encode(), f"dtech sandbox gateway: {purpose}".encode(), hashlib.sha256).hexdigest()


def _new_id(prefix: str) -> str:
    return f"{prefix}_SBX" + "".join(secrets.choice(_ID_ALPHABET) for _ in range(11))


def _data(record: SandboxRecord) -> dict:
    return json.loads(record.data or "{}")


class SandboxGateway(Gateway):
    name = "sandbox"
    test_mode = True
    key_id = KEY_ID

    def __init__(self, key_secret: str, webhook_secret: str, late_after_seconds: int = 120) -> None:
        self._key_secret = key_secret
        self._webhook_secret = webhook_secret
        self.late_after = timedelta(seconds=late_after_seconds)

    @classmethod
    def from_config(cls, config) -> SandboxGateway:
        secret_key = config["SECRET_KEY"]
        return cls(_derive(secret_key, "key secret"), _derive(secret_key, "webhook secret"),
                   int(config.get("SANDBOX_LATE_AFTER_SECONDS", 120)))

    def __repr__(self) -> str:
        return "SandboxGateway()"

    # --- signing, as the gateway does it (tests use these to forge nothing but what the gateway would send) ---

    def sign_checkout(self, order_id: str, payment_id: str) -> str:
        return signatures.sign_checkout(self._key_secret, order_id, payment_id)

    def sign_webhook(self, body: bytes) -> str:
        return signatures.sign(self._webhook_secret, body)

    def webhook_headers(self, body: bytes, event_id: str) -> dict[str, str]:
        return {"Content-Type": "application/json", "X-Razorpay-Signature": self.sign_webhook(body),
                "X-Razorpay-Event-Id": event_id}

    # --- the gateway interface ---

    def create_order(self, amount: Decimal, receipt: str, notes: dict[str, str]) -> GatewayOrder:
        order = SandboxRecord(id=_new_id("order"), kind="order", reference=receipt, amount=to_paise(amount),
                              status="created", data=json.dumps({"notes": notes}))
        db.session.add(order)
        db.session.flush()
        return GatewayOrder(order.id, order.amount, order.status, receipt)

    def checkout(self, order_id: str, amount: Decimal, description: str, callback_url: str, cancel_url: str,
                 prefill: dict[str, str]) -> CheckoutStep:
        return CheckoutStep("GET", url_for("sandbox_gateway.checkout", order_id=order_id, callback_url=callback_url,
                                           cancel_url=cancel_url))

    def verify_checkout(self, order_id: str, payment_id: str, signature: str | None) -> bool:
        return signatures.verify_checkout(self._key_secret, order_id, payment_id, signature)

    def verify_webhook(self, raw_body: bytes, signature: str | None) -> bool:
        return signatures.verify_webhook(self._webhook_secret, raw_body, signature)

    def fetch_payment(self, payment_id: str) -> GatewayPayment:
        record = db.session.get(SandboxRecord, payment_id)
        if record is None or record.kind != "payment":
            raise GatewayError("BAD_REQUEST_ERROR: The id provided does not exist")
        self._settle(record)
        return payment_from_entity(self.payment_entity(record))

    def fetch_order_payments(self, order_id: str) -> list[GatewayPayment]:
        order = self.order(order_id)
        if order is None:
            raise GatewayError("BAD_REQUEST_ERROR: The id provided does not exist")
        records = db.session.scalars(select(SandboxRecord).where(SandboxRecord.kind == "payment",
                                                                 SandboxRecord.parent_id == order_id)
                                     .order_by(SandboxRecord.created_at)).all()
        for record in records:
            self._settle(record)
        return [payment_from_entity(self.payment_entity(record)) for record in records]

    def refund(self, payment_id: str, amount: Decimal, idempotency_key: str, notes: dict[str, str]) -> GatewayRefund:
        existing = db.session.scalar(select(SandboxRecord).where(SandboxRecord.idempotency_key == idempotency_key))
        if existing is not None:
            if existing.parent_id != payment_id or existing.amount != to_paise(amount):
                raise GatewayError("BAD_REQUEST_ERROR: Different request with the same idempotency key")
            return GatewayRefund(existing.id, payment_id, existing.amount, existing.status)
        payment = db.session.get(SandboxRecord, payment_id)
        if payment is None or payment.kind != "payment" or payment.status not in ("captured", "refunded"):
            raise GatewayError("BAD_REQUEST_ERROR: Only captured payments can be refunded")
        data = _data(payment)
        refunded = data.get("refunded", 0)
        paise = to_paise(amount)
        if paise <= 0 or refunded + paise > payment.amount:
            raise GatewayError("BAD_REQUEST_ERROR: The refund amount exceeds the amount not yet refunded")
        refund = SandboxRecord(id=_new_id("rfnd"), kind="refund", parent_id=payment_id, amount=paise,
                               status="processed", idempotency_key=idempotency_key, data=json.dumps({"notes": notes}))
        db.session.add(refund)
        data["refunded"] = refunded + paise
        payment.data = json.dumps(data)
        if data["refunded"] == payment.amount:
            payment.status = "refunded"
        db.session.flush()
        self.queue("refund.processed", {"refund": self.refund_entity(refund), "payment": self.payment_entity(payment)})
        return GatewayRefund(refund.id, payment_id, paise, refund.status)

    # --- what the hosted checkout page and the UPI app simulator do ---

    def order(self, order_id: str) -> SandboxRecord | None:
        record = db.session.get(SandboxRecord, order_id)
        return record if record is not None and record.kind == "order" else None

    def order_by_receipt(self, receipt: str) -> SandboxRecord | None:
        return db.session.scalar(select(SandboxRecord).where(SandboxRecord.kind == "order",
                                                             SandboxRecord.reference == receipt)
                                 .order_by(SandboxRecord.created_at.desc()).limit(1))

    def pay(self, order_id: str, outcome: str, method: str = "upi", amount_paise: int | None = None) -> SandboxRecord:
        """A customer's payment attempt on an order, with the outcome chosen on the TEST MODE page."""
        if outcome not in OUTCOMES:
            raise GatewayError(f"unknown outcome {outcome!r}")
        order = self.order(order_id)
        if order is None:
            raise GatewayError("BAD_REQUEST_ERROR: The id provided does not exist")
        if order.status == "paid":
            raise GatewayError("BAD_REQUEST_ERROR: This order has already been paid")
        data = {"method": method}
        status = {"succeed": "captured", "fail": "failed", "late": "failed", "pending": "created"}[outcome]
        if outcome in ("late", "pending"):
            data.update(late_status="captured", late_at=(utcnow() + self.late_after).isoformat())
        if status == "failed":
            data["error"] = "Payment failed at the bank (TEST MODE)"
        payment = SandboxRecord(id=_new_id("pay"), kind="payment", parent_id=order.id,
                                amount=amount_paise or order.amount, status=status, data=json.dumps(data))
        db.session.add(payment)
        order.status = "paid" if status == "captured" else "attempted"
        db.session.flush()
        if status == "captured":
            self._announce_capture(payment, order)
        elif status == "failed":
            self.queue("payment.failed", {"payment": self.payment_entity(payment)})
        return payment

    def _settle(self, payment: SandboxRecord) -> None:
        """The bank's late answer, once its time has come: the payment becomes captured."""
        data = _data(payment)
        late_at = data.get("late_at")
        if not late_at or utcnow().isoformat() < late_at:
            return
        payment.status = data.pop("late_status")
        data.pop("late_at")
        data.pop("error", None)
        payment.data = json.dumps(data)
        order = self.order(payment.parent_id)
        order.status = "paid"
        db.session.flush()
        self._announce_capture(payment, order)

    def _announce_capture(self, payment: SandboxRecord, order: SandboxRecord) -> None:
        self.queue("payment.authorized", {"payment": self.payment_entity(payment, status="authorized")})
        self.queue("payment.captured", {"payment": self.payment_entity(payment)})
        self.queue("order.paid", {"payment": self.payment_entity(payment), "order": self.order_entity(order)})

    # --- Razorpay-shaped entities and events ---

    def payment_entity(self, payment: SandboxRecord, status: str | None = None) -> dict:
        data = _data(payment)
        order = self.order(payment.parent_id) if payment.parent_id else None
        status = status or payment.status
        return {
            "id": payment.id, "entity": "payment", "amount": payment.amount, "currency": "INR", "status": status,
            "order_id": payment.parent_id, "invoice_id": None, "international": False, "method": data.get("method"),
            "amount_refunded": data.get("refunded", 0), "refund_status": None, "captured": status in ("captured",
                                                                                                    "refunded"),
            "description": "TEST MODE", "vpa": "success@razorpay" if data.get("method") == "upi" else None,
            "email": None, "contact": None,
            "notes": (_data(order).get("notes") if order else None) or {},
            "fee": 0, "tax": 0, "error_code": "BAD_REQUEST_ERROR" if status == "failed" else None,
            "error_description": data.get("error") if status == "failed" else None,
            "created_at": int(payment.created_at.timestamp()) if payment.created_at else int(utcnow().timestamp()),
        }

    @staticmethod
    def order_entity(order: SandboxRecord) -> dict:
        return {"id": order.id, "entity": "order", "amount": order.amount,
                "amount_paid": order.amount if order.status == "paid" else 0,
                "amount_due": 0 if order.status == "paid" else order.amount, "currency": "INR",
                "receipt": order.reference, "status": order.status, "attempts": 1,
                "notes": _data(order).get("notes") or {},
                "created_at": int(order.created_at.timestamp()) if order.created_at else int(utcnow().timestamp())}

    @staticmethod
    def refund_entity(refund: SandboxRecord) -> dict:
        return {"id": refund.id, "entity": "refund", "amount": refund.amount, "currency": "INR",
                "payment_id": refund.parent_id, "notes": _data(refund).get("notes") or {}, "receipt": None,
                "status": refund.status, "speed_processed": "normal", "speed_requested": "normal",
                "created_at": int(utcnow().timestamp())}

    @staticmethod
    def event_body(event_type: str, entities: dict[str, dict]) -> bytes:
        return json.dumps({"entity": "event", "account_id": "acc_SBXsandbox", "event": event_type,
                           "contains": list(entities), "payload": {k: {"entity": v} for k, v in entities.items()},
                           "created_at": int(utcnow().timestamp())}, separators=(",", ":")).encode()

    def queue(self, event_type: str, entities: dict[str, dict]) -> SandboxRecord:
        """Put a webhook in the outbox (delivered by deliver_webhooks)."""
        record = SandboxRecord(id=_new_id("evt"), kind="webhook", status="pending",
                               data=json.dumps({"body": self.event_body(event_type, entities).decode()}))
        db.session.add(record)
        db.session.flush()
        return record


def post_to_our_webhook(body: bytes, headers: dict[str, str]) -> int:
    """POST to our own webhook endpoint through the WSGI app, in a fresh app context (its own session)."""
    app = current_app._get_current_object()
    with app.app_context():
        response = Client(app).post(WEBHOOK_PATH, data=body, headers=headers)
        return response.status_code


def deliver_webhooks(gateway: SandboxGateway, only: list[str] | None = None, limit: int = 200) -> tuple[int, int]:
    """Deliver waiting webhooks (all, or those in `only`), oldest first. Returns (delivered, still waiting).

    What the caller's transaction holds is committed first (the records the webhooks are about), and each delivery
    is recorded in a transaction of its own after its POST: our endpoint runs in its own transaction and must not
    wait on ours."""
    query = (select(SandboxRecord.id, SandboxRecord.data)
             .where(SandboxRecord.kind == "webhook", SandboxRecord.status == "pending",
                    SandboxRecord.created_at > utcnow() - DELIVERY_WINDOW)
             .order_by(SandboxRecord.created_at, SandboxRecord.id).limit(limit))
    if only is not None:
        query = query.where(SandboxRecord.id.in_(only))
    waiting = in_own_transaction(lambda: [(record_id, json.loads(data)["body"].encode())
                                          for record_id, data in db.session.execute(query)])
    delivered = 0
    for record_id, body in waiting:
        try:
            status = post_to_our_webhook(body, gateway.webhook_headers(body, record_id))
        except Exception:  # our endpoint crashed: the gateway would see a 500 and try again later
            log.exception("sandbox webhook %s: our endpoint failed", record_id)
            status = 500
        delivered += in_own_transaction(_record_delivery, record_id, 200 <= status < 300)
    return delivered, len(waiting) - delivered


def _record_delivery(record_id: str, acknowledged: bool) -> bool:
    begin_write(db.session)
    record = db.session.get(SandboxRecord, record_id)
    record.attempts += 1
    if acknowledged:
        record.status = "delivered"
    return acknowledged

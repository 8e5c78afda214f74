"""Payment gateway adapters: one interface, a Razorpay adapter and a sandbox that imitates Razorpay in test mode.

The services speak only to `Gateway`; which one is used comes from configuration (PAYMENT_GATEWAY).
Webhook payloads are Razorpay-shaped for both, so one parser reads them.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from flask import current_app

PAYMENT_STATUSES = ("created", "authorized", "captured", "failed", "refunded")


class GatewayError(Exception):
    """The gateway could not be reached or refused the request. The message never holds a secret."""


class GatewayUnavailable(GatewayError):
    """No gateway is configured (online payments are off)."""


def to_paise(amount: Decimal) -> int:
    paise = amount * 100
    if paise != paise.to_integral_value():
        raise ValueError(f"{amount} has more than two decimals")
    return int(paise)


def from_paise(paise: int) -> Decimal:
    return (Decimal(paise) / 100).quantize(Decimal("0.01"))


@dataclass(frozen=True)
class GatewayOrder:
    id: str
    amount_paise: int
    status: str
    receipt: str | None = None


@dataclass(frozen=True)
class GatewayPayment:
    id: str
    order_id: str | None
    amount_paise: int
    currency: str
    status: str  # created, authorized, captured, failed, refunded
    method: str | None = None
    error: str | None = None
    notes: dict = field(default_factory=dict)
    created_at: int | None = None  # Unix time at the gateway

    @property
    def amount(self) -> Decimal:
        return from_paise(self.amount_paise)


@dataclass(frozen=True)
class GatewayRefund:
    id: str
    payment_id: str
    amount_paise: int
    status: str  # pending, processed, failed


@dataclass(frozen=True)
class CheckoutStep:
    """Where the customer's browser goes next: a GET redirect, or a form to POST (hosted checkout)."""

    method: str  # GET or POST
    url: str
    fields: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class WebhookEvent:
    type: str
    payment: GatewayPayment | None = None
    refund: GatewayRefund | None = None
    order_id: str | None = None


class Gateway(ABC):
    name: str
    test_mode: bool = False
    key_id: str

    @abstractmethod
    def create_order(self, amount: Decimal, receipt: str, notes: dict[str, str]) -> GatewayOrder: ...

    @abstractmethod
    def checkout(self, order_id: str, amount: Decimal, description: str, callback_url: str, cancel_url: str,
                 prefill: dict[str, str]) -> CheckoutStep: ...

    @abstractmethod
    def verify_checkout(self, order_id: str, payment_id: str, signature: str | None) -> bool: ...

    @abstractmethod
    def verify_webhook(self, raw_body: bytes, signature: str | None) -> bool: ...

    @abstractmethod
    def fetch_payment(self, payment_id: str) -> GatewayPayment: ...

    @abstractmethod
    def fetch_order_payments(self, order_id: str) -> list[GatewayPayment]: ...

    @abstractmethod
    def refund(self, payment_id: str, amount: Decimal, idempotency_key: str, notes: dict[str, str]) -> GatewayRefund:
        ...

    def parse_webhook(self, raw_body: bytes) -> WebhookEvent:
        return parse_razorpay_event(raw_body)


MAX_PAISE = 10**13  # ₹1,000 crore: far above any payment; a larger (or fractional, or infinite) amount is no amount


def paise(value: Any) -> int:
    """An amount in paise as the gateway sends it (a whole number); ValueError for anything else."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_PAISE:
        raise ValueError(f"not an amount in paise: {str(value)[:20]!r}")
    return value


def payment_from_entity(entity: dict[str, Any]) -> GatewayPayment:
    status = entity.get("status")
    if status not in PAYMENT_STATUSES:
        raise ValueError(f"unknown payment status {status!r}")
    notes = entity.get("notes")
    return GatewayPayment(
        id=str(entity["id"]), order_id=entity.get("order_id"), amount_paise=paise(entity["amount"]),
        currency=str(entity.get("currency") or ""), status=status, method=entity.get("method"),
        error=entity.get("error_description") or None, notes=notes if isinstance(notes, dict) else {},
        created_at=entity.get("created_at"),
    )


def refund_from_entity(entity: dict[str, Any]) -> GatewayRefund:
    return GatewayRefund(id=str(entity["id"]), payment_id=str(entity["payment_id"]),
                         amount_paise=paise(entity["amount"]), status=str(entity.get("status") or "pending"))


def order_from_entity(entity: dict[str, Any]) -> GatewayOrder:
    return GatewayOrder(id=str(entity["id"]), amount_paise=paise(entity["amount"]), status=str(entity["status"]),
                        receipt=entity.get("receipt"))


def parse_razorpay_event(raw_body: bytes) -> WebhookEvent:
    """A Razorpay webhook body (`{"event": …, "payload": {"payment": {"entity": …}, …}}`) as a WebhookEvent.
    Raises ValueError when it is not one."""
    try:
        body = json.loads(raw_body)
        event_type = body["event"]
        payload = body.get("payload") or {}
        if not isinstance(event_type, str) or not isinstance(payload, dict):
            raise ValueError("not a webhook event")
        payment = payload.get("payment", {}).get("entity")
        refund = payload.get("refund", {}).get("entity")
        order = payload.get("order", {}).get("entity")
        parsed_payment = payment_from_entity(payment) if payment else None
        order_id = (order or {}).get("id") or (parsed_payment.order_id if parsed_payment else None)
        return WebhookEvent(type=event_type, payment=parsed_payment,
                            refund=refund_from_entity(refund) if refund else None, order_id=order_id)
    except (KeyError, TypeError, AttributeError, json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ValueError("not a webhook event") from error


def get_gateway() -> Gateway:
    """The configured gateway. Tests may put one in app.extensions["dtech.payment_gateway"]."""
    injected = current_app.extensions.get("dtech.payment_gateway")
    if injected is not None:
        return injected
    name = current_app.config.get("PAYMENT_GATEWAY") or ""
    if name == "sandbox":
        from app.payments.gateways.sandbox import SandboxGateway

        return SandboxGateway.from_config(current_app.config)
    if name == "razorpay":
        from app.payments.gateways.razorpay import RazorpayGateway

        config = current_app.config
        return RazorpayGateway(config["RAZORPAY_KEY_ID"], config["RAZORPAY_KEY_SECRET"],
                               config["RAZORPAY_WEBHOOK_SECRET"])
    raise GatewayUnavailable("online payments are not configured")

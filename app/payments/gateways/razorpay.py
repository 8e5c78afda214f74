"""Razorpay through its HTTP API only (urllib; no SDK). The transport is injectable, so tests never reach
Razorpay: they replay responses transcribed from Razorpay's API documentation.

Amounts go to Razorpay in paise. Checkout is Razorpay's hosted checkout: a plain HTML form POSTed to
/v1/checkout/embedded, so it works without JavaScript; Razorpay POSTs the result to our callback URL.
"""

from __future__ import annotations

import base64
import json
import logging
import re
from collections.abc import Callable
from decimal import Decimal

from app.payments import signatures
from app.payments.gateways import (
    CheckoutStep,
    Gateway,
    GatewayError,
    GatewayOrder,
    GatewayPayment,
    GatewayRefund,
    order_from_entity,
    payment_from_entity,
    refund_from_entity,
    to_paise,
)
from app.web.http_client import Unreachable, http_call

log = logging.getLogger(__name__)

API = "https://api.razorpay.com/v1"
HOSTED_CHECKOUT = "https://api.razorpay.com/v1/checkout/embedded"
ID = re.compile(r"^[A-Za-z0-9_]{1,64}$")

# (method, url, headers, body) -> (HTTP status, response body)
Transport = Callable[[str, str, dict[str, str], bytes | None], tuple[int, bytes]]


def urllib_transport(timeout: float = 15) -> Transport:
    def send(method: str, url: str, headers: dict[str, str], body: bytes | None) -> tuple[int, bytes]:
        if not url.startswith(API + "/"):
            raise GatewayError("refusing to call outside the Razorpay API")
        try:
            return http_call(method, url, headers, body, timeout)
        except Unreachable as error:
            raise GatewayError(f"could not reach Razorpay ({error})") from None

    return send


class RazorpayGateway(Gateway):
    name = "razorpay"

    def __init__(self, key_id: str, key_secret: str, webhook_secret: str, transport: Transport | None = None) -> None:
        if not (key_id and key_secret and webhook_secret):
            raise GatewayError("Razorpay needs a key id, a key secret and a webhook secret")
        self.key_id = key_id
        self.test_mode = key_id.startswith("rzp_test_")
        self._key_secret = key_secret
        self._webhook_secret = webhook_secret
        self._send = transport or urllib_transport()

    def __repr__(self) -> str:  # never show the secrets
        return f"RazorpayGateway(key_id={self.key_id!r})"

    # --- HTTP ---

    def _call(self, method: str, path: str, payload: dict | None = None, headers: dict[str, str] | None = None
              ) -> dict:
        credentials = base64.b64encode(f"{self.key_id}:{self._key_secret}".encode()).decode()
        all_headers = {"Authorization": f"Basic {credentials}", "Accept": "application/json", **(headers or {})}
        body = None
        if payload is not None:
            body = json.dumps(payload, separators=(",", ":")).encode()
            all_headers["Content-Type"] = "application/json"
        status, raw = self._send(method, f"{API}{path}", all_headers, body)
        try:
            data = json.loads(raw or b"{}")
        except ValueError:
            raise GatewayError(f"Razorpay answered {status} with a body that is not JSON") from None
        if 200 <= status < 300:
            return data
        error = data.get("error") if isinstance(data, dict) else None
        code = (error or {}).get("code", "ERROR")
        description = (error or {}).get("description", "no description")
        log.warning("Razorpay %s %s answered %s %s", method, path.split("?")[0], status, code)
        raise GatewayError(f"Razorpay refused ({status} {code}): {description}"[:200])

    @staticmethod
    def _id(value: str) -> str:
        if not ID.match(value or ""):
            raise GatewayError("not a Razorpay id")
        return value

    # --- the interface ---

    def create_order(self, amount: Decimal, receipt: str, notes: dict[str, str]) -> GatewayOrder:
        data = self._call("POST", "/orders", {"amount": to_paise(amount), "currency": "INR", "receipt": receipt,
                                              "notes": notes})
        return order_from_entity(data)

    def checkout(self, order_id: str, amount: Decimal, description: str, callback_url: str, cancel_url: str,
                 prefill: dict[str, str]) -> CheckoutStep:
        fields = {"key_id": self.key_id, "order_id": order_id, "amount": str(to_paise(amount)), "currency": "INR",
                  "name": prefill.get("merchant", ""), "description": description,
                  "callback_url": callback_url, "cancel_url": cancel_url}
        for key in ("name", "contact", "email"):
            if prefill.get(key):
                fields[f"prefill[{key}]"] = prefill[key]
        return CheckoutStep("POST", HOSTED_CHECKOUT, fields)

    def verify_checkout(self, order_id: str, payment_id: str, signature: str | None) -> bool:
        return signatures.verify_checkout(self._key_secret, order_id, payment_id, signature)

    def verify_webhook(self, raw_body: bytes, signature: str | None) -> bool:
        return signatures.verify_webhook(self._webhook_secret, raw_body, signature)

    def fetch_payment(self, payment_id: str) -> GatewayPayment:
        return payment_from_entity(self._call("GET", f"/payments/{self._id(payment_id)}"))

    def fetch_order_payments(self, order_id: str) -> list[GatewayPayment]:
        data = self._call("GET", f"/orders/{self._id(order_id)}/payments")
        return [payment_from_entity(item) for item in data.get("items", [])]

    def refund(self, payment_id: str, amount: Decimal, idempotency_key: str, notes: dict[str, str]) -> GatewayRefund:
        data = self._call("POST", f"/payments/{self._id(payment_id)}/refund",
                          {"amount": to_paise(amount), "speed": "normal", "notes": notes},
                          headers={"X-Refund-Idempotency": idempotency_key})
        return refund_from_entity(data)

"""HMAC-SHA256 signatures as Razorpay (and our sandbox, which imitates it) computes them. Pure functions.

- checkout callback: HMAC-SHA256("<order_id>|<payment_id>", key secret), hex
- webhook: HMAC-SHA256(raw request body, webhook secret), hex, in the X-Razorpay-Signature header
"""

import hashlib
import hmac


def sign(secret: str, message: bytes) -> str:
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def verify(secret: str, message: bytes, signature: str | None) -> bool:
    """Constant-time comparison; an empty secret or signature never verifies."""
    if not secret or not signature or not signature.isascii():  # compare_digest refuses other text
        return False
    return hmac.compare_digest(sign(secret, message), signature.strip().lower())


def checkout_message(order_id: str, payment_id: str) -> bytes:
    return f"{order_id}|{payment_id}".encode()


def sign_checkout(key_secret: str, order_id: str, payment_id: str) -> str:
    return sign(key_secret, checkout_message(order_id, payment_id))


def verify_checkout(key_secret: str, order_id: str, payment_id: str, signature: str | None) -> bool:
    if not order_id or not payment_id:
        return False
    return verify(key_secret, checkout_message(order_id, payment_id), signature)


def verify_webhook(webhook_secret: str, raw_body: bytes, signature: str | None) -> bool:
    return verify(webhook_secret, raw_body, signature)

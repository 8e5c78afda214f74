"""Checkout and webhook signatures, against vectors computed independently with OpenSSL (commands beside each)."""

from pathlib import Path

import pytest

from app.payments import signatures
from app.payments.gateways.razorpay import RazorpayGateway

DATA = Path(__file__).resolve().parents[1] / "data" / "razorpay"

# printf '%s' 'order_IEIaMR65cu6nz3|pay_IH4NVgf4Dreq1l' | openssl dgst -sha256 -hmac 'EnLs21M47BllR3X8PSFtjtbd'
CHECKOUT = ("EnLs21M47BllR3X8PSFtjtbd", "order_IEIaMR65cu6nz3", "pay_IH4NVgf4Dreq1l",
            "0d4e745a1838664ad6c9c9902212a32d627d68e917290b0ad5f08ff4561bc50f")
# printf '%s' 'order_IEIaMR65cu6nz3|pay_IH4NVgf4Dreq1l' | openssl dgst -sha256 -hmac 'EnLs21M47BllR3X8PSFtjtbe'
CHECKOUT_OTHER_SECRET = "37dc382147fe93c349262a30681a977e98058daae413ac2dbe6d235e084c0479"

BODY = (b'{"entity":"event","event":"payment.captured","payload":{"payment":{"entity":{"id":"pay_DESlfW9H8K9uqM",'
        b'"amount":50000,"currency":"INR","status":"captured","order_id":"order_DESlLckIVRkHWj"}}},'
        b'"created_at":1567674606}')
# printf '%s' "$BODY" > body.json; openssl dgst -sha256 -hmac 'whsec-test-7f3a' body.json
BODY_SIGNATURE = "824237b22e606f558b5427e3fbb8e3f4a2c56339f41600b06270ca2e23cad17b"
# sed 's/50000/5000/' body.json | openssl dgst -sha256 -hmac 'whsec-test-7f3a'
TAMPERED_SIGNATURE = "7353d29c7438b302e58c37bb626b9791ba52bb1bb81e3b9b0bfcb5f4ea7ef693"

# openssl dgst -sha256 -hmac 'razorpay-webhook-test-secret' tests/data/razorpay/<file>
FILE_SIGNATURES = {
    "webhook_order_paid.json": "e8765f5802e191c64ba949182c07864018f733d95ec84b0cfb9c68ddb60a246b",
    "webhook_payment_failed.json": "eee9c14befa0a03c2afeb17ef34acc1d323ff755e34aa9afccf5532012117bdc",
    "webhook_refund_processed.json": "50f413b4eb6df85b04edf1ebc0e4e255ecaf248e66d9e5572d187e1fae559b56",
}
# openssl dgst -sha256 -hmac 'another-secret' tests/data/razorpay/webhook_order_paid.json
ORDER_PAID_OTHER_SECRET = "a6e8a0dabab954dc920f5931f61b45f1c6e7328c4f9b0de074c380aa4cdd6ec5"


def test_checkout_signature_right():
    secret, order_id, payment_id, signature = CHECKOUT
    assert signatures.sign_checkout(secret, order_id, payment_id) == signature
    assert signatures.verify_checkout(secret, order_id, payment_id, signature)
    assert signatures.verify_checkout(secret, order_id, payment_id, signature.upper())  # hex in either case


@pytest.mark.parametrize(("order_id", "payment_id", "signature"), [
    ("order_IEIaMR65cu6nz3", "pay_IH4NVgf4Dreq1m", CHECKOUT[3]),  # another payment
    ("order_IEIaMR65cu6nz4", "pay_IH4NVgf4Dreq1l", CHECKOUT[3]),  # another order
    ("order_IEIaMR65cu6nz3", "pay_IH4NVgf4Dreq1l", CHECKOUT[3][:-1] + "e"),  # a wrong signature
    ("order_IEIaMR65cu6nz3", "pay_IH4NVgf4Dreq1l", ""),
    ("order_IEIaMR65cu6nz3", "pay_IH4NVgf4Dreq1l", None),
    ("order_IEIaMR65cu6nz3", "pay_IH4NVgf4Dreq1l", "\x80" + CHECKOUT[3][1:]),  # not ASCII: refused, no error
    ("", "", signatures.sign_checkout(CHECKOUT[0], "", "")),  # empty ids never verify
])
def test_checkout_signature_wrong_or_tampered(order_id, payment_id, signature):
    assert not signatures.verify_checkout(CHECKOUT[0], order_id, payment_id, signature)


def test_checkout_signature_with_the_wrong_secret():
    secret, order_id, payment_id, signature = CHECKOUT
    assert signatures.sign_checkout("EnLs21M47BllR3X8PSFtjtbe", order_id, payment_id) == CHECKOUT_OTHER_SECRET
    assert not signatures.verify_checkout("EnLs21M47BllR3X8PSFtjtbe", order_id, payment_id, signature)
    assert not signatures.verify_checkout("", order_id, payment_id, signature)


def test_webhook_signature_right_wrong_tampered_and_wrong_secret():
    assert signatures.sign("whsec-test-7f3a", BODY) == BODY_SIGNATURE
    assert signatures.verify_webhook("whsec-test-7f3a", BODY, BODY_SIGNATURE)
    tampered = BODY.replace(b"50000", b"5000")
    assert signatures.sign("whsec-test-7f3a", tampered) == TAMPERED_SIGNATURE
    assert not signatures.verify_webhook("whsec-test-7f3a", tampered, BODY_SIGNATURE)  # body changed in transit
    assert not signatures.verify_webhook("whsec-test-7f3a", BODY + b" ", BODY_SIGNATURE)  # even by a byte
    assert not signatures.verify_webhook("whsec-test-7f3b", BODY, BODY_SIGNATURE)  # wrong secret
    assert not signatures.verify_webhook("whsec-test-7f3a", BODY, "0" * 64)
    assert not signatures.verify_webhook("whsec-test-7f3a", BODY, None)
    assert not signatures.verify_webhook("", BODY, signatures.sign("", BODY))  # no secret, no trust


@pytest.mark.parametrize("name", sorted(FILE_SIGNATURES))
def test_razorpay_adapter_verifies_documented_payloads_over_their_raw_bytes(name):
    gateway = RazorpayGateway("rzp_test_1DP5mmOlF5G5ag", "razorpay-key-test-secret", "razorpay-webhook-test-secret",
                              transport=lambda *args: (500, b"{}"))
    raw = (DATA / name).read_bytes()
    assert gateway.verify_webhook(raw, FILE_SIGNATURES[name])
    reserialised = raw.replace(b"\n", b"").replace(b"  ", b"")  # the same JSON, other bytes: not what was signed
    assert not gateway.verify_webhook(reserialised, FILE_SIGNATURES[name])
    other = RazorpayGateway("rzp_test_1DP5mmOlF5G5ag", "razorpay-key-test-secret", "another-secret",
                            transport=lambda *args: (500, b"{}"))
    assert not other.verify_webhook(raw, FILE_SIGNATURES[name])
    if name == "webhook_order_paid.json":
        assert other.verify_webhook(raw, ORDER_PAID_OTHER_SECRET)


def test_razorpay_adapter_checkout_signature():
    # printf '%s' 'order_DaZlswtdcn9UNV|pay_DESlfW9H8K9uqM' | openssl dgst -sha256 -hmac 'razorpay-key-test-secret'
    signature = "61c8b317b980eec00196f0008f13a0f27626d539136591b0757235239c7ad037"
    gateway = RazorpayGateway("rzp_test_1DP5mmOlF5G5ag", "razorpay-key-test-secret", "razorpay-webhook-test-secret",
                              transport=lambda *args: (500, b"{}"))
    assert gateway.verify_checkout("order_DaZlswtdcn9UNV", "pay_DESlfW9H8K9uqM", signature)
    assert not gateway.verify_checkout("order_DaZlswtdcn9UNV", "pay_N8FUmetkCE2hZP", signature)
    assert "razorpay-key-test-secret" not in repr(gateway)

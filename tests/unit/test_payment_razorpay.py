"""The Razorpay adapter against responses transcribed from Razorpay's API documentation (tests/data/razorpay),
replayed through an injected transport: no request leaves the machine."""

import base64
import json
from decimal import Decimal
from pathlib import Path

import pytest

from app.payments.gateways import GatewayError, parse_razorpay_event
from app.payments.gateways.razorpay import HOSTED_CHECKOUT, RazorpayGateway, urllib_transport

DATA = Path(__file__).resolve().parents[1] / "data" / "razorpay"


def recorded(name: str) -> bytes:
    return (DATA / name).read_bytes()


class Replay:
    """A transport that answers from recorded responses and remembers what it was asked."""

    def __init__(self, *answers: tuple[int, bytes]) -> None:
        self.answers = list(answers)
        self.requests = []

    def __call__(self, method, url, headers, body):
        self.requests.append({"method": method, "url": url, "headers": headers,
                              "json": json.loads(body) if body else None})
        return self.answers.pop(0)


def gateway(*answers) -> tuple[RazorpayGateway, Replay]:
    transport = Replay(*answers)
    return RazorpayGateway("rzp_test_1DP5mmOlF5G5ag", "razorpay-key-test-secret", "razorpay-webhook-test-secret",
                           transport=transport), transport


def test_create_order_sends_paise_in_inr_with_basic_auth():
    razorpay, transport = gateway((200, recorded("order_created.json")))
    order = razorpay.create_order(Decimal("500.00"), "Receipt #20", {"reference": "DTAB12"})
    assert (order.id, order.amount_paise, order.status, order.receipt) == ("order_DaZlswtdcn9UNV", 50000, "created",
                                                                         "Receipt #20")
    sent = transport.requests[0]
    assert (sent["method"], sent["url"]) == ("POST", "https://api.razorpay.com/v1/orders")
    assert sent["json"] == {"amount": 50000, "currency": "INR", "receipt": "Receipt #20",
                            "notes": {"reference": "DTAB12"}}
    assert sent["headers"]["Authorization"] == "Basic " + base64.b64encode(
        b"rzp_test_1DP5mmOlF5G5ag:razorpay-key-test-secret").decode()
    assert sent["headers"]["Content-Type"] == "application/json"


def test_amounts_with_fractions_of_a_paisa_are_refused_before_sending():
    razorpay, transport = gateway()
    with pytest.raises(ValueError):
        razorpay.create_order(Decimal("500.005"), "R1", {})
    assert transport.requests == []


def test_an_error_answer_becomes_a_gateway_error_with_razorpays_description():
    razorpay, _ = gateway((400, recorded("error_bad_request.json")))
    with pytest.raises(GatewayError, match=r"400 BAD_REQUEST_ERROR.*at least INR 1.00") as raised:
        razorpay.create_order(Decimal("0.50"), "R1", {})
    assert "razorpay-key-test-secret" not in str(raised.value)


def test_an_answer_that_is_not_json_is_a_gateway_error():
    razorpay, _ = gateway((502, b"<html>Bad gateway</html>"))
    with pytest.raises(GatewayError, match="not JSON"):
        razorpay.fetch_payment("pay_DESlfW9H8K9uqM")


def test_fetch_payment_maps_the_documented_entity():
    razorpay, transport = gateway((200, recorded("payment_captured.json")))
    payment = razorpay.fetch_payment("pay_DESlfW9H8K9uqM")
    assert transport.requests[0]["url"] == "https://api.razorpay.com/v1/payments/pay_DESlfW9H8K9uqM"
    assert (payment.id, payment.order_id, payment.status, payment.amount, payment.currency, payment.method) == (
        "pay_DESlfW9H8K9uqM", "order_DaZlswtdcn9UNV", "captured", Decimal("500.00"), "INR", "upi")
    assert payment.notes == {}  # Razorpay sends [] for no notes


def test_fetch_order_payments_lists_every_attempt_with_its_state():
    razorpay, transport = gateway((200, recorded("order_payments.json")))
    payments = razorpay.fetch_order_payments("order_DaZlswtdcn9UNV")
    assert transport.requests[0]["url"] == "https://api.razorpay.com/v1/orders/order_DaZlswtdcn9UNV/payments"
    assert [(p.id, p.status) for p in payments] == [("pay_N8FUmetkCE2hZP", "failed"),
                                                    ("pay_DESlfW9H8K9uqM", "captured")]
    assert "incorrect UPI PIN" in payments[0].error


def test_ids_that_could_change_the_path_are_refused():
    razorpay, transport = gateway()
    for bad in ("../orders", "pay_1/refund", "", "pay 1"):
        with pytest.raises(GatewayError):
            razorpay.fetch_payment(bad)
    assert transport.requests == []


def test_refund_is_partial_in_paise_and_idempotent_by_header():
    razorpay, transport = gateway((200, recorded("refund_created.json")))
    refund = razorpay.refund("pay_DESlfW9H8K9uqM", Decimal("100.00"), "key-0123456789abcdef", {"reference": "DT1"})
    assert (refund.id, refund.payment_id, refund.amount_paise, refund.status) == (
        "rfnd_FgRAHdNOM4ZVbO", "pay_DESlfW9H8K9uqM", 10000, "processed")
    sent = transport.requests[0]
    assert sent["url"] == "https://api.razorpay.com/v1/payments/pay_DESlfW9H8K9uqM/refund"
    assert sent["json"] == {"amount": 10000, "speed": "normal", "notes": {"reference": "DT1"}}
    assert sent["headers"]["X-Refund-Idempotency"] == "key-0123456789abcdef"


def test_hosted_checkout_is_a_plain_form_to_razorpay():
    razorpay, transport = gateway()
    step = razorpay.checkout("order_DaZlswtdcn9UNV", Decimal("500.00"), "Bill", "https://d.example/payments/callback",
                             "https://d.example/payments/1?returned=cancelled",
                             {"merchant": "D-Tech Power", "name": "Asha", "contact": "+919876500001", "email": ""})
    assert (step.method, step.url) == ("POST", HOSTED_CHECKOUT)
    assert step.fields["key_id"] == "rzp_test_1DP5mmOlF5G5ag" and step.fields["amount"] == "50000"
    assert step.fields["order_id"] == "order_DaZlswtdcn9UNV"
    assert step.fields["callback_url"] == "https://d.example/payments/callback"
    assert step.fields["prefill[contact]"] == "+919876500001" and "prefill[email]" not in step.fields
    assert "razorpay-key-test-secret" not in json.dumps(step.fields)
    assert transport.requests == []


@pytest.mark.parametrize(("name", "event", "status", "order_id"), [
    ("webhook_order_paid.json", "order.paid", "captured", "order_DaZlswtdcn9UNV"),
    ("webhook_payment_failed.json", "payment.failed", "failed", "order_DaZlswtdcn9UNV"),
    ("webhook_refund_processed.json", "refund.processed", "captured", "order_DaZlswtdcn9UNV"),
])
def test_documented_webhooks_parse(name, event, status, order_id):
    parsed = parse_razorpay_event(recorded(name))
    assert (parsed.type, parsed.payment.status, parsed.order_id) == (event, status, order_id)
    if event.startswith("refund."):
        assert (parsed.refund.id, parsed.refund.amount_paise) == ("rfnd_FgRAHdNOM4ZVbO", 10000)


@pytest.mark.parametrize("status", ["created", "authorized", "captured", "failed", "refunded"])
def test_every_documented_payment_state_is_understood(status):
    body = json.loads(recorded("payment_captured.json"))
    body["status"] = status
    event = {"event": "payment.captured", "payload": {"payment": {"entity": body}}}
    assert parse_razorpay_event(json.dumps(event).encode()).payment.status == status


@pytest.mark.parametrize("raw", [b"", b"not json", b"[]", b'{"event": 5}', b'{"payload": {}}',
                                 b'{"event": "payment.captured", "payload": {"payment": {"entity": '
                                 b'{"id": "pay_1", "amount": 1, "status": "paid-ish"}}}}'])
def test_what_is_not_an_event_is_refused(raw):
    with pytest.raises(ValueError):
        parse_razorpay_event(raw)


def test_the_default_transport_only_calls_razorpays_api():
    with pytest.raises(GatewayError, match="outside"):
        urllib_transport()("GET", "http://169.254.169.254/latest/meta-data", {}, None)


def test_the_adapter_needs_all_three_secrets():
    with pytest.raises(GatewayError):
        RazorpayGateway("rzp_test_x", "secret", "")

"""What leaves for Sentry: nothing personal (mobile numbers, emails, tokens, codes, cookies), and nothing at all
without SENTRY_DSN. And the log's safety net, which masks mobile numbers and emails in any line."""

import json
import logging

import pytest

from app.web.error_reporting import scrub_event, scrub_query_string
from app.web.logs import MaskPersonalData, mask_personal_data

MOBILE = "+919876543210"
SECRETS = ("9876543210", "98765 43210", "asha.patil@example.com", "s3cret-Passw0rd", "481516", "rst_9f8e7d6c5b4a",
           "eyJhbGciOiJIUzI1NiJ9.payload.sig", "session=abc123def", "csrf-token-value", "asha@okaxis",
           "4111 1111 1111 1111", "203.0.113.9")


def realistic_event() -> dict:
    """Shaped like the events sentry-sdk's Flask and logging integrations send (request, exception with frame
    variables, breadcrumbs, user, extra)."""
    return {
        "event_id": "0f1e2d3c4b5a69788796a5b4c3d2e1f0",
        "level": "error",
        "logger": "app.web.errors",
        "logentry": {"message": "unhandled error for %s", "params": [MOBILE]},
        "message": f"could not send the code 481516 to {MOBILE}",
        "request": {
            "url": "https://bills.example.in/reset",
            "method": "POST",
            "query_string": "token=rst_9f8e7d6c5b4a&lang=hi_IN&code=481516",
            "headers": {"Authorization": "Bearer eyJhbGciOiJIUzI1NiJ9.payload.sig", "Cookie": "session=abc123def",
                        "X-Csrftoken": "csrf-token-value", "User-Agent": "Mozilla/5.0 (Linux; Android 11)",
                        "X-Forwarded-For": "203.0.113.9", "X-Request-Id": "req-1"},
            "cookies": {"session": "abc123def", "remember_token": "7|abcdef"},
            "data": {"login": "98765 43210", "password": "s3cret-Passw0rd", "code": "481516",
                     "upi_id": "asha@okaxis", "amount": "1500.00"},
            "env": {"REMOTE_ADDR": "203.0.113.9", "SERVER_NAME": "bills.example.in"},
        },
        "exception": {"values": [{
            "type": "ValueError",
            "value": "no account for asha.patil@example.com or 9876543210",
            "stacktrace": {"frames": [{
                "filename": "app/auth/services.py", "function": "register", "lineno": 42,
                "vars": {"password": "'s3cret-Passw0rd'", "mobile": "'+919876543210'", "card_number":
                         "'4111 1111 1111 1111'", "attempts": "3", "note": "'call 98765 43210 after 5'"},
            }]},
        }]},
        "breadcrumbs": {"values": [
            {"category": "httplib", "data": {"url": "https://api.msg91.com/api/v5/flow?authkey=k123&mobiles="
                                             "919876543210", "method": "POST", "status_code": 200}},
            {"category": "log", "message": "reset link sent to asha.patil@example.com: /reset?token=rst_9f8e7d6c5b4a"},
        ]},
        "user": {"id": 7, "email": "asha.patil@example.com", "ip_address": "203.0.113.9", "username": "Asha"},
        "extra": {"sys.argv": ["gunicorn"], "reset_url": "/reset?token=rst_9f8e7d6c5b4a&next=/bills"},
        "tags": {"route": "/reset"},
    }


def test_the_scrubber_leaves_nothing_personal_in_a_realistic_event():
    scrubbed = scrub_event(realistic_event(), {})
    text = json.dumps(scrubbed)
    for secret in SECRETS:
        assert secret not in text, secret
    assert "k123" not in text  # a provider's key in a URL's query


def test_the_scrubber_keeps_what_helps_to_find_the_bug():
    scrubbed = scrub_event(realistic_event(), {})
    request = scrubbed["request"]
    assert request["url"] == "https://bills.example.in/reset" and request["method"] == "POST"
    assert request["headers"]["User-Agent"] == "Mozilla/5.0 (Linux; Android 11)"
    assert request["headers"]["X-Request-Id"] == "req-1"
    assert request["headers"]["Authorization"] == "[Filtered]"
    assert request["query_string"] == "token=%5BFiltered%5D&lang=hi_IN&code=%5BFiltered%5D"
    assert request["data"]["amount"] == "1500.00"
    frame = scrubbed["exception"]["values"][0]["stacktrace"]["frames"][0]
    assert (frame["function"], frame["lineno"], frame["vars"]["attempts"]) == ("register", 42, "3")
    assert frame["vars"]["note"] == "'call XXXXXXXX10 after 5'"
    assert scrubbed["exception"]["values"][0]["value"] == "no account for …@example.com or XXXXXXXX10"
    assert scrubbed["user"] == {"id": 7}
    assert scrubbed["tags"] == {"route": "/reset"}
    assert scrubbed["extra"]["reset_url"] == "/reset?token=%5BFiltered%5D&next=%2Fbills"


def test_query_strings_lose_tokens_and_codes_only():
    assert scrub_query_string("lang=hi_IN&page=2") == "lang=hi_IN&page=2"
    assert scrub_query_string("razorpay_signature=abc&razorpay_payment_id=pay_1") == \
        "razorpay_signature=%5BFiltered%5D&razorpay_payment_id=pay_1"


@pytest.mark.parametrize(("text", "masked"), [
    ("sent to +919876543210", "sent to XXXXXXXX10"),
    ("sent to +91 98765 43210.", "sent to XXXXXXXX10."),
    ("login 09876543210 failed", "login XXXXXXXX10 failed"),
    ("mobile 9876543210", "mobile XXXXXXXX10"),
    ("919876543210", "XXXXXXXX10"),
    ("to asha.patil+bills@example.co.in now", "to …@example.co.in now"),
    ("paid by asha.patil@okicici today", "paid by …@okicici today"),
    ("paid by asha.patil@okicici.", "paid by …@okicici."),
    ("card 4111 1111 1111 1111 declined", "card XXXX1111 declined"),
    ("card 4111111111111111.", "card XXXX1111."),
    ("consumer 170000000001 and reference 1234567890123456", None),  # 12 digits; 16 that fail the Luhn check
    # Not mobile numbers: consumer numbers, references, amounts, times.
    ("consumer 1700000001, receipt RCP000000123, payment DT7K9Q2M4X8B1C3D", None),
    ("₹98,765.43 at 2026-11-18T05:00:00", None),
    ("order_98765432101", None),
])
def test_mobile_numbers_and_emails_are_masked(text, masked):
    assert mask_personal_data(text) == (masked or text)


def test_the_log_filter_masks_the_message_its_arguments_and_the_traceback():
    try:
        raise ValueError("no user 9876543210")
    except ValueError:
        import sys

        record = logging.LogRecord("app.x", logging.ERROR, __file__, 1, "code for %s: %s", ("asha@example.com",
                                   "+91 98765 43210"), sys.exc_info())
    assert MaskPersonalData().filter(record)
    assert record.getMessage() == "code for …@example.com: XXXXXXXX10"
    assert "9876543210" not in record.exc_text and "no user XXXXXXXX10" in record.exc_text


def test_nothing_is_reported_without_a_dsn(monkeypatch):
    import sentry_sdk

    from app import create_app
    from app.web.error_reporting import init_error_reporting
    from config import TestingConfig

    started = []
    monkeypatch.setattr(sentry_sdk, "init", lambda **options: started.append(options))
    app = create_app(TestingConfig())
    assert app.config["SENTRY_DSN"] is None
    assert init_error_reporting(app) is False
    assert started == [] and not sentry_sdk.get_client().is_active()


def test_with_a_dsn_sentry_starts_with_the_scrubber_and_no_personal_data(monkeypatch):
    import sentry_sdk

    from app import create_app
    from config import TestingConfig

    started = []
    monkeypatch.setattr(sentry_sdk, "init", lambda **options: started.append(options))
    create_app(TestingConfig(), SENTRY_DSN="https://public@sentry.example.invalid/1")
    [options] = started
    assert options["dsn"] == "https://public@sentry.example.invalid/1"
    assert options["before_send"] is scrub_event
    assert "send_default_pii" not in options and "data_collection" not in options  # the SDK's no-PII default
    assert options["max_request_body_size"] == "never"

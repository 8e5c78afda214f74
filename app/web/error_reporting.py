"""Errors go to Sentry when SENTRY_DSN is set, and nowhere else otherwise (the log has them anyway).

Nothing personal leaves: Sentry keeps its default of sending no personal data, and `scrub_event`
goes over every event before it is sent: headers and cookies that authenticate, fields named like a secret,
query strings with tokens or codes, and any mobile number or email address left in a text.
"""

import re
from collections.abc import Mapping
from urllib.parse import parse_qsl, urlencode

from flask import Flask

from app.web.logs import mask_personal_data

FILTERED = "[Filtered]"
# A key whose value is a secret or identifies a person, wherever it appears (headers, form data, local variables).
SECRET_KEY_NAME = re.compile(
    r"authorization|cookie|password|passwd|secret|token|csrf|session|signature|api[_-]?key|auth[_-]?key|otp"
    r"|^code$|one_time|mobile|phone|email|upi|vpa|card|cvv|account_number|ifsc|login|x-forwarded-for"
    r"|remote_addr|ip_address",
    re.IGNORECASE)
# Query-string parameters that carry a credential (/reset?token=…, the gateway's callback signature).
SECRET_PARAM = re.compile(r"token|code|signature|key|secret|password|otp", re.IGNORECASE)


# A number of six digits on its own: a one-time code (or a PIN code of an address) in a message.
SIX_DIGITS = re.compile(r"(?<![\w.,])\d{6}(?![\w.,])")


def scrub_text(text: str) -> str:
    return _scrub_urls(SIX_DIGITS.sub("XXXXXX", mask_personal_data(text)))


def scrub_query_string(query: str) -> str:
    pairs = parse_qsl(query, keep_blank_values=True)
    return urlencode([(name, FILTERED if SECRET_PARAM.search(name) else mask_personal_data(value))
                      for name, value in pairs])


def scrub(value, key: str = ""):
    """`value` with secrets replaced and personal data masked, recursively; the structure is kept."""
    if key and SECRET_KEY_NAME.search(key):
        return FILTERED if value not in (None, "", [], {}) else value
    if key in ("query_string",) and isinstance(value, str):
        return scrub_query_string(value)
    if isinstance(value, Mapping):
        return {name: scrub(item, str(name)) for name, item in value.items()}
    if isinstance(value, list | tuple):
        # Sentry sends headers as [name, value] pairs at times: a pair's name decides for its value.
        if len(value) == 2 and isinstance(value[0], str) and SECRET_KEY_NAME.search(value[0]):
            return [value[0], FILTERED]
        return [scrub(item) for item in value]
    if isinstance(value, str):
        return scrub_text(value)
    return value


def _scrub_urls(text: str) -> str:
    """A URL in a text keeps its path; its query string loses tokens and codes."""
    return re.sub(r"\?([^\s#\"']+)", lambda m: "?" + scrub_query_string(m.group(1)), text) if "?" in text else text


def scrub_event(event: dict, _hint: dict | None = None) -> dict:
    """Sentry's before_send (and before_send_transaction). The user is kept as an id only."""
    user = event.get("user") or {}
    event = scrub(event)
    event["user"] = {"id": user["id"]} if user.get("id") is not None else {}
    return event


def init_error_reporting(app: Flask) -> bool:
    """Start Sentry if SENTRY_DSN is set; returns whether it did. The Flask integration reports unhandled errors
    and error log lines; the Huey one, failed tasks (it is on by default in the consumer)."""
    dsn = app.config.get("SENTRY_DSN")
    if not dsn:
        return False
    import sentry_sdk
    from sentry_sdk.integrations.flask import FlaskIntegration

    sentry_sdk.init(
        dsn=dsn,
        environment=app.config.get("SENTRY_ENVIRONMENT"),
        release=app.config.get("SENTRY_RELEASE"),
        integrations=[FlaskIntegration()],
        # Neither send_default_pii (deprecated, False by default) nor data_collection (whose defaults collect
        # more) is given: the SDK then collects no personal data (no user, no cookies, no IP address).
        max_request_body_size="never",  # forms hold passwords, codes and amounts
        traces_sample_rate=app.config.get("SENTRY_TRACES_SAMPLE_RATE", 0.0),
        before_send=scrub_event,
        before_send_transaction=scrub_event,
        before_breadcrumb=lambda crumb, _hint: scrub(crumb),
    )
    return True
